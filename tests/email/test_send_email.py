"""POST /api/v1/messages/{id}/send-email: a teacher or admin emails a chat message through the outbox."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from edutrack.context import AppContext
from edutrack.db.models import EmailOutbox, Profile
from edutrack.notifier.worker import notifier_worker
from edutrack.outbox.relay import relay_worker
from edutrack.settings import Settings
from tests.email.conftest import SmtpServer, Workers, wait_for
from tests.support.factories import Actor, Factory
from tests.support.school import build_school


async def post_message(client: TestClient, actor: Actor, channel: str, text: str) -> dict[str, Any]:
    resp = await client.post(f"/api/v1/chats/{channel}/messages", json={"text": text}, headers=actor.headers)
    body: dict[str, Any] = await resp.json()
    assert resp.status == 201, body
    return body


async def outbox(ctx: AppContext) -> list[EmailOutbox]:
    async with ctx.sessions() as session:
        return list((await session.execute(select(EmailOutbox).order_by(EmailOutbox.id))).scalars())


async def test_teacher_emails_a_class_message_to_every_member_but_themself(
    client: TestClient, ctx: AppContext, factory: Factory, smtp: SmtpServer, mail_settings: Settings,
    workers: Workers,
) -> None:
    school = await build_school(ctx, classes=2, students_per_class=2, parents_per_student=1)
    cls = school.classes[0]
    teacher_user = school.users[cls.class_teacher_id or 0]
    teacher = await factory.login(teacher_user)
    channel = f"class:{cls.id}"
    message = await post_message(client, teacher, channel, "Завтра экскурсия, возьмите сменную обувь")
    opted_out = school.student(0, 1)
    async with ctx.sessions.begin() as session:
        await session.execute(update(Profile).where(Profile.user_id == opted_out.id)
                              .values(email_notifications="off"))

    resp = await client.post(f"/api/v1/messages/{message['id']}/send-email", json={"channel": channel},
                             headers=teacher.headers)
    body = await resp.json()
    assert resp.status == 202, body
    async with ctx.sessions() as session:
        from edutrack.queries.membership import class_chat_member_ids

        members = await class_chat_member_ids(session, cls.id)
    expected = {school.users[u].email for u in members} - {teacher_user.email, opted_out.email}
    rows = await outbox(ctx)
    assert {r.recipient for r in rows} == expected
    assert len(rows) == len(expected) == body["queued"]
    assert body["skipped_opted_out"] == 1
    assert all(r.kind == "chat_message" for r in rows)

    workers.start(relay_worker, mail_settings)
    workers.start(notifier_worker, mail_settings)

    async def delivered() -> bool:
        return len(smtp.handler.received) == len(expected)

    await wait_for(delivered)
    assert {m["To"] for m in smtp.handler.received} == expected
    assert all(len(rcpts) == 1 for _, rcpts in smtp.handler.envelopes)
    part = smtp.handler.received[0].get_body(preferencelist=("plain",))
    assert part is not None
    assert "Завтра экскурсия" in part.get_content()


async def test_who_may_email_a_message(client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await build_school(ctx, classes=1, students_per_class=2, parents_per_student=1)
    other_school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)
    cls = school.classes[0]
    channel = f"class:{cls.id}"
    author = await factory.login(school.users[cls.class_teacher_id or 0])
    message = await post_message(client, author, channel, "Родительское собрание в пятницу")
    url = f"/api/v1/messages/{message['id']}/send-email"

    other_teacher_id = next(t for t in school.teacher_ids if t != cls.class_teacher_id)
    other_teacher = await factory.login(school.users[other_teacher_id])
    student = await factory.login(school.student(0, 0))
    foreign_admin = await factory.login(other_school.admin)
    for actor in (other_teacher, student, foreign_admin):
        resp = await client.post(url, json={"channel": channel}, headers=actor.headers)
        assert resp.status == 403, (actor.user.role, await resp.text())
    assert await outbox(ctx) == []

    admin = await factory.login(school.admin)
    resp = await client.post(url, json={"channel": channel}, headers=admin.headers)
    assert resp.status == 202
    assert (await resp.json())["queued"] >= 3

    for body, status in (({"channel": "class:999999"}, 404), ({"channel": "user:1"}, 400),
                         ({"channel": "nonsense"}, 400), ({}, 422), ({"channel": channel, "x": 1}, 422)):
        resp = await client.post(url, json=body, headers=admin.headers)
        assert resp.status == status, (body, await resp.text())
    resp = await client.post("/api/v1/messages/999/send-email", json={"channel": channel}, headers=admin.headers)
    assert resp.status == 404


async def test_asking_twice_emails_nobody_twice_but_reaches_new_members(
    client: TestClient, ctx: AppContext, factory: Factory,
) -> None:
    school = await build_school(ctx, classes=1, students_per_class=2, parents_per_student=1)
    cls = school.classes[0]
    channel = f"class:{cls.id}"
    teacher = await factory.login(school.users[cls.class_teacher_id or 0])
    message = await post_message(client, teacher, channel, "Контрольная перенесена на четверг")
    url = f"/api/v1/messages/{message['id']}/send-email"

    first = await (await client.post(url, json={"channel": channel}, headers=teacher.headers)).json()
    assert first["queued"] >= 4, first
    assert first["already_emailed"] == 0, first
    again = await client.post(url, json={"channel": channel}, headers=teacher.headers)
    body = await again.json()
    assert again.status == 202, body
    assert body == {"queued": 0, "outbox_ids": [], "skipped_opted_out": 0, "already_emailed": first["queued"]}
    assert len(await outbox(ctx)) == first["queued"]

    # Someone who joined the class since gets it on the next request, and only they do.
    newcomer = await factory.user("student", school_id=school.id, email="newcomer@example.test")
    async with ctx.sessions.begin() as session:
        from edutrack.queries.classes import enrol

        await enrol(session, cls.id, [newcomer.id])
    third = await (await client.post(url, json={"channel": channel}, headers=teacher.headers)).json()
    assert third["queued"] == 1, third
    assert third["already_emailed"] == first["queued"], third
    rows = await outbox(ctx)
    assert [r.recipient for r in rows if r.id in third["outbox_ids"]] == ["newcomer@example.test"]
    assert len({r.recipient for r in rows}) == len(rows)  # one email per person, ever
