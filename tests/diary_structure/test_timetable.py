"""Timetable planning: the dry-run check of one lesson (new or moved) and a weekly timetable over a term, both
deciding with the schedule's own conflict rules; tried from the attacker's side too."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from edutrack.context import AppContext
from edutrack.db.diary import Lesson
from tests.diary_structure.test_lessons import DAY, lesson
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool, build_school


async def lesson_count(ctx: AppContext) -> int:
    async with ctx.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Lesson))).scalar_one())


async def test_check_reports_what_saving_would_refuse_and_saves_nothing(
        client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    free = lesson(school, 0, "Математика", "09:00", "09:45", room="101")
    assert await body_of(await client.post("/api/v1/lessons/check", headers=admin, json=free), 200) == {
        "ok": True, "conflicts": []}
    assert await lesson_count(ctx) == 0
    await body_of(await client.post("/api/v1/lessons", headers=admin, json=free), 201)

    # The same class at an overlapping time, and another class in the same room.
    clash = lesson(school, 0, "История", "09:30", "10:15")
    checked = await body_of(await client.post("/api/v1/lessons/check", headers=admin, json=clash), 200)
    assert not checked["ok"]
    assert [c["kind"] for c in checked["conflicts"]] == ["class"]
    refused = await body_of(await client.post("/api/v1/lessons", headers=admin, json=clash), 409)
    # Exactly what saving says: one rule, not a copy of it.
    assert refused["error"]["details"]["conflicts"] == checked["conflicts"]
    room = lesson(school, 1, "История", "09:15", "10:00", room="101")
    checked = await body_of(await client.post("/api/v1/lessons/check", headers=admin, json=room), 200)
    assert [c["kind"] for c in checked["conflicts"]] == ["room"]
    assert "101" in checked["conflicts"][0]["message"]
    assert await lesson_count(ctx) == 1


async def test_check_a_move(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    first = await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 0, "Математика", "09:00", "09:45")), 201)
    await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 0, "История", "10:00", "10:45")), 201)
    # A lesson does not clash with itself; moving it onto the other does.
    same = await body_of(await client.post("/api/v1/lessons/check", headers=admin, json={
        "lesson_id": first["id"], "starts_at": f"{DAY}T09:10:00", "ends_at": f"{DAY}T09:55:00"}), 200)
    assert same["ok"]
    onto = await body_of(await client.post("/api/v1/lessons/check", headers=admin, json={
        "lesson_id": first["id"], "starts_at": f"{DAY}T10:00:00", "ends_at": f"{DAY}T10:45:00"}), 200)
    assert [c["kind"] for c in onto["conflicts"]] == ["class"]


async def test_check_refuses_bad_input_as_saving_would(
        client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    missing = await body_of(await client.post("/api/v1/lessons/check", headers=admin, json={
        "class_id": school.classes[0].id}), 422)
    assert set(missing["error"]["details"]) == {"subject_id", "teacher_id", "starts_at", "ends_at"}
    history_teacher = school.classes[0].teacher_by_subject[school.subject_ids["История"]]
    unassigned = await body_of(await client.post("/api/v1/lessons/check", headers=admin, json={
        **lesson(school, 0, "Математика", "09:00", "09:45"), "teacher_id": history_teacher}), 422)
    assert "teacher_id" in unassigned["error"]["details"]
    backwards = await body_of(await client.post("/api/v1/lessons/check", headers=admin, json=lesson(
        school, 0, "Математика", "10:00", "09:00")), 422)
    assert "ends_at" in backwards["error"]["details"]


async def test_check_from_the_attackers_side(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    other = await build_school(ctx, classes=1, students_per_class=1)
    admin = auth(ctx, school.admin)
    mine = await body_of(await client.post("/api/v1/lessons", headers=admin, json=lesson(
        school, 0, "Математика", "09:00", "09:45")), 201)
    body = lesson(school, 0, "История", "11:00", "11:45")
    teacher = auth(ctx, school.teacher_of(school.classes[0].id, school.subject_ids["Математика"]))
    await body_of(await client.post("/api/v1/lessons/check", headers=teacher, json=body), 403)
    await body_of(await client.post("/api/v1/lessons/check", json=body), 401)
    stranger = auth(ctx, other.admin)
    # Another school's admin learns nothing about this school's lessons or classes.
    await body_of(await client.post("/api/v1/lessons/check", headers=stranger, json={
        "lesson_id": mine["id"], "starts_at": f"{DAY}T12:00:00", "ends_at": f"{DAY}T12:45:00"}), 404)
    refused = await body_of(await client.post("/api/v1/lessons/check", headers=stranger, json=body), 422)
    assert "class_id" in refused["error"]["details"]


def slots(school: BuiltSchool, class_index: int = 0) -> list[dict[str, Any]]:
    cls = school.classes[class_index]
    maths, history = school.subject_ids["Математика"], school.subject_ids["История"]
    return [
        {"weekday": 1, "starts": "09:00", "ends": "09:45", "subject_id": maths,
         "teacher_id": cls.teacher_by_subject[maths], "room": "101"},
        {"weekday": 3, "starts": "10:00", "ends": "10:45", "subject_id": history,
         "teacher_id": cls.teacher_by_subject[history]},
    ]


async def test_weekly_timetable_over_part_of_a_term(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    start = date(2026, 11, 30)  # a Monday, inside the first term of the school built for 2026/2027
    request = {"class_id": school.classes[0].id, "term_id": school.term_ids[0], "from": start.isoformat(),
               "to": (start + timedelta(days=20)).isoformat(), "slots": slots(school)}
    planned = await body_of(await client.post("/api/v1/lessons/weekly", headers=admin,
                                              json={**request, "dry_run": True}), 200)
    assert planned == {"dry_run": True, "lessons": 6, "created": 0, "conflicts": []}
    assert await lesson_count(ctx) == 0
    made = await body_of(await client.post("/api/v1/lessons/weekly", headers=admin, json=request), 200)
    assert made["created"] == 6
    week = await body_of(await client.get(
        f"/api/v1/lessons?class_id={school.classes[0].id}&from=2026-12-07&to=2026-12-13", headers=admin), 200)
    assert [(item["subject_name"], item["starts_at"][:16]) for item in week["items"]] == [
        ("Математика", "2026-12-07T06:00"), ("История", "2026-12-09T07:00")]
    # Laid again, every lesson clashes with itself: all reported, nothing saved.
    again = await body_of(await client.post("/api/v1/lessons/weekly", headers=admin, json=request), 409)
    clashes = again["error"]["details"]["lessons"]
    assert len(clashes) == 6
    assert {c["slot"] for c in clashes} == {0, 1}
    assert clashes[0]["date"] == "2026-11-30"
    assert clashes[0]["conflicts"][0]["kind"] == "class"
    assert "6" in again["error"]["message"]
    assert await lesson_count(ctx) == 6


async def test_weekly_reports_each_clashing_lesson_and_saves_none(
        client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    # The maths teacher of class 0 also teaches class 1 on one Monday at 09:00 in another room.
    cls1 = school.classes[1]
    maths = school.subject_ids["Математика"]
    teacher = school.classes[0].teacher_by_subject[maths]
    await body_of(await client.post("/api/v1/assignments", headers=admin, json={
        "class_id": cls1.id, "subject_id": maths, "teacher_id": teacher}), 201)
    await body_of(await client.post("/api/v1/lessons", headers=admin, json={
        "class_id": cls1.id, "subject_id": maths, "teacher_id": teacher, "room": "205",
        "starts_at": "2026-12-07T09:15:00", "ends_at": "2026-12-07T10:00:00"}), 201)
    request = {"class_id": school.classes[0].id, "term_id": school.term_ids[0], "from": "2026-11-30",
               "to": "2026-12-20", "slots": slots(school)}
    dry = await body_of(await client.post("/api/v1/lessons/weekly", headers=admin,
                                          json={**request, "dry_run": True}), 200)
    assert [(c["slot"], c["date"], c["conflicts"][0]["kind"]) for c in dry["conflicts"]] == [
        (0, "2026-12-07", "teacher")]
    refused = await body_of(await client.post("/api/v1/lessons/weekly", headers=admin, json=request), 409)
    assert refused["error"]["details"]["lessons"] == dry["conflicts"]
    assert await lesson_count(ctx) == 1


async def test_weekly_bad_input(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    base = {"class_id": school.classes[0].id, "term_id": school.term_ids[0], "slots": slots(school)}
    overlapping = [*slots(school), {**slots(school)[0], "starts": "09:30", "ends": "10:15"}]
    refused = await body_of(await client.post("/api/v1/lessons/weekly", headers=admin,
                                              json={**base, "slots": overlapping}), 422)
    assert refused["error"]["details"] == {"slots": {"2": {"starts": ["Пересекается с уроком 1 этого расписания."]}}}
    wrong_teacher = [{**slots(school)[0], "teacher_id": slots(school)[1]["teacher_id"]}]
    refused = await body_of(await client.post("/api/v1/lessons/weekly", headers=admin,
                                              json={**base, "slots": wrong_teacher}), 422)
    assert "teacher_id" in refused["error"]["details"]["slots"]["0"]
    for bad in ({"slots": []}, {"slots": [{**slots(school)[0], "ends": "08:00"}]},
                {"slots": [{**slots(school)[0], "weekday": 8}]}, {"from": "2027-05-01", "to": "2027-04-01"}):
        await body_of(await client.post("/api/v1/lessons/weekly", headers=admin, json={**base, **bad}), 422)
    assert await lesson_count(ctx) == 0


async def test_weekly_from_the_attackers_side(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    other = await build_school(ctx, classes=1, students_per_class=1)
    request = {"class_id": school.classes[0].id, "term_id": school.term_ids[0], "slots": slots(school)}
    teacher = auth(ctx, school.teacher_of(school.classes[0].id, school.subject_ids["Математика"]))
    await body_of(await client.post("/api/v1/lessons/weekly", headers=teacher, json=request), 403)
    await body_of(await client.post("/api/v1/lessons/weekly", json=request), 401)
    stranger = auth(ctx, other.admin)
    refused = await body_of(await client.post("/api/v1/lessons/weekly", headers=stranger, json=request), 422)
    assert "class_id" in refused["error"]["details"]["slots"]["0"]
    # Their own class with this school's term: refused too.
    own = {"class_id": other.classes[0].id, "term_id": school.term_ids[0], "slots": slots(other)}
    refused = await body_of(await client.post("/api/v1/lessons/weekly", headers=stranger, json=own), 422)
    assert "term_id" in refused["error"]["details"]
    assert await lesson_count(ctx) == 0
