"""Hostile and malformed input to every write and list endpoint of the diary structure: always a 4xx
JSON error, never a 500, never a half-written row."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from edutrack.context import AppContext
from edutrack.db.diary import AcademicYear, Lesson, News, SchoolClass, Subject, Term, WorkType
from tests.support.diary import auth
from tests.support.school import BuiltSchool, add_lessons

HOSTILE_VALUES: list[Any] = [None, "", "\x00", "x" * 5000, -1, 0, 2**64, 1.5, True, [], {}, "2026-13-45",
                             "9999-12-31T23:59:59", "0001-01-01T00:00:00"]


async def _table_sizes(ctx: AppContext) -> list[int]:
    async with ctx.sessions() as session:
        return [(await session.execute(select(func.count()).select_from(t))).scalar_one()
                for t in (AcademicYear, Term, SchoolClass, Subject, WorkType, Lesson, News)]


async def test_hostile_bodies_get_4xx_json(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    c0 = school.classes[0]
    math = school.subject_ids["Математика"]
    [lesson_id] = await add_lessons(ctx, school, c0.id, math, [date(2026, 12, 1)])
    admin = auth(ctx, school.admin)
    valid: dict[str, dict[str, Any]] = {
        f"/api/v1/schools/{school.id}/years": {"name": "2030", "starts_on": "2030-09-01", "ends_on": "2031-05-31"},
        f"/api/v1/years/{school.year_id}/terms": {"name": "3", "starts_on": "2027-04-01",
                                                  "ends_on": "2027-04-30"},
        "/api/v1/classes": {"name": "9В", "grade_level": 9, "academic_year_id": school.year_id},
        "/api/v1/subjects": {"name": "Биология"},
        "/api/v1/work-types": {"name": "Эссе", "weight": 2},
        "/api/v1/assignments": {"class_id": c0.id, "subject_id": math, "teacher_id": school.teacher_ids[-1]},
        f"/api/v1/classes/{c0.id}/students": {"student_ids": [c0.student_ids[0]]},
        "/api/v1/parent-links": {"parent_id": school.parents_of[c0.student_ids[0]][0],
                                 "child_id": c0.student_ids[0]},
        "/api/v1/lessons": {"class_id": c0.id, "subject_id": math, "teacher_id": c0.teacher_by_subject[math],
                            "starts_at": "2026-12-10T09:00:00", "ends_at": "2026-12-10T09:45:00"},
        "/api/v1/news": {"title": "t", "body": "b", "audience": "school"},
    }
    patches: dict[str, dict[str, Any]] = {
        f"/api/v1/schools/{school.id}": {"name": "n", "rounding_threshold": 0.5},
        f"/api/v1/classes/{c0.id}": {"name": "9Г", "grade_level": 9},
        f"/api/v1/lessons/{lesson_id}": {"starts_at": "2026-12-01T11:00:00", "ends_at": "2026-12-01T11:45:00",
                                         "homework": "x"},
        f"/api/v1/subjects/{math}": {"name": "x"},
        f"/api/v1/terms/{school.term_ids[0]}": {"name": "x", "starts_on": "2026-09-01"},
    }
    creates = {f"/api/v1/schools/{school.id}/years", f"/api/v1/years/{school.year_id}/terms", "/api/v1/classes",
               "/api/v1/subjects", "/api/v1/work-types", "/api/v1/lessons", "/api/v1/news"}
    before = await _table_sizes(ctx)
    checked = accepted = 0
    for method, table in (("POST", valid), ("PATCH", patches)):
        for url, body in table.items():
            for field in body:
                for value in HOSTILE_VALUES:
                    resp = await client.request(method, url, headers=admin, json={**body, field: value})
                    if resp.status < 400:  # some values are legitimately fine for some fields
                        accepted += method == "POST" and url in creates
                        continue
                    assert resp.status < 500, (method, url, field, value, await resp.text())
                    error = (await resp.json())["error"]
                    assert error["code"]
                    assert error["message"]
                    checked += 1
            for raw in (b"[]", b"null", b"{", b'{"a": 1}', b"{\"name\": \"\\ud800\"}"):
                resp = await client.request(method, url, headers={**admin, "Content-Type": "application/json"},
                                            data=raw)
                assert 400 <= resp.status < 500, (url, raw, resp.status)
            resp = await client.request(method, url, headers=admin, data="name=x")
            assert resp.status == 415
    assert checked > 300
    # Rejected requests wrote nothing: the tables grew by exactly the accepted creations.
    after = await _table_sizes(ctx)
    assert sum(after) - sum(before) == accepted


async def test_hostile_queries_and_paths(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    c0 = school.classes[0]
    for url in ("/api/v1/classes?limit=0", "/api/v1/classes?offset=-1", "/api/v1/classes?school_id=abc",
                f"/api/v1/classes?school_id={2**70}", "/api/v1/subjects?q=" + "x" * 500, "/api/v1/news?status=gone",
                f"/api/v1/lessons?class_id={c0.id}&from=9999-12-31", f"/api/v1/lessons?class_id={c0.id}&to=0001-01-01",
                f"/api/v1/lessons?class_id={c0.id}&from=2026-11-30&extra=1", "/api/v1/schedule/me?child_id=-5",
                "/api/v1/classmates?limit=100000", "/api/v1/schools/1/terms?year_id=x"):
        resp = await client.get(url, headers=admin)
        assert resp.status == 422, (url, resp.status, await resp.text())
    for url in ("/api/v1/classes/0", f"/api/v1/classes/{2**70}", "/api/v1/lessons/x", "/api/v1/news/-1",
                "/api/v1/subjects/99999999"):
        resp = await client.get(url, headers=admin)
        assert resp.status == 404, (url, resp.status)
    resp = await client.get("/api/v1/classes")
    assert resp.status == 401
