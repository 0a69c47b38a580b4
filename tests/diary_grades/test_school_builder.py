"""The shared school builder gives logged-in-able users wired into classes, subjects and parents."""

from __future__ import annotations

from datetime import date

from edutrack.context import AppContext
from edutrack.queries import membership
from tests.support.factories import Factory
from tests.support.school import add_lessons, build_school


async def test_builder_wires_a_school_and_its_users_can_log_in(ctx: AppContext, factory: Factory) -> None:
    school = await build_school(ctx, classes=2, students_per_class=3, parents_per_student=2)
    assert len(school.classes) == 2
    assert len(school.term_ids) == 2
    cls = school.classes[0]
    math = school.subject_ids["Математика"]
    student = school.student(0, 1)
    async with ctx.sessions.begin() as session:
        assert await membership.teaches(session, cls.teacher_by_subject[math], cls.id, math)
        assert not await membership.teaches(session, school.classes[1].teacher_by_subject[math], cls.id, math)
        assert sorted((await membership.parents_of(session, [student.id]))[student.id]) == sorted(
            school.parents_of[student.id])
        assert await membership.class_ids_of_student(session, student.id) == {cls.id}
    actor = await factory.login(student)
    resp = await factory.client.get("/api/v1/profile/me", headers=actor.headers)
    assert resp.status == 200, await resp.text()
    assert (await factory.login(school.parents(student.id)[1])).id == school.parents_of[student.id][1]
    lessons = await add_lessons(ctx, school, cls.id, math, [date(2026, 9, 2), date(2026, 9, 3)])
    assert len(lessons) == 2
