"""The schedule: lessons, double-booking, week views, personal schedules, homework notifications."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack import events
from edutrack.context import AppContext
from edutrack.db.diary import Lesson
from edutrack.db.models import Notification
from edutrack.queries import lessons as lesson_queries
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool, build_school

DAY = "2026-11-30"  # a Monday


def lesson(school: BuiltSchool, class_index: int, subject: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    cls = school.classes[class_index]
    subject_id = school.subject_ids[subject]
    return {"class_id": cls.id, "subject_id": subject_id, "teacher_id": cls.teacher_by_subject[subject_id],
            "starts_at": f"{DAY}T{start}:00", "ends_at": f"{DAY}T{end}:00", **extra}


async def test_create_lesson_in_school_time(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    made = await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 0, "Математика", "09:00", "09:45", room="101", topic="Дроби")), 201)
    # Naive times are the school's wall clock (Europe/Moscow, UTC+3).
    assert made["starts_at"].startswith("2026-11-30T06:00:00")
    assert made["room"] == "101"
    assert made["subject_name"] == "Математика"
    assert made["teacher_name"]
    aware = await body_of(await client.post("/api/v1/lessons", headers=admin, json={
        **lesson(school, 0, "История", "00:00", "00:00"),
        "starts_at": f"{DAY}T07:00:00+00:00", "ends_at": f"{DAY}T07:45:00+00:00"}), 201)
    assert aware["starts_at"].startswith("2026-11-30T07:00:00")
    got = await body_of(await client.get(f"/api/v1/lessons/{made['id']}", headers=auth(ctx, school.student())),
                        200)
    assert got["topic"] == "Дроби"


async def test_bad_lesson_input(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    math = school.subject_ids["Математика"]
    c0 = school.classes[0]
    bad_cases = [
        lesson(school, 0, "Математика", "10:00", "09:00"),  # end before start
        lesson(school, 0, "Математика", "10:00", "10:00"),  # empty
        {**lesson(school, 0, "Математика", "08:00", "09:00"), "ends_at": "2026-11-30T23:00:00"},  # too long
        {**lesson(school, 0, "Математика", "09:00", "09:45"), "teacher_id": c0.teacher_by_subject[
            school.subject_ids["История"]]},  # not assigned to this subject
        {**lesson(school, 0, "Математика", "09:00", "09:45"), "class_id": 999999},
        {**lesson(school, 0, "Математика", "09:00", "09:45"), "subject_id": 999999},
        {**lesson(school, 0, "Математика", "09:00", "09:45"), "starts_at": "not a time"},
        {**lesson(school, 0, "Математика", "09:00", "09:45"), "room": "x" * 31},
        {"class_id": c0.id, "subject_id": math},
    ]
    for bad in bad_cases:
        body = await body_of(await client.post("/api/v1/lessons", headers=admin, json=bad), 422)
        assert body["error"]["code"] == "validation_error", bad
    other = await build_school(ctx, classes=1, students_per_class=1)
    await body_of(await client.post("/api/v1/lessons", headers=auth(ctx, other.admin),
                                    json=lesson(school, 0, "Математика", "09:00", "09:45")), 422)
    for who in (school.teacher_of(c0.id, math), school.student(), school.parents(school.student().id)[0]):
        await body_of(await client.post("/api/v1/lessons", headers=auth(ctx, who),
                                        json=lesson(school, 0, "Математика", "09:00", "09:45")), 403)
    for query in ("", f"class_id={c0.id}&from=2026-12-01&to=2026-11-01",
                  f"class_id={c0.id}&from=2026-01-01&to=2026-12-31", f"class_id={c0.id}&from=yesterday",
                  "class_id=0"):
        await body_of(await client.get(f"/api/v1/lessons?{query}", headers=admin), 422)
    await body_of(await client.get("/api/v1/lessons/999999", headers=admin), 404)
    await body_of(await client.patch("/api/v1/lessons/999999", headers=admin, json={"topic": "x"}), 404)


async def test_double_booking_is_refused_with_the_conflict_named(client: TestClient, ctx: AppContext) -> None:
    school = await build_school(ctx, classes=2, students_per_class=1, shared_teacher=True)
    admin = auth(ctx, school.admin)
    first = await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 0, "Математика", "09:00", "09:45", room="101")), 201)

    # The same class, overlapping, with another subject of the same class teacher.
    clash = await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 0, "История", "09:30", "10:15")), 409)
    assert clash["error"]["code"] == "schedule_conflict"
    kinds = {c["kind"] for c in clash["error"]["details"]["conflicts"]}
    assert kinds == {"class"}
    assert "уже есть урок" in clash["error"]["message"]
    assert clash["error"]["details"]["conflicts"][0]["lesson_id"] == first["id"]

    # Class 1 in room 101 at the same time: the room is taken (its own teacher is free).
    room = await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 1, "Математика", "09:10", "09:55", room="101")), 409)
    assert {c["kind"] for c in room["error"]["details"]["conflicts"]} == {"room"}
    assert "Кабинет 101" in room["error"]["message"]

    # The teacher of class 0 also teaching class 1: give class 1's maths to class 0's teacher.
    teacher0 = school.classes[0].teacher_by_subject[school.subject_ids["Математика"]]
    await body_of(await client.post("/api/v1/assignments", headers=admin, json={
        "class_id": school.classes[1].id, "subject_id": school.subject_ids["Математика"],
        "teacher_id": teacher0}), 201)
    teacher = await body_of(await client.post("/api/v1/lessons", headers=admin, json={
        **lesson(school, 1, "Математика", "09:44", "10:30"), "teacher_id": teacher0}), 409)
    assert {c["kind"] for c in teacher["error"]["details"]["conflicts"]} == {"teacher"}

    # Touching intervals are fine: 09:45 -> 10:30 right after 09:00 -> 09:45, same class, teacher and room.
    await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 0, "Математика", "09:45", "10:30", room="101")), 201)
    # Moving a lesson onto another is refused too; moving it to a free slot works.
    second = await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 0, "История", "11:00", "11:45")), 201)
    await body_of(await client.patch(f"/api/v1/lessons/{second['id']}", headers=admin,
                                     json={"starts_at": f"{DAY}T09:15:00", "ends_at": f"{DAY}T10:00:00"}), 409)
    await body_of(await client.patch(f"/api/v1/lessons/{second['id']}", headers=admin,
                                     json={"ends_at": f"{DAY}T10:00:00"}), 422)  # now ends before it starts
    moved = await body_of(await client.patch(f"/api/v1/lessons/{second['id']}", headers=admin,
                                             json={"starts_at": f"{DAY}T12:00:00", "ends_at": f"{DAY}T12:45:00",
                                                   "room": "202"}), 200)
    assert moved["room"] == "202"


async def test_concurrent_bookings_one_wins(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    """Both requests pass the friendly check at the same time; the exclusion constraint decides."""
    admin = auth(ctx, school.admin)
    results = await asyncio.gather(*(
        client.post("/api/v1/lessons", headers=admin, json=lesson(school, 0, subject, "13:00", "13:45"))
        for subject in ("Математика", "Русский язык", "История", "Математика")
    ))
    statuses = sorted(r.status for r in results)
    assert statuses == [201, 409, 409, 409], statuses
    for r in results:
        if r.status == 409:
            assert (await r.json())["error"]["code"] == "schedule_conflict"


async def test_homework_notifies_students_and_parents(client: TestClient, ctx: AppContext,
                                                      school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    c0 = school.classes[0]
    math = school.subject_ids["Математика"]
    made = await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 0, "Математика", "09:00", "09:45")), 201)
    teacher = auth(ctx, school.teacher_of(c0.id, math))
    other_teacher = auth(ctx, school.teacher_of(c0.id, school.subject_ids["История"]))
    await body_of(await client.patch(f"/api/v1/lessons/{made['id']}", headers=other_teacher,
                                     json={"homework": "x"}), 403)
    await body_of(await client.patch(f"/api/v1/lessons/{made['id']}", headers=auth(ctx, school.student()),
                                     json={"homework": "x"}), 403)
    await body_of(await client.patch(f"/api/v1/lessons/{made['id']}", headers=auth(ctx, school.student(1)),
                                     json={"homework": "x"}), 404)  # not their class
    # A teacher may not move lessons; only admins plan the timetable.
    await body_of(await client.patch(f"/api/v1/lessons/{made['id']}", headers=teacher,
                                     json={"room": "5"}), 403)

    updated = await body_of(await client.patch(f"/api/v1/lessons/{made['id']}", headers=teacher,
                                               json={"homework": "№ 15, 16", "topic": "Дроби"}), 200)
    assert updated["homework"] == "№ 15, 16"
    async with ctx.sessions() as session:
        rows = list((await session.execute(select(Notification).order_by(Notification.id))).scalars())
    expected = {(sid, sid) for sid in c0.student_ids}
    expected |= {(pid, sid) for sid in c0.student_ids for pid in school.parents_of[sid]}
    assert {(r.user_id, r.about_user_id) for r in rows} == expected
    assert len(rows) == len(expected)
    payload = rows[0].payload
    assert {r.kind for r in rows} == {"homework"}
    assert payload["lesson_id"] == made["id"]
    assert payload["class_id"] == c0.id
    assert payload["subject"] == "Математика"
    assert payload["date"] == DAY
    assert payload["text"] == "№ 15, 16"
    assert payload["title"]

    # The same text again, or a topic change, notifies nobody; new text notifies again.
    await body_of(await client.patch(f"/api/v1/lessons/{made['id']}", headers=teacher,
                                     json={"homework": "№ 15, 16", "topic": "Дроби 2"}), 200)
    async with ctx.sessions() as session:
        assert len(list((await session.execute(select(Notification.id))).scalars())) == len(expected)
    await body_of(await client.patch(f"/api/v1/lessons/{made['id']}", headers=teacher,
                                     json={"homework": "№ 17"}), 200)
    async with ctx.sessions() as session:
        assert len(list((await session.execute(select(Notification.id))).scalars())) == 2 * len(expected)


async def test_week_view_and_personal_schedules(client: TestClient, ctx: AppContext,
                                                school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    c0, c1 = school.classes
    math = school.subject_ids["Математика"]
    a = await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 0, "Математика", "09:00", "09:45")), 201)
    b = await body_of(await client.post("/api/v1/lessons", headers=admin, json={
        **lesson(school, 0, "История", "10:00", "10:45"), "starts_at": "2026-12-03T10:00:00",
        "ends_at": "2026-12-03T10:45:00"}), 201)
    next_week = await body_of(await client.post("/api/v1/lessons", headers=admin, json={
        **lesson(school, 0, "Математика", "09:00", "09:45"), "starts_at": "2026-12-07T09:00:00",
        "ends_at": "2026-12-07T09:45:00"}), 201)
    c1_lesson = await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 1, "Математика", "09:00", "09:45")), 201)

    week = await body_of(await client.get(
        f"/api/v1/lessons?class_id={c0.id}&from=2026-11-30&to=2026-12-06", headers=admin), 200)
    assert [x["id"] for x in week["items"]] == [a["id"], b["id"]]
    assert week["from"] == "2026-11-30"
    assert week["to"] == "2026-12-06"
    assert week["timezone"] == "Europe/Moscow"
    one_day = await body_of(await client.get(
        f"/api/v1/lessons?class_id={c0.id}&from=2026-12-07", headers=admin), 200)
    assert [x["id"] for x in one_day["items"]] == [next_week["id"]]

    student = school.users[c0.student_ids[0]]
    mine = await body_of(await client.get("/api/v1/schedule/me?from=2026-11-30&to=2026-12-06",
                                          headers=auth(ctx, student)), 200)
    assert [x["id"] for x in mine["items"]] == [a["id"], b["id"]]
    teacher = school.teacher_of(c1.id, math)
    taught = await body_of(await client.get("/api/v1/schedule/me?from=2026-11-30&to=2026-12-06",
                                            headers=auth(ctx, teacher)), 200)
    assert [x["id"] for x in taught["items"]] == [c1_lesson["id"]]
    parent = school.parents(student.id)[0]
    child = await body_of(await client.get(f"/api/v1/schedule/me?from=2026-11-30&child_id={student.id}",
                                           headers=auth(ctx, parent)), 200)
    assert [x["id"] for x in child["items"]] == [a["id"], b["id"]]
    # One child: child_id may be left out; a stranger's child is not found.
    await body_of(await client.get("/api/v1/schedule/me?from=2026-11-30", headers=auth(ctx, parent)), 200)
    await body_of(await client.get(f"/api/v1/schedule/me?child_id={c1.student_ids[0]}",
                                   headers=auth(ctx, parent)), 404)
    await body_of(await client.get("/api/v1/schedule/me", headers=admin), 403)

    # Other people's classes are not visible.
    await body_of(await client.get(f"/api/v1/lessons?class_id={c1.id}", headers=auth(ctx, student)), 404)
    await body_of(await client.get(f"/api/v1/lessons/{c1_lesson['id']}", headers=auth(ctx, parent)), 404)
    other = await build_school(ctx, classes=1, students_per_class=1)
    await body_of(await client.get(f"/api/v1/lessons?class_id={c0.id}", headers=auth(ctx, other.admin)), 404)
    await body_of(await client.delete(f"/api/v1/lessons/{a['id']}", headers=auth(ctx, other.admin)), 404)
    await body_of(await client.delete(f"/api/v1/lessons/{a['id']}", headers=auth(ctx, student)), 403)
    await body_of(await client.delete(f"/api/v1/lessons/{a['id']}", headers=admin), 204)
    week = await body_of(await client.get(
        f"/api/v1/lessons?class_id={c0.id}&from=2026-11-30&to=2026-12-06", headers=admin), 200)
    assert [x["id"] for x in week["items"]] == [b["id"]]


async def test_homework_on_a_new_lesson_is_pushed_live_after_commit(client: TestClient, ctx: AppContext,
                                                                    school: BuiltSchool) -> None:
    c0 = school.classes[0]
    student_id = c0.student_ids[0]
    pubsub = ctx.redis.pubsub()
    await pubsub.subscribe(events.redis_channel(ctx.settings.namespace, f"user:{student_id}"))
    try:
        made = await body_of(await client.post("/api/v1/lessons", headers=auth(ctx, school.admin), json=lesson(
            school, 0, "Математика", "09:00", "09:45", homework="Выучить таблицу")), 201)
        event = None
        for _ in range(50):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is not None:
                event = json.loads(message["data"])
                break
    finally:
        await pubsub.aclose()
    assert event is not None
    assert event["kind"] == "homework"
    assert event["about_user_id"] == student_id
    assert event["payload"]["lesson_id"] == made["id"]
    assert event["payload"]["text"] == "Выучить таблицу"
    async with ctx.sessions() as session:
        stored = (await session.execute(select(Notification).where(Notification.id == event["id"]))).scalar_one()
    assert stored.user_id == student_id  # the live event is the committed row


async def test_exclusion_constraint_backs_the_check(client: TestClient, ctx: AppContext, school: BuiltSchool,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """If a concurrent writer slips past the friendly check, PostgreSQL's exclusion constraint still
    refuses, and the answer is the same kind of 409 (here the check is made blind to force that path)."""
    admin = auth(ctx, school.admin)
    await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 0, "Математика", "09:00", "09:45", room="101")), 201)

    async def blind(*args: Any, **kwargs: Any) -> list[Any]:
        return []

    monkeypatch.setattr(lesson_queries, "conflicts", blind)
    for index, subject, room, kind in ((0, "История", None, "class"), (1, "Математика", "101", "room")):
        body = await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
            school, index, subject, "09:30", "10:15", room=room)), 409)
        assert body["error"]["code"] == "schedule_conflict"
        assert [c["kind"] for c in body["error"]["details"]["conflicts"]] == [kind]
    async with ctx.sessions() as session:
        assert len(list((await session.execute(select(Lesson.id))).scalars())) == 1
