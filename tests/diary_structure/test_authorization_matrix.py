"""The authorization matrix of the diary structure, as one table: every role (and the other school's
people) against one school's resources. 404 = out of reach (ids cannot be probed), 403 = a forbidden
action on something you can see."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from edutrack.db.models import User
from tests.support.diary import auth
from tests.support.school import add_lessons, build_school

ROLES = ("student", "parent", "teacher", "other_teacher", "admin", "other_admin", "other_student", "superuser")


def expect(default: int, **overrides: int) -> dict[str, int]:
    return {role: overrides.get(role, default) for role in ROLES}


async def test_matrix(client: TestClient, ctx: AppContext, superuser: User) -> None:
    school = await build_school(ctx, classes=2, students_per_class=2)
    other = await build_school(ctx, classes=1, students_per_class=1)
    c0, c1 = school.classes
    math = school.subject_ids["Математика"]
    [lesson_id] = await add_lessons(ctx, school, c0.id, math, [date(2026, 12, 1)])
    student = school.users[c0.student_ids[0]]
    people = {
        "student": student, "parent": school.parents(student.id)[0],
        "teacher": school.teacher_of(c0.id, math), "other_teacher": school.teacher_of(c1.id, math),
        "admin": school.admin, "other_admin": other.admin,
        "other_student": other.users[other.classes[0].student_ids[0]], "superuser": superuser,
    }
    ok_members = dict(other_admin=404, other_student=404)
    rows: list[tuple[str, str, Any, dict[str, int]]] = [
        ("GET", f"/api/v1/schools/{school.id}", None, expect(200, **ok_members)),
        ("PATCH", f"/api/v1/schools/{school.id}", {"address": "ул. Ленина, 1"},
         expect(403, admin=200, superuser=200, other_admin=404)),
        ("GET", f"/api/v1/schools/{school.id}/years", None, expect(200, **ok_members)),
        ("POST", f"/api/v1/years/{school.year_id}/terms", {"name": "x", "starts_on": "2027-05-30",
                                                           "ends_on": "2027-05-31"},
         expect(403, admin=409, superuser=409, other_admin=404)),  # 409: overlaps the builder's last term
        ("GET", f"/api/v1/classes/{c0.id}", None, expect(200, other_teacher=404, **ok_members)),
        ("GET", f"/api/v1/classes/{c1.id}", None, expect(404, other_teacher=200, admin=200, superuser=200)),
        ("PATCH", f"/api/v1/classes/{c0.id}", {"grade_level": 6},
         expect(403, admin=200, superuser=200, other_teacher=404, **ok_members)),
        ("POST", f"/api/v1/classes/{c0.id}/students", {"student_ids": [c1.student_ids[0]]},
         expect(403, admin=200, superuser=200, other_teacher=404, **ok_members)),
        ("GET", f"/api/v1/subjects/{math}", None, expect(200, **ok_members)),
        ("PATCH", f"/api/v1/subjects/{math}", {"name": "Математика"},
         expect(403, admin=200, superuser=200, other_admin=404)),
        ("GET", f"/api/v1/lessons/{lesson_id}", None, expect(200, other_teacher=404, **ok_members)),
        ("GET", f"/api/v1/lessons?class_id={c0.id}&from=2026-11-30", None,
         expect(200, other_teacher=404, **ok_members)),
        ("PATCH", f"/api/v1/lessons/{lesson_id}", {"topic": "Дроби"},
         expect(403, teacher=200, admin=200, superuser=200, other_teacher=404, **ok_members)),
        ("PATCH", f"/api/v1/lessons/{lesson_id}", {"room": "7"},
         expect(403, admin=200, superuser=200, other_teacher=404, **ok_members)),
        ("GET", "/api/v1/parent-links", None, expect(403, parent=200, admin=200, other_admin=200, superuser=200)),
        ("POST", "/api/v1/news", {"title": "t", "body": "b", "audience": "school", "school_id": school.id},
         expect(403, admin=201, superuser=201)),
        ("GET", "/api/v1/classmates", None, expect(403, student=200, other_student=200)),
        ("DELETE", f"/api/v1/lessons/{lesson_id}", None,
         expect(403, admin=204, other_teacher=404, **ok_members, superuser=404)),  # superuser: already gone
    ]
    failures = []
    for method, url, body, expected in rows:
        for role in ROLES:
            resp = await client.request(method, url, headers=auth(ctx, people[role]), json=body)
            if resp.status != expected[role]:
                failures.append(f"{role:13} {method} {url}: {resp.status} != {expected[role]} {await resp.text()}")
            elif resp.status >= 400:
                assert (await resp.json())["error"]["code"]
    assert not failures, "\n".join(failures)
