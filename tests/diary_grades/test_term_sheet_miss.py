"""A cache-missed term sheet of a caller `sheet_scope` allows is read in two prepared statements on the driver
connection (`attestations._sheet_by_driver`): it must give exactly what the full path (ORM statements) gives, and
leave every refusal (a stranger, another school's admin or term, no such class or term) to that path."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from edutrack.db.models import User
from edutrack.security.tokens import Principal
from edutrack.serialize import dumps_bytes
from edutrack.services.diary import attestations
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool, build_school


def _who(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role, school_id=user.school_id, is_superuser=user.is_superuser)


async def _grade(client: TestClient, ctx: AppContext, school: BuiltSchool, student: int, subject: int,
                 day: date, **value: Any) -> None:
    cls = next(c for c in school.classes if student in c.student_ids)
    await body_of(await client.post("/api/v1/grades", headers=auth(ctx, school.teacher_of(cls.id, subject)), json={
        "student_id": student, "subject_id": subject, "date": day.isoformat(),
        "work_type_id": school.work_type_ids["Контрольная работа"], **value}), 201)


async def test_the_driver_path_gives_what_the_full_path_gives(client: TestClient, ctx: AppContext,
                                                               school: BuiltSchool) -> None:
    c0, math, russian = school.classes[0], school.subject(0), school.subject(1)
    s0, s1 = c0.student_ids[0], c0.student_ids[1]
    term = school.term_ids[0]
    for student, subject, day, value in [(s0, math, 5, {"value": 5}), (s0, math, 6, {"value": 4}),
                                         (s0, math, 7, {"value": 4}), (s0, russian, 5, {"value": 3}),
                                         (s1, math, 5, {"value": 5}), (s1, math, 6, {"mark": "pass"}),
                                         (s1, russian, 6, {"value": 2})]:
        await _grade(client, ctx, school, student, subject, date(2026, 10, day), **value)
    teacher = school.teacher_of(c0.id, math)
    # A term mark confirmed, one overridden: the sheet shows both.
    for key in ({"student_id": s0, "subject_id": math, "term_id": term},
                {"student_id": s1, "subject_id": math, "term_id": term, "final": "4", "comment": "Олимпиада"}):
        await body_of(await client.put("/api/v1/attestations", json=key, headers=auth(ctx, teacher)), 200)
    class_teacher = school.user(c0.class_teacher_id or 0)
    subject_teacher = school.teacher_of(c0.id, russian)
    assert subject_teacher.id != class_teacher.id
    shown: dict[int, int] = {}
    for user in (school.admin, class_teacher, subject_teacher):
        for term_id in school.term_ids:
            fast = await attestations._sheet_by_driver(ctx, _who(user), c0.id, term_id)
            full = await attestations.term_sheet(ctx, _who(user), c0.id, term_id)
            assert fast is not None, (user.role, term_id)
            assert dumps_bytes(fast[0]) == dumps_bytes(full[0]), (user.role, term_id)
            assert fast[1] == full[1] == school.id
        fast = await attestations._sheet_by_driver(ctx, _who(user), c0.id, term)
        assert fast is not None
        shown[user.id] = len(fast[0]["subjects"])
    # The subject teacher sees their subject only; the cells carry the averages, proposals and term marks.
    assert shown[subject_teacher.id] == 1 < shown[school.admin.id] == shown[class_teacher.id]
    fast = await attestations._sheet_by_driver(ctx, _who(school.admin), c0.id, term)
    assert fast is not None
    cells = {(row["student_id"], c["subject_id"]): c for row in fast[0]["students"] for c in row["cells"]}
    assert (cells[(s0, math)]["proposed"], cells[(s0, math)]["final"], cells[(s0, math)]["marks_count"]) == \
        ("4", "4", 3)
    assert (cells[(s1, math)]["final"], cells[(s1, math)]["is_override"], cells[(s1, math)]["marks_count"]) == \
        ("4", True, 2)


async def test_every_refusal_is_left_to_the_full_path(ctx: AppContext, school: BuiltSchool) -> None:
    c0, c1, math = school.classes[0], school.classes[1], school.subject(0)
    other_school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)
    term = school.term_ids[0]
    outsider = school.teacher_of(c1.id, math)
    assert outsider.id not in set(c0.teacher_by_subject.values()) | {c0.class_teacher_id}
    left: list[tuple[Principal, int, int]] = [
        (_who(outsider), c0.id, term),  # a teacher who neither leads nor teaches the class
        (_who(other_school.admin), c0.id, term),  # another school's admin
        (_who(school.admin), c0.id, other_school.term_ids[0]),  # another school's term
        (_who(school.admin), c0.id, 2**62),  # no such term
        (_who(school.admin), 2**62, term),  # no such class
    ]
    for who, class_id, term_id in left:
        assert await attestations._sheet_by_driver(ctx, who, class_id, term_id) is None, (who, class_id, term_id)
