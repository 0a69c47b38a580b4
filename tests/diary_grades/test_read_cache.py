"""The cached hot reads: a student's grade list, the class term sheet and the class week.

For each: a hit sends no SQL; every write that changes the answer (or who may see it) is visible on the next
read; a caller who may not see it gets the same 403/404 as without the cache, even right after an allowed
caller warmed it; with Redis down the answer comes from PostgreSQL.
"""

from __future__ import annotations

import logging
from datetime import date

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.diary import TeachingAssignment
from edutrack.db.models import User
from edutrack.keys import CTX
from tests.support.diary import auth, body_of, count_sql
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, add_lessons, build_school
from tests.support.services import free_port

D = date(2026, 10, 5)
WEEK = "from=2026-10-05&to=2026-10-11"


def _grade(school: BuiltSchool, student_id: int, subject_id: int, value: int, day: date = D,
           work_type: str = "Контрольная работа") -> dict[str, object]:
    return {"student_id": student_id, "subject_id": subject_id, "date": day.isoformat(), "value": value,
            "work_type_id": school.work_type_ids[work_type]}


async def _cached_read(client: TestClient, ctx: AppContext, url: str, headers: dict[str, str]) -> object:
    """Read twice; the second read must be a hit (no SQL at all) and equal the first."""
    first = await body_of(await client.get(url, headers=headers), 200)
    with count_sql(ctx) as statements:
        again = await body_of(await client.get(url, headers=headers), 200)
    assert statements == []
    assert again == first
    return again


async def test_grade_list_follows_every_write(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    cls, math = school.classes[0], school.subject(0)
    student = cls.student_ids[0]
    teacher = auth(ctx, school.teacher_of(cls.id, math))
    parent = auth(ctx, school.parents(student)[0])
    url = f"/api/v1/students/{student}/grades?term_id={school.term_ids[0]}"
    assert (await _cached_read(client, ctx, url, parent))["grades"] == []  # type: ignore[index]

    [lesson] = await add_lessons(ctx, school, cls.id, math, [D])
    made = await body_of(await client.post("/api/v1/grades", headers=teacher, json={
        "student_id": student, "lesson_id": lesson, "work_type_id": school.work_type_ids["Контрольная работа"],
        "value": 4}), 201)
    listed = await _cached_read(client, ctx, url, parent)
    assert [(g["id"], g["value"], g["lesson_id"]) for g in listed["grades"]] == [(made["id"], 4, lesson)]  # type: ignore[index]

    await body_of(await client.patch(f"/api/v1/grades/{made['id']}", headers=teacher, json={"value": 2}), 200)
    listed = await _cached_read(client, ctx, url, parent)
    assert [g["value"] for g in listed["grades"]] == [2]  # type: ignore[index]
    assert listed["subjects"][0]["weighted_average"] == 2.0  # type: ignore[index]

    # Deleting the lesson unlinks the grade from it.
    await body_of(await client.delete(f"/api/v1/lessons/{lesson}", headers=auth(ctx, school.admin)), 204)
    assert (await _cached_read(client, ctx, url, parent))["grades"][0]["lesson_id"] is None  # type: ignore[index]

    # School-wide changes: a subject's name, the teacher's name, a work type's weight.
    admin = auth(ctx, school.admin)
    await body_of(await client.patch(f"/api/v1/subjects/{math}", headers=admin, json={"name": "Алгебра"}), 200)
    await body_of(await client.put("/api/v1/profile/me", headers=teacher, json={"last_name": "Новикова"}), 200)
    other = await body_of(await client.post("/api/v1/grades", headers=teacher, json=_grade(
        school, student, math, 5, work_type="Домашняя работа")), 201)
    listed = await _cached_read(client, ctx, url, parent)
    assert {g["subject"] for g in listed["grades"]} == {"Алгебра"}  # type: ignore[index]
    assert all(g["teacher"].startswith("Новикова") for g in listed["grades"])  # type: ignore[index]
    # (2 x 3 + 5 x 1) / 4
    assert listed["subjects"][0]["weighted_average"] == 2.75  # type: ignore[index]
    await body_of(await client.patch(f"/api/v1/work-types/{school.work_type_ids['Домашняя работа']}",
                                     headers=admin, json={"weight": 3}), 200)
    listed = await _cached_read(client, ctx, url, parent)
    assert listed["subjects"][0]["weighted_average"] == 3.5  # type: ignore[index]

    await body_of(await client.delete(f"/api/v1/grades/{other['id']}", headers=teacher), 204)
    assert [g["id"] for g in (await _cached_read(client, ctx, url, parent))["grades"]] == [made["id"]]  # type: ignore[index]


async def test_grade_list_cache_keeps_the_authorization(client: TestClient, ctx: AppContext, factory: Factory,
                                                        school: BuiltSchool) -> None:
    c0, c1, math = school.classes[0], school.classes[1], school.subject(0)
    student = c0.student_ids[0]
    url = f"/api/v1/students/{student}/grades?term_id={school.term_ids[0]}"
    await body_of(await client.post("/api/v1/grades", headers=auth(ctx, school.teacher_of(c0.id, math)),
                                    json=_grade(school, student, math, 5)), 201)
    parent, admin = school.parents(student)[0], auth(ctx, school.admin)
    await _cached_read(client, ctx, url, auth(ctx, parent))  # warm: the entry is in Redis now
    await _cached_read(client, ctx, url, admin)
    other_parent = school.parents(c1.student_ids[0])[0]
    other_school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)
    refused = [auth(ctx, other_parent), auth(ctx, school.user(c1.student_ids[0])),
               auth(ctx, school.teacher_of(c1.id, math)), auth(ctx, other_school.admin)]
    for headers in refused:
        await body_of(await client.get(url, headers=headers), 404)
    # A subject teacher sees their own subject only, though the full list is cached for the parent.
    russian = school.subject(1)
    await body_of(await client.post("/api/v1/grades", headers=auth(ctx, school.teacher_of(c0.id, russian)),
                                    json=_grade(school, student, russian, 3)), 201)
    seen = await _cached_read(client, ctx, url, auth(ctx, school.teacher_of(c0.id, russian)))
    assert {g["subject_id"] for g in seen["grades"]} == {russian}  # type: ignore[index]
    # Unlinking the parent takes the grades away from them at once, though they were just cached for them.
    await _cached_read(client, ctx, url, auth(ctx, parent))
    await body_of(await client.delete(f"/api/v1/parent-links/{parent.id}/{student}", headers=admin), 204)
    await body_of(await client.get(url, headers=auth(ctx, parent)), 404)
    # Linking another parent gives them the grades.
    await body_of(await client.post("/api/v1/parent-links", headers=admin,
                                    json={"parent_id": other_parent.id, "child_id": student}), 201)
    assert len((await _cached_read(client, ctx, url, auth(ctx, other_parent)))["grades"]) == 2  # type: ignore[index]
    # A teacher who stops teaching the class stops seeing its student.
    async with ctx.reads() as session:
        assignment = (await session.execute(select(TeachingAssignment.id).where(
            TeachingAssignment.class_id == c0.id, TeachingAssignment.subject_id == russian))).scalar_one()
    await body_of(await client.delete(f"/api/v1/assignments/{assignment}", headers=admin), 204)
    await body_of(await client.get(url, headers=auth(ctx, school.teacher_of(c0.id, russian))), 404)


