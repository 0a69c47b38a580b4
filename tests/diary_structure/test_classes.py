"""Classes, enrolment, parent links, subjects, teaching assignments and classmates."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from edutrack.context import AppContext
from edutrack.db.models import Profile
from tests.support.diary import auth, body_of
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, build_school


async def test_class_crud_and_validation(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    teacher_id = school.teacher_ids[0]
    created = await body_of(await client.post("/api/v1/classes", headers=admin, json={
        "name": "10А", "grade_level": 10, "academic_year_id": school.year_id, "class_teacher_id": teacher_id}), 201)
    assert created["school_id"] == school.id
    assert created["students"] == 0
    assert created["class_teacher_name"]
    assert created["academic_year"] == "2026/2027"

    await body_of(await client.post("/api/v1/classes", headers=admin, json={
        "name": "10А", "grade_level": 10, "academic_year_id": school.year_id}), 409)
    for bad in ({"name": "10А", "grade_level": 12}, {"name": "10А", "grade_level": 0},
                {"name": "Десятый", "grade_level": 10}, {"name": "", "grade_level": 1},
                {"name": "10Б\n", "grade_level": 10}, {"name": "10Б-\u0661", "grade_level": 10},
                {"name": "10Б", "grade_level": 10, "academic_year_id": 999999},
                {"name": "10Б", "grade_level": 10, "class_teacher_id": school.classes[0].student_ids[0]},
                {"name": "10Б", "grade_level": 10, "class_teacher_id": 999999}):
        body = await body_of(await client.post("/api/v1/classes", headers=admin, json=bad), 422)
        assert body["error"]["details"], bad

    # A teacher of another school cannot lead this class.
    other = await build_school(ctx, classes=1, students_per_class=1)
    await body_of(await client.post("/api/v1/classes", headers=admin, json={
        "name": "10Б", "grade_level": 10, "class_teacher_id": other.teacher_ids[0]}), 422)

    changed = await body_of(await client.patch(f"/api/v1/classes/{created['id']}", headers=admin,
                                               json={"name": "11А", "grade_level": 11}), 200)
    assert changed["name"] == "11А"
    page = await body_of(await client.get("/api/v1/classes?grade_level=11", headers=admin), 200)
    assert [c["id"] for c in page["items"]] == [created["id"]]
    page = await body_of(await client.get("/api/v1/classes?limit=1", headers=admin), 200)
    assert page["total"] == 3
    assert len(page["items"]) == 1
    await body_of(await client.get("/api/v1/classes?limit=1000", headers=admin), 422)
    await body_of(await client.get("/api/v1/classes?grade_level=x", headers=admin), 422)
    await body_of(await client.delete(f"/api/v1/classes/{created['id']}", headers=admin), 204)
    await body_of(await client.get(f"/api/v1/classes/{created['id']}", headers=admin), 404)


async def test_class_visibility_matrix(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    c0, c1 = school.classes
    math = school.subject_ids["Математика"]
    other = await build_school(ctx, classes=1, students_per_class=1)
    student, teacher = school.student(0), school.teacher_of(c0.id, math)
    parent = school.parents(student.id)[0]
    cases = {
        "student": (auth(ctx, student), {c0.id}),
        "parent": (auth(ctx, parent), {c0.id}),
        "teacher": (auth(ctx, teacher), {c0.id}),
        "admin": (auth(ctx, school.admin), {c0.id, c1.id}),
        "other admin": (auth(ctx, other.admin), {other.classes[0].id}),
    }
    for name, (headers, expected) in cases.items():
        page = await body_of(await client.get("/api/v1/classes", headers=headers), 200)
        assert {c["id"] for c in page["items"]} == expected, name
        hidden = next(c for c in (c0.id, c1.id, other.classes[0].id) if c not in expected)
        await body_of(await client.get(f"/api/v1/classes/{hidden}", headers=headers), 404)
        await body_of(await client.get(f"/api/v1/classes/{hidden}/students", headers=headers), 404)
    for name in ("student", "parent", "teacher"):
        headers = cases[name][0]
        await body_of(await client.post("/api/v1/classes", headers=headers,
                                        json={"name": "1А", "grade_level": 1}), 403)
        await body_of(await client.patch(f"/api/v1/classes/{c0.id}", headers=headers, json={"name": "5Я"}), 403)
        await body_of(await client.delete(f"/api/v1/classes/{c0.id}", headers=headers), 403)
        await body_of(await client.post(f"/api/v1/classes/{c0.id}/students", headers=headers,
                                        json={"student_ids": [student.id]}), 403)
    other_admin = cases["other admin"][0]
    await body_of(await client.patch(f"/api/v1/classes/{c0.id}", headers=other_admin, json={"name": "5Я"}), 404)
    await body_of(await client.delete(f"/api/v1/classes/{c0.id}", headers=other_admin), 404)
    students = await body_of(await client.get(f"/api/v1/classes/{c0.id}/students", headers=cases["parent"][0]),
                             200)
    assert {s["id"] for s in students} == set(c0.student_ids)
    assert {s["email"] for s in students} == {None}  # a parent does not get the children's addresses
    staff_view = await body_of(await client.get(f"/api/v1/classes/{c0.id}/students", headers=cases["teacher"][0]),
                               200)
    assert all(s["email"] for s in staff_view)


async def test_enrolment_and_parent_links(client: TestClient, ctx: AppContext, school: BuiltSchool,
                                          factory: Factory) -> None:
    admin = auth(ctx, school.admin)
    c0, c1 = school.classes
    mover = c1.student_ids[0]
    result = await body_of(await client.post(f"/api/v1/classes/{c0.id}/students", headers=admin,
                                             json={"student_ids": [mover, c0.student_ids[0]]}), 200)
    assert result == {"class_id": c0.id, "added": 1, "already_enrolled": 1}
    other = await build_school(ctx, classes=1, students_per_class=1)
    for bad_ids in ([other.classes[0].student_ids[0]], [school.teacher_ids[0]], [999999]):
        await body_of(await client.post(f"/api/v1/classes/{c0.id}/students", headers=admin,
                                        json={"student_ids": bad_ids}), 422)
    await body_of(await client.post(f"/api/v1/classes/{c0.id}/students", headers=admin,
                                    json={"student_ids": []}), 422)
    await body_of(await client.delete(f"/api/v1/classes/{c0.id}/students/{mover}", headers=admin), 204)
    await body_of(await client.delete(f"/api/v1/classes/{c0.id}/students/{mover}", headers=admin), 404)

    # A child with three parents, a parent with two children.
    child, second_child = c0.student_ids[0], c1.student_ids[1]
    extra_parent = await factory.user("parent")  # self-registered: no school yet
    for parent_id, child_id in ((extra_parent.id, child), (extra_parent.id, second_child)):
        made = await body_of(await client.post("/api/v1/parent-links", headers=admin,
                                               json={"parent_id": parent_id, "child_id": child_id}), 201)
        assert made["created"] is True
    again = await body_of(await client.post("/api/v1/parent-links", headers=admin,
                                            json={"parent_id": extra_parent.id, "child_id": child}), 201)
    assert again["created"] is False
    links = await body_of(await client.get(f"/api/v1/parent-links?child_id={child}", headers=admin), 200)
    assert len(links["items"]) == 3
    mine = await body_of(await client.get("/api/v1/parent-links", headers=auth(ctx, extra_parent)), 200)
    assert {x["child_id"] for x in mine["items"]} == {child, second_child}
    # The parent now sees both children's classes.
    page = await body_of(await client.get("/api/v1/classes", headers=auth(ctx, extra_parent)), 200)
    assert {c["id"] for c in page["items"]} == {c0.id, c1.id}

    # A teacher of the child's school and a parent of another school may be linked (tests/diary_ops/test_roles.py);
    # a teacher of another school, a student or a child of another school may not.
    for bad in ({"parent_id": other.teacher_ids[0], "child_id": child},
                {"parent_id": c0.student_ids[1], "child_id": child},
                {"parent_id": extra_parent.id, "child_id": school.teacher_ids[0]},
                {"parent_id": extra_parent.id, "child_id": other.classes[0].student_ids[0]}):
        await body_of(await client.post("/api/v1/parent-links", headers=admin, json=bad), 422)
    await body_of(await client.post("/api/v1/parent-links", headers=auth(ctx, school.teachers[0]),
                                    json={"parent_id": extra_parent.id, "child_id": child}), 403)
    await body_of(await client.delete(f"/api/v1/parent-links/{extra_parent.id}/{child}",
                                      headers=auth(ctx, other.admin)), 404)
    await body_of(await client.delete(f"/api/v1/parent-links/{extra_parent.id}/{child}", headers=admin), 204)
    await body_of(await client.delete(f"/api/v1/parent-links/{extra_parent.id}/{child}", headers=admin), 404)


async def test_subjects_and_assignments(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    physics = await body_of(await client.post("/api/v1/subjects", headers=admin, json={"name": "Физика"}), 201)
    await body_of(await client.post("/api/v1/subjects", headers=admin, json={"name": "физика"}), 409)
    await body_of(await client.post("/api/v1/subjects", headers=admin, json={"name": ""}), 422)
    page = await body_of(await client.get("/api/v1/subjects?q=физ", headers=auth(ctx, school.student())), 200)
    assert [s["name"] for s in page["items"]] == ["Физика"]
    renamed = await body_of(await client.patch(f"/api/v1/subjects/{physics['id']}", headers=admin,
                                               json={"name": "Физика и астрономия"}), 200)
    assert renamed["name"] == "Физика и астрономия"

    c0 = school.classes[0]
    teacher_id = school.teacher_ids[0]
    made = await body_of(await client.post("/api/v1/assignments", headers=admin, json={
        "class_id": c0.id, "subject_id": physics["id"], "teacher_id": teacher_id}), 201)
    assert made["subject_name"] == "Физика и астрономия"
    assert made["class_id"] == c0.id
    await body_of(await client.post("/api/v1/assignments", headers=admin, json={
        "class_id": c0.id, "subject_id": physics["id"], "teacher_id": teacher_id}), 409)
    other = await build_school(ctx, classes=1, students_per_class=1)
    for bad in ({"class_id": other.classes[0].id, "subject_id": physics["id"], "teacher_id": teacher_id},
                {"class_id": c0.id, "subject_id": other.subject(0), "teacher_id": teacher_id},
                {"class_id": c0.id, "subject_id": physics["id"], "teacher_id": other.teacher_ids[0]},
                {"class_id": c0.id, "subject_id": physics["id"], "teacher_id": c0.student_ids[0]}):
        await body_of(await client.post("/api/v1/assignments", headers=admin, json=bad), 422)
    teacher = auth(ctx, school.users[teacher_id])
    await body_of(await client.post("/api/v1/assignments", headers=teacher, json={
        "class_id": c0.id, "subject_id": physics["id"], "teacher_id": teacher_id}), 403)
    mine = await body_of(await client.get(f"/api/v1/assignments?teacher_id={teacher_id}", headers=teacher), 200)
    assert physics["id"] in {a["subject_id"] for a in mine["items"]}
    seen = await body_of(await client.get("/api/v1/assignments", headers=auth(ctx, other.admin)), 200)
    assert {a["class_id"] for a in seen["items"]} == {other.classes[0].id}

    await body_of(await client.delete(f"/api/v1/assignments/{made['id']}", headers=auth(ctx, other.admin)), 404)
    await body_of(await client.delete(f"/api/v1/assignments/{made['id']}", headers=admin), 204)
    await body_of(await client.get(f"/api/v1/subjects/{physics['id']}", headers=auth(ctx, other.admin)), 404)
    await body_of(await client.delete(f"/api/v1/subjects/{physics['id']}", headers=teacher), 403)
    await body_of(await client.delete(f"/api/v1/subjects/{physics['id']}", headers=admin), 204)


async def test_classmates_search_and_birthday_privacy(client: TestClient, ctx: AppContext,
                                                      school: BuiltSchool) -> None:
    c0, c1 = school.classes
    me, shows, hides = c0.student_ids
    async with ctx.sessions.begin() as session:
        await session.execute(update(Profile).where(Profile.user_id == shows)
                              .values(birthday=date(2012, 3, 8), show_birthday=True, first_name="Мария"))
        await session.execute(update(Profile).where(Profile.user_id == hides)
                              .values(birthday=date(2012, 4, 1), show_birthday=False))
    page = await body_of(await client.get("/api/v1/classmates", headers=auth(ctx, school.users[me])), 200)
    by_id = {p["id"]: p for p in page["items"]}
    assert set(by_id) == {shows, hides}  # not me, not the other class
    assert by_id[shows]["birthday"] == "2012-03-08"
    assert by_id[hides]["birthday"] is None
    assert len(by_id[shows]["classes"]) == 1
    found = await body_of(await client.get("/api/v1/classmates?q=мари", headers=auth(ctx, school.users[me])), 200)
    assert [p["id"] for p in found["items"]] == [shows]
    assert found["total"] == 1
    none = await body_of(await client.get("/api/v1/classmates?q=%25", headers=auth(ctx, school.users[me])), 200)
    assert none["items"] == []  # LIKE wildcards are escaped
    for who in (school.admin, school.teachers[0], school.parents(me)[0]):
        await body_of(await client.get("/api/v1/classmates", headers=auth(ctx, who)), 403)
    assert c1.student_ids[0] not in by_id
