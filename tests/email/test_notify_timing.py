"""Quiet hours hold email and release one merged email after; the daily digest comes at the chosen local hour in
a zone without summer time (Europe/Moscow) and in one with it (Europe/Berlin), on both sides of the change.
The scheduler is given its clock; rows are stamped at chosen times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from edutrack.digest.timing import in_quiet_hours, last_digest_moment, zone
from edutrack.settings import Settings
from tests.email.notify_helpers import emailed_kinds, outbox_of, put_prefs, scheduler, write_kinds
from tests.support.factories import Factory


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_quiet_hours_hold_email_and_release_one_merged_email(
    client: TestClient, ctx: AppContext, factory: Factory, mail_settings: Settings,
) -> None:
    parent = await factory.actor("parent")
    await put_prefs(client, parent, {"timezone": "Europe/Moscow", "quiet_start": "21:00", "quiet_end": "07:30"})
    clock = Clock(utc(2026, 11, 20, 19, 0))  # 22:00 in Moscow
    run = scheduler(ctx, mail_settings, clock)
    await write_kinds(ctx, parent.id, ("grade",), created=clock.now - timedelta(hours=1))
    await write_kinds(ctx, parent.id, ("attendance",), created=clock.now - timedelta(minutes=30))
    assert await run.run_once() == 0
    clock.now = utc(2026, 11, 21, 4, 29)  # 07:29
    assert await run.run_once() == 0
    clock.now = utc(2026, 11, 21, 4, 30)  # 07:30: the end
    assert await run.run_once() == 1
    sent = await outbox_of(ctx, parent.id)
    assert len(sent) == 1
    assert await emailed_kinds(ctx, parent.id) == {"grade", "attendance"}
    assert "Новая оценка" in sent[0].body_text


async def test_weekends_are_quiet_when_chosen(
    client: TestClient, ctx: AppContext, factory: Factory, mail_settings: Settings,
) -> None:
    parent = await factory.actor("parent")
    await put_prefs(client, parent, {"timezone": "Europe/Moscow", "quiet_weekends": True})
    clock = Clock(utc(2026, 11, 21, 9, 0))  # Saturday noon in Moscow
    await write_kinds(ctx, parent.id, ("grade",), created=clock.now - timedelta(hours=1))
    run = scheduler(ctx, mail_settings, clock)
    assert await run.run_once() == 0
    clock.now = utc(2026, 11, 22, 21, 0)  # Monday 00:00 in Moscow
    assert await run.run_once() == 1


async def digest_times(client: TestClient, ctx: AppContext, factory: Factory, settings: Settings, tz: str,
                       days: list[datetime]) -> list[datetime]:
    """For each day (a UTC midnight): write a digest row at noon UTC, then step the clock minute by minute
    through the afternoon (5-minute steps); returns the minutes at which the digest went out."""
    parent = await factory.actor("parent")
    await put_prefs(client, parent, {"timezone": tz, "digest_time": "19:00", "kinds": {"news": ["live", "digest"]}})
    clock = Clock(days[0])
    run = scheduler(ctx, settings, clock)
    found: list[datetime] = []
    for day in days:
        await write_kinds(ctx, parent.id, ("news",), created=day + timedelta(hours=12))
        for minute in range(15 * 60, 19 * 60, 5):
            clock.now = day + timedelta(minutes=minute)
            if await run.run_once():
                found.append(clock.now)
                break
    return found


async def test_daily_digest_at_19_in_moscow_all_year(
    client: TestClient, ctx: AppContext, factory: Factory, mail_settings: Settings,
) -> None:
    days = [utc(2026, 3, 28), utc(2026, 3, 29), utc(2026, 10, 25)]
    found = await digest_times(client, ctx, factory, mail_settings, "Europe/Moscow", days)
    assert found == [d + timedelta(hours=16) for d in days]


async def test_daily_digest_at_19_in_berlin_across_summer_time(
    client: TestClient, ctx: AppContext, factory: Factory, mail_settings: Settings,
) -> None:
    # 28 March: CET (UTC+1); 29 March: CEST (UTC+2) since 02:00; 25 October: CET again.
    days = [utc(2026, 3, 28), utc(2026, 3, 29), utc(2026, 10, 25)]
    found = await digest_times(client, ctx, factory, mail_settings, "Europe/Berlin", days)
    assert found == [utc(2026, 3, 28, 18), utc(2026, 3, 29, 17), utc(2026, 10, 25, 18)]


def test_quiet_hours_arithmetic() -> None:
    berlin = zone("Europe/Berlin")
    night = (datetime.strptime("22:00", "%H:%M").time(), datetime.strptime("07:00", "%H:%M").time())
    assert in_quiet_hours(utc(2026, 3, 29, 4, 30), berlin, *night, False)  # 06:30 CEST
    assert not in_quiet_hours(utc(2026, 3, 29, 5, 0), berlin, *night, False)  # 07:00 CEST
    assert in_quiet_hours(utc(2026, 3, 28, 5, 30), berlin, *night, False)  # 06:30 CET
    assert last_digest_moment(utc(2026, 3, 29, 16, 0), berlin, night[0]) == utc(2026, 3, 28, 21, 0)
