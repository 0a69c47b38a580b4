"""Files on parents' absence notes through HTTP (docs/absences.md, docs/files.md): a PNG attached with the note, a
PDF added while it is questioned, both in the note's views; downloaded by the child, the parents, the class teacher
and the school's admin, a 404 from the attacker's side; refused once the note is accepted; bad ids write nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.diary import AuditLog
from edutrack.db.files import StoredFile
from edutrack.db.models import Notification
from tests.files.helpers import PDF_BYTES, png_bytes, upload
from tests.support.factories import Actor, Factory
from tests.support.school import BuiltSchool, build_school


def tomorrow() -> str:
    return (datetime.now(ZoneInfo("Europe/Moscow")).date() + timedelta(days=1)).isoformat()


async def uploaded(client: TestClient, actor: Actor, data: bytes, name: str) -> dict[str, Any]:
    status, body = await upload(client, actor, data, name)
    assert status == 201, body
    result: dict[str, Any] = body
    return result


async def status_of(client: TestClient, actor: Actor, path: str) -> int:
    resp = await client.get(path, headers=actor.headers)
    await resp.read()
    return resp.status


async def test_files_with_a_note_and_added_later_are_read_only_by_those_who_read_the_note(
        client: TestClient, ctx: AppContext, factory: Factory, school: BuiltSchool) -> None:
    cls, other_cls = school.classes
    child, classmate = cls.student_ids[0], cls.student_ids[1]
    author_user, other_parent_user = school.parents(child)
    author = await factory.login(author_user)
    photo = await uploaded(client, author, png_bytes((400, 300)), "справка.png")
    assert photo["has_thumbnail"] is True
    resp = await client.post("/api/v1/absence-notes", json={
        "student_id": child, "from": tomorrow(), "reason": "illness", "attachments": [photo["id"]]},
        headers=author.headers)
    assert resp.status == 201, await resp.text()
    note = await resp.json()
    assert [(a["id"], a["name"], a["type"]) for a in note["attachments"]] == [
        (photo["id"], "справка.png", "image/png")]

    class_teacher = await factory.login(school.user(cls.class_teacher_id or 0))
    resp = await client.post(f"/api/v1/absence-notes/{note['id']}/decision",
                             json={"decision": "questioned", "comment": "Нужна справка"},
                             headers=class_teacher.headers)
    assert resp.status == 200, await resp.text()
    # The other parent answers the question with a PDF: any parent of the child may add files to an open note.
    other_parent = await factory.login(other_parent_user)
    pdf = await uploaded(client, other_parent, PDF_BYTES, "certificate.pdf")
    before = len(await notifications(ctx))
    resp = await client.post(f"/api/v1/absence-notes/{note['id']}/attachments", json={"file_ids": [pdf["id"]]},
                             headers=other_parent.headers)
    assert resp.status == 200, await resp.text()
    assert [a["id"] for a in (await resp.json())["items"]] == [photo["id"], pdf["id"]]
    told = (await notifications(ctx))[before:]
    assert {n.user_id for n in told} == {cls.class_teacher_id, author_user.id}
    assert all(n.payload["files_added"] is True for n in told)
    resp = await client.get(f"/api/v1/absence-notes?class_id={cls.id}", headers=class_teacher.headers)
    listed = (await resp.json())["items"]
    assert [[a["id"] for a in n["attachments"]] for n in listed] == [[photo["id"], pdf["id"]]]

    student = await factory.login(school.user(child))
    admin = await factory.login(school.admin)
    for reader in (author, other_parent, student, class_teacher, admin):
        resp = await client.get(f"/api/v1/files/{pdf['id']}", headers=reader.headers)
        assert resp.status == 200
        assert await resp.read() == PDF_BYTES
        assert await status_of(client, reader, f"/api/v1/files/{photo['id']}/thumbnail") == 200
        resp = await client.get(f"/api/v1/absence-notes/{note['id']}", headers=reader.headers)
        assert len((await resp.json())["attachments"]) == 2

    stranger = await factory.login(school.parents(other_cls.student_ids[0])[0])
    other_class_teacher = await factory.login(school.user(other_cls.class_teacher_id or 0))
    subject_teacher = await factory.login(school.teacher_of(cls.id, school.subject(1)))
    classmate_actor = await factory.login(school.user(classmate))
    other_school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    foreign_admin = await factory.login(other_school.admin)
    for outsider in (stranger, other_class_teacher, subject_teacher, classmate_actor, foreign_admin):
        for file_id in (photo["id"], pdf["id"]):
            assert await status_of(client, outsider, f"/api/v1/files/{file_id}") == 404
            assert await status_of(client, outsider, f"/api/v1/files/{file_id}/thumbnail") == 404
        own = await uploaded(client, outsider, PDF_BYTES, "x.pdf")
        resp = await client.post(f"/api/v1/absence-notes/{note['id']}/attachments",
                                 json={"file_ids": [own["id"]]}, headers=outsider.headers)
        assert resp.status == 404, await resp.text()
    for insider in (student, class_teacher, admin):  # they read the note, but only parents add to it
        own = await uploaded(client, insider, PDF_BYTES, "x.pdf")
        resp = await client.post(f"/api/v1/absence-notes/{note['id']}/attachments",
                                 json={"file_ids": [own["id"]]}, headers=insider.headers)
        assert resp.status == 403, await resp.text()

    resp = await client.post(f"/api/v1/absence-notes/{note['id']}/decision", json={"decision": "accepted"},
                             headers=class_teacher.headers)
    assert resp.status == 200
    late = await uploaded(client, author, PDF_BYTES, "late.pdf")
    resp = await client.post(f"/api/v1/absence-notes/{note['id']}/attachments", json={"file_ids": [late["id"]]},
                             headers=author.headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "absence_note_decided"
    assert await attached_note(ctx, late["id"]) is None
    assert await status_of(client, other_parent, f"/api/v1/files/{photo['id']}") == 200  # still readable
    assert await audit_actions(ctx, note["id"]) == ["create", "questioned", "attach", "accepted"]


async def test_someone_elses_or_an_attached_file_writes_no_note(client: TestClient, ctx: AppContext,
                                                                factory: Factory, school: BuiltSchool) -> None:
    cls = school.classes[0]
    child = cls.student_ids[0]
    author = await factory.login(school.parents(child)[0])
    other_parent = await factory.login(school.parents(child)[1])
    theirs = await uploaded(client, other_parent, PDF_BYTES, "theirs.pdf")
    body = {"student_id": child, "from": tomorrow(), "reason": "illness"}
    resp = await client.post("/api/v1/absence-notes", json={**body, "attachments": [theirs["id"]]},
                             headers=author.headers)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "file_not_found"
    resp = await client.post("/api/v1/absence-notes", json={**body, "attachments": [0]}, headers=author.headers)
    assert resp.status == 422
    assert "attachments" in (await resp.json())["error"]["details"]
    resp = await client.get("/api/v1/absence-notes", headers=author.headers)
    assert (await resp.json())["items"] == []

    mine = await uploaded(client, author, PDF_BYTES, "mine.pdf")
    resp = await client.post("/api/v1/absence-notes", json={**body, "attachments": [mine["id"]]},
                             headers=author.headers)
    assert resp.status == 201
    first = await resp.json()
    resp = await client.post("/api/v1/absence-notes", json={**body, "attachments": [mine["id"]]},
                             headers=author.headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "file_already_attached"
    assert await attached_note(ctx, mine["id"]) == first["id"]
    resp = await client.post(f"/api/v1/absence-notes/{first['id']}/attachments", json={"file_ids": []},
                             headers=author.headers)
    assert resp.status == 422
    # Ten files at most on a note.
    many = [(await uploaded(client, author, PDF_BYTES, f"{n}.pdf"))["id"] for n in range(10)]
    resp = await client.post(f"/api/v1/absence-notes/{first['id']}/attachments", json={"file_ids": many},
                             headers=author.headers)
    assert resp.status == 422
    assert "file_ids" in (await resp.json())["error"]["details"]
    assert await attached_note(ctx, many[0]) is None
    resp = await client.post(f"/api/v1/absence-notes/{first['id']}/attachments", json={"file_ids": many[:9]},
                             headers=author.headers)
    assert resp.status == 200
    assert len((await resp.json())["items"]) == 10


async def test_adding_files_is_rate_limited(client: TestClient, ctx: AppContext, factory: Factory,
                                            school: BuiltSchool) -> None:
    child = school.classes[0].student_ids[0]
    parent = await factory.login(school.parents(child)[0])
    resp = await client.post("/api/v1/absence-notes", json={"student_id": child, "from": tomorrow(),
                                                            "reason": "illness"}, headers=parent.headers)
    note_id = (await resp.json())["id"]
    pdf = await uploaded(client, parent, PDF_BYTES, "c.pdf")
    for _ in range(60):
        await ctx.limiter.hit(f"absence-note-files:{parent.user.id}", 3600)
    resp = await client.post(f"/api/v1/absence-notes/{note_id}/attachments", json={"file_ids": [pdf["id"]]},
                             headers=parent.headers)
    assert resp.status == 429
    assert await attached_note(ctx, pdf["id"]) is None


async def notifications(ctx: AppContext) -> list[Notification]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(Notification).where(Notification.kind == "absence_note")
                                     .order_by(Notification.id))
        return list(rows.scalars())


async def attached_note(ctx: AppContext, file_id: int) -> int | None:
    async with ctx.sessions() as session:
        return await session.scalar(select(StoredFile.absence_note_id).where(StoredFile.id == file_id))


async def audit_actions(ctx: AppContext, note_id: int) -> list[str]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(AuditLog.action).where(AuditLog.entity == "absence_note",
                                                                   AuditLog.entity_id == note_id)
                                     .order_by(AuditLog.id))
        return list(rows.scalars())
