"""Moderation (issue 15): the class teacher and the school's admins mute for a time, set slow mode, delete with a
reason and see reports; enforced over REST and /ws; every action in the log and shown to the person concerned."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from edutrack.db.diary import SchoolClass
from tests.realtime.helpers import (
    chat_send,
    connect,
    make_class_world,
    notifications_of,
    recv_until,
    subscribe,
)


async def _lead(ctx: Any, world: Any) -> None:
    async with ctx.sessions.begin() as session:
        await session.execute(update(SchoolClass).where(SchoolClass.id == world.class_id)
                              .values(class_teacher_id=world.teacher.id))


async def _post(client: Any, actor: Any, channel: str, text: str) -> Any:
    return await client.post(f"/api/v1/chats/{channel}/messages", headers=actor.headers, json={"text": text})


async def test_mute_is_enforced_over_rest_and_the_socket_and_told(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    await _lead(ctx, world)
    pupil = world.students[0]
    ws = await connect(client, pupil)
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    assert (await chat_send(ws, world.channel, "до"))["type"] == "ack"  # the node caches the chat's state
    resp = await client.post(f"/api/v1/chats/{world.channel}/mutes", headers=world.teacher.headers,
                             json={"user_id": pupil.id, "minutes": 10, "reason": "Флуд"})
    assert resp.status == 201, await resp.text()
    refused = await chat_send(ws, world.channel, "после")
    assert refused["code"] == "muted"
    resp = await _post(client, pupil, world.channel, "после")
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "muted"
    rows = [n for n in await notifications_of(ctx, pupil.id) if n.kind == "moderation"]
    assert rows[0].payload["reason"] == "Флуд"
    resp = await client.get(f"/api/v1/chats/{world.channel}/moderation", headers=pupil.headers)
    assert (await resp.json())["muted_until"] is not None
    # Lifted: the member writes again at once, on the socket too.
    resp = await client.delete(f"/api/v1/chats/{world.channel}/mutes/{pupil.id}", headers=world.teacher.headers)
    assert resp.status == 204
    assert (await chat_send(ws, world.channel, "снова"))["type"] == "ack"
    await ws.close()


async def test_only_the_class_teacher_and_admins_mute(client, ctx, factory):
    world = await make_class_world(ctx, factory)  # world.teacher teaches the class but does not lead it
    pupil = world.students[0]
    body = {"user_id": pupil.id, "minutes": 5}
    resp = await client.post(f"/api/v1/chats/{world.channel}/mutes", headers=world.teacher.headers, json=body)
    assert resp.status == 403
    resp = await client.post(f"/api/v1/chats/{world.channel}/mutes", headers=world.students[1].headers, json=body)
    assert resp.status == 403
    other_admin = await factory.actor("admin", school_id=world.stranger.user.school_id)
    resp = await client.post(f"/api/v1/chats/{world.channel}/mutes", headers=other_admin.headers, json=body)
    assert resp.status == 403
    admin = await factory.actor("admin", school_id=world.school_id)
    resp = await client.post(f"/api/v1/chats/{world.channel}/mutes", headers=admin.headers, json=body)
    assert resp.status == 201
    resp = await client.post(f"/api/v1/chats/{world.channel}/mutes", headers=admin.headers,
                             json={"user_id": world.stranger.id, "minutes": 5})
    assert resp.status == 404


async def test_slow_mode_over_rest_and_the_socket(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    admin = await factory.actor("admin", school_id=world.school_id)
    pupil = world.students[0]
    ws = await connect(client, pupil)
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    resp = await client.put(f"/api/v1/chats/{world.channel}/slow-mode", headers=admin.headers, json={"seconds": 60})
    assert resp.status == 200, await resp.text()
    frame, _ = await recv_until(ws, lambda f: f.get("type") == "chat.slow_mode")
    assert frame["seconds"] == 60
    assert (await chat_send(ws, world.channel, "раз"))["type"] == "ack"
    refused = await chat_send(ws, world.channel, "два")
    assert refused["code"] == "slow_mode"
    assert refused["details"]["retry_after"] > 0
    resp = await _post(client, pupil, world.channel, "три")
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "slow_mode"
    # Teachers are exempt.
    assert (await _post(client, world.teacher, world.channel, "a")).status == 201
    assert (await _post(client, world.teacher, world.channel, "b")).status == 201
    await ws.close()


async def test_delete_with_reason_is_logged_and_told_to_the_author(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    await _lead(ctx, world)
    pupil = world.students[0]
    resp = await _post(client, pupil, world.channel, "грубость")
    message_id = (await resp.json())["id"]
    ws = await connect(client, world.students[1])
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    resp = await client.post(f"/api/v1/chats/{world.channel}/messages/{message_id}/delete",
                             headers=world.teacher.headers, json={"reason": "Невежливо"})
    assert resp.status == 204, await resp.text()
    frame, _ = await recv_until(ws, lambda f: f.get("type") == "chat.deleted")
    assert frame["reason"] == "Невежливо"
    rows = [n for n in await notifications_of(ctx, pupil.id) if n.kind == "moderation"]
    assert rows[0].payload["action"] == "delete"
    resp = await client.get(f"/api/v1/chats/{world.channel}/moderation-log", headers=world.teacher.headers)
    actions = [entry["action"] for entry in (await resp.json())["items"]]
    assert actions == ["delete"]
    resp = await client.get(f"/api/v1/chats/{world.channel}/moderation-log", headers=pupil.headers)
    assert resp.status == 403
    await ws.close()


async def test_reports_reach_the_moderators_only(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    await _lead(ctx, world)
    resp = await _post(client, world.students[0], world.channel, "спам")
    message_id = (await resp.json())["id"]
    url = f"/api/v1/chats/{world.channel}/messages/{message_id}/report"
    resp = await client.post(url, headers=world.students[1].headers, json={"reason": "Спам"})
    assert resp.status == 201, await resp.text()
    resp = await client.post(url, headers=world.students[1].headers, json={"reason": "Спам"})
    assert resp.status == 409
    resp = await client.post(url, headers=world.stranger.headers, json={})
    assert resp.status == 403
    resp = await client.get(f"/api/v1/chats/{world.channel}/reports", headers=world.students[1].headers)
    assert resp.status == 403
    resp = await client.get(f"/api/v1/chats/{world.channel}/reports", headers=world.teacher.headers)
    items = (await resp.json())["items"]
    assert items[0]["text"] == "спам"
    resp = await client.post(f"/api/v1/chats/{world.channel}/reports/{items[0]['id']}/resolve",
                             headers=world.teacher.headers)
    assert resp.status == 204
    resp = await client.get(f"/api/v1/chats/{world.channel}/reports", headers=world.teacher.headers)
    assert (await resp.json())["items"] == []
