"""Reactions (acknowledging an announcement among them) and pinned messages (issue 15), live and over REST."""

from __future__ import annotations

from typing import Any

from tests.realtime.helpers import connect, make_class_world, recv_until, subscribe


async def _post(client: Any, actor: Any, channel: str, text: str) -> int:
    resp = await client.post(f"/api/v1/chats/{channel}/messages", headers=actor.headers, json={"text": text})
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


async def test_parents_acknowledge_an_announcement(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    board = f"class-announcements:{world.class_id}"
    message_id = await _post(client, world.teacher, board, "Собрание в четверг в 18:00")
    ws_teacher = await connect(client, world.teacher)
    assert (await subscribe(ws_teacher, board))["type"] == "subscribed"
    url = f"/api/v1/chats/{board}/messages/{message_id}/reactions"
    resp = await client.put(f"{url}/check", headers=world.parent.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["mine"] == ["check"]
    frame, _ = await recv_until(ws_teacher, lambda f: f.get("type") == "chat.reactions")
    assert frame["counts"] == {"check": 1}
    resp = await client.get(url, headers=world.teacher.headers)
    assert (await resp.json())["users"] == {"check": [world.parent.id]}
    resp = await client.delete(f"{url}/check", headers=world.parent.headers)
    assert (await resp.json())["counts"] == {}
    await ws_teacher.close()


async def test_reactions_are_for_members_and_known_codes(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    message_id = await _post(client, world.teacher, world.channel, "Привет")
    url = f"/api/v1/chats/{world.channel}/messages/{message_id}/reactions"
    assert (await client.put(f"{url}/heart", headers=world.stranger.headers)).status == 403
    assert (await client.put(f"{url}/poop", headers=world.students[0].headers)).status == 404
    assert (await client.put(f"/api/v1/chats/{world.channel}/messages/99/reactions/heart",
                             headers=world.students[0].headers)).status == 404


async def test_moderators_pin_members_see(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    message_id = await _post(client, world.teacher, world.channel, "Расписание на четверть")
    url = f"/api/v1/chats/{world.channel}/messages/{message_id}/pin"
    assert (await client.put(url, headers=world.students[0].headers)).status == 403
    ws = await connect(client, world.students[0])
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    assert (await client.put(url, headers=world.teacher.headers)).status == 204
    frame, _ = await recv_until(ws, lambda f: f.get("type") == "chat.pinned")
    assert frame["pinned"] is True
    resp = await client.get(f"/api/v1/chats/{world.channel}/pins", headers=world.students[0].headers)
    assert [p["id"] for p in (await resp.json())["items"]] == [message_id]
    assert (await client.delete(url, headers=world.teacher.headers)).status == 204
    resp = await client.get(f"/api/v1/chats/{world.channel}/pins", headers=world.students[0].headers)
    assert (await resp.json())["items"] == []
    resp = await client.get(f"/api/v1/chats/{world.channel}/pins", headers=world.stranger.headers)
    assert resp.status == 403
    await ws.close()


def test_openapi_lists_the_reactions_the_service_takes():
    from edutrack.api.openapi import STRING_PATH_PARAMS
    from edutrack.services.chat_reactions import REACTIONS

    assert STRING_PATH_PARAMS["reaction"]["enum"] == list(REACTIONS)


async def test_mentions_notify_the_members_named(client, ctx, factory):
    from tests.realtime.helpers import notifications_of

    world = await make_class_world(ctx, factory)
    pupil, other = world.students
    resp = await client.post(f"/api/v1/chats/{world.channel}/messages", headers=world.teacher.headers,
                             json={"text": "Маша, зайди после урока", "mentions": [pupil.id, world.stranger.id]})
    assert resp.status == 201, await resp.text()
    notes = [n for n in await notifications_of(ctx, pupil.id) if n.kind == "mention"]
    assert notes[0].payload["message_id"] == (await resp.json())["id"]
    assert [n for n in await notifications_of(ctx, world.stranger.id) if n.kind == "mention"] == []
    ws = await connect(client, other)
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    ack = await chat_send_with_mentions(ws, world.channel, "Учитель, можно вопрос?", [world.teacher.id])
    assert ack["type"] == "ack"
    assert [n.kind for n in await notifications_of(ctx, world.teacher.id)] == ["mention"]
    refused = await chat_send_with_mentions(ws, world.channel, "x", ["one"])
    assert refused["code"] == "invalid_frame"
    await ws.close()


async def chat_send_with_mentions(ws: Any, channel: str, text: str, mentions: list[Any]) -> dict[str, Any]:
    from tests.realtime.helpers import send

    req = f"m-{text[:5]}"
    await send(ws, {"type": "chat.send", "channel": channel, "text": text, "mentions": mentions, "req": req})
    reply, _ = await recv_until(ws, lambda f: f.get("req") == req)
    return reply
