"""A school's people for its administrators: the directory, invitations (nobody types a password), the link that
sets a password, moving a student between classes; tried from the attacker's side too."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import text

from edutrack.context import AppContext
from edutrack.db.models import User
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool, build_school

NEW_TEACHER = {"email": "Marina.Sokolova@Example.test", "role": "teacher", "first_name": "Марина",
               "last_name": "Соколова", "middle_name": "Игоревна"}


async def outbox(ctx: AppContext, recipient: str) -> list[dict[str, Any]]:
    async with ctx.sessions() as session:
        rows = await session.execute(text("SELECT * FROM email_outbox WHERE recipient = :r ORDER BY id"),
                                     {"r": recipient})
        return [dict(r) for r in rows.mappings()]


def token_in(body: str) -> str:
    match = re.search(r"reset-password\?token=([A-Za-z0-9_\-]+)", body)
    assert match, body
    return match.group(1)


async def test_an_invited_teacher_sets_their_own_password(
        client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    person = await body_of(await client.post("/api/v1/invitations", headers=admin, json=NEW_TEACHER), 201)
    assert person["email"] == "marina.sokolova@example.test"
    assert person["role"] == "teacher"
    assert person["name"] == "Соколова Марина"
    assert person["full_name"] == "Соколова Марина Игоревна"
    assert person["gender"] == "female"
    assert person["school_id"] == school.id
    assert person["invited_until"]
    [mail] = await outbox(ctx, person["email"])
    assert mail["kind"] == "invitation"
    assert mail["subject"] == "Приглашение в EduTrack"
    assert "Здравствуйте, Марина Игоревна!" in mail["body_text"]
    assert f"Вас добавили в электронный дневник EduTrack ({school.name}) как учителя." in mail["body_text"]
    token = token_in(mail["body_text"])
    # Nobody knows the password the account starts with.
    for guess in ("", "password", token):
        resp = await client.post("/api/v1/auth/login", json={"email": person["email"], "password": guess or "x"})
        assert resp.status == 401
    resp = await client.post("/api/v1/password-reset/confirm", json={"token": token,
                                                                    "new_password": "a-long-Own-passphrase-7"})
    assert resp.status == 204, await resp.text()
    resp = await client.post("/api/v1/auth/login", json={"email": person["email"],
                                                         "password": "a-long-Own-passphrase-7"})
    assert resp.status == 200
    found = await body_of(await client.get("/api/v1/admin/people?q=Соколова", headers=admin), 200)
    assert [p["invited_until"] for p in found["items"]] == [None]


async def test_invitation_refusals(client: TestClient, ctx: AppContext, school: BuiltSchool,
                                   superuser: User) -> None:
    admin = auth(ctx, school.admin)
    taken = await body_of(await client.post("/api/v1/invitations", headers=admin, json={
        **NEW_TEACHER, "email": school.teachers[0].email.upper()}), 409)
    assert taken["error"]["code"] == "email_taken"
    assert "email" in taken["error"]["details"]
    # A school's admin adds no administrators and nobody to another school.
    await body_of(await client.post("/api/v1/invitations", headers=admin, json={**NEW_TEACHER, "role": "admin"}), 403)
    other = await build_school(ctx, classes=1, students_per_class=1)
    await body_of(await client.post("/api/v1/invitations", headers=admin, json={
        **NEW_TEACHER, "school_id": other.id}), 404)
    bad = await body_of(await client.post("/api/v1/invitations", headers=admin, json={
        **NEW_TEACHER, "email": "not-an-address", "first_name": "  ", "gender": "x"}), 422)
    assert set(bad["error"]["details"]) == {"email", "first_name", "gender"}
    teacher = auth(ctx, school.teachers[0])
    await body_of(await client.post("/api/v1/invitations", headers=teacher, json=NEW_TEACHER), 403)
    await body_of(await client.post("/api/v1/invitations", json=NEW_TEACHER), 401)
    assert await outbox(ctx, "marina.sokolova@example.test") == []

    root = auth(ctx, superuser)
    unplaced = await body_of(await client.post("/api/v1/invitations", headers=root, json={
        **NEW_TEACHER, "role": "admin"}), 422)
    assert "school_id" in unplaced["error"]["details"]
    head = await body_of(await client.post("/api/v1/invitations", headers=root, json={
        **NEW_TEACHER, "role": "admin", "school_id": other.id}), 201)
    assert head["role"] == "admin"
    assert head["school_id"] == other.id
    [mail] = await outbox(ctx, head["email"])
    assert "как администратора" in mail["body_text"]


async def test_sending_the_password_link(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    invited = await body_of(await client.post("/api/v1/invitations", headers=admin, json=NEW_TEACHER), 201)
    again = await body_of(await client.post(f"/api/v1/users/{invited['id']}/password-reset", headers=admin), 202)
    assert again["kind"] == "invitation"
    student = school.student(0, 0)
    reset = await body_of(await client.post(f"/api/v1/users/{student.id}/password-reset", headers=admin), 202)
    assert reset["kind"] == "password_reset"
    [mail] = await outbox(ctx, student.email)
    assert mail["kind"] == "password_reset"
    assert mail["subject"] == "Восстановление пароля EduTrack"
    # The link reaches the owner's mailbox only: the answer carries no token.
    assert token_in(mail["body_text"]) not in str(reset)
    for _ in range(2):
        await body_of(await client.post(f"/api/v1/users/{student.id}/password-reset", headers=admin), 202)
    limited = await body_of(await client.post(f"/api/v1/users/{student.id}/password-reset", headers=admin), 429)
    assert limited["error"]["code"] == "rate_limited"
    assert len(await outbox(ctx, student.email)) == 3

    switched_off = school.student(0, 1)
    await body_of(await client.patch(f"/api/v1/users/{switched_off.id}", headers=admin,
                                     json={"is_active": False}), 200)
    await body_of(await client.post(f"/api/v1/users/{switched_off.id}/password-reset", headers=admin), 409)


async def test_password_link_from_the_attackers_side(
        client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    other = await build_school(ctx, classes=1, students_per_class=1)
    target = school.student(0, 0)
    await body_of(await client.post(f"/api/v1/users/{target.id}/password-reset",
                                    headers=auth(ctx, other.admin)), 404)
    await body_of(await client.post(f"/api/v1/users/{target.id}/password-reset",
                                    headers=auth(ctx, school.teachers[0])), 403)
    await body_of(await client.post(f"/api/v1/users/{target.id}/password-reset"), 401)
    await body_of(await client.post("/api/v1/users/999999/password-reset", headers=auth(ctx, school.admin)), 404)
    assert await outbox(ctx, target.email) == []


async def test_the_directory(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    cls = school.classes[0]
    everyone = await body_of(await client.get("/api/v1/admin/people?limit=200", headers=admin), 200)
    assert everyone["total"] == len(school.users)
    names = [p["name"] for p in everyone["items"]]
    assert names == sorted(names, key=lambda n: n.split()[0])  # by surname
    in_class = await body_of(await client.get(f"/api/v1/admin/people?class_id={cls.id}&limit=200",
                                              headers=admin), 200)
    expected = {*cls.student_ids, *cls.teacher_by_subject.values(),
                *(p for s in cls.student_ids for p in school.parents_of[s])}
    assert {p["id"] for p in in_class["items"]} == expected
    student = school.student(0, 0)
    pupils = await body_of(await client.get(f"/api/v1/admin/people?class_id={cls.id}&role=student",
                                            headers=admin), 200)
    me = next(p for p in pupils["items"] if p["id"] == student.id)
    assert [c["id"] for c in me["classes"]] == [cls.id]
    assert sorted(p["id"] for p in me["parents"]) == sorted(school.parents_of[student.id])
    parent = school.parents(student.id)[0]
    found = await body_of(await client.get(f"/api/v1/admin/people?q={parent.email.split('@')[0]}",
                                           headers=admin), 200)
    assert [(p["id"], [c["id"] for c in p["children"]]) for p in found["items"]] == [(parent.id, [student.id])]
    teachers = await body_of(await client.get("/api/v1/admin/people?q=Педагогов&role=teacher&limit=200",
                                              headers=admin), 200)
    lead = next(p for p in teachers["items"] if p["id"] == cls.class_teacher_id)
    assert lead["classes"] == [{"id": cls.id, "name": "5А"}]
    await body_of(await client.patch(f"/api/v1/users/{student.id}", headers=admin, json={"is_active": False}), 200)
    inactive = await body_of(await client.get("/api/v1/admin/people?active=false", headers=admin), 200)
    assert [p["id"] for p in inactive["items"]] == [student.id]


async def test_the_directory_from_the_attackers_side(
        client: TestClient, ctx: AppContext, school: BuiltSchool, superuser: User) -> None:
    other = await build_school(ctx, classes=1, students_per_class=1)
    stranger = auth(ctx, other.admin)
    mine = await body_of(await client.get("/api/v1/admin/people?limit=200", headers=stranger), 200)
    assert {p["id"] for p in mine["items"]} == set(other.users)
    await body_of(await client.get(f"/api/v1/admin/people?school_id={school.id}", headers=stranger), 404)
    await body_of(await client.get(f"/api/v1/admin/people?class_id={school.classes[0].id}", headers=stranger), 404)
    await body_of(await client.get("/api/v1/admin/people", headers=auth(ctx, school.teachers[0])), 403)
    await body_of(await client.get("/api/v1/admin/people", headers=auth(ctx, school.student())), 403)
    await body_of(await client.get("/api/v1/admin/people"), 401)
    admins = await body_of(await client.get(f"/api/v1/admin/people?school_id={school.id}&role=admin",
                                            headers=auth(ctx, superuser)), 200)
    assert [p["id"] for p in admins["items"]] == [school.admin.id]


async def test_moving_a_student_to_another_class(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    a, b = school.classes
    student = a.student_ids[0]
    moved = await body_of(await client.post(f"/api/v1/students/{student}/transfer", headers=admin, json={
        "from_class_id": a.id, "to_class_id": b.id}), 200)
    assert moved == {"student_id": student, "from_class_id": a.id, "to_class_id": b.id}
    in_a = await body_of(await client.get(f"/api/v1/classes/{a.id}/students", headers=admin), 200)
    in_b = await body_of(await client.get(f"/api/v1/classes/{b.id}/students", headers=admin), 200)
    assert student not in [s["id"] for s in in_a]
    assert student in [s["id"] for s in in_b]
    # Not in the class any more, the same class twice, another school's class: refused, nothing changed.
    await body_of(await client.post(f"/api/v1/students/{student}/transfer", headers=admin, json={
        "from_class_id": a.id, "to_class_id": b.id}), 404)
    await body_of(await client.post(f"/api/v1/students/{student}/transfer", headers=admin, json={
        "from_class_id": b.id, "to_class_id": b.id}), 422)
    other = await build_school(ctx, classes=1, students_per_class=1)
    await body_of(await client.post(f"/api/v1/students/{student}/transfer", headers=admin, json={
        "from_class_id": b.id, "to_class_id": other.classes[0].id}), 404)
    await body_of(await client.post(f"/api/v1/students/{student}/transfer", headers=auth(ctx, other.admin), json={
        "from_class_id": b.id, "to_class_id": a.id}), 404)
    teacher_of_b = school.teacher_of(b.id, school.subject_ids["Математика"])
    await body_of(await client.post(f"/api/v1/students/{student}/transfer", headers=auth(ctx, teacher_of_b),
                                    json={"from_class_id": b.id, "to_class_id": a.id}), 403)
    in_b = await body_of(await client.get(f"/api/v1/classes/{b.id}/students", headers=admin), 200)
    assert student in [s["id"] for s in in_b]