async def test_term_sheet_follows_writes_and_keeps_the_authorization(client: TestClient, ctx: AppContext,
                                                                     factory: Factory,
                                                                     school: BuiltSchool) -> None:
    c0, c1, math = school.classes[0], school.classes[1], school.subject(0)
    admin = auth(ctx, school.admin)
    teacher = auth(ctx, school.teacher_of(c0.id, math))
    url = f"/api/v1/classes/{c0.id}/term-sheet?term_id={school.term_ids[0]}"
    student = c0.student_ids[0]

    def cell(sheet: object, student_id: int, subject_id: int) -> dict[str, object]:
        row = next(r for r in sheet["students"] if r["student_id"] == student_id)  # type: ignore[index]
        return next(c for c in row["cells"] if c["subject_id"] == subject_id)  # type: ignore[no-any-return]

    assert cell(await _cached_read(client, ctx, url, admin), student, math)["marks_count"] == 0
    for value in (5, 4, 4):
        await body_of(await client.post("/api/v1/grades", headers=teacher, json=_grade(school, student, math, value)),
                      201)
    sheet = await _cached_read(client, ctx, url, admin)
    assert cell(sheet, student, math)["proposed"] == "4"
    assert cell(sheet, student, math)["final"] is None
    await body_of(await client.put("/api/v1/attestations", headers=teacher, json={
        "student_id": student, "subject_id": math, "term_id": school.term_ids[0], "final": "5",
        "comment": "олимпиада"}), 200)
    sheet = await _cached_read(client, ctx, url, admin)
    assert cell(sheet, student, math)["final"] == "5"
    assert cell(sheet, student, math)["is_override"] is True
    # The school's rounding policy changes the proposal.
    await body_of(await client.patch(f"/api/v1/schools/{school.id}", headers=admin,
                                     json={"min_marks_for_attestation": 5}), 200)
    assert cell(await _cached_read(client, ctx, url, admin), student, math)["proposed"] == "na"
    # Enrolment: a new student appears as a row.
    newcomer = await factory.user("student", school_id=school.id)
    await body_of(await client.post(f"/api/v1/classes/{c0.id}/students", headers=admin,
                                    json={"student_ids": [newcomer.id]}), 200)
    sheet = await _cached_read(client, ctx, url, admin)
    assert newcomer.id in {r["student_id"] for r in sheet["students"]}  # type: ignore[index]

    # Warm for a subject teacher (the maths teacher leads the class) too, then check everyone who may not see it.
    russian = school.subject(1)
    subject_teacher = auth(ctx, school.teacher_of(c0.id, russian))
    sheet = await _cached_read(client, ctx, url, subject_teacher)
    assert [s["id"] for s in sheet["subjects"]] == [russian]  # type: ignore[index]
    assert len((await _cached_read(client, ctx, url, teacher))["subjects"]) == len(school.subject_ids)  # type: ignore[index]
    other_school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)
    await body_of(await client.get(url, headers=auth(ctx, other_school.admin)), 404)
    await body_of(await client.get(url, headers=auth(ctx, school.teacher_of(c1.id, math))), 404)
    await body_of(await client.get(url, headers=auth(ctx, school.user(student))), 403)
    await body_of(await client.get(url, headers=auth(ctx, school.parents(student)[0])), 403)
    async with ctx.reads() as session:
        assignment = (await session.execute(select(TeachingAssignment.id).where(
            TeachingAssignment.class_id == c0.id, TeachingAssignment.subject_id == russian))).scalar_one()
    await body_of(await client.delete(f"/api/v1/assignments/{assignment}", headers=admin), 204)
    await body_of(await client.get(url, headers=subject_teacher), 404)


