"""People with more than one role: one account, the role of the token plus the parent links. A teacher who is
the parent of a student of the school uses both roles with one login; a parent with children in two schools;
what the link does not open."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, add_lessons, build_school

PAST = date(2026, 11, 30)


async def test_a_teacher_who_is_a_parent_uses_both_roles(client: TestClient, ctx: AppContext, factory: Factory,
                                                         school: BuiltSchool) -> None:
    cls, other_cls = school.classes
    math, history = school.subject(0), school.subject(2)
    child, classmate = cls.student_ids[0], cls.student_ids[1]
    teacher_user = school.teacher_of(other_cls.id, history)  # teaches history in the other class only
    admin = await factory.login(school.admin)
    resp = await client.post("/api/v1/parent-links", json={"parent_id": teacher_user.id, "child_id": child},
                             headers=admin.headers)
    assert resp.status == 201, await resp.text()
    math_teacher = await factory.login(school.teacher_of(cls.id, math))
    (lesson_id,) = await add_lessons(ctx, school, cls.id, math, [PAST], hour=9)
    resp = await client.post("/api/v1/grades", headers=math_teacher.headers, json={
        "student_id": child, "lesson_id": lesson_id, "value": 4,
        "work_type_id": school.work_type_ids["Ответ на уроке"]})
    assert resp.status == 201, await resp.text()
    (own_lesson,) = await add_lessons(ctx, school, other_cls.id, history, [PAST], hour=11)

    me = await factory.login(teacher_user)  # one login for both roles
    # As a teacher: the journal of the class they teach, their own week.
    resp = await client.get(f"/api/v1/journal?class_id={other_cls.id}&subject_id={history}"
                            f"&term_id={school.term_ids[0]}", headers=me.headers)
    assert resp.status == 200
    resp = await client.get(f"/api/v1/schedule/me?from={PAST}&to={PAST}", headers=me.headers)
    assert [i["id"] for i in (await resp.json())["items"]] == [own_lesson]
    # As a parent: the child's grades in every subject (not only history), week, final marks, absence note.
    resp = await client.get(f"/api/v1/students/{child}/grades", headers=me.headers)
    assert resp.status == 200, await resp.text()
    assert [g["value"] for g in (await resp.json())["grades"]] == [4]
    resp = await client.get(f"/api/v1/schedule/me?from={PAST}&to={PAST}&child_id={child}", headers=me.headers)
    assert [i["id"] for i in (await resp.json())["items"]] == [lesson_id]
    resp = await client.get(f"/api/v1/students/{child}/final-marks", headers=me.headers)
    assert len((await resp.json())["subjects"]) == 3
    resp = await client.get(f"/api/v1/parent-links?parent_id={teacher_user.id}", headers=me.headers)
    assert [link["child_id"] for link in (await resp.json())["items"]] == [child]
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    resp = await client.post("/api/v1/absence-notes", json={"student_id": child, "from": tomorrow,
                                                            "reason": "illness"}, headers=me.headers)
    assert resp.status == 201, await resp.text()
    note_id = (await resp.json())["id"]
    resp = await client.post(f"/api/v1/absence-notes/{note_id}/decision", json={"decision": "accepted"},
                             headers=me.headers)
    assert resp.status == 403  # a parent does not decide on their own note
    # The link opens the child, not the child's class: a classmate and the class journal stay closed.
    resp = await client.get(f"/api/v1/students/{classmate}/grades", headers=me.headers)
    assert resp.status == 404
    resp = await client.get(f"/api/v1/schedule/me?child_id={classmate}", headers=me.headers)
    assert resp.status == 404
    resp = await client.get(f"/api/v1/journal?class_id={cls.id}&subject_id={math}&term_id={school.term_ids[0]}",
                            headers=me.headers)
    assert resp.status == 404
    resp = await client.post("/api/v1/absence-notes", json={"student_id": classmate, "from": tomorrow,
                                                            "reason": "illness"}, headers=me.headers)
    assert resp.status == 403


async def test_a_parent_with_children_in_two_schools(client: TestClient, ctx: AppContext, factory: Factory,
                                                     school: BuiltSchool) -> None:
    other = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    first_child = school.classes[0].student_ids[0]
    parent_user = school.parents(first_child)[0]
    second_child = other.classes[0].student_ids[0]
    other_admin = await factory.login(other.admin)
    resp = await client.post("/api/v1/parent-links", json={"parent_id": parent_user.id, "child_id": second_child},
                             headers=other_admin.headers)
    assert resp.status == 201, await resp.text()
    parent = await factory.login(parent_user)
    for child in (first_child, second_child):
        resp = await client.get(f"/api/v1/students/{child}/grades", headers=parent.headers)
        assert resp.status == 200
        resp = await client.get(f"/api/v1/schedule/me?child_id={child}", headers=parent.headers)
        assert resp.status == 200
    resp = await client.get("/api/v1/schedule/me", headers=parent.headers)
    assert resp.status == 422  # two children: say whose
    # A teacher of another school cannot be linked.
    resp = await client.post("/api/v1/parent-links", json={"parent_id": school.teacher_ids[0],
                                                           "child_id": second_child}, headers=other_admin.headers)
    assert resp.status == 422
