"""Digests for offline users: one email, the right content, none for online users or who read in time."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from edutrack.context import AppContext
from edutrack.db.models import EmailOutbox, Notification, Profile, User
from edutrack.digest.scheduler import USERS_PER_BATCH, DigestScheduler
from edutrack.events import presence_key
from edutrack.notifier.worker import notifier_worker
from edutrack.outbox.relay import relay_worker
from edutrack.settings import Settings
from tests.email.conftest import SmtpServer, Workers, wait_for
from tests.realtime.helpers import connect
from tests.support.factories import Factory


def ago(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


async def notify(ctx: AppContext, user: User, kind: str, payload: dict[str, Any], *, about: User | None = None,
                 minutes_ago: int = 20, read_after: int | None = None) -> int:
    created = ago(minutes_ago)
    row = Notification(user_id=user.id, kind=kind, about_user_id=about.id if about else None,
                       payload={"title": kind, **payload}, created_at=created,
                       read_at=created + timedelta(minutes=read_after) if read_after is not None else None)
    async with ctx.sessions.begin() as session:
        session.add(row)
    return row.id


async def set_preference(ctx: AppContext, user: User, value: str) -> None:
    async with ctx.sessions.begin() as session:
        await session.execute(update(Profile).where(Profile.user_id == user.id).values(email_notifications=value))


async def outbox_rows(ctx: AppContext) -> list[EmailOutbox]:
    async with ctx.sessions() as session:
        return list((await session.execute(select(EmailOutbox).order_by(EmailOutbox.id))).scalars())


def grade(subject: str, value: str, child: User, name: str) -> dict[str, Any]:
    return {"subject": subject, "value": value, "work_type": "контрольная", "date": "2026-11-20",
            "teacher": "Петрова А. И.", "student_id": child.id, "student_name": name}


async def test_one_digest_for_an_offline_parent_grouped_by_child_and_none_for_others(
    ctx: AppContext, factory: Factory, smtp: SmtpServer, mail_settings: Settings, workers: Workers,
) -> None:
    parent = await factory.user("parent", email="parent@example.test", first_name="Ольга")
    masha = await factory.user("student", first_name="Маша", last_name="Иванова")
    petya = await factory.user("student", first_name="Петя", last_name="Иванов")
    online = await factory.user("student", email="online@example.test")
    reader = await factory.user("student", email="reader@example.test")
    quiet = await factory.user("parent", email="quiet@example.test")

    await notify(ctx, parent, "grade", grade("Математика", "5", masha, "Маша Иванова"), about=masha)
    await notify(ctx, parent, "homework", {"subject": "Русский язык", "date": "2026-11-21",
                                            "text": "Упражнение 12"}, about=masha)
    await notify(ctx, parent, "attendance", {"subject": "Физика", "date": "2026-11-19", "status": "absent",
                                              "reason": "болел", "student_name": "Петя Иванов"}, about=petya)
    await notify(ctx, parent, "grade", grade("Математика", "3", petya, "Петя Иванов"), about=petya)
    await notify(ctx, parent, "news", {"title": "Родительское собрание", "summary": "В пятницу в 18:00"})
    await notify(ctx, parent, "message", {"sender": "Петрова А. И.", "text": "Зайдите, пожалуйста"})
    fresh = await notify(ctx, parent, "grade", grade("Химия", "4", masha, "Маша Иванова"), about=masha,
                         minutes_ago=2)
    await notify(ctx, online, "grade", grade("История", "5", online, "x"), about=online)
    await notify(ctx, reader, "grade", grade("История", "4", reader, "x"), about=reader, read_after=1)
    await notify(ctx, quiet, "news", {"title": "Новость", "summary": "..."})
    await set_preference(ctx, quiet, "off")
    await ctx.redis.set(presence_key(mail_settings.namespace, online.id), b"1", ex=60)

    workers.start(relay_worker, mail_settings)
    workers.start(notifier_worker, mail_settings)

    async def arrived() -> bool:
        return len(smtp.handler.received) >= 1

    await wait_for(arrived)
    await asyncio.sleep(1.0)  # several more scheduler rounds (every 0.2 s): still one email
    assert len(smtp.handler.received) == 1
    message = smtp.handler.received[0]
    assert message["To"] == "parent@example.test"
    assert message["Subject"] == "EduTrack: 6 новых уведомлений"
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert text_part is not None
    assert html_part is not None
    text = text_part.get_content()
    assert "Здравствуйте, Ольга!" in text
    masha_part = text.split("== Маша Иванова ==")[1].split("==")[0]
    petya_part = text.split("== Петя Иванов ==")[1].split("==")[0]
    assert "Математика:" in masha_part
    assert "Новая оценка: 5 (контрольная) за 20 ноября" in masha_part
    assert "Домашнее задание: на 21 ноября: Упражнение 12" in masha_part
    assert "Химия" not in text  # too fresh: not due yet
    assert "Физика:" in petya_part
    assert "отсутствие (болел)" in petya_part
    assert "Новая оценка: 3" in petya_part
    assert "5 (контрольная)" not in petya_part
    assert "Родительское собрание: В пятницу в 18:00" in text.split("== Новости и объявления ==")[1]
    assert "Петрова А. И.: Зайдите, пожалуйста" in text.split("== Непрочитанные сообщения ==")[1]
    html = html_part.get_content()
    assert "Маша Иванова" in html
    assert "Петя Иванов" in html
    assert "Родительское собрание" in html

    rows = await outbox_rows(ctx)
    assert [(r.recipient, r.kind) for r in rows] == [("parent@example.test", "digest")]
    async with ctx.sessions() as session:
        emailed = dict((await session.execute(select(Notification.id, Notification.emailed_at))).all())
    assert emailed[fresh] is None
    assert sum(1 for v in emailed.values() if v is not None) == 6


async def test_reading_before_the_delay_cancels_and_online_users_wait(
    ctx: AppContext, factory: Factory, mail_settings: Settings,
) -> None:
    student = await factory.user("student", email="s@example.test")
    nid = await notify(ctx, student, "homework", {"subject": "Алгебра", "text": "№ 5"}, minutes_ago=5)
    scheduler = DigestScheduler(ctx)
    scheduler.settings = mail_settings.replace(digest_delay=600)
    assert await scheduler.run_once() == 0  # 5 minutes old: not yet due

    # Online at the moment it becomes due: no email; offline later: the email goes out.
    await ctx.redis.set(presence_key(ctx.settings.namespace, student.id), b"1", ex=60)
    scheduler.settings = mail_settings.replace(digest_delay=60)
    assert await scheduler.run_once() == 0
    await ctx.redis.delete(presence_key(ctx.settings.namespace, student.id))
    assert await scheduler.run_once() == 1
    assert await scheduler.run_once() == 0

    # Read before it was due: cancelled.
    other = await factory.user("student", email="other@example.test")
    await notify(ctx, other, "grade", {"subject": "Алгебра", "value": "5"}, minutes_ago=20, read_after=3)
    assert await scheduler.run_once() == 0
    assert [r.recipient for r in await outbox_rows(ctx)] == ["s@example.test"]
    async with ctx.sessions() as session:
        assert (await session.get(Notification, nid)).emailed_at is not None  # type: ignore[union-attr]


async def test_daily_preference_sends_one_digest_a_day_at_the_local_hour(
    ctx: AppContext, factory: Factory, mail_settings: Settings,
) -> None:
    """'daily' sends the kinds without a choice of their own to the daily digest (docs/notifications.md): one
    email at the user's digest hour (19:00 in the school's zone by default) with what was written before it."""
    parent = await factory.user("parent", email="daily@example.test")
    await set_preference(ctx, parent, "daily")
    now = datetime.now(UTC)
    scheduler = DigestScheduler(ctx, clock=lambda: now)
    scheduler.settings = mail_settings
    await notify(ctx, parent, "news", {"title": "Первая", "summary": ""}, minutes_ago=3 * 24 * 60)
    assert await scheduler.run_once() == 1
    await notify(ctx, parent, "news", {"title": "Вторая", "summary": ""}, minutes_ago=0)
    assert await scheduler.run_once() == 0  # written after today's digest moment: tomorrow's

    now += timedelta(days=1)
    assert await scheduler.run_once() == 1
    rows = await outbox_rows(ctx)
    assert len(rows) == 2
    assert "Вторая" in rows[1].body_text
    assert "Первая" not in rows[1].body_text


async def test_two_schedulers_at_once_queue_one_digest_per_user(
    ctx: AppContext, factory: Factory, mail_settings: Settings,
) -> None:
    users = [await factory.user("student") for _ in range(15)]
    for user in users:
        for i in range(3):
            await notify(ctx, user, "homework", {"subject": "Алгебра", "text": f"№ {i}"})
    a, b = DigestScheduler(ctx), DigestScheduler(ctx)
    a.settings = b.settings = mail_settings
    results = await asyncio.gather(a.run_once(), b.run_once())
    assert sum(results) == 15
    rows = await outbox_rows(ctx)
    assert sorted(r.user_id or 0 for r in rows) == sorted(u.id for u in users)


async def test_open_websocket_holds_the_digest_back_until_the_socket_closes(
    client: TestClient, ctx: AppContext, factory: Factory, smtp: SmtpServer, mail_settings: Settings,
    workers: Workers,
) -> None:
    """Online through the real gateway (its presence key in Redis), not a key written by the test."""
    live = await factory.actor("student", email="live@example.test")
    away = await factory.user("student", email="away@example.test")
    held = await notify(ctx, live.user, "homework", {"subject": "Алгебра", "date": "2026-11-21", "text": "№ 7"})
    await notify(ctx, away, "homework", {"subject": "Алгебра", "date": "2026-11-21", "text": "№ 7"})
    key = presence_key(mail_settings.namespace, live.id)
    ws = await connect(client, live)  # returns after the 'ready' frame, which comes after presence is recorded
    assert await ctx.redis.exists(key)

    workers.start(relay_worker, mail_settings)
    workers.start(notifier_worker, mail_settings)

    def recipients() -> list[str]:
        return [str(m["To"]) for m in smtp.handler.received]

    async def away_emailed() -> bool:
        return recipients() == ["away@example.test"]

    # Both were due before the scheduler started, so the round that emailed the offline user looked at the
    # online one too, and skipped them.
    await wait_for(away_emailed)
    async with ctx.sessions() as session:
        assert (await session.get(Notification, held)).emailed_at is None  # type: ignore[union-attr]
    assert await ctx.redis.exists(key)

    await ws.close()

    async def offline() -> bool:
        return not await ctx.redis.exists(key)

    await wait_for(offline, timeout=5)

    async def live_emailed() -> bool:
        return sorted(recipients()) == ["away@example.test", "live@example.test"]

    await wait_for(live_emailed)
    assert [r.recipient for r in await outbox_rows(ctx)] == ["away@example.test", "live@example.test"]
    async with ctx.sessions() as session:
        assert (await session.get(Notification, held)).emailed_at is not None  # type: ignore[union-attr]


async def test_users_queued_in_one_batch_each_get_only_their_own_rows(
    ctx: AppContext, factory: Factory, mail_settings: Settings,
) -> None:
    users = [await factory.user("student") for _ in range(USERS_PER_BATCH + 7)]
    for user in users:
        await notify(ctx, user, "homework", {"subject": "Алгебра", "text": f"задание-{user.id}"})
    scheduler = DigestScheduler(ctx)
    scheduler.settings = mail_settings
    assert await scheduler.run_once() == len(users)
    rows = await outbox_rows(ctx)
    for row in rows:
        markers = re.findall(r"задание-(\d+)", row.body_text)
        assert markers == [str(row.user_id)]
    async with ctx.sessions() as session:
        waiting = await session.scalar(select(func.count()).select_from(Notification)
                                       .where(Notification.emailed_at.is_(None)))
    assert waiting == 0
