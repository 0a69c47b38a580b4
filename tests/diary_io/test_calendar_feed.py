"""Calendar feeds against the real services: parsed back with `icalendar`, in local time across time-zone offsets
(a school in Asia/Yekaterinburg, one in Europe/Berlin across its DST change), 304 on an unchanged ETag and 200
after a change, parents' feeds with their children's names, revocation, and who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from edutrack.context import AppContext
from edutrack.db.diary import Lesson, School
from edutrack.db.models import User
from edutrack.services import calendar_feed
from tests.support.diary import auth
from tests.support.environment import AppFactory
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, build_school


async def lesson_at(ctx: AppContext, school: BuiltSchool, when: datetime, *, homework: str | None = None,
                    room: str | None = "12") -> int:
    cls = school.classes[0]
    subject = school.subject_ids["Математика"]
    async with ctx.sessions.begin() as session:
        lesson = Lesson(school_id=school.id, class_id=cls.id, subject_id=subject,
                        teacher_id=cls.teacher_by_subject[subject], room=room, starts_at=when,
                        ends_at=when + timedelta(minutes=45), topic="Дроби", homework=homework)
        session.add(lesson)
        await session.flush()
        return lesson.id


async def school_in(ctx: AppContext, timezone: str) -> BuiltSchool:
    school = await build_school(ctx, classes=1, students_per_class=2, parents_per_student=1)
    async with ctx.sessions.begin() as session:
        await session.execute(update(School).where(School.id == school.id).values(timezone=timezone))
    return school


async def feed_url(client: TestClient, ctx: AppContext, user: User) -> str:
    resp = await client.post("/api/v1/calendar-feed", headers=auth(ctx, user))
    body = await resp.json()
    assert resp.status == 201, body
    return str(body["url"]).split("://", 1)[1].split("/", 1)[1]  # the path, for the test client


async def fetch(client: TestClient, path: str, etag: str | None = None) -> tuple[int, bytes, str | None]:
    resp = await client.get("/" + path, headers={"If-None-Match": etag} if etag else {})
    return resp.status, await resp.read(), resp.headers.get("ETag")


async def test_a_students_feed_in_yekaterinburg_time_with_homework_and_etags(
        client: TestClient, ctx: AppContext) -> None:
    school = await school_in(ctx, "Asia/Yekaterinburg")
    tz = ZoneInfo("Asia/Yekaterinburg")
    tomorrow = datetime.now(tz).date() + timedelta(days=1)
    lesson_id = await lesson_at(ctx, school, datetime.combine(tomorrow, time(8, 30), tzinfo=tz),
                                homework="№ 12, 14")
    student = school.student(0, 0)
    path = await feed_url(client, ctx, student)
    status, body, etag = await fetch(client, path)
    assert status == 200
    assert etag
    cal = icalendar.Calendar.from_ical(body)
    zones = [c for c in cal.walk("VTIMEZONE")]
    assert [str(z["TZID"]) for z in zones] == ["Asia/Yekaterinburg"]
    event = next(e for e in cal.walk("VEVENT") if str(e["UID"]).startswith(f"lesson-{lesson_id}@"))
    starts = event.decoded("DTSTART")
    assert (starts.hour, starts.minute) == (8, 30)
    assert starts.utcoffset() == timedelta(hours=5)
    assert starts.astimezone(UTC).hour == 3
    assert str(event["SUMMARY"]) == "Математика"
    assert str(event["LOCATION"]) == "Кабинет 12"
    assert "Тема: Дроби" in str(event["DESCRIPTION"])
    assert "Учитель:" in str(event["DESCRIPTION"])
    task = next(t for t in cal.walk("VTODO"))
    assert str(task["SUMMARY"]) == "Домашнее задание: Математика"
    assert str(task["DESCRIPTION"]) == "№ 12, 14"
    assert task.decoded("DUE") == starts

    assert (await fetch(client, path, etag))[0] == 304
    async with ctx.sessions.begin() as session:
        await session.execute(update(Lesson).where(Lesson.id == lesson_id).values(room="7"))
    status, body, new_etag = await fetch(client, path, etag)
    assert status == 200
    assert new_etag != etag
    changed = next(e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")
                   if str(e["UID"]) == str(event["UID"]))
    assert str(changed["LOCATION"]) == "Кабинет 7"


async def test_a_parents_feed_across_a_dst_change_names_the_children(client: TestClient, ctx: AppContext,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Berlin's next change of offset may be five months away: the window reaches it whatever the day of the run.
    monkeypatch.setattr(calendar_feed, "FUTURE_DAYS", 400)
    school = await school_in(ctx, "Europe/Berlin")
    tz = ZoneInfo("Europe/Berlin")
    # The next DST change in Berlin from today, and a lesson at 09:00 local time on each side of it.
    day = datetime.now(tz).date() + timedelta(days=1)
    while datetime.combine(day, time(9), tzinfo=tz).utcoffset() == \
            datetime.combine(day + timedelta(days=1), time(9), tzinfo=tz).utcoffset():
        day += timedelta(days=1)
        assert day < datetime.now(tz).date() + timedelta(days=380)
    before = await lesson_at(ctx, school, datetime.combine(day, time(9), tzinfo=tz))
    after = await lesson_at(ctx, school, datetime.combine(day + timedelta(days=1), time(9), tzinfo=tz))
    child = school.student(0, 1)
    parent = school.parents(child.id)[0]
    cal = icalendar.Calendar.from_ical((await fetch(client, await feed_url(client, ctx, parent)))[1])
    events = {str(e["UID"]).split("@")[0]: e for e in cal.walk("VEVENT")}
    offsets = []
    for lesson_id in (before, after):
        starts = events[f"lesson-{lesson_id}"].decoded("DTSTART")
        assert (starts.hour, starts.minute) == (9, 0)
        offsets.append(starts.utcoffset())
    assert sorted(offsets) == [timedelta(hours=1), timedelta(hours=2)]  # CET and CEST, 09:00 on both sides
    assert str(events[f"lesson-{before}"]["SUMMARY"]) == "Математика (Ученик1)"
    zone = next(c for c in cal.walk("VTIMEZONE"))
    assert str(zone["TZID"]) == "Europe/Berlin"
    assert zone.walk("DAYLIGHT")
    assert zone.walk("STANDARD")


async def test_a_revoked_or_replaced_link_is_gone(client: TestClient, ctx: AppContext) -> None:
    school = await school_in(ctx, "Europe/Moscow")
    student = school.student(0, 0)
    first = await feed_url(client, ctx, student)
    assert (await fetch(client, first))[0] == 200
    second = await feed_url(client, ctx, student)
    assert (await fetch(client, first))[0] == 404
    assert (await fetch(client, second))[0] == 200
    status = await client.get("/api/v1/calendar-feed", headers=auth(ctx, student))
    assert (await status.json())["active"] is True
    assert (await status.json())["url"] is None
    revoked = await client.delete("/api/v1/calendar-feed", headers=auth(ctx, student))
    assert revoked.status == 204
    assert (await fetch(client, second))[0] == 404
    again = await client.delete("/api/v1/calendar-feed", headers=auth(ctx, student))
    assert again.status == 404


async def test_who_may_have_a_link_and_the_feed_is_rate_limited(make_client: AppFactory, ctx: AppContext,
                                                                factory: Factory) -> None:
    client = await make_client(feed_max_per_window=3)
    school = await school_in(ctx, "Europe/Moscow")
    anonymous = await client.post("/api/v1/calendar-feed")
    assert anonymous.status == 401
    admin = await client.post("/api/v1/calendar-feed", headers=auth(ctx, school.admin))
    assert admin.status == 403
    cls, maths = school.classes[0], school.subject_ids["Математика"]
    teacher = school.user(cls.teacher_by_subject[maths])
    lesson_id = await lesson_at(ctx, school, datetime.now(UTC) + timedelta(days=2), homework="Читать")
    path = await feed_url(client, ctx, teacher)
    status, body, _etag = await fetch(client, path)
    cal = icalendar.Calendar.from_ical(body)
    event = next(e for e in cal.walk("VEVENT") if str(e["UID"]).startswith(f"lesson-{lesson_id}@"))
    assert str(event["SUMMARY"]) == "Математика, 5А"
    assert not cal.walk("VTODO")  # teachers set homework
    statuses = [status, *[(await fetch(client, path))[0] for _ in range(3)]]
    assert statuses == [200, 200, 200, 429]
    assert (await fetch(client, "calendar/" + "A" * 43 + ".ics"))[0] == 404
