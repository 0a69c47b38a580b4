"""Grades through HTTP: create/edit/delete, audit trail, notifications, authorization, bad input, averages."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack import cache
from edutrack.context import AppContext
from edutrack.db.models import Notification
from edutrack.events import redis_channel
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, add_lessons, build_school

D = date(2026, 10, 5)


def body(school: BuiltSchool, **over: Any) -> dict[str, Any]:
    cls = school.classes[0]
    data: dict[str, Any] = {"student_id": cls.student_ids[0], "subject_id": school.subject(0),
                            "work_type_id": school.work_type_ids["Контрольная работа"], "date": D.isoformat(),
                            "value": 5}
    data.update(over)
    return {k: v for k, v in data.items() if v is not ...}


async def notifications(ctx: AppContext) -> list[Notification]:
    async with ctx.sessions.begin() as session:
        return list((await session.execute(select(Notification).order_by(Notification.id))).scalars())


async def test_teacher_grades_student_with_audit_and_notifications(
        client: TestClient, ctx: AppContext, factory: Factory, school: BuiltSchool) -> None:
    cls = school.classes[0]
    teacher = await factory.login(school.teacher_of(cls.id, school.subject(0)))
    resp = await client.post("/api/v1/grades", json=body(school, comment="Молодец"), headers=teacher.headers)
    assert resp.status == 201, await resp.text()
    grade = await resp.json()
    assert grade["value"] == 5
    assert grade["display"] == "5"
    assert grade["weight"] == 3
    assert grade["class_id"] == cls.id
    student_id = cls.student_ids[0]
    rows = await notifications(ctx)
    assert sorted(r.user_id for r in rows) == sorted([student_id, *school.parents_of[student_id]])
    assert {r.kind for r in rows} == {"grade"}
    assert {r.about_user_id for r in rows} == {student_id}
    payload = rows[0].payload
    assert payload["grade_id"] == grade["id"]
    assert payload["value"] == 5
    assert payload["subject"] == "Математика"
    assert payload["work_type"] == "Контрольная работа"
    assert payload["comment"] == "Молодец"
    assert payload["title"]

    resp = await client.patch(f"/api/v1/grades/{grade['id']}", json={"mark": "pass"}, headers=teacher.headers)
    assert resp.status == 200, await resp.text()
    changed = await resp.json()
    assert changed["value"] is None
    assert changed["mark"] == "pass"
    assert changed["display"] == "зачёт"
    resp = await client.delete(f"/api/v1/grades/{grade['id']}", headers=teacher.headers)
    assert resp.status == 204
    kinds = [r.kind for r in await notifications(ctx)]
    assert kinds.count("grade_changed") == 3
    assert kinds.count("grade_deleted") == 3

    admin = await factory.login(school.admin)
    resp = await client.get(f"/api/v1/grades/{grade['id']}/history", headers=admin.headers)
    assert resp.status == 200, await resp.text()
    items = (await resp.json())["items"]
    assert [i["action"] for i in items] == ["create", "update", "delete"]
    assert all(i["actor_id"] == teacher.id for i in items)
    assert items[0]["old"] is None
    assert items[0]["new"]["value"] == 5
    assert items[1]["old"] == {"value": 5, "mark": None}
    assert items[1]["new"] == {"value": None, "mark": "pass"}
    assert items[2]["old"]["mark"] == "pass"
    assert items[2]["new"] is None
    resp = await client.get(f"/api/v1/audit?entity=grade&entity_id={grade['id']}", headers=admin.headers)
    assert [i["action"] for i in (await resp.json())["items"]] == ["create", "update", "delete"]
    # Deleted: gone from the list, and not editable any more.
    student = await factory.login(school.user(student_id))
    resp = await client.get(f"/api/v1/students/{student_id}/grades", headers=student.headers)
    assert (await resp.json())["grades"] == []
    resp = await client.patch(f"/api/v1/grades/{grade['id']}", json={"value": 4}, headers=teacher.headers)
    assert resp.status == 404
    # The school's audit trail is for admins only; the grade's own history also for the teacher of its journal.
    resp = await client.get(f"/api/v1/audit?entity=grade&entity_id={grade['id']}", headers=teacher.headers)
    assert resp.status == 403
    resp = await client.get(f"/api/v1/grades/{grade['id']}/history", headers=teacher.headers)
    assert [i["action"] for i in (await resp.json())["items"]] == ["create", "update", "delete"]
    resp = await client.get(f"/api/v1/grades/{grade['id']}/history", headers=student.headers)
    assert resp.status == 403


async def test_grade_on_a_lesson_takes_class_subject_and_date(
        client: TestClient, ctx: AppContext, factory: Factory, school: BuiltSchool) -> None:
    cls = school.classes[0]
    math, russian = school.subject(0), school.subject(1)
    lesson_id, = await add_lessons(ctx, school, cls.id, math, [D])
    other_class_lesson, = await add_lessons(ctx, school, school.classes[1].id, math, [D])
    teacher = await factory.login(school.teacher_of(cls.id, math))
    resp = await client.post("/api/v1/grades", json=body(school, subject_id=..., date=..., lesson_id=lesson_id),
                             headers=teacher.headers)
    assert resp.status == 201, await resp.text()
    grade = await resp.json()
    assert grade["lesson_id"] == lesson_id
    assert grade["date"] == D.isoformat()
    assert grade["subject_id"] == math
    bad = [
        body(school, lesson_id=lesson_id, subject_id=russian),
        body(school, lesson_id=lesson_id, date="2026-10-06"),
        body(school, lesson_id=other_class_lesson, subject_id=..., date=...),  # student not in that class
    ]
    for data in bad:
        resp = await client.post("/api/v1/grades", json=data, headers=teacher.headers)
        assert resp.status in (403, 422), (data, resp.status)
        assert "error" in await resp.json()


async def test_bad_input_is_4xx_json(client: TestClient, factory: Factory, school: BuiltSchool) -> None:
    cls = school.classes[0]
    teacher = await factory.login(school.teacher_of(cls.id, school.subject(0)))
    other = await build_school(factory.ctx, classes=1, students_per_class=1, parents_per_student=0)
    cases: list[tuple[dict[str, Any], int]] = [
        (body(school, value=0), 422),
        (body(school, value=6), 422),
        (body(school, value="5"), 422),
        (body(school, value=..., mark="excellent"), 422),
        (body(school, mark="pass"), 422),  # value and mark together
        (body(school, value=...), 422),  # neither
        (body(school, date="2026-13-01"), 422),
        (body(school, date="2099-01-01"), 422),  # the future
        (body(school, date=...), 422),
        (body(school, student_id=10**9), 404),
        (body(school, student_id=other.student().id), 404),  # another school's student
        (body(school, student_id=school.admin.id), 404),  # not a student
        (body(school, work_type_id=10**9), 422),
        (body(school, work_type_id=other.work_type_ids["Домашняя работа"]), 422),
        (body(school, subject_id=10**9), 422),
        (body(school, lesson_id=10**9, subject_id=..., date=...), 404),
        (body(school, class_id=school.classes[1].id), 403),  # the teacher does not teach there
        (body(school, student_id=school.classes[1].student_ids[0], class_id=cls.id), 422),  # not in the class
        (body(school, extra=1), 422),
    ]
    for data, status in cases:
        resp = await client.post("/api/v1/grades", json=data, headers=teacher.headers)
        assert resp.status == status, (data, resp.status, await resp.text())
        assert (await resp.json())["error"]["code"]
    resp = await client.post("/api/v1/grades", data="{", headers={**teacher.headers,
                                                                  "Content-Type": "application/json"})
    assert resp.status == 400
    for path, patch in [("/api/v1/grades/999999", {"value": 3}), ("/api/v1/grades/abc", {"value": 3})]:
        resp = await client.patch(path, json=patch, headers=teacher.headers)
        assert resp.status == 404
    resp = await client.post("/api/v1/grades", json=body(school), headers=teacher.headers)
    grade_id = (await resp.json())["id"]
    for patch in [{}, {"value": 7}, {"value": 4, "mark": "na"}, {"value": None}, {"mark": "bad"},
                  {"date": "2099-01-01"}, {"work_type_id": 10**9}]:
        resp = await client.patch(f"/api/v1/grades/{grade_id}", json=patch, headers=teacher.headers)
        assert resp.status == 422, (patch, resp.status, await resp.text())
    student = school.classes[0].student_ids[0]
    for query in ["term_id=999999", "from=2026-10-10&to=2026-10-01", "from=bad", "subject_id=x", "zzz=1"]:
        resp = await client.get(f"/api/v1/students/{student}/grades?{query}", headers=teacher.headers)
        assert resp.status == 422, (query, resp.status)


async def test_authorization_matrix(client: TestClient, factory: Factory, school: BuiltSchool) -> None:
    cls, cls2 = school.classes
    math, russian = school.subject(0), school.subject(1)
    s1, s2 = cls.student_ids[0], cls.student_ids[1]
    teacher = await factory.login(school.teacher_of(cls.id, math))
    resp = await client.post("/api/v1/grades", json=body(school), headers=teacher.headers)
    grade_id = (await resp.json())["id"]
    other = await build_school(factory.ctx, classes=1, students_per_class=1, parents_per_student=1)
    o_cls = other.classes[0]
    other_teacher = await factory.login(other.teacher_of(o_cls.id, other.subject(0)))
    other_admin = await factory.login(other.admin)
    superuser = await factory.actor("admin", is_superuser=True)
    student1 = await factory.login(school.user(s1))
    student2 = await factory.login(school.user(s2))
    parent_of_1 = await factory.login(school.parents(s1)[0])
    parent_of_2 = await factory.login(school.parents(s2)[1])
    russian_teacher = await factory.login(school.teacher_of(cls.id, russian))
    teacher_of_cls2 = await factory.login(school.teacher_of(cls2.id, math))

    async def grade(actor: Any, **over: Any) -> int:
        resp = await client.post("/api/v1/grades", json=body(school, **over), headers=actor.headers)
        return resp.status

    assert await grade(russian_teacher) == 403  # teaches the class, not the subject
    assert await grade(teacher_of_cls2, class_id=cls.id) == 403  # teaches the subject, not the class
    assert await grade(other_teacher) == 404  # another school's student
    assert await grade(other_admin) == 404
    assert await grade(student1) == 403
    assert await grade(parent_of_1) == 403
    assert await grade(await factory.login(school.admin)) == 201
    assert await grade(superuser) == 201
    for actor in (other_teacher, other_admin, student1, parent_of_1, russian_teacher):
        resp = await client.patch(f"/api/v1/grades/{grade_id}", json={"value": 2}, headers=actor.headers)
        assert resp.status in (403, 404), actor.user.role
    resp = await client.patch(f"/api/v1/grades/{grade_id}", json={"value": 2}, headers=other_admin.headers)
    assert resp.status == 404

    async def read(actor: Any, student_id: int) -> tuple[int, Any]:
        resp = await client.get(f"/api/v1/students/{student_id}/grades", headers=actor.headers)
        return resp.status, await resp.json()

    assert (await read(student1, s1))[0] == 200
    assert (await read(student1, s2))[0] == 404
    assert (await read(student2, s1))[0] == 404
    assert (await read(student2, s2))[0] == 200
    assert (await read(parent_of_1, s1))[0] == 200
    assert (await read(parent_of_1, s2))[0] == 404
    assert (await read(parent_of_2, s2))[0] == 200
    assert (await read(other_teacher, s1))[0] == 404
    assert (await read(other_admin, s1))[0] == 404
    assert (await read(teacher_of_cls2, s1))[0] == 404  # does not teach the student's class
    status, data = await read(superuser, s1)
    assert status == 200
    assert len(data["grades"]) == 3
    # A teacher sees only their subjects; the class teacher (here the maths teacher) sees every subject.
    resp = await client.post("/api/v1/grades",
                             json=body(school, subject_id=russian, value=3), headers=russian_teacher.headers)
    assert resp.status == 201
    status, data = await read(russian_teacher, s1)
    assert status == 200
    assert {g["subject_id"] for g in data["grades"]} == {russian}
    status, data = await read(teacher, s1)
    assert {g["subject_id"] for g in data["grades"]} == {math, russian}
    status, data = await read(student1, s1)
    assert len(data["grades"]) == 4


async def test_weighted_and_plain_averages_per_subject(client: TestClient, factory: Factory,
                                                       school: BuiltSchool) -> None:
    cls = school.classes[0]
    teacher = await factory.login(school.teacher_of(cls.id, school.subject(0)))
    wt = school.work_type_ids
    for value, work_type, day in [(5, "Контрольная работа", "2026-09-10"), (3, "Домашняя работа", "2026-09-11"),
                                  (4, "Самостоятельная работа", "2026-09-12"), (None, "Ответ на уроке", "2026-09-13")]:
        extra: dict[str, Any] = {"value": value} if value else {"value": ..., "mark": "na"}
        resp = await client.post("/api/v1/grades", json=body(school, work_type_id=wt[work_type], date=day, **extra),
                                 headers=teacher.headers)
        assert resp.status == 201, await resp.text()
    resp = await client.get(f"/api/v1/students/{cls.student_ids[0]}/grades", headers=teacher.headers)
    data = await resp.json()
    [subject] = data["subjects"]
    # (5×3 + 3×1 + 4×2) / (3 + 1 + 2) = 26 / 6
    assert subject["weighted_average"] == round(26 / 6, 2)
    assert subject["plain_average"] == 4.0
    assert subject["numeric_count"] == 3
    assert subject["marks_count"] == 4
    resp = await client.get(f"/api/v1/students/{cls.student_ids[0]}/grades?from=2026-09-11&to=2026-09-12",
                            headers=teacher.headers)
    data = await resp.json()
    assert [g["date"] for g in data["grades"]] == ["2026-09-11", "2026-09-12"]
    assert data["subjects"][0]["weighted_average"] == round(11 / 3, 2)
    # A term filter intersects with from/to.
    term_id = school.term_ids[0]
    resp = await client.get(f"/api/v1/students/{cls.student_ids[0]}/grades?term_id={term_id}&from=2026-09-12",
                            headers=teacher.headers)
    assert len((await resp.json())["grades"]) == 2


async def test_grade_list_query_count_does_not_grow(client: TestClient, ctx: AppContext, factory: Factory,
                                                    school: BuiltSchool, count_queries: Any) -> None:
    cls = school.classes[0]
    student_id = cls.student_ids[0]
    parent = await factory.login(school.parents(student_id)[0])
    teacher = await factory.login(school.teacher_of(cls.id, school.subject(0)))
    counts = []
    for n in (3, 9):
        while True:
            resp = await client.get(f"/api/v1/students/{student_id}/grades", headers=parent.headers)
            have = len((await resp.json())["grades"])
            if have >= n:
                break
            await client.post("/api/v1/grades", json=body(school, date=f"2026-09-{have + 1:02d}"),
                              headers=teacher.headers)
        await cache.invalidate(ctx, cache.student_marks_bucket(student_id))  # measure the PostgreSQL path
        counter = count_queries()
        resp = await client.get(f"/api/v1/students/{student_id}/grades", headers=parent.headers)
        assert len((await resp.json())["grades"]) == n
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


async def test_every_endpoint_of_grades_attestations_attendance_analytics_is_documented(client: TestClient) -> None:
    resp = await client.get("/openapi.json")
    paths = (await resp.json())["paths"]
    expected = {
        "/api/v1/grades": {"post"}, "/api/v1/grades/{grade_id}": {"patch", "delete"},
        "/api/v1/grades/{grade_id}/history": {"get"}, "/api/v1/audit": {"get"},
        "/api/v1/students/{student_id}/grades": {"get"}, "/api/v1/attestations/proposal": {"get"},
        "/api/v1/attestations": {"put"}, "/api/v1/classes/{class_id}/term-sheet": {"get"},
        "/api/v1/lessons/{lesson_id}/attendance": {"put", "get"}, "/api/v1/attendance/{attendance_id}": {"patch"},
        "/api/v1/students/{student_id}/attendance": {"get"}, "/api/v1/students/{student_id}/performance": {"get"},
        "/api/v1/classes/{class_id}/performance": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
        for method in methods:
            assert paths[path][method].get("summary"), (path, method)


async def test_grade_event_is_published_after_commit(client: TestClient, ctx: AppContext, factory: Factory,
                                                     school: BuiltSchool) -> None:
    cls = school.classes[0]
    student_id = cls.student_ids[0]
    parent_id = school.parents_of[student_id][1]
    pubsub = ctx.redis.pubsub()
    await pubsub.subscribe(redis_channel(ctx.settings.namespace, f"user:{parent_id}"))
    try:
        teacher = await factory.login(school.teacher_of(cls.id, school.subject(0)))
        resp = await client.post("/api/v1/grades", json=body(school, value=4), headers=teacher.headers)
        assert resp.status == 201
        grade_id = (await resp.json())["id"]
        event = None
        async with asyncio.timeout(5):
            while event is None:
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if msg is not None:
                    event = json.loads(msg["data"])
        assert event["kind"] == "grade"
        assert event["about_user_id"] == student_id
        assert event["payload"]["grade_id"] == grade_id
        assert event["payload"]["value"] == 4
        # The pushed id is the stored row's: a client resuming from it misses nothing.
        async with ctx.sessions.begin() as session:
            row = await session.get(Notification, event["id"])
            assert row is not None
            assert row.user_id == parent_id
    finally:
        await pubsub.aclose()


async def test_audit_trail_stays_within_the_school(client: TestClient, factory: Factory,
                                                   school: BuiltSchool) -> None:
    cls = school.classes[0]
    teacher = await factory.login(school.teacher_of(cls.id, school.subject(0)))
    resp = await client.post("/api/v1/grades", json=body(school), headers=teacher.headers)
    grade_id = (await resp.json())["id"]
    other = await build_school(factory.ctx, classes=1, students_per_class=1, parents_per_student=0)
    other_admin = await factory.login(other.admin)
    resp = await client.get(f"/api/v1/grades/{grade_id}/history", headers=other_admin.headers)
    assert resp.status == 404
    resp = await client.get("/api/v1/audit?entity=grade", headers=other_admin.headers)
    assert resp.status == 200
    assert (await resp.json())["items"] == []
    superuser = await factory.actor("admin", is_superuser=True)
    resp = await client.get(f"/api/v1/grades/{grade_id}/history", headers=superuser.headers)
    assert [i["action"] for i in (await resp.json())["items"]] == ["create"]
    for bad in ("entity=pupil", "limit=0", "limit=100000", "entity_id=x"):
        resp = await client.get(f"/api/v1/audit?{bad}", headers=other_admin.headers)
        assert resp.status == 422, bad
    student = await factory.login(school.user(cls.student_ids[0]))
    assert (await client.get("/api/v1/audit", headers=student.headers)).status == 403
