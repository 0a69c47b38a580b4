"""Chat storage and REST: idempotent sends, private messages into the feed, history cursors, edits and
moderation, read markers and unread counts, the notification feed (REST and live)."""

from __future__ import annotations

import asyncio

from edutrack import events
from edutrack.services import chat as chat_service
from tests.realtime.helpers import (
    chat_send,
    collect_messages,
    connect,
    make_class_world,
    notifications_of,
    recv_until,
    send,
    stored_messages,
    subscribe,
)


async def test_same_client_msg_id_twice_stores_one_message(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    reader = await connect(client, world.students[1])
    await subscribe(reader, world.channel)
    ws = await connect(client, world.students[0])
    first = await chat_send(ws, world.channel, "Привет", client_msg_id="c-42")
    again = await chat_send(ws, world.channel, "Привет", client_msg_id="c-42")
    assert first["duplicate"] is False
    assert again["duplicate"] is True
    assert first["id"] == again["id"] == 1
    path = f"/api/v1/chats/{world.channel}/messages"
    resp = await client.post(path, json={"text": "Привет", "client_msg_id": "c-42"}, headers=world.students[0].headers)
    assert resp.status == 200
    assert (await resp.json())["id"] == 1
    resp = await client.post(path, json={"text": "ещё", "client_msg_id": "c-43"}, headers=world.students[0].headers)
    assert resp.status == 201
    assert (await resp.json())["id"] == 2
    # Concurrent retries of one send race to the same row.
    results = await asyncio.gather(*(chat_service.send_message(ctx, _principal(world.students[0]), world.channel,
                                                               "гонка", "c-44") for _ in range(5)))
    assert len({r.message["id"] for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    assert await stored_messages(ctx, world.channel) == 3
    got = await collect_messages(reader, world.channel, 3)
    assert [m["id"] for m in got] == [1, 2, 3]  # the duplicates were never broadcast
    resp = await client.post(f"/api/v1/chats/dm:{min(world.students[0].id, world.teacher.id)}:"
                              f"{max(world.students[0].id, world.teacher.id)}/messages",
                              json={"text": "x", "client_msg_id": "c-42"}, headers=world.students[0].headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "client_msg_id_reused"
    await ws.close()
    await reader.close()


def _principal(actor):
    from edutrack.security.tokens import Principal

    return Principal(actor.id, actor.user.role, actor.user.school_id, actor.user.is_superuser)


async def test_private_message_lands_in_the_recipients_feed_and_class_chat_does_not(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    student, teacher = world.students[0], world.teacher
    dm = chat_service.dm_channel(student.id, teacher.id)
    teacher_ws = await connect(client, teacher)
    await subscribe(teacher_ws, f"user:{teacher.id}", since=0)
    await subscribe(teacher_ws, dm)
    student_ws = await connect(client, student)
    ack = await chat_send(student_ws, dm, "Можно пересдать?")
    assert ack["type"] == "ack"
    assert ack["id"] == 1
    note, _ = await recv_until(teacher_ws, lambda f: f["type"] == "notification")
    assert note["kind"] == "message"
    assert note["payload"]["channel"] == dm
    assert note["payload"]["message_id"] == 1
    assert note["payload"]["sender_id"] == student.id
    assert note["payload"]["text"] == "Можно пересдать?"
    assert note["payload"]["title"].startswith("Новое сообщение")
    [rows] = [await notifications_of(ctx, teacher.id)]
    assert [r.kind for r in rows] == ["message"]
    assert await notifications_of(ctx, student.id) == []  # the sender gets no feed entry
    await chat_send(student_ws, world.channel, "всем привет")
    assert [r.kind for r in await notifications_of(ctx, teacher.id)] == ["message"]  # class chat: no rows
    await teacher_ws.close()
    await student_ws.close()


async def test_history_cursor_pagination(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    path = f"/api/v1/chats/{world.channel}/messages"
    headers = world.teacher.headers
    for i in range(1, 8):
        resp = await client.post(path, json={"text": f"m{i}"}, headers=headers)
        assert resp.status == 201
    page = await (await client.get(path, params={"limit": 3}, headers=headers)).json()
    assert [m["id"] for m in page["items"]] == [5, 6, 7]
    assert page["has_more"] is True
    assert page["last_message_id"] == 7
    page = await (await client.get(path, params={"limit": 3, "before": 5}, headers=headers)).json()
    assert [m["id"] for m in page["items"]] == [2, 3, 4]
    assert page["has_more"] is True
    page = await (await client.get(path, params={"limit": 3, "before": 2}, headers=headers)).json()
    assert [m["id"] for m in page["items"]] == [1]
    assert page["has_more"] is False
    page = await (await client.get(path, params={"after": 4, "limit": 2}, headers=headers)).json()
    assert [m["id"] for m in page["items"]] == [5, 6]
    assert page["has_more"] is True
    page = await (await client.get(path, params={"after": 2, "before": 5}, headers=headers)).json()
    assert [m["id"] for m in page["items"]] == [3, 4]
    assert page["has_more"] is False
    for params in ({"limit": 0}, {"limit": 201}, {"before": "x"}, {"after": 5, "before": 3}, {"nope": 1}):
        resp = await client.get(path, params=params, headers=headers)
        assert resp.status == 422, params
    resp = await client.get("/api/v1/chats/lobby/messages", headers=headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_channel"
    for body in ({}, {"text": ""}, {"text": "x" * 4001}, {"text": "ok", "extra": 1}):
        resp = await client.post(path, json=body, headers=headers)
        assert resp.status == 422, body
    resp = await client.post(path, json={"text": "   "}, headers=headers)
    assert resp.status == 422
    assert await stored_messages(ctx, world.channel) == 7


async def test_edit_delete_and_moderation_broadcast(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    author, other = world.students
    watcher = await connect(client, world.parent)
    await subscribe(watcher, world.channel)
    path = f"/api/v1/chats/{world.channel}/messages"
    resp = await client.post(path, json={"text": "исходный"}, headers=author.headers)
    message_id = (await resp.json())["id"]
    resp = await client.patch(f"{path}/{message_id}", json={"text": "исправленный"}, headers=other.headers)
    assert resp.status == 403
    resp = await client.patch(f"{path}/{message_id}", json={"text": "исправленный"}, headers=author.headers)
    assert resp.status == 200
    assert (await resp.json())["edited_at"] is not None
    edited, _ = await recv_until(watcher, lambda f: f["type"] == "chat.edited")
    assert edited["id"] == message_id
    assert edited["text"] == "исправленный"
    resp = await client.delete(f"{path}/{message_id}", headers=other.headers)
    assert resp.status == 403
    resp = await client.delete(f"{path}/{message_id}", headers=world.teacher.headers)  # the teacher moderates
    assert resp.status == 204
    deleted, _ = await recv_until(watcher, lambda f: f["type"] == "chat.deleted")
    assert deleted == {"type": "chat.deleted", "channel": world.channel, "id": message_id,
                       "deleted_by": world.teacher.id}
    page = await (await client.get(path, headers=author.headers)).json()
    assert page["items"][0]["deleted"] is True
    assert page["items"][0]["text"] is None
    resp = await client.delete(f"{path}/{message_id}", headers=author.headers)
    assert resp.status == 404
    resp = await client.patch(f"{path}/999", json={"text": "x"}, headers=author.headers)
    assert resp.status == 404
    await watcher.close()


async def test_read_markers_unread_counts_and_device_sync(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    reader = world.students[1]
    for i in range(4):
        await client.post(f"/api/v1/chats/{world.channel}/messages", json={"text": f"m{i}"},
                          headers=world.teacher.headers)
    await client.post(f"/api/v1/chats/{world.channel}/messages", json={"text": "моё"}, headers=reader.headers)
    chats = await (await client.get("/api/v1/chats", headers=reader.headers)).json()
    [entry] = [c for c in chats["items"] if c["channel"] == world.channel]
    assert entry["unread"] == 4
    assert entry["last_message_id"] == 5
    assert entry["title"] == "7Б"  # own not counted
    phone = await connect(client, reader)
    await subscribe(phone, f"user:{reader.id}")
    laptop = await connect(client, reader)
    await send(laptop, {"type": "read", "channel": world.channel, "up_to": 3, "req": "r"})
    ok, _ = await recv_until(laptop, lambda f: f.get("req") == "r")
    assert ok == {"type": "read.ok", "req": "r", "channel": world.channel, "last_read_id": 3}
    synced, _ = await recv_until(phone, lambda f: f["type"] == "read")
    assert synced == {"type": "read", "channel": world.channel, "up_to": 3}
    resp = await client.post(f"/api/v1/chats/{world.channel}/read", json={"up_to": 1}, headers=reader.headers)
    assert (await resp.json())["last_read_id"] == 3  # markers never move back
    resp = await client.post(f"/api/v1/chats/{world.channel}/read", json={"up_to": 99}, headers=reader.headers)
    assert (await resp.json())["last_read_id"] == 5  # clamped to the newest message
    chats = await (await client.get("/api/v1/chats", headers=reader.headers)).json()
    [entry] = [c for c in chats["items"] if c["channel"] == world.channel]
    assert entry["unread"] == 0
    resp = await client.post(f"/api/v1/chats/{world.channel}/read", json={"up_to": 1},
                             headers=world.outsider.headers)
    assert resp.status == 403
    await phone.close()
    await laptop.close()


async def test_notification_feed_rest_live_and_resume(client, ctx, factory):
    from edutrack.queries import notifications as nq

    student = await factory.actor("student")
    ws = await connect(client, student)
    sub = await subscribe(ws, f"user:{student.id}")
    assert sub["last_id"] == 0
    rows = []
    async with ctx.sessions.begin() as session:
        for i in range(3):
            rows.append(await nq.insert_notification(session, student.id, "grade", {"title": f"Оценка {i}",
                                                                                   "value": "5"}))
    await events.publish_notifications(ctx, rows)  # what the diary feature does after its commit
    got = []
    while len(got) < 3:
        frame, _ = await recv_until(ws, lambda f: f["type"] == "notification")
        got.append(frame)
    assert [f["id"] for f in got] == [r.id for r in rows]
    assert got[0]["kind"] == "grade"
    await events.publish_notifications(ctx, rows[:1])  # a repeat is not delivered twice
    await ws.close()

    async with ctx.sessions.begin() as session:
        missed = [await nq.insert_notification(session, student.id, "news", {"title": "Новость"}) for _ in range(2)]
    ws = await connect(client, student)
    await subscribe(ws, f"user:{student.id}", since=rows[-1].id)
    resumed = [await recv_until(ws, lambda f: f["type"] == "notification") for _ in range(2)]
    assert [f[0]["id"] for f in resumed] == [m.id for m in missed]
    await send(ws, {"type": "ping", "req": "p"})
    _, between = await recv_until(ws, lambda f: f["type"] == "pong")
    assert not [f for f in between if f["type"] == "notification"]

    feed = await (await client.get("/api/v1/notifications", params={"limit": 2}, headers=student.headers)).json()
    assert feed["unread_count"] == 5
    assert feed["has_more"] is True
    assert [n["id"] for n in feed["items"]] == [missed[1].id, missed[0].id]
    older = await (await client.get("/api/v1/notifications", params={"before": missed[0].id},
                                    headers=student.headers)).json()
    assert [n["id"] for n in older["items"]] == [r.id for r in reversed(rows)]
    resp = await client.post("/api/v1/notifications/read", json={"up_to": rows[-1].id}, headers=student.headers)
    assert await resp.json() == {"channel": f"user:{student.id}", "updated": 3, "unread_count": 2}
    synced, _ = await recv_until(ws, lambda f: f["type"] == "read")
    assert synced["up_to"] == rows[-1].id
    assert synced["unread_count"] == 2
    unread = await (await client.get("/api/v1/notifications", params={"unread_only": "true"},
                                     headers=student.headers)).json()
    assert [n["id"] for n in unread["items"]] == [missed[1].id, missed[0].id]
    await send(ws, {"type": "read", "feed": True, "up_to": missed[-1].id, "req": "all"})
    ok, _ = await recv_until(ws, lambda f: f.get("req") == "all")
    assert ok["unread_count"] == 0
    assert ok["updated"] == 2
    resp = await client.post("/api/v1/notifications/read", json={"up_to": -1}, headers=student.headers)
    assert resp.status == 422
    await send(ws, {"type": "read", "channel": f"user:{student.id + 1}", "up_to": 1, "req": "other"})
    denied, _ = await recv_until(ws, lambda f: f.get("req") == "other")
    assert denied["type"] == "error"
    assert denied["code"] == "not_a_member"
    await ws.close()


async def test_chat_routes_are_documented(client):
    spec = await (await client.get("/openapi.json")).json()
    for path, method in [("/api/v1/chats", "get"), ("/api/v1/chats/{channel}/messages", "get"),
                         ("/api/v1/chats/{channel}/messages", "post"),
                         ("/api/v1/chats/{channel}/messages/{message_id}", "patch"),
                         ("/api/v1/chats/{channel}/messages/{message_id}", "delete"),
                         ("/api/v1/chats/{channel}/read", "post"), ("/api/v1/notifications", "get"),
                         ("/api/v1/notifications/read", "post"), ("/ws", "get")]:
        assert method in spec["paths"][path], (path, method)
    [param] = [p for p in spec["paths"]["/api/v1/chats/{channel}/read"]["post"]["parameters"] if p["in"] == "path"]
    assert param["schema"]["type"] == "string"
