"""One-off lesson changes through HTTP and the socket: a cover teacher who may keep that lesson only, cancellation
(live to a parent's open socket), restoring, moves and room changes announced, clashes checked, authorization."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.models import Notification
from tests.realtime.helpers import connect, recv_until, subscribe
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, add_lessons, build_school

D1, D2 = date(2026, 12, 14), date(2026, 12, 15)
P1, P2 = date(2026, 11, 30), date(2026, 12, 1)  # grades are not given for future days


async def changes(ctx: AppContext) -> list[Notification]:
    async with ctx.sessions.begin() as session:
        rows = await session.execute(select(Notification).where(Notification.kind == "lesson_changed")
                                     .order_by(Notification.id))
        return list(rows.scalars())


def grade(student_id: int, lesson_id: int, school: BuiltSchool) -> dict[str, Any]:
    return {"student_id": student_id, "lesson_id": lesson_id, "value": 5,
            "work_type_id": school.work_type_ids["Ответ на уроке"]}


async def test_cover_teacher_keeps_that_lesson_only(client: TestClient, ctx: AppContext, factory: Factory,
                                                    school: BuiltSchool) -> None:
    cls, other_cls = school.classes
    math = school.subject(0)
    covered, not_covered = await add_lessons(ctx, school, cls.id, math, [P1, P2], hour=9)
    cover_user = school.teacher_of(other_cls.id, school.subject(2))  # teaches history in the other class
    admin = await factory.login(school.admin)
    resp = await client.put(f"/api/v1/lessons/{covered}/cover", json={"teacher_id": cover_user.id,
                                                                        "note": "Болезнь учителя"},
                            headers=admin.headers)
    assert resp.status == 200, await resp.text()
    lesson = await resp.json()
    assert (lesson["teacher_id"], lesson["regular_teacher_id"]) == (cover_user.id, cls.teacher_by_subject[math])
    student = cls.student_ids[0]
    cover = await factory.login(cover_user)
    resp = await client.post("/api/v1/grades", json=grade(student, covered, school), headers=cover.headers)
    assert resp.status == 201, await resp.text()
    resp = await client.post("/api/v1/grades", json=grade(student, not_covered, school), headers=cover.headers)
    assert resp.status == 403
    resp = await client.put(f"/api/v1/lessons/{covered}/attendance", headers=cover.headers,
                            json={"marks": [{"student_id": student, "status": "absent"}]})
    assert resp.status == 200
    resp = await client.put(f"/api/v1/lessons/{not_covered}/attendance", headers=cover.headers,
                            json={"marks": [{"student_id": student, "status": "absent"}]})
    assert resp.status == 403
    resp = await client.get(f"/api/v1/journal/lessons/{covered}", headers=cover.headers)
    assert (await resp.json())["can_edit"] is True
    resp = await client.get(f"/api/v1/schedule/me?from={P1}&to={P1}", headers=cover.headers)
    assert covered in [i["id"] for i in (await resp.json())["items"]]
    told = await changes(ctx)
    assert {n.user_id for n in told} >= {student, *school.parents_of[student], cls.teacher_by_subject[math]}
    assert told[0].payload["change"] == "cover"
    # Back to its own teacher: the cover may no longer grade on it.
    resp = await client.delete(f"/api/v1/lessons/{covered}/cover", headers=admin.headers)
    assert (await resp.json())["regular_teacher_id"] is None
    resp = await client.post("/api/v1/grades", json=grade(student, covered, school), headers=cover.headers)
    assert resp.status == 403


async def test_a_covered_lesson_can_be_moved_and_change_rooms(client: TestClient, ctx: AppContext,
                                                              factory: Factory, school: BuiltSchool) -> None:
    """The cover is not assigned to the class: the move is checked against the teacher it replaces."""
    cls, other_cls = school.classes
    (lesson_id,) = await add_lessons(ctx, school, cls.id, school.subject(0), [D1], hour=9)
    cover_user = school.teacher_of(other_cls.id, school.subject(2))
    admin = await factory.login(school.admin)
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/cover", json={"teacher_id": cover_user.id},
                            headers=admin.headers)
    assert resp.status == 200, await resp.text()
    resp = await client.patch(f"/api/v1/lessons/{lesson_id}", json={"room": "12"}, headers=admin.headers)
    assert resp.status == 200, await resp.text()
    moved_to = datetime(D2.year, D2.month, D2.day, 11, tzinfo=UTC)
    resp = await client.patch(f"/api/v1/lessons/{lesson_id}", headers=admin.headers, json={
        "starts_at": moved_to.isoformat(), "ends_at": (moved_to + timedelta(minutes=45)).isoformat()})
    assert resp.status == 200, await resp.text()
    lesson = await resp.json()
    assert (lesson["teacher_id"], lesson["regular_teacher_id"], lesson["room"]) == (
        cover_user.id, cls.teacher_by_subject[school.subject(0)], "12")


async def test_cover_clash_and_who_may_change(client: TestClient, ctx: AppContext, factory: Factory,
                                              school: BuiltSchool) -> None:
    cls, other_cls = school.classes
    (lesson_id,) = await add_lessons(ctx, school, cls.id, school.subject(0), [D1], hour=9)
    busy = school.teacher_of(other_cls.id, school.subject(1))
    await add_lessons(ctx, school, other_cls.id, school.subject(1), [D1], hour=9)
    admin = await factory.login(school.admin)
    url = f"/api/v1/lessons/{lesson_id}/cover"
    resp = await client.put(url, json={"teacher_id": busy.id}, headers=admin.headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "schedule_conflict"
    resp = await client.put(url, json={"teacher_id": cls.student_ids[0]}, headers=admin.headers)
    assert resp.status == 422
    resp = await client.put(url, json={"teacher_id": cls.teacher_by_subject[school.subject(0)]},
                            headers=admin.headers)
    assert resp.status == 422
    other_school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    resp = await client.put(url, json={"teacher_id": other_school.teacher_ids[0]}, headers=admin.headers)
    assert resp.status == 422
    teacher = await factory.login(school.teacher_of(cls.id, school.subject(0)))
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/cancellation", json={}, headers=teacher.headers)
    assert resp.status == 403
    foreign_admin = await factory.login(other_school.admin)
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/cancellation", json={}, headers=foreign_admin.headers)
    assert resp.status == 404
    parent = await factory.login(school.parents(cls.student_ids[0])[0])
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/cancellation", json={}, headers=parent.headers)
    assert resp.status == 403
    assert await changes(ctx) == []


async def test_cancelled_lesson_reaches_a_parents_open_socket(client: TestClient, ctx: AppContext,
                                                              factory: Factory, school: BuiltSchool) -> None:
    cls = school.classes[0]
    math = school.subject(0)
    (lesson_id,) = await add_lessons(ctx, school, cls.id, math, [D1], hour=9, room="12")
    child = cls.student_ids[0]
    parent = await factory.login(school.parents(child)[0])
    ws = await connect(client, parent)
    await subscribe(ws, f"user:{parent.user.id}")
    admin = await factory.login(school.admin)
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/cancellation", json={"note": "Учитель болен"},
                            headers=admin.headers)
    assert resp.status == 200, await resp.text()
    frame, _ = await recv_until(ws, lambda f: f.get("type") == "notification")
    assert frame["kind"] == "lesson_changed"
    assert frame["about_user_id"] == child
    assert frame["payload"]["change"] == "cancelled"
    assert frame["payload"]["lesson_id"] == lesson_id
    assert "отменён" in frame["payload"]["title"]
    await ws.close()
    resp = await client.get(f"/api/v1/schedule/me?from={D1}&to={D1}&child_id={child}", headers=parent.headers)
    item = next(i for i in (await resp.json())["items"] if i["id"] == lesson_id)
    assert item["cancelled"] is True
    assert item["change_note"] == "Учитель болен"
    teacher = await factory.login(school.teacher_of(cls.id, math))
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/attendance", headers=teacher.headers,
                            json={"marks": [{"student_id": child, "status": "present"}]})
    assert resp.status == 409
    # A cancelled lesson books nothing: another lesson may take its room, class and time; restoring clashes.
    starts = datetime(D1.year, D1.month, D1.day, 9).isoformat() + "+00:00"
    ends = datetime(D1.year, D1.month, D1.day, 9, 45).isoformat() + "+00:00"
    resp = await client.post("/api/v1/lessons", headers=admin.headers, json={
        "class_id": cls.id, "subject_id": math, "teacher_id": cls.teacher_by_subject[math], "room": "12",
        "starts_at": starts, "ends_at": ends})
    assert resp.status == 201, await resp.text()
    resp = await client.delete(f"/api/v1/lessons/{lesson_id}/cancellation", headers=admin.headers)
    assert resp.status == 409


async def test_restore_move_and_room_are_announced(client: TestClient, ctx: AppContext, factory: Factory,
                                                   school: BuiltSchool) -> None:
    cls = school.classes[0]
    (lesson_id,) = await add_lessons(ctx, school, cls.id, school.subject(1), [D1], hour=9, room="5")
    admin = await factory.login(school.admin)
    await client.put(f"/api/v1/lessons/{lesson_id}/cancellation", json={}, headers=admin.headers)
    resp = await client.delete(f"/api/v1/lessons/{lesson_id}/cancellation", headers=admin.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["cancelled"] is False
    resp = await client.delete(f"/api/v1/lessons/{lesson_id}/cancellation", headers=admin.headers)
    assert resp.status == 409
    resp = await client.patch(f"/api/v1/lessons/{lesson_id}", json={"room": "7"}, headers=admin.headers)
    assert resp.status == 200
    moved_to = datetime(D2.year, D2.month, D2.day, 10).isoformat() + "+00:00"
    ends = (datetime(D2.year, D2.month, D2.day, 10) + timedelta(minutes=45)).isoformat() + "+00:00"
    resp = await client.patch(f"/api/v1/lessons/{lesson_id}", json={"starts_at": moved_to, "ends_at": ends},
                              headers=admin.headers)
    assert resp.status == 200, await resp.text()
    planned = datetime(D1.year, D1.month, D1.day, 9, tzinfo=UTC)
    assert datetime.fromisoformat((await resp.json())["moved_from"]) == planned
    student = cls.student_ids[0]
    mine = [n.payload["change"] for n in await changes(ctx) if n.user_id == student]
    assert mine == ["cancelled", "restored", "room", "moved"]
    # Moved again, it still remembers the first plan; moved back there, it is not "moved" any more.
    later = datetime(D2.year, D2.month, D2.day, 12, tzinfo=UTC)
    resp = await client.patch(f"/api/v1/lessons/{lesson_id}", headers=admin.headers, json={
        "starts_at": later.isoformat(), "ends_at": (later + timedelta(minutes=45)).isoformat()})
    assert datetime.fromisoformat((await resp.json())["moved_from"]) == planned
    resp = await client.patch(f"/api/v1/lessons/{lesson_id}", headers=admin.headers, json={
        "starts_at": planned.isoformat(), "ends_at": (planned + timedelta(minutes=45)).isoformat()})
    assert (await resp.json())["moved_from"] is None
    resp = await client.patch(f"/api/v1/lessons/{lesson_id}", json={"topic": "Причастие"},
                              headers=admin.headers)
    assert len([n for n in await changes(ctx) if n.user_id == student]) == 6


async def test_lesson_changes_are_rate_limited(client: TestClient, ctx: AppContext, factory: Factory,
                                               school: BuiltSchool) -> None:
    (lesson_id,) = await add_lessons(ctx, school, school.classes[0].id, school.subject(0), [D1], hour=9)
    admin = await factory.login(school.admin)
    for _ in range(600):
        await ctx.limiter.hit(f"lesson-change:{admin.user.id}", 3600)
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/cancellation", json={}, headers=admin.headers)
    assert resp.status == 429
    assert await changes(ctx) == []


async def test_a_cancelled_lesson_is_cancelled_in_the_calendar_feed(client: TestClient, ctx: AppContext,
                                                                     factory: Factory, school: BuiltSchool) -> None:
    cls = school.classes[0]
    soon = datetime.now(UTC).date() + timedelta(days=2)
    (lesson_id,) = await add_lessons(ctx, school, cls.id, school.subject(0), [soon], hour=9)
    parent = await factory.login(school.parents(cls.student_ids[0])[0])
    resp = await client.post("/api/v1/calendar-feed", headers=parent.headers)
    assert resp.status == 201, await resp.text()
    path = "/" + str((await resp.json())["url"]).split("://", 1)[1].split("/", 1)[1]
    first = await client.get(path)
    etag = first.headers["ETag"]
    admin = await factory.login(school.admin)
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/cancellation", json={}, headers=admin.headers)
    assert resp.status == 200
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status == 200
    events = [e for e in icalendar.Calendar.from_ical(await again.read()).walk("VEVENT")
              if str(e["uid"]).startswith(f"lesson-{lesson_id}@")]
    assert [str(e["status"]) for e in events] == ["CANCELLED"]


async def test_a_cancelled_lesson_is_marked_on_the_teachers_day(client: TestClient, ctx: AppContext,
                                                                factory: Factory, school: BuiltSchool) -> None:
    cls = school.classes[0]
    (kept,) = await add_lessons(ctx, school, cls.id, school.subject(0), [D1], hour=9)
    (cancelled,) = await add_lessons(ctx, school, cls.id, school.subject(0), [D1], hour=11)
    admin = await factory.login(school.admin)
    resp = await client.put(f"/api/v1/lessons/{cancelled}/cancellation", json={"note": "Экскурсия"},
                            headers=admin.headers)
    assert resp.status == 200, await resp.text()
    teacher = await factory.login(school.teacher_of(cls.id, school.subject(0)))
    resp = await client.get(f"/api/v1/journal/home?date={D1}", headers=teacher.headers)
    day = {lesson["id"]: (lesson["cancelled"], lesson["change_note"]) for lesson in (await resp.json())["lessons"]}
    assert day == {kept: (False, None), cancelled: (True, "Экскурсия")}
