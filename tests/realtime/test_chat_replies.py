"""Replies that quote: a message answers an earlier message of its own chat over REST and /ws; its frames, history
and resume carry the quote (author, excerpt) read as the quoted message is now, deleted included; a reply to a
message of another chat or to a deleted one is refused; edited messages carry their edited mark everywhere."""

from __future__ import annotations

from typing import Any

from tests.realtime.helpers import (
    collect_messages,
    connect,
    make_class_world,
    recv_until,
    send,
    subscribe,
)


async def _post(client: Any, actor: Any, channel: str, text: str, reply_to: int | None = None) -> Any:
    body: dict[str, Any] = {"text": text}
    if reply_to is not None:
        body["reply_to"] = reply_to
    return await client.post(f"/api/v1/chats/{channel}/messages", headers=actor.headers, json=body)


async def _history(client: Any, actor: Any, channel: str) -> dict[int, dict[str, Any]]:
    resp = await client.get(f"/api/v1/chats/{channel}/messages", headers=actor.headers)
    assert resp.status == 200, await resp.text()
    return {m["id"]: m for m in (await resp.json())["items"]}


async def test_a_rest_reply_carries_the_quote_live_in_history_and_on_resume(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    pupil, teacher = world.students[0], world.teacher
    ws = await connect(client, world.students[1])
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    resp = await _post(client, teacher, world.channel, "Контрольная   в пятницу, " + "повторите дроби " * 12)
    original = await resp.json()
    resp = await _post(client, pupil, world.channel, "А учебник брать?", reply_to=original["id"])
    assert resp.status == 201, await resp.text()
    quote = (await resp.json())["reply_to"]
    assert quote["sender"] == original["sender"]
    assert quote["excerpt"].startswith("Контрольная в пятницу, повторите")
    assert len(quote["excerpt"]) <= 120
    assert quote["excerpt"].endswith("дроби…")
    live = await collect_messages(ws, world.channel, 2)
    assert live[1]["reply_to"] == quote
    assert live[0]["reply_to"] is None
    await ws.close()

    # The quoted message is deleted later: history and resume say so, without its text.
    resp = await client.delete(f"/api/v1/chats/{world.channel}/messages/{original['id']}", headers=teacher.headers)
    assert resp.status == 204
    reply_id = live[1]["id"]
    gone = {"id": original["id"], "sender_id": teacher.id, "sender": original["sender"], "excerpt": None,
            "deleted": True}
    assert (await _history(client, pupil, world.channel))[reply_id]["reply_to"] == gone
    ws = await connect(client, pupil)
    assert (await subscribe(ws, world.channel, since=0))["missed"] == 2
    replayed = await collect_messages(ws, world.channel, 2)
    assert replayed[1]["reply_to"] == gone
    await ws.close()


async def test_a_socket_reply_is_acked_and_quoted(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    resp = await _post(client, world.teacher, world.channel, "Кто дежурит?")
    original_id = (await resp.json())["id"]
    ws = await connect(client, world.students[0])
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    await send(ws, {"type": "chat.send", "channel": world.channel, "text": "Я", "reply_to": original_id,
                    "client_msg_id": "r1", "req": "r"})
    ack, _ = await recv_until(ws, lambda f: f.get("req") == "r")
    assert ack["type"] == "ack"
    message, _ = await recv_until(ws, lambda f: f.get("type") == "chat.message" and f["id"] == ack["id"])
    assert message["reply_to"]["excerpt"] == "Кто дежурит?"
    assert message["reply_to"]["deleted"] is False
    await ws.close()


async def test_a_reply_to_another_chats_message_or_a_deleted_one_is_refused(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    board = f"class-announcements:{world.class_id}"
    for _ in range(3):  # ids 1..3 in the announcements, none in the class chat yet
        resp = await _post(client, world.teacher, board, "Объявление")
        assert resp.status == 201
    resp = await _post(client, world.students[0], world.channel, "Ответ", reply_to=3)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_reply"
    ws = await connect(client, world.students[0])
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    await send(ws, {"type": "chat.send", "channel": world.channel, "text": "Ответ", "reply_to": 3, "req": "x"})
    refused, _ = await recv_until(ws, lambda f: f.get("req") == "x")
    assert refused["code"] == "invalid_reply"

    resp = await _post(client, world.students[1], world.channel, "Удалю")
    deleted_id = (await resp.json())["id"]
    resp = await client.delete(f"/api/v1/chats/{world.channel}/messages/{deleted_id}",
                               headers=world.students[1].headers)
    assert resp.status == 204
    resp = await _post(client, world.students[0], world.channel, "Ответ", reply_to=deleted_id)
    assert resp.status == 400
    assert list(await _history(client, world.students[0], world.channel)) == [deleted_id]  # nothing stored
    await ws.close()


async def test_an_edited_message_carries_its_mark_live_and_in_history(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    ws = await connect(client, world.students[1])
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    resp = await _post(client, world.students[0], world.channel, "Завтра в 8")
    message = await resp.json()
    assert message["edited_at"] is None
    resp = await client.patch(f"/api/v1/chats/{world.channel}/messages/{message['id']}",
                              headers=world.students[0].headers, json={"text": "Завтра в 9"})
    assert resp.status == 200
    edited, _ = await recv_until(ws, lambda f: f.get("type") == "chat.edited")
    assert edited["edited_at"] is not None
    assert (await _history(client, world.students[1], world.channel))[message["id"]]["edited_at"] is not None
    await ws.close()
