"""A new grade's checks are first decided from one statement on the driver connection
(`grade_target._target_by_facts`): it must allow exactly what the full checks allow, with the same target, and
leave everything else (a lesson, a missing class, a superuser, every failed check) to the full checks and their
exact errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from edutrack.db.models import User
from edutrack.queries import grades as q
from edutrack.queries import journal as journal_q
from edutrack.queries import membership
from edutrack.security.tokens import Principal
from edutrack.services.diary import grade_target
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool, build_school

D = date(2026, 10, 5)


def _who(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role, school_id=user.school_id, is_superuser=user.is_superuser)


async def _fast(ctx: AppContext, who: Principal, data: dict[str, Any]) -> grade_target.Target | None:
    async with ctx.sessions.begin() as session:
        return await grade_target._target_by_facts(session, who, data)


async def _full(ctx: AppContext, who: Principal, data: dict[str, Any]) -> grade_target.Target:
    async with ctx.sessions.begin() as session:
        return await grade_target._checked_target(session, who, data)


async def test_the_facts_allow_what_the_full_checks_allow(client: TestClient, ctx: AppContext,
                                                          school: BuiltSchool) -> None:
    c0, math = school.classes[0], school.subject(0)
    student = c0.student_ids[0]
    data = {"student_id": student, "class_id": c0.id, "subject_id": math, "date": D,
            "work_type_id": school.work_type_ids["Контрольная работа"]}
    # One parent left the school: only active parents are told.
    await body_of(await client.patch(f"/api/v1/users/{school.parents(student)[1].id}", headers=auth(ctx, school.admin),
                                     json={"is_active": False}), 200)
    for user in (school.teacher_of(c0.id, math), school.admin):
        fast = await _fast(ctx, _who(user), data)
        assert fast is not None, user.role
        full = await _full(ctx, _who(user), data)
        assert (fast.student_id, fast.class_id, fast.subject_id, fast.date, fast.school_id) == (
            full.student_id, full.class_id, full.subject_id, full.date, full.school_id) == (
            student, c0.id, math, D, school.id)
        # What the write would otherwise ask after its insert: the names, the parents, the journal's keepers.
        written = await body_of(await client.post("/api/v1/grades", headers=auth(ctx, user),
                                                  json={**data, "date": D.isoformat(), "value": 4}), 201)
        async with ctx.reads() as session:
            labels = await q.grade_labels(session, written["id"])
            parents = await membership.parents_of(session, [student])
            keepers = await journal_q.journal_keepers(session, c0.id, math)
        assert fast.known == grade_target.Known(grade_target.Labels(*labels), parents[student], keepers)
        assert len(parents[student]) == 1


async def test_everything_else_is_left_to_the_full_checks(ctx: AppContext, school: BuiltSchool) -> None:
    c0, c1, math, russian = school.classes[0], school.classes[1], school.subject(0), school.subject(1)
    other = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)
    teacher = _who(school.teacher_of(c0.id, math))
    ok = {"student_id": c0.student_ids[0], "class_id": c0.id, "subject_id": math, "date": D,
          "work_type_id": school.work_type_ids["Контрольная работа"]}
    superuser = Principal(user_id=school.admin.id, role="admin", school_id=None, is_superuser=True)
    future = (datetime.now(UTC) + timedelta(days=3)).date()
    left: list[tuple[Principal, dict[str, Any]]] = [
        (teacher, {**ok, "subject_id": russian}),  # not their subject in this class
        (_who(school.teacher_of(c1.id, math)), ok),  # their subject, another class
        (teacher, {**ok, "student_id": c1.student_ids[0]}),  # a student of another class
        (teacher, {**ok, "student_id": school.parents(c0.student_ids[0])[0].id}),  # not a student
        (teacher, {**ok, "student_id": other.classes[0].student_ids[0]}),  # another school's student
        (_who(other.admin), ok),  # another school's admin
        (teacher, {**ok, "work_type_id": other.work_type_ids["Контрольная работа"]}),  # another school's work type
        (teacher, {**ok, "subject_id": other.subject(0)}),  # another school's subject
        (teacher, {**ok, "class_id": 2**62}),  # no such class
        (teacher, {**ok, "student_id": 2**62}),  # no such user
        (teacher, {**ok, "date": future}),  # the future
        (teacher, {**ok, "class_id": None}),  # the class is looked up
        (teacher, {**ok, "lesson_id": 1}),  # a lesson's checks
        (superuser, ok),
    ]
    for who, data in left:
        assert await _fast(ctx, who, data) is None, (who, data)


async def test_an_edit_knows_what_it_would_ask_only_for_whom_may_make_it(client: TestClient, ctx: AppContext,
                                                                          school: BuiltSchool) -> None:
    c0, c1, math = school.classes[0], school.classes[1], school.subject(0)
    student, teacher = c0.student_ids[0], school.teacher_of(c0.id, math)
    written = await body_of(await client.post("/api/v1/grades", headers=auth(ctx, teacher), json={
        "student_id": student, "class_id": c0.id, "subject_id": math, "date": D.isoformat(), "value": 3,
        "work_type_id": school.work_type_ids["Контрольная работа"]}), 201)
    other_type = next(w for name, w in school.work_type_ids.items() if name != "Контрольная работа")
    async with ctx.reads() as session:
        parents = await membership.parents_of(session, [student])
        keepers = await journal_q.journal_keepers(session, c0.id, math)
    for user in (teacher, school.admin):
        async with ctx.sessions.begin() as session:
            grade = await q.grade_by_id(session, written["id"], for_update=True)
            known = await grade_target.editable_known(session, _who(user), grade, other_type)
            await q.update_grade(session, written["id"], {"work_type_id": other_type})
            labels = await q.grade_labels(session, written["id"])  # with the new work type
            await session.rollback()
        assert known == grade_target.Known(grade_target.Labels(*labels), parents[student], keepers), user.role
    other_admin = (await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)).admin
    superuser = Principal(user_id=school.admin.id, role="admin", school_id=None, is_superuser=True)
    for who in (_who(school.teacher_of(c1.id, math)), _who(school.teacher_of(c0.id, school.subject(1))),
                _who(other_admin), superuser):
        async with ctx.sessions.begin() as session:
            grade = await q.grade_by_id(session, written["id"])
            assert await grade_target.editable_known(session, who, grade, grade.work_type_id) is None, who
    # The full checks still refuse them, with their errors.
    resp = await client.patch(f"/api/v1/grades/{written['id']}", headers=auth(ctx, school.teacher_of(c1.id, math)),
                              json={"value": 5})
    assert resp.status == 403
