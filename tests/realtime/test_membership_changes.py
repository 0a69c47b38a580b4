"""Membership changes reach open sockets at once: someone who leaves a class chat (unenrolled, a parent unlinked
or let out by the school's setting) is unsubscribed on every node, with a reason, instead of reading on until
their next reconnect."""

from __future__ import annotations

from typing import Any

from tests.realtime.helpers import connect, expect_close, make_class_world, recv_until, send, subscribe


def _revoked(channel: str):
    return lambda f: f.get("type") == "unsubscribed" and f.get("channel") == channel


async def _nothing_more_on(ws: Any, channel: str) -> list[dict[str, Any]]:
    """Frames up to the answer of a ping sent now; none of them may be about `channel`'s messages."""
    await send(ws, {"type": "ping", "req": "probe"})
    _, before = await recv_until(ws, lambda f: f.get("req") == "probe")
    return [f for f in before if f.get("channel") == channel and f.get("type") == "chat.message"]


async def test_unenrolled_student_and_their_parent_leave_the_chat_on_every_node(client, make_client, ctx, factory):
    world = await make_class_world(ctx, factory, students=2)
    node_b = await make_client()
    admin = await factory.actor("admin", school_id=world.school_id)
    leaving, staying = world.students
    ws_leaving = await connect(node_b, leaving)  # on the other node than the one the change is made on
    ws_parent = await connect(client, world.parent)
    ws_staying = await connect(node_b, staying)
    for ws in (ws_leaving, ws_parent, ws_staying):
        assert (await subscribe(ws, world.channel))["type"] == "subscribed"

    resp = await client.delete(f"/api/v1/classes/{world.class_id}/students/{leaving.id}", headers=admin.headers)
    assert resp.status == 204, await resp.text()
    for ws in (ws_leaving, ws_parent):
        frame, _ = await recv_until(ws, _revoked(world.channel))
        assert frame["reason"] == "not_a_member"

    # The class goes on without them; the one who stayed sees no control event, only the message.
    resp = await client.post(f"/api/v1/chats/{world.channel}/messages", headers=world.teacher.headers,
                             json={"text": "Завтра контрольная"})
    assert resp.status == 201
    message, before = await recv_until(ws_staying, lambda f: f.get("type") == "chat.message")
    assert message["text"] == "Завтра контрольная"
    assert not [f for f in before if f.get("type") == "membership.changed"]
    assert await _nothing_more_on(ws_leaving, world.channel) == []
    assert await _nothing_more_on(ws_parent, world.channel) == []
    # Subscribing again is refused like any outsider.
    await send(ws_leaving, {"type": "subscribe", "channel": world.channel, "req": "again"})
    error, _ = await recv_until(ws_leaving, lambda f: f.get("req") == "again")
    assert error["type"] == "error"
    assert error["code"] == "not_a_member"
    for ws in (ws_leaving, ws_parent, ws_staying):
        await ws.close()


async def test_unlinked_parent_and_parents_let_out_by_the_school(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=1)
    admin = await factory.actor("admin", school_id=world.school_id)
    second_parent = await factory.actor("parent", school_id=world.school_id)
    resp = await client.post("/api/v1/parent-links", headers=admin.headers,
                             json={"parent_id": second_parent.id, "child_id": world.students[0].id})
    assert resp.status in (200, 201), await resp.text()
    ws_parent = await connect(client, world.parent)
    ws_second = await connect(client, second_parent)
    ws_student = await connect(client, world.students[0])
    for ws in (ws_parent, ws_second, ws_student):
        assert (await subscribe(ws, world.channel))["type"] == "subscribed"

    resp = await client.delete(f"/api/v1/parent-links/{world.parent.id}/{world.students[0].id}",
                               headers=admin.headers)
    assert resp.status == 204, await resp.text()
    await recv_until(ws_parent, _revoked(world.channel))
    assert await _nothing_more_on(ws_second, world.channel) == []  # the other parent is still linked

    resp = await client.patch(f"/api/v1/schools/{world.school_id}", headers=admin.headers,
                              json={"parents_in_class_chat": False})
    assert resp.status == 200, await resp.text()
    await recv_until(ws_second, _revoked(world.channel))
    # The student is not a parent: still subscribed, still reading.
    resp = await client.post(f"/api/v1/chats/{world.channel}/messages", headers=world.teacher.headers,
                             json={"text": "Только для учеников"})
    assert resp.status == 201
    message, _ = await recv_until(ws_student, lambda f: f.get("type") == "chat.message")
    assert message["text"] == "Только для учеников"
    for ws in (ws_parent, ws_second, ws_student):
        await ws.close()


async def test_teacher_unassigned_from_the_class_leaves_its_chat(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=1)
    admin = await factory.actor("admin", school_id=world.school_id)
    ws_teacher = await connect(client, world.teacher)
    assert (await subscribe(ws_teacher, world.channel))["type"] == "subscribed"
    resp = await client.get(f"/api/v1/assignments?class_id={world.class_id}", headers=admin.headers)
    [assignment] = (await resp.json())["items"]
    resp = await client.delete(f"/api/v1/assignments/{assignment['id']}", headers=admin.headers)
    assert resp.status == 204, await resp.text()
    frame, _ = await recv_until(ws_teacher, _revoked(world.channel))
    assert frame["reason"] == "not_a_member"
    await ws_teacher.close()


async def test_deactivated_account_loses_its_open_sockets(client, make_client, ctx, factory):
    world = await make_class_world(ctx, factory, students=2)
    node_b = await make_client()
    admin = await factory.actor("admin", school_id=world.school_id)
    gone, other = world.students
    phone, laptop = await connect(client, gone), await connect(node_b, gone)
    ws_other = await connect(client, other)
    for ws, actor in ((phone, gone), (laptop, gone), (ws_other, other)):
        await subscribe(ws, f"user:{actor.id}")
        await subscribe(ws, world.channel)

    resp = await client.patch(f"/api/v1/users/{gone.id}", headers=admin.headers, json={"is_active": False})
    assert resp.status == 200, await resp.text()
    for ws in (phone, laptop):
        code, _ = await expect_close(ws)
        assert code == 4001
    # Only that account: the classmate's socket is untouched.
    assert await _nothing_more_on(ws_other, world.channel) == []
    assert not ws_other.closed
    # The class chat no longer counts it among its members (its tokens are refused too:
    # test_access_revocation.py).
    resp = await client.get(f"/api/v1/chats/{world.channel}/members", headers=other.headers)
    assert resp.status == 200, await resp.text()
    assert gone.id not in {m["id"] for m in (await resp.json())["items"]}
    await ws_other.close()


async def test_deleting_a_school_ends_its_class_chats_on_open_sockets(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=1)
    root = await factory.actor("admin", is_superuser=True)
    ws = await connect(client, world.students[0])
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    resp = await client.delete(f"/api/v1/schools/{world.school_id}", headers=root.headers)
    assert resp.status == 204, await resp.text()
    frame, _ = await recv_until(ws, _revoked(world.channel))
    assert frame["reason"] == "not_a_member"
    await ws.close()
