"""Homework hand-in: submit -> return -> resubmit -> grade (a normal grade), late hand-ins marked, who may see
and do what, and a notification at each step."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from edutrack.db.diary import Grade, Lesson
from edutrack.db.models import Notification
from tests.files.helpers import PDF_BYTES
from tests.support.diary import auth, body_of
from tests.support.school import add_lessons, build_school


async def _kinds(ctx, user_id: int) -> list[str]:
    async with ctx.sessions() as session:
        rows = await session.scalars(select(Notification.kind).where(Notification.user_id == user_id)
                                     .order_by(Notification.id))
        return [k for k in rows if k.startswith("homework_") or k == "grade"]


async def _school_with_homework(ctx, offsets: list[int]):
    school = await build_school(ctx, classes=2, students_per_class=2, parents_per_student=1)
    cls = school.classes[0]
    subject = school.subject()
    today = date.today()
    ids = await add_lessons(ctx, school, cls.id, subject, [today + timedelta(days=d) for d in offsets])
    async with ctx.sessions.begin() as session:
        await session.execute(update(Lesson).where(Lesson.id.in_(ids)).values(homework="Упражнение 5, стр. 40"))
    return school, cls, subject, ids


async def test_submit_return_resubmit_grade(client, ctx):
    school, cls, subject, (lesson_id, _next) = await _school_with_homework(ctx, [-2, 5])
    student_user = school.student(0, 0)
    student = auth(ctx, student_user)
    parent_user = school.parents(student_user.id)[0]
    parent = auth(ctx, parent_user)
    teacher_user = school.teacher_of(cls.id, subject)
    teacher = auth(ctx, teacher_user)
    path = f"/api/v1/lessons/{lesson_id}/submission"

    form_id = (await body_of(await client.post("/api/v1/files?name=решение.pdf", data=PDF_BYTES,
                                               headers=student), 201))["id"]
    first = await body_of(await client.post(path, json={"text": "Ответ: 42", "attachments": [form_id]},
                                            headers=student), 201)
    assert first["status"] == "submitted"
    assert first["late"] is False
    assert [a["id"] for a in first["attachments"]] == [form_id]
    # The teacher and the parent can open the file; a classmate cannot.
    for reader in (teacher, parent):
        assert (await client.get(f"/api/v1/files/{form_id}", headers=reader)).status == 200
    assert (await client.get(f"/api/v1/files/{form_id}", headers=auth(ctx, school.student(0, 1)))).status == 404

    roster = await body_of(await client.get(f"/api/v1/lessons/{lesson_id}/submissions", headers=teacher), 200)
    assert roster["submitted"] == 1
    assert roster["missing"] == 1
    statuses = {i["student_id"]: i["status"] for i in roster["items"]}
    assert statuses == {student_user.id: "submitted", school.student(0, 1).id: "missing"}

    returned = await body_of(await client.post(f"/api/v1/submissions/{first['id']}/return",
                                               json={"comment": "Покажите решение"}, headers=teacher), 200)
    assert returned["status"] == "returned"
    assert returned["teacher_comment"] == "Покажите решение"
    seen = await body_of(await client.get(f"{path}?student_id={student_user.id}", headers=parent), 200)
    assert seen["status"] == "returned"

    second = await body_of(await client.post(path, json={"text": "Решение: 6 * 7 = 42"}, headers=student), 200)
    assert second["id"] == first["id"]
    assert second["status"] == "submitted"
    assert second["versions"] == 2
    assert second["attachments"] == []  # the replaced hand-in's files went with it
    assert (await client.get(f"/api/v1/files/{form_id}", headers=student)).status == 404

    work_type = next(iter(school.work_type_ids.values()))
    graded = await body_of(await client.post(f"/api/v1/submissions/{first['id']}/grade", json={
        "work_type_id": work_type, "value": 5, "comment": "Отлично"}, headers=teacher), 200)
    assert graded["status"] == "graded"
    assert graded["grade"] == "5"
    async with ctx.sessions() as session:
        grade = await session.get(Grade, graded["grade_id"])
    assert grade is not None
    assert (grade.student_id, grade.lesson_id, grade.value) == (student_user.id, lesson_id, 5)
    # A normal grade: it is in the student's grade list as any other.
    marks = await body_of(await client.get(f"/api/v1/students/{student_user.id}/grades", headers=parent), 200)
    assert f"'id': {graded['grade_id']}," in str(marks)
    resp = await client.post(path, json={"text": "ещё раз"}, headers=student)
    assert (await body_of(resp, 409))["error"]["code"] == "submission_checked"
    resp = await client.post(f"/api/v1/submissions/{first['id']}/return", json={"comment": "x"}, headers=teacher)
    await body_of(resp, 409)

    status = await body_of(await client.get(f"/api/v1/students/{student_user.id}/submissions", headers=parent), 200)
    assert [(i["status"], i["grade"], i["late"]) for i in status["items"]] == [("graded", "5", False)]
    assert await _kinds(ctx, teacher_user.id) == ["homework_submitted", "homework_submitted"]
    assert await _kinds(ctx, parent_user.id) == ["homework_submitted", "homework_returned", "homework_submitted",
                                                 "grade"]
    assert await _kinds(ctx, student_user.id) == ["homework_returned", "grade"]


async def test_a_hand_in_after_the_next_lesson_is_marked_late(client, ctx):
    school, cls, subject, (set_at, _due, _later) = await _school_with_homework(ctx, [-10, -3, 4])
    student = auth(ctx, school.student(0, 0))
    late = await body_of(await client.post(f"/api/v1/lessons/{set_at}/submission", json={"text": "Сделал"},
                                           headers=student), 201)
    assert late["late"] is True
    assert late["due_at"].startswith((date.today() - timedelta(days=3)).isoformat())
    async with ctx.sessions() as session:
        [title] = await session.scalars(select(Notification.payload["title"].astext).where(
            Notification.kind == "homework_submitted",
            Notification.user_id == school.teacher_of(cls.id, subject).id))
    assert "с опозданием" in title


async def test_who_may_hand_in_and_check(client, ctx):
    school, _cls, subject, (lesson_id, _next) = await _school_with_homework(ctx, [-2, 5])
    other = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    student_user = school.student(0, 0)
    path = f"/api/v1/lessons/{lesson_id}/submission"
    # Another class's student, another school's student: no such lesson for them.
    for outsider in (school.student(1, 0), other.student(0, 0)):
        await body_of(await client.post(path, json={"text": "я тоже"}, headers=auth(ctx, outsider)), 404)
    # A parent cannot hand in for the child.
    parent = auth(ctx, school.parents(student_user.id)[0])
    await body_of(await client.post(path, json={"text": "за сына"}, headers=parent), 403)
    await body_of(await client.post(path, json={"text": "  "}, headers=auth(ctx, student_user)), 422)
    sub = await body_of(await client.post(path, json={"text": "Готово"}, headers=auth(ctx, student_user)), 201)
    # Only the teachers of the class and subject check it; another class's parent cannot even see it.
    other_teacher = school.teacher_of(school.classes[1].id, subject)
    for intruder in (auth(ctx, other_teacher), auth(ctx, other.admin), auth(ctx, school.student(0, 1))):
        resp = await client.post(f"/api/v1/submissions/{sub['id']}/return", json={"comment": "нет"},
                                 headers=intruder)
        assert resp.status in (403, 404)
        resp = await client.get(f"/api/v1/lessons/{lesson_id}/submissions", headers=intruder)
        assert resp.status in (403, 404)
    stranger_parent = auth(ctx, school.parents(school.classes[1].student_ids[0])[0])
    await body_of(await client.get(f"{path}?student_id={student_user.id}", headers=stranger_parent), 404)
    await body_of(await client.get(f"/api/v1/students/{student_user.id}/submissions", headers=stranger_parent),
                  404)
    # Someone else's file cannot be handed in.
    theirs = (await body_of(await client.post("/api/v1/files?name=чужое.pdf", data=PDF_BYTES,
                                              headers=auth(ctx, school.student(0, 1))), 201))["id"]
    resp = await client.post(path, json={"attachments": [theirs]}, headers=auth(ctx, student_user))
    assert (await body_of(resp, 404))["error"]["code"] == "file_not_found"


async def test_teachers_see_hand_ins_in_the_app_and_families_also_by_email(client, ctx):
    school, cls, subject, (lesson_id, _next) = await _school_with_homework(ctx, [-2, 5])
    student_user = school.student(0, 0)
    await body_of(await client.post(f"/api/v1/lessons/{lesson_id}/submission", json={"text": "Готово"},
                                    headers=auth(ctx, student_user)), 201)
    teacher_id = school.teacher_of(cls.id, subject).id
    parent_id = school.parents(student_user.id)[0].id
    async with ctx.sessions() as session:
        rows = dict((await session.execute(select(Notification.user_id, Notification.channels).where(
            Notification.kind == "homework_submitted"))).all())
    assert rows == {teacher_id: 1, parent_id: 3}  # live; live + email (migration 0022_handin's defaults)