async def test_week_view_cache_keeps_the_authorization(client: TestClient, ctx: AppContext, factory: Factory,
                                                       school: BuiltSchool) -> None:
    c0, c1, math = school.classes[0], school.classes[1], school.subject(0)
    admin = auth(ctx, school.admin)
    url = f"/api/v1/lessons?class_id={c0.id}&{WEEK}"
    student = school.user(c0.student_ids[0])
    parent = school.parents(student.id)[0]
    allowed = [admin, auth(ctx, student), auth(ctx, parent), auth(ctx, school.teacher_of(c0.id, math)),
               auth(ctx, school.user(c0.class_teacher_id or 0))]
    for headers in allowed:
        assert (await _cached_read(client, ctx, url, headers))["items"] == []  # type: ignore[index]
    other_school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)
    for headers in (auth(ctx, school.user(c1.student_ids[0])), auth(ctx, school.parents(c1.student_ids[0])[0]),
                    auth(ctx, school.teacher_of(c1.id, math)), auth(ctx, other_school.admin)):
        await body_of(await client.get(url, headers=headers), 404)
    # Moving the student to the other class takes the week away from them and their parents.
    await body_of(await client.delete(f"/api/v1/classes/{c0.id}/students/{student.id}", headers=admin), 204)
    await body_of(await client.get(url, headers=auth(ctx, student)), 404)
    await body_of(await client.get(url, headers=auth(ctx, parent)), 404)
    await body_of(await client.post(f"/api/v1/classes/{c1.id}/students", headers=admin,
                                    json={"student_ids": [student.id]}), 200)
    await _cached_read(client, ctx, f"/api/v1/lessons?class_id={c1.id}&{WEEK}", auth(ctx, parent))
    # A lesson written through the API is in the next read.
    made = await body_of(await client.post("/api/v1/lessons", headers=admin, json={
        "class_id": c0.id, "subject_id": math, "teacher_id": c0.teacher_by_subject[math],
        "starts_at": "2026-10-06T10:00:00", "ends_at": "2026-10-06T10:45:00"}), 201)
    week = await _cached_read(client, ctx, url, admin)
    assert [x["id"] for x in week["items"]] == [made["id"]]  # type: ignore[index]
    # The teacher's new name is in the class week and in the personal schedules at once.
    mine_url = f"/api/v1/schedule/me?{WEEK}"
    teacher = auth(ctx, school.teacher_of(c0.id, math))
    student_two = auth(ctx, school.user(c0.student_ids[1]))
    for headers in (teacher, student_two):  # warm the personal schedules' entries (these reads also use SQL)
        await body_of(await client.get(mine_url, headers=headers), 200)
    await body_of(await client.put("/api/v1/profile/me", headers=teacher, json={"last_name": "Соколова"}), 200)
    weeks = [await _cached_read(client, ctx, url, admin),
             await body_of(await client.get(mine_url, headers=teacher), 200),
             await body_of(await client.get(mine_url, headers=student_two), 200)]
    for week in weeks:
        names = {x["teacher_name"] for x in week["items"]}  # type: ignore[index]
        assert len(names) == 1, week
        assert names.pop().startswith("Соколова"), week


