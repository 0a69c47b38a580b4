"""The moderators' report inbox: a class teacher sees the reports of their class's rooms (not other classes'),
admins those of their school, students and parents none; a decision (delete with a reason, mute the author,
dismiss) closes every open report of the message, is enforced, audited, and told to the author and each reporter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from edutrack.db.diary import SchoolClass
from tests.realtime.helpers import ClassWorld, connect, make_class_world, notifications_of, recv_until, send, subscribe


async def _lead(ctx: Any, class_id: int, teacher_id: int) -> None:
    async with ctx.sessions.begin() as session:
        await session.execute(update(SchoolClass).where(SchoolClass.id == class_id)
                              .values(class_teacher_id=teacher_id))


async def _reported(client: Any, world: ClassWorld, text: str, reporters: list[Any]) -> int:
    """A message of the first student, reported by each of `reporters`; its id."""
    resp = await client.post(f"/api/v1/chats/{world.channel}/messages", headers=world.students[0].headers,
                             json={"text": text})
    message_id = (await resp.json())["id"]
    for reporter in reporters:
        resp = await client.post(f"/api/v1/chats/{world.channel}/messages/{message_id}/report",
                                 headers=reporter.headers, json={"reason": "Грубость"})
        assert resp.status == 201, await resp.text()
    return message_id


async def _inbox(client: Any, actor: Any) -> Any:
    return await client.get("/api/v1/chat-reports", headers=actor.headers)


async def _decide(client: Any, actor: Any, report_id: int, **body: Any) -> Any:
    return await client.post(f"/api/v1/chat-reports/{report_id}/decide", headers=actor.headers, json=body)


def _moderation_actions(rows: list[Any]) -> list[str]:
    return [n.payload["action"] for n in rows if n.kind == "moderation"]


async def test_the_inbox_shows_each_moderator_their_rooms_reports_only(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    await _lead(ctx, world.class_id, world.teacher.id)
    message_id = await _reported(client, world, "Ты дурак", [world.students[1]])
    resp = await _inbox(client, world.teacher)
    assert resp.status == 200, await resp.text()
    [item] = (await resp.json())["items"]
    assert item["message_id"] == message_id
    assert item["text"] == "Ты дурак"
    assert item["reason"] == "Грубость"
    assert item["reporter_id"] == world.students[1].id
    profile = world.students[1].user.profile
    assert item["reporter"] == f"{profile.first_name} {profile.last_name}"
    admin = await factory.actor("admin", school_id=world.school_id)
    assert len((await (await _inbox(client, admin)).json())["items"]) == 1

    # Another class's class teacher, a teacher who leads nothing, and another school's admin see nothing of it.
    other = await factory.actor("teacher", school_id=world.school_id)
    async with ctx.sessions.begin() as session:
        klass = SchoolClass(school_id=world.school_id, name="7В", grade_level=7, class_teacher_id=other.id)
        session.add(klass)
    for outsider in (other, await factory.actor("teacher", school_id=world.school_id),
                     await factory.actor("admin", school_id=world.stranger.user.school_id)):
        resp = await _inbox(client, outsider)
        assert (await resp.json())["items"] == []
        resp = await _decide(client, outsider, item["id"], outcome="dismiss")
        assert resp.status == 404
    for member in (world.students[1], world.parent):
        resp = await _inbox(client, member)
        assert resp.status == 403


async def test_delete_with_a_reason_closes_every_report_and_tells_author_and_reporters(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=3)
    await _lead(ctx, world.class_id, world.teacher.id)
    message_id = await _reported(client, world, "Спам спам спам", [world.students[1], world.students[2]])
    items = (await (await _inbox(client, world.teacher)).json())["items"]
    assert len(items) == 2
    resp = await _decide(client, world.teacher, items[0]["id"], outcome="delete", reason="Реклама")
    assert resp.status == 200, await resp.text()
    assert sorted((await resp.json())["resolved"]) == sorted(i["id"] for i in items)
    assert (await (await _inbox(client, world.teacher)).json())["items"] == []
    resp = await client.get(f"/api/v1/chats/{world.channel}/messages", headers=world.students[1].headers)
    assert [m["deleted"] for m in (await resp.json())["items"] if m["id"] == message_id] == [True]
    author_notes = [n for n in await notifications_of(ctx, world.students[0].id) if n.kind == "moderation"]
    assert author_notes[0].payload["reason"] == "Реклама"
    for reporter in world.students[1:]:
        assert _moderation_actions(await notifications_of(ctx, reporter.id)) == ["report_upheld"]
    resp = await client.get(f"/api/v1/chats/{world.channel}/moderation-log", headers=world.teacher.headers)
    actions = [e["action"] for e in (await resp.json())["items"]]
    assert sorted(actions) == ["delete", "report_upheld", "report_upheld"]
    resp = await _decide(client, world.teacher, items[1]["id"], outcome="dismiss")
    assert resp.status == 409


async def test_mute_the_author_from_a_report_and_dismiss_another(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    admin = await factory.actor("admin", school_id=world.school_id)
    await _reported(client, world, "Ха-ха", [world.students[1]])
    [report] = (await (await _inbox(client, admin)).json())["items"]
    resp = await _decide(client, admin, report["id"], outcome="mute")
    assert resp.status == 422
    resp = await _decide(client, admin, report["id"], outcome="mute", minutes=30, reason="Флуд")
    assert resp.status == 200, await resp.text()
    resp = await client.post(f"/api/v1/chats/{world.channel}/messages", headers=world.students[0].headers,
                             json={"text": "А теперь?"})
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "muted"
    assert _moderation_actions(await notifications_of(ctx, world.students[0].id)) == ["mute"]

    resp = await client.post(f"/api/v1/chats/{world.channel}/messages", headers=world.students[1].headers,
                             json={"text": "Нормальное сообщение"})
    message_id = (await resp.json())["id"]
    resp = await client.post(f"/api/v1/chats/{world.channel}/messages/{message_id}/report",
                             headers=world.parent.headers, json={"reason": None})
    assert resp.status == 201
    [report] = (await (await _inbox(client, admin)).json())["items"]
    assert report["sender_id"] == world.students[1].id
    resp = await _decide(client, admin, report["id"], outcome="dismiss")
    assert resp.status == 200
    assert _moderation_actions(await notifications_of(ctx, world.parent.id)) == ["report_dismissed"]
    resp = await client.get(f"/api/v1/chats/{world.channel}/messages", headers=world.parent.headers)
    assert [m["deleted"] for m in (await resp.json())["items"] if m["id"] == message_id] == [False]


async def test_moderators_inboxes_follow_reports_live_and_nobody_else_hears(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    await _lead(ctx, world.class_id, world.teacher.id)
    admin = await factory.actor("admin", school_id=world.school_id)
    other_admin = await factory.actor("admin", school_id=world.stranger.user.school_id)
    listeners = {}
    for who in (world.teacher, admin, other_admin, world.students[1]):
        ws = await connect(client, who)
        await subscribe(ws, f"user:{who.id}")
        listeners[who.id] = ws
    message_id = await _reported(client, world, "Ты дурак", [world.students[1]])

    def is_reports(frame: dict[str, Any]) -> bool:
        return frame["type"] == "reports"

    for moderator in (world.teacher, admin):
        frame, _before = await recv_until(listeners[moderator.id], is_reports)
        assert frame == {"type": "reports", "channel": f"user:{moderator.id}", "chat": world.channel,
                         "message_id": message_id, "what": "reported"}
    [item] = (await (await _inbox(client, admin)).json())["items"]
    assert (await _decide(client, admin, item["id"], outcome="dismiss")).status == 200
    # The class teacher's inbox hears that another moderator dealt with it.
    frame, _before = await recv_until(listeners[world.teacher.id], is_reports)
    assert frame["what"] == "resolved"
    # Everything published for the reports is out by now; a ping's answer comes after anything queued before it.
    for outsider in (other_admin, world.students[1]):
        await send(listeners[outsider.id], {"type": "ping"})
        _pong, frames = await recv_until(listeners[outsider.id], lambda f: f["type"] == "pong")
        assert [f["type"] for f in frames if f["type"] == "reports"] == []
    for ws in listeners.values():
        await ws.close()
