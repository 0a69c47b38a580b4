"""A cache-missed grade list of a caller the student's facts allow is read in two statements on the driver
connection (`grades._grades_by_facts`): it must give exactly what the full PostgreSQL path gives, and leave
everyone and everything else (teachers, strangers, unknown terms, bad ranges) to that path."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from edutrack.db.models import User
from edutrack.security.tokens import Principal
from edutrack.serialize import dumps_bytes
from edutrack.services.diary import grades
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool, build_school

D = date(2026, 10, 5)


def _who(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role, school_id=user.school_id, is_superuser=user.is_superuser)


async def _both(ctx: AppContext, who: Principal, student_id: int,
                **query: Any) -> tuple[tuple[dict[str, Any], dict[str, Any]] | None, tuple[bytes, dict[str, Any]]]:
    kw = {"subject_id": None, "term_id": None, "starts": None, "ends": None, **query}
    fast = await grades._grades_by_facts(ctx, who, student_id, **kw)
    full, facts = await grades._student_grades(ctx, who, student_id, with_facts=True, **kw)
    return fast, (dumps_bytes(full), facts)


async def _grade(client: TestClient, ctx: AppContext, school: BuiltSchool, student: int, subject: int,
                 day: date, **value: Any) -> None:
    cls = next(c for c in school.classes if student in c.student_ids)
    await body_of(await client.post("/api/v1/grades", headers=auth(ctx, school.teacher_of(cls.id, subject)), json={
        "student_id": student, "subject_id": subject, "date": day.isoformat(),
        "work_type_id": school.work_type_ids["Контрольная работа"], "comment": "у доски", **value}), 201)


async def test_the_driver_path_gives_what_the_full_path_gives(client: TestClient, ctx: AppContext,
                                                               school: BuiltSchool) -> None:
    c0, math, russian = school.classes[0], school.subject(0), school.subject(1)
    student = c0.student_ids[0]
    await _grade(client, ctx, school, student, math, D, value=5)
    await _grade(client, ctx, school, student, math, date(2026, 10, 6), mark="pass")
    await _grade(client, ctx, school, student, russian, D, value=3)
    term = school.term_ids[0]
    queries: list[dict[str, Any]] = [
        {}, {"term_id": term}, {"term_id": term, "subject_id": math}, {"starts": D, "ends": D},
        {"term_id": term, "starts": date(2026, 10, 6)}, {"subject_id": russian, "ends": D},
    ]
    callers = [school.parents(student)[0], school.user(student), school.admin]
    for user in callers:
        for query in queries:
            fast, (full, facts) = await _both(ctx, _who(user), student, **query)
            assert fast is not None, (user.role, query)
            assert dumps_bytes(fast[0]) == full, (user.role, query)
            assert fast[1] == facts, (user.role, query)
    # The marks are there, in words, with the averages of the numeric ones only.
    fast, _full = await _both(ctx, _who(callers[0]), student, subject_id=math)
    assert fast is not None
    assert [g["display"] for g in fast[0]["grades"]] == ["5", "зачёт"]


async def test_everyone_else_is_left_to_the_full_path(client: TestClient, ctx: AppContext,
                                                      school: BuiltSchool) -> None:
    c0, c1, math = school.classes[0], school.classes[1], school.subject(0)
    student = c0.student_ids[0]
    other_school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)
    parent = _who(school.parents(student)[0])
    left: list[tuple[Principal, int, dict[str, Any]]] = [
        (_who(school.teacher_of(c0.id, math)), student, {}),  # a teacher's answer depends on what they teach
        (_who(school.parents(c1.student_ids[0])[0]), student, {}),  # another child's parent
        (_who(school.user(c1.student_ids[0])), student, {}),  # a classmate... of another class
        (_who(other_school.admin), student, {}),  # another school's admin
        (parent, parent.user_id, {}),  # not a student
        (parent, student, {"term_id": other_school.term_ids[0]}),  # another school's term
        (parent, student, {"term_id": 2**62}),  # no such term
        (parent, student, {"starts": date(2026, 10, 6), "ends": D}),  # an empty range: the full path's 422
        (parent, 2**62, {}),  # no such user
    ]
    for who, student_id, query in left:
        kw = {"subject_id": None, "term_id": None, "starts": None, "ends": None, **query}
        assert await grades._grades_by_facts(ctx, who, student_id, **kw) is None, (who, student_id, query)
