"""Parents' absence notes through HTTP: a note, the class teacher's decision, excused attendance (taken before and
after the decision), notifications, audit, authorization from the attacker's side, bad input, rate limit."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.diary import AuditLog
from edutrack.db.models import Notification
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, add_lessons, build_school


def today() -> date:
    return datetime.now(ZoneInfo("Europe/Moscow")).date()


async def notes_of_kind(ctx: AppContext, kind: str = "absence_note") -> list[Notification]:
    async with ctx.sessions.begin() as session:
        rows = await session.execute(select(Notification).where(Notification.kind == kind).order_by(Notification.id))
        return list(rows.scalars())


async def audit_of(ctx: AppContext, note_id: int) -> list[str]:
    async with ctx.sessions.begin() as session:
        rows = await session.execute(select(AuditLog.action).where(AuditLog.entity == "absence_note",
                                                                   AuditLog.entity_id == note_id)
                                     .order_by(AuditLog.id))
        return list(rows.scalars())


async def mark(client: TestClient, headers: dict[str, str], lesson_id: int, student_id: int,
               reason: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"student_id": student_id, "status": "absent"}
    if reason:
        body["reason"] = reason
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/attendance", json={"marks": [body]}, headers=headers)
    assert resp.status == 200, await resp.text()
    items: list[dict[str, Any]] = (await resp.json())["items"]
    return items[0]


async def test_note_accepted_excuses_marks_taken_before_and_after(client: TestClient, ctx: AppContext,
                                                                  factory: Factory, school: BuiltSchool) -> None:
    cls = school.classes[0]
    russian = school.subject(1)
    d1, d2, d3 = (today() + timedelta(days=n) for n in (1, 2, 3))
    l1, l2, l3 = await add_lessons(ctx, school, cls.id, russian, [d1, d2, d3])
    child = cls.student_ids[0]
    author, other_parent = school.parents(child)
    parent = await factory.login(author)
    resp = await client.post("/api/v1/absence-notes", json={
        "student_id": child, "from": d1.isoformat(), "to": d2.isoformat(), "reason": "illness",
        "comment": "Температура"}, headers=parent.headers)
    assert resp.status == 201, await resp.text()
    note = await resp.json()
    assert (note["status"], note["from"], note["to"], note["class_id"]) == ("pending", d1.isoformat(),
                                                                            d2.isoformat(), cls.id)
    created = await notes_of_kind(ctx)
    assert {n.user_id for n in created} == {cls.class_teacher_id, other_parent.id}
    assert created[0].payload["status"] == "pending"

    subject_teacher = await factory.login(school.teacher_of(cls.id, russian))
    before = await mark(client, subject_teacher.headers, l1, child)
    assert before["reason"] is None  # not accepted yet

    class_teacher = await factory.login(school.user(cls.class_teacher_id or 0))
    resp = await client.post(f"/api/v1/absence-notes/{note['id']}/decision", json={"decision": "accepted"},
                             headers=class_teacher.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["status"] == "accepted"
    resp = await client.get(f"/api/v1/lessons/{l1}/attendance", headers=subject_teacher.headers)
    assert (await resp.json())["marks"][0]["reason"] == "illness"  # taken before: updated on acceptance
    resp = await client.get(f"/api/v1/journal/lessons/{l2}", headers=subject_teacher.headers)
    assert (await resp.json())["absence_notes"] == [{"student_id": child, "reason": "illness"}]
    assert (await mark(client, subject_teacher.headers, l2, child))["reason"] == "illness"  # taken after
    assert (await mark(client, subject_teacher.headers, l3, child))["reason"] is None  # outside the note
    decided = (await notes_of_kind(ctx))[len(created):]
    assert {n.user_id for n in decided} == {child, author.id, other_parent.id, subject_teacher.user.id}
    assert decided[0].payload["status"] == "accepted"
    assert await audit_of(ctx, note["id"]) == ["create", "accepted"]
    resp = await client.get(f"/api/v1/students/{child}/attendance", headers=parent.headers)
    assert (await resp.json())["summary"]["unexcused"] == 1


async def test_note_for_some_lessons_questioned_then_accepted(client: TestClient, ctx: AppContext,
                                                              factory: Factory, school: BuiltSchool) -> None:
    cls = school.classes[0]
    d1 = today() + timedelta(days=1)
    (math_lesson,) = await add_lessons(ctx, school, cls.id, school.subject(0), [d1], hour=8)
    (history_lesson,) = await add_lessons(ctx, school, cls.id, school.subject(2), [d1], hour=10)
    child = cls.student_ids[1]
    parent = await factory.login(school.parents(child)[0])
    resp = await client.post("/api/v1/absence-notes", json={
        "student_id": child, "lesson_ids": [math_lesson], "reason": "excused"}, headers=parent.headers)
    assert resp.status == 201, await resp.text()
    note = await resp.json()
    assert note["lesson_ids"] == [math_lesson]
    class_teacher = await factory.login(school.user(cls.class_teacher_id or 0))
    url = f"/api/v1/absence-notes/{note['id']}/decision"
    resp = await client.post(url, json={"decision": "questioned", "comment": "Нужна справка"},
                             headers=class_teacher.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["decision_comment"] == "Нужна справка"
    questioned = (await notes_of_kind(ctx))[-1]
    assert questioned.payload["comment"] == "Нужна справка"
    resp = await client.get(f"/api/v1/absence-notes/{note['id']}", headers=parent.headers)
    assert (await resp.json())["status"] == "questioned"
    resp = await client.post(url, json={"decision": "accepted"}, headers=class_teacher.headers)
    assert resp.status == 200
    math_teacher = await factory.login(school.teacher_of(cls.id, school.subject(0)))
    history_teacher = await factory.login(school.teacher_of(cls.id, school.subject(2)))
    assert (await mark(client, math_teacher.headers, math_lesson, child))["reason"] == "excused"
    assert (await mark(client, history_teacher.headers, history_lesson, child))["reason"] is None
    # The teacher's own reason wins over the note's.
    assert (await mark(client, math_teacher.headers, math_lesson, child, "unexcused"))["reason"] == "unexcused"
    resp = await client.post(url, json={"decision": "questioned", "comment": "нет"}, headers=class_teacher.headers)
    assert resp.status == 409
    resp = await client.get("/api/v1/absence-notes?status=accepted", headers=class_teacher.headers)
    assert [n["id"] for n in (await resp.json())["items"]] == [note["id"]]


async def test_who_may_write_read_and_decide(client: TestClient, ctx: AppContext, factory: Factory,
                                             school: BuiltSchool) -> None:
    cls, other_cls = school.classes
    child = cls.student_ids[0]
    d1 = today() + timedelta(days=1)
    body = {"student_id": child, "from": d1.isoformat(), "reason": "illness"}
    stranger = await factory.login(school.parents(other_cls.student_ids[0])[0])
    resp = await client.post("/api/v1/absence-notes", json=body, headers=stranger.headers)
    assert resp.status == 404  # another parent's child
    student = await factory.login(school.user(child))
    resp = await client.post("/api/v1/absence-notes", json=body, headers=student.headers)
    assert resp.status == 403
    teacher = await factory.login(school.user(cls.class_teacher_id or 0))
    resp = await client.post("/api/v1/absence-notes", json=body, headers=teacher.headers)
    assert resp.status == 403
    parent = await factory.login(school.parents(child)[0])
    resp = await client.post("/api/v1/absence-notes", json=body, headers=parent.headers)
    note_id = (await resp.json())["id"]
    url = f"/api/v1/absence-notes/{note_id}"

    other_class_teacher = await factory.login(school.user(other_cls.class_teacher_id or 0))
    subject_teacher = await factory.login(school.teacher_of(cls.id, school.subject(1)))
    other_school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    foreign_admin = await factory.login(other_school.admin)
    for outsider in (other_class_teacher, subject_teacher, foreign_admin, stranger):
        resp = await client.get(url, headers=outsider.headers)
        assert resp.status == 404
        resp = await client.post(f"{url}/decision", json={"decision": "accepted"}, headers=outsider.headers)
        assert resp.status == 404
    for insider in (parent, student):
        resp = await client.get(url, headers=insider.headers)
        assert resp.status == 200
        resp = await client.post(f"{url}/decision", json={"decision": "accepted"}, headers=insider.headers)
        assert resp.status == 403
    resp = await client.get(f"/api/v1/absence-notes?student_id={child}", headers=stranger.headers)
    assert resp.status == 404
    resp = await client.get(f"/api/v1/absence-notes?class_id={cls.id}", headers=other_class_teacher.headers)
    assert resp.status == 404
    resp = await client.get("/api/v1/absence-notes", headers=other_class_teacher.headers)
    assert (await resp.json())["items"] == []
    resp = await client.get("/api/v1/absence-notes", headers=foreign_admin.headers)
    assert (await resp.json())["items"] == []
    admin = await factory.login(school.admin)
    resp = await client.post(f"{url}/decision", json={"decision": "accepted"}, headers=admin.headers)
    assert resp.status == 200
    assert await audit_of(ctx, note_id) == ["create", "accepted"]


async def test_bad_input_is_a_clear_422_and_nothing_is_written(client: TestClient, ctx: AppContext,
                                                               factory: Factory, school: BuiltSchool) -> None:
    cls, other_cls = school.classes
    child = cls.student_ids[0]
    (foreign_lesson,) = await add_lessons(ctx, school, other_cls.id, school.subject(0), [today()], hour=7)
    (past_lesson,) = await add_lessons(ctx, school, cls.id, school.subject(0), [today() - timedelta(days=2)])
    parent = await factory.login(school.parents(child)[0])
    tomorrow = (today() + timedelta(days=1)).isoformat()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"from": (today() - timedelta(days=1)).isoformat()}, "from"),
        ({"from": tomorrow, "lesson_ids": [foreign_lesson]}, "from"),
        ({}, "from"),
        ({"from": tomorrow, "to": today().isoformat()}, "to"),
        ({"from": tomorrow, "to": (today() + timedelta(days=40)).isoformat()}, "to"),
        ({"lesson_ids": [foreign_lesson]}, "lesson_ids"),
        ({"lesson_ids": [past_lesson]}, "lesson_ids"),
        ({"from": tomorrow, "reason": "unexcused"}, "reason"),
    ]
    for extra, field in cases:
        body = {"student_id": child, "reason": "illness", **extra}
        resp = await client.post("/api/v1/absence-notes", json=body, headers=parent.headers)
        assert resp.status == 422, (extra, await resp.text())
        assert field in (await resp.json())["error"]["details"], extra
    resp = await client.get("/api/v1/absence-notes", headers=parent.headers)
    assert (await resp.json())["items"] == []
    resp = await client.post("/api/v1/absence-notes", json={"student_id": child, "from": tomorrow,
                                                            "reason": "illness"}, headers=parent.headers)
    note_id = (await resp.json())["id"]
    teacher = await factory.login(school.user(cls.class_teacher_id or 0))
    resp = await client.post(f"/api/v1/absence-notes/{note_id}/decision", json={"decision": "questioned"},
                             headers=teacher.headers)
    assert resp.status == 422
    assert "comment" in (await resp.json())["error"]["details"]
    assert await audit_of(ctx, note_id) == ["create"]


async def test_writing_notes_is_rate_limited(client: TestClient, ctx: AppContext, factory: Factory,
                                             school: BuiltSchool) -> None:
    child = school.classes[0].student_ids[0]
    parent = await factory.login(school.parents(child)[0])
    for _ in range(30):
        await ctx.limiter.hit(f"absence-note:{parent.user.id}", 3600)
    resp = await client.post("/api/v1/absence-notes", json={
        "student_id": child, "from": (today() + timedelta(days=1)).isoformat(), "reason": "illness"},
        headers=parent.headers)
    assert resp.status == 429


async def test_decisions_are_rate_limited(client: TestClient, ctx: AppContext, factory: Factory,
                                          school: BuiltSchool) -> None:
    cls = school.classes[0]
    child = cls.student_ids[0]
    parent = await factory.login(school.parents(child)[0])
    resp = await client.post("/api/v1/absence-notes", json={
        "student_id": child, "from": (today() + timedelta(days=1)).isoformat(), "reason": "illness"},
        headers=parent.headers)
    note_id = (await resp.json())["id"]
    teacher = await factory.login(school.user(cls.class_teacher_id or 0))
    for _ in range(600):
        await ctx.limiter.hit(f"absence-decision:{teacher.user.id}", 3600)
    resp = await client.post(f"/api/v1/absence-notes/{note_id}/decision", json={"decision": "accepted"},
                             headers=teacher.headers)
    assert resp.status == 429
    assert await audit_of(ctx, note_id) == ["create"]
