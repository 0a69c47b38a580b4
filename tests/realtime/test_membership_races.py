"""A member removed while a subscribe is being decided, or while their node holds a cached member list, must not
end up subscribed."""

from __future__ import annotations

import asyncio

from edutrack.services import chat as chat_service
from tests.realtime.helpers import (
    connect,
    eventually,
    gateway_of,
    make_class_world,
    recv_until,
    send,
    subscribe,
)


async def _reads_the_chat(client, world, ws, text: str) -> bool:
    resp = await client.post(f"/api/v1/chats/{world.channel}/messages", headers=world.teacher.headers,
                             json={"text": text})
    assert resp.status == 201
    await send(ws, {"type": "ping", "req": "probe"})
    _, before = await recv_until(ws, lambda f: f.get("req") == "probe")
    return any(f.get("type") == "chat.message" and f.get("text") == text for f in before)


async def test_resubscribe_within_member_cache_after_unenrolment(client, ctx, factory):
    """The node had the member list cached but no socket on the channel, so it never saw membership.changed."""
    world = await make_class_world(ctx, factory, students=2)
    admin = await factory.actor("admin", school_id=world.school_id)
    leaving = world.students[0]
    ws = await connect(client, leaving)
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    await send(ws, {"type": "unsubscribe", "channel": world.channel, "req": "u"})
    await recv_until(ws, lambda f: f.get("req") == "u")

    resp = await client.delete(f"/api/v1/classes/{world.class_id}/students/{leaving.id}", headers=admin.headers)
    assert resp.status == 204

    reply = await subscribe(ws, world.channel)
    assert reply["type"] == "error", reply
    assert reply["code"] == "not_a_member", reply
    await ws.close()


async def test_subscribe_in_flight_while_the_change_is_processed(client, ctx, factory, monkeypatch):
    """A join whose member read predates the change finishes after the node's re-check ran."""
    world = await make_class_world(ctx, factory, students=2)
    admin = await factory.actor("admin", school_id=world.school_id)
    leaving, staying = world.students
    gateway = gateway_of(client)
    ws_staying = await connect(client, staying)  # the node receives the class's events
    assert (await subscribe(ws_staying, world.channel))["type"] == "subscribed"
    gateway.members._cache.clear()  # the 5 s member cache expired

    original = chat_service.member_ids
    read_done, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow_first(ctx_, channel):
        nonlocal calls
        calls += 1
        members = await original(ctx_, channel)
        if calls == 1:  # the join's read: done before the unenrolment commits, returned after the re-check
            read_done.set()
            await release.wait()
        return members

    monkeypatch.setattr(chat_service, "member_ids", slow_first)
    ws = await connect(client, leaving)
    await send(ws, {"type": "subscribe", "channel": world.channel, "req": "late"})
    await asyncio.wait_for(read_done.wait(), 5)

    resp = await client.delete(f"/api/v1/classes/{world.class_id}/students/{leaving.id}", headers=admin.headers)
    assert resp.status == 204
    await eventually(lambda: calls >= 2 and not gateway.members._rechecks)
    release.set()
    reply, _ = await recv_until(ws, lambda f: f.get("req") == "late")
    if reply["type"] == "subscribed":
        # Not revoked by anything later: the unenrolled student reads the class chat live.
        assert not await _reads_the_chat(client, world, ws, "только для класса"), \
            "unenrolled student still subscribed and reading the class chat"
    for w in (ws, ws_staying):
        await w.close()
