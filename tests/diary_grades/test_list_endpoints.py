"""The remaining list endpoints of the diary: the grade list's subject filter, and statement counts that do not
grow with the rows (audit trail, grade history, attendance of a lesson and of a student, student performance,
the school list)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from edutrack import cache
from edutrack.context import AppContext
from tests.support.factories import Actor, Factory
from tests.support.school import BuiltSchool, add_lessons, build_school

HW, TEST = "Домашняя работа", "Контрольная работа"
DAY = date(2026, 10, 5)


async def post_grade(client: TestClient, teacher: Actor, school: BuiltSchool, student: int, subject: int,
                     value: int, day: date) -> int:
    resp = await client.post("/api/v1/grades", headers=teacher.headers, json={
        "student_id": student, "subject_id": subject, "work_type_id": school.work_type_ids[HW],
        "date": day.isoformat(), "value": value})
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


async def test_grade_list_filters_by_subject(client: TestClient, factory: Factory, school: BuiltSchool) -> None:
    cls = school.classes[0]
    student = cls.student_ids[0]
    math, russian = school.subject(0), school.subject(1)
    math_teacher = await factory.login(school.teacher_of(cls.id, math))
    russian_teacher = await factory.login(school.teacher_of(cls.id, russian))
    for value in (5, 4):
        await post_grade(client, math_teacher, school, student, math, value, DAY)
    await post_grade(client, russian_teacher, school, student, russian, 3, DAY)
    parent = await factory.login(school.parents(student)[0])

    resp = await client.get(f"/api/v1/students/{student}/grades?subject_id={russian}", headers=parent.headers)
    data = await resp.json()
    assert resp.status == 200, data
    assert [(g["subject_id"], g["value"]) for g in data["grades"]] == [(russian, 3)]
    assert [(s["subject_id"], s["plain_average"]) for s in data["subjects"]] == [(russian, 3.0)]
    resp = await client.get(f"/api/v1/students/{student}/grades?subject_id={math}", headers=parent.headers)
    data = await resp.json()
    assert sorted(g["value"] for g in data["grades"]) == [4, 5]
    assert [(s["subject_id"], s["plain_average"]) for s in data["subjects"]] == [(math, 4.5)]
    # A subject with no grades: an empty list, not an error.
    other = school.subject(2)
    data = await (await client.get(f"/api/v1/students/{student}/grades?subject_id={other}",
                                   headers=parent.headers)).json()
    assert data["grades"] == []
    assert data["subjects"] == []


def _items(body: Any, key: str) -> list[Any]:
    found = body[key] if key else body
    assert isinstance(found, list)
    return found


async def test_statement_counts_do_not_grow_with_rows(client: TestClient, ctx: AppContext, factory: Factory,
                                                      count_queries: Any) -> None:
    school = await build_school(ctx, classes=1, students_per_class=3, parents_per_student=1)
    cls = school.classes[0]
    math = school.subject(0)
    student = cls.student_ids[0]
    teacher = await factory.login(school.teacher_of(cls.id, math))
    admin = await factory.login(school.admin)
    superuser = await factory.login(await factory.user("admin", is_superuser=True))
    [lesson] = await add_lessons(ctx, school, cls.id, math, [DAY])
    grade_id = await post_grade(client, teacher, school, student, math, 3, DAY)
    term = school.term_ids[0]
    requests: dict[str, tuple[Actor, str, str]] = {
        "audit": (admin, "/api/v1/audit?limit=500", "items"),
        "grade history": (admin, f"/api/v1/grades/{grade_id}/history", "items"),
        "lesson attendance": (teacher, f"/api/v1/lessons/{lesson}/attendance", "marks"),
        "student attendance": (admin, f"/api/v1/students/{student}/attendance", "marks"),
        "student performance": (admin, f"/api/v1/students/{student}/performance?term_id={term}", "trend"),
        "schools": (superuser, "/api/v1/schools?limit=100", "items"),
    }

    async def measure() -> tuple[dict[str, int], dict[str, int]]:
        counts, sizes = {}, {}
        for name, (actor, url, key) in requests.items():
            # The school list is cached in Redis: measure the PostgreSQL path (a miss).
            await cache.invalidate(ctx, cache.schools_bucket())
            counter = count_queries()
            resp = await client.get(url, headers=actor.headers)
            body = await resp.json()
            assert resp.status == 200, (name, body)
            counts[name], sizes[name] = counter.count, len(_items(body, key))
            assert sizes[name] > 0, name  # measured with rows, not on empty answers
        return counts, sizes

    async def grow(round_: int) -> None:
        # More grades over more weeks (trend points), more edits (history, audit), more attendance marks,
        # more lessons, more schools.
        for week in range(3):
            day = date(2026, 9, 7) + timedelta(days=7 * (week + 3 * round_))  # 9 weeks, all in the past
            [extra_lesson] = await add_lessons(ctx, school, cls.id, math, [day], hour=9 + round_)
            resp = await client.put(f"/api/v1/lessons/{extra_lesson}/attendance", headers=teacher.headers, json={
                "marks": [{"student_id": s, "status": "absent" if s == student else "present"}
                          for s in cls.student_ids]})
            assert resp.status == 200, await resp.text()
            await post_grade(client, teacher, school, student, math, 4, day)
        for value in (4, 5):
            resp = await client.patch(f"/api/v1/grades/{grade_id}", headers=teacher.headers,
                                      json={"value": value, "comment": f"пересмотр {round_}"})
            assert resp.status == 200, await resp.text()
        resp = await client.put(f"/api/v1/lessons/{lesson}/attendance", headers=teacher.headers, json={
            "marks": [{"student_id": s, "status": "present"} for s in cls.student_ids]})
        assert resp.status == 200
        await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)

    await grow(0)
    await client.get("/api/v1/schools", headers=superuser.headers)  # warm-up (first statements of the pool)
    small_counts, small_sizes = await measure()
    await grow(1)
    await grow(2)
    large_counts, large_sizes = await measure()
    assert large_counts == small_counts
    grew = {name for name in requests if large_sizes[name] > small_sizes[name]}
    # The lesson's own attendance is the same three students; everything else has more rows now.
    assert grew == set(requests) - {"lesson attendance"}, (small_sizes, large_sizes)
