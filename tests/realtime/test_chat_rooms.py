"""Channel kinds beyond the class chat (issue 15): the class's parents' room, the staff room, announcements
(school-wide and per class), staff-made groups and the schools' private-chat policy; membership derived from the
diary and following it live; role labels on members and messages; resume on every kind."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from edutrack.db.diary import SchoolClass
from tests.realtime.helpers import (
    ClassWorld,
    chat_send,
    collect_messages,
    connect,
    make_class_world,
    recv_until,
    send,
    subscribe,
)


def _revoked(channel: str):
    return lambda f: f.get("type") == "unsubscribed" and f.get("channel") == channel


async def _refused(ws: Any, channel: str) -> str:
    await send(ws, {"type": "subscribe", "channel": channel, "req": "try"})
    frame, _ = await recv_until(ws, lambda f: f.get("req") == "try")
    return str(frame.get("code") or frame["type"])


async def _make_class_teacher(ctx: Any, world: ClassWorld) -> None:
    async with ctx.sessions.begin() as session:
        await session.execute(update(SchoolClass).where(SchoolClass.id == world.class_id)
                              .values(class_teacher_id=world.teacher.id))


async def _post(client: Any, actor: Any, channel: str, text: str) -> Any:
    return await client.post(f"/api/v1/chats/{channel}/messages", headers=actor.headers, json={"text": text})


async def test_parents_room_is_for_parents_and_teachers_not_students(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    room = f"parents:{world.class_id}"
    ws_parent = await connect(client, world.parent)
    ws_teacher = await connect(client, world.teacher)
    ws_student = await connect(client, world.students[0])
    assert (await subscribe(ws_parent, room))["type"] == "subscribed"
    assert (await subscribe(ws_teacher, room))["type"] == "subscribed"
    assert await _refused(ws_student, room) == "not_a_member"
    resp = await client.get(f"/api/v1/chats/{room}/messages", headers=world.students[0].headers)
    assert resp.status == 403
    ack = await chat_send(ws_parent, room, "Ужин в 7")
    assert ack["type"] == "ack"
    got = await collect_messages(ws_teacher, room, 1)
    assert got[0]["text"] == "Ужин в 7"
    for ws in (ws_parent, ws_teacher, ws_student):
        await ws.close()


async def test_parents_room_follows_parent_links_live(client, make_client, ctx, factory):
    world = await make_class_world(ctx, factory)
    room = f"parents:{world.class_id}"
    admin = await factory.actor("admin", school_id=world.school_id)
    node_b = await make_client()
    ws_parent = await connect(node_b, world.parent)
    assert (await subscribe(ws_parent, room))["type"] == "subscribed"
    resp = await client.delete(f"/api/v1/parent-links/{world.parent.id}/{world.students[0].id}",
                               headers=admin.headers)
    assert resp.status == 204, await resp.text()
    frame, _ = await recv_until(ws_parent, _revoked(room))
    assert frame["reason"] == "not_a_member"
    # The school's "parents in the class chat" switch does not touch the parents' room.
    await ws_parent.close()


async def test_parents_room_stays_when_school_keeps_parents_out_of_the_class_chat(client, ctx, factory):
    world = await make_class_world(ctx, factory, parents_in_chat=False)
    ws_parent = await connect(client, world.parent)
    assert await _refused(ws_parent, world.channel) == "not_a_member"
    assert (await subscribe(ws_parent, f"parents:{world.class_id}"))["type"] == "subscribed"
    await ws_parent.close()


async def test_announcements_staff_post_parents_read(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    for board in (f"announcements:{world.school_id}", f"class-announcements:{world.class_id}"):
        ws_parent = await connect(client, world.parent)
        assert (await subscribe(ws_parent, board))["type"] == "subscribed"
        refused = await chat_send(ws_parent, board, "Можно вопрос?")
        assert refused["code"] == "read_only"
        resp = await _post(client, world.parent, board, "Можно вопрос?")
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "read_only"
        resp = await _post(client, world.teacher, board, "Собрание в четверг")
        assert resp.status == 201, await resp.text()
        got = await collect_messages(ws_parent, board, 1)
        assert got[0]["text"] == "Собрание в четверг"
        await ws_parent.close()


async def test_announcements_are_not_for_other_schools_or_classes(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    ws_stranger = await connect(client, world.stranger)
    assert await _refused(ws_stranger, f"announcements:{world.school_id}") == "not_a_member"
    ws_outsider = await connect(client, world.outsider)
    assert await _refused(ws_outsider, f"class-announcements:{world.class_id}") == "not_a_member"
    assert (await subscribe(ws_outsider, f"announcements:{world.school_id}"))["type"] == "subscribed"
    for ws in (ws_stranger, ws_outsider):
        await ws.close()


async def test_staff_room_is_teachers_and_admins(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    admin = await factory.actor("admin", school_id=world.school_id)
    room = f"staff:{world.school_id}"
    ws_teacher = await connect(client, world.teacher)
    ws_admin = await connect(client, admin)
    ws_student = await connect(client, world.students[0])
    ws_parent = await connect(client, world.parent)
    assert (await subscribe(ws_teacher, room))["type"] == "subscribed"
    assert (await subscribe(ws_admin, room))["type"] == "subscribed"
    assert await _refused(ws_student, room) == "not_a_member"
    assert await _refused(ws_parent, room) == "not_a_member"
    other_teacher = await factory.actor("teacher", school_id=world.stranger.user.school_id)
    ws_other = await connect(client, other_teacher)
    assert await _refused(ws_other, room) == "not_a_member"
    for ws in (ws_teacher, ws_admin, ws_student, ws_parent, ws_other):
        await ws.close()


async def test_staff_room_follows_a_deactivation_live(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    admin = await factory.actor("admin", school_id=world.school_id)
    colleague = await factory.actor("teacher", school_id=world.school_id)
    room = f"staff:{world.school_id}"
    ws_colleague = await connect(client, colleague)
    assert (await subscribe(ws_colleague, room))["type"] == "subscribed"
    resp = await client.patch(f"/api/v1/users/{colleague.id}", headers=admin.headers, json={"role": "parent"})
    assert resp.status == 200, await resp.text()
    # The role change cuts the token (4002) or the room first; either way the socket no longer reads the room.
    frame, _ = await recv_until(ws_colleague, lambda f: _revoked(room)(f) or f.get("code") == "token_revoked")
    assert frame["type"] in ("unsubscribed", "error")
    await ws_colleague.close()


async def test_groups_chosen_members_and_live_removal(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    resp = await client.post("/api/v1/chat-groups", headers=world.teacher.headers,
                             json={"title": "Родительский комитет", "member_ids": [world.parent.id]})
    assert resp.status == 201, await resp.text()
    group = await resp.json()
    room = group["channel"]
    assert group["member_ids"] == sorted([world.parent.id, world.teacher.id])
    ws_parent = await connect(client, world.parent)
    assert (await subscribe(ws_parent, room))["type"] == "subscribed"
    ws_student = await connect(client, world.students[0])
    assert await _refused(ws_student, room) == "not_a_member"
    resp = await client.get(f"/api/v1/chat-groups/{group['id']}", headers=world.students[0].headers)
    assert resp.status == 404
    resp = await client.patch(f"/api/v1/chat-groups/{group['id']}", headers=world.teacher.headers,
                              json={"remove": [world.parent.id]})
    assert resp.status == 200, await resp.text()
    frame, _ = await recv_until(ws_parent, _revoked(room))
    assert frame["reason"] == "not_a_member"
    for ws in (ws_parent, ws_student):
        await ws.close()


async def test_groups_only_by_staff_and_only_with_their_school(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    resp = await client.post("/api/v1/chat-groups", headers=world.parent.headers,
                             json={"title": "Мы", "member_ids": []})
    assert resp.status == 403
    resp = await client.post("/api/v1/chat-groups", headers=world.teacher.headers,
                             json={"title": "Проект", "member_ids": [world.stranger.id]})
    assert resp.status == 422
    resp = await client.post("/api/v1/chat-groups", headers=world.teacher.headers,
                             json={"title": "Проект", "member_ids": [world.students[0].id]})
    group = await resp.json()
    # Another teacher of the school neither reads nor manages it.
    colleague = await factory.actor("teacher", school_id=world.school_id)
    resp = await client.patch(f"/api/v1/chat-groups/{group['id']}", headers=colleague.headers,
                              json={"add": [colleague.id]})
    assert resp.status == 404
    resp = await client.get(f"/api/v1/chats/{group['channel']}/messages", headers=colleague.headers)
    assert resp.status == 403


async def test_private_chat_policy(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    admin = await factory.actor("admin", school_id=world.school_id)
    a, b = world.students
    low, high = sorted((a.id, b.id))
    pupils = f"dm:{low}:{high}"
    resp = await _post(client, a, pupils, "Привет")
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "dm_not_allowed"
    ws_a = await connect(client, a)
    refused = await chat_send(ws_a, pupils, "Привет")
    assert refused["code"] == "dm_not_allowed"
    resp = await client.patch(f"/api/v1/schools/{world.school_id}/chat-policy", headers=admin.headers,
                              json={"student_student": True})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["student_student"] is True
    assert (await chat_send(ws_a, pupils, "Привет"))["type"] == "ack"
    # A parent and a teacher always; a parent and another family's child never.
    low, high = sorted((world.parent.id, world.teacher.id))
    assert (await _post(client, world.parent, f"dm:{low}:{high}", "Здравствуйте")).status == 201
    low, high = sorted((world.parent.id, b.id))
    assert (await _post(client, world.parent, f"dm:{low}:{high}", "Привет")).status == 403
    await ws_a.close()


async def test_parents_of_one_class_may_write_each_other_unless_turned_off(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    admin = await factory.actor("admin", school_id=world.school_id)
    other = await factory.actor("parent", school_id=world.school_id)
    resp = await client.post("/api/v1/parent-links", headers=admin.headers,
                             json={"parent_id": other.id, "child_id": world.students[1].id})
    assert resp.status in (200, 201), await resp.text()
    low, high = sorted((world.parent.id, other.id))
    assert (await _post(client, world.parent, f"dm:{low}:{high}", "Здравствуйте")).status == 201
    resp = await client.patch(f"/api/v1/schools/{world.school_id}/chat-policy", headers=admin.headers,
                              json={"parent_parent": False})
    assert resp.status == 200
    assert (await _post(client, world.parent, f"dm:{low}:{high}", "Ещё")).status == 403


async def test_chat_policy_is_for_the_schools_admins(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    resp = await client.patch(f"/api/v1/schools/{world.school_id}/chat-policy", headers=world.teacher.headers,
                              json={"student_student": True})
    assert resp.status == 403
    other_admin = await factory.actor("admin", school_id=world.stranger.user.school_id)
    resp = await client.get(f"/api/v1/schools/{world.school_id}/chat-policy", headers=other_admin.headers)
    assert resp.status == 404


async def test_role_labels_on_members_and_messages(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    await _make_class_teacher(ctx, world)
    room = f"parents:{world.class_id}"
    resp = await client.get(f"/api/v1/chats/{room}/members", headers=world.parent.headers)
    labels = {m["id"]: (m["label"], m["label_text"]) for m in (await resp.json())["items"]}
    assert labels[world.teacher.id] == ("class_teacher", "классный руководитель")
    assert labels[world.parent.id] == ("parent", "родитель")
    ws_parent = await connect(client, world.parent)
    assert (await subscribe(ws_parent, room))["type"] == "subscribed"
    ws_teacher = await connect(client, world.teacher)
    ack = await chat_send(ws_teacher, room, "Напоминаю о собрании")
    assert ack["type"] == "ack"
    got = await collect_messages(ws_parent, room, 1)
    assert got[0]["sender_role"] == "class_teacher"
    resp = await _post(client, world.parent, room, "Спасибо")
    assert (await resp.json())["sender_role"] == "parent"
    for ws in (ws_parent, ws_teacher):
        await ws.close()


async def test_resume_is_lossless_on_every_kind(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    admin = await factory.actor("admin", school_id=world.school_id)
    resp = await client.post("/api/v1/chat-groups", headers=admin.headers, json={"title": "Проект"})
    group = (await resp.json())["channel"]
    rooms = [f"parents:{world.class_id}", f"staff:{world.school_id}", f"announcements:{world.school_id}",
             f"class-announcements:{world.class_id}", group]
    for room in rooms:
        for n in range(3):
            assert (await _post(client, admin, room, f"{room} {n}")).status == 201
    ws = await connect(client, admin)
    for room in rooms:
        reply = await subscribe(ws, room, since=1)
        assert reply["missed"] == 2
        got = await collect_messages(ws, room, 2)
        assert [m["id"] for m in got] == [2, 3]
    await ws.close()


async def test_my_chats_lists_every_kind(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    resp = await client.get("/api/v1/chats", headers=world.teacher.headers)
    kinds = {item["kind"] for item in (await resp.json())["items"]}
    assert kinds == {"class", "parents", "class-announcements", "grade-announcements", "announcements", "staff"}
    resp = await client.get("/api/v1/chats", headers=world.students[0].headers)
    kinds = {item["kind"] for item in (await resp.json())["items"]}
    assert kinds == {"class", "class-announcements", "grade-announcements", "announcements"}


async def test_unread_counts_per_chat_and_in_total(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    await _post(client, world.teacher, world.channel, "Раз")
    await _post(client, world.teacher, world.channel, "Два")
    await _post(client, world.teacher, f"class-announcements:{world.class_id}", "Объявление")
    resp = await client.get("/api/v1/chats", headers=world.students[0].headers)
    body = await resp.json()
    unread = {item["channel"]: item["unread"] for item in body["items"]}
    assert unread[world.channel] == 2
    assert body["unread_total"] == 3