async def test_redis_down_serves_the_hot_reads_from_postgresql(make_client: object, ctx: AppContext,
                                                               school: BuiltSchool,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    """`ctx` is a healthy node on the same database; `down` is a node whose Redis is a closed port."""
    down: TestClient = await make_client(redis_url=f"redis://127.0.0.1:{free_port()}/0")  # type: ignore[operator]
    dctx: AppContext = down.app[CTX]
    c0, math = school.classes[0], school.subject(0)
    student = c0.student_ids[0]
    teacher = auth(dctx, school.teacher_of(c0.id, math))
    parent = auth(dctx, school.parents(student)[0])
    admin = auth(dctx, school.admin)
    caplog.set_level(logging.WARNING, logger="edutrack.cache")
    grades_url = f"/api/v1/students/{student}/grades?term_id={school.term_ids[0]}"
    sheet_url = f"/api/v1/classes/{c0.id}/term-sheet?term_id={school.term_ids[0]}"
    week_url = f"/api/v1/lessons?class_id={c0.id}&{WEEK}"
    for value in (5, 3):
        await body_of(await down.post("/api/v1/grades", headers=teacher, json=_grade(school, student, math, value)),
                      201)
        grades = await body_of(await down.get(grades_url, headers=parent), 200)
        assert grades["grades"][-1]["value"] == value
        sheet = await body_of(await down.get(sheet_url, headers=admin), 200)
        row = next(r for r in sheet["students"] if r["student_id"] == student)
        assert next(c for c in row["cells"] if c["subject_id"] == math)["marks_count"] == len(grades["grades"])
    [lesson] = await add_lessons(ctx, school, c0.id, math, [D])
    week = await body_of(await down.get(week_url, headers=parent), 200)
    assert [x["id"] for x in week["items"]] == [lesson]
    # Refusals still come from PostgreSQL.
    stranger = auth(dctx, school.parents(school.classes[1].student_ids[0])[0])
    await body_of(await down.get(grades_url, headers=stranger), 404)
    await body_of(await down.get(week_url, headers=stranger), 404)
    await body_of(await down.get(sheet_url, headers=auth(dctx, school.user(student))), 403)
    assert any("cache unavailable" in r.getMessage() for r in caplog.records)


async def test_a_cached_body_is_what_postgresql_gives(client: TestClient, make_client: object, ctx: AppContext,
                                                      school: BuiltSchool) -> None:
    """Byte for byte: the cached body and the PostgreSQL path's body of a node without Redis."""
    down: TestClient = await make_client(redis_url=f"redis://127.0.0.1:{free_port()}/0")  # type: ignore[operator]
    c0, math = school.classes[0], school.subject(0)
    student = c0.student_ids[0]
    await body_of(await client.post("/api/v1/grades", headers=auth(ctx, school.teacher_of(c0.id, math)),
                                    json=_grade(school, student, math, 4)), 201)
    await add_lessons(ctx, school, c0.id, math, [D])
    parent: User = school.parents(student)[0]
    for url, user in ((f"/api/v1/students/{student}/grades?term_id={school.term_ids[0]}", parent),
                      (f"/api/v1/classes/{c0.id}/term-sheet?term_id={school.term_ids[0]}", school.admin),
                      (f"/api/v1/lessons?class_id={c0.id}&{WEEK}", parent)):
        await client.get(url, headers=auth(ctx, user))
        hit = await client.get(url, headers=auth(ctx, user))
        fresh = await down.get(url, headers=auth(ctx, user))
        assert hit.status == fresh.status == 200
        assert hit.headers["Content-Type"] == fresh.headers["Content-Type"] == "application/json; charset=utf-8"
        assert await hit.read() == await fresh.read(), url
