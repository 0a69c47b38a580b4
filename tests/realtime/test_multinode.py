"""Two API nodes, one conversation; lossless resume; Redis restarts lose nothing."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from edutrack.services import chat as chat_service
from tests.realtime.helpers import (
    chat_send,
    collect_messages,
    connect,
    gateway_of,
    make_class_world,
    recv_until,
    seed_messages,
    send,
    stored_messages,
    subscribe,
)
from tests.support.services import private_redis


async def test_message_sent_via_node_a_reaches_member_on_node_b(client, make_client, ctx, factory):
    world = await make_class_world(ctx, factory)
    node_b = await make_client()
    assert node_b.port != client.port
    sender = await connect(client, world.students[0])
    receiver = await connect(node_b, world.parent)  # a parent of a student: in the chat (school allows)
    assert (await subscribe(receiver, world.channel))["type"] == "subscribed"
    ack = await chat_send(sender, world.channel, "Завтра контрольная", client_msg_id="m-1")
    assert ack["type"] == "ack"
    assert ack["id"] == 1
    assert ack["duplicate"] is False
    [message] = await collect_messages(receiver, world.channel, 1)
    assert message["text"] == "Завтра контрольная"
    assert message["sender_id"] == world.students[0].id
    assert message["id"] == 1
    await sender.close()
    await receiver.close()


async def test_reconnect_with_cursor_gets_exactly_the_missed_50_in_order(client, make_client, ctx, factory):
    world = await make_class_world(ctx, factory)
    node_b = await make_client()
    sender = await connect(client, world.teacher)
    reader = await connect(node_b, world.students[1])
    await subscribe(reader, world.channel, since=0)
    for i in range(3):
        await chat_send(sender, world.channel, f"до {i}")
    seen = await collect_messages(reader, world.channel, 3)
    cursor = seen[-1]["id"]
    await reader.close()

    # Through the service REST uses: 50 sends at once are beyond the teacher's send budget, REST's and sockets'.
    await seed_messages(ctx, world.teacher, world.channel, [f"пропущено {i}" for i in range(50)])

    reader = await connect(node_b, world.students[1])
    subscribed = await subscribe(reader, world.channel, since=cursor)
    assert subscribed["missed"] == 50
    assert subscribed["since"] == cursor
    # Live traffic keeps flowing while the gap is replayed; it must come after the gap, once.
    live = asyncio.create_task(chat_send(sender, world.channel, "после"))
    got = await collect_messages(reader, world.channel, 51)
    await live
    assert [m["id"] for m in got] == list(range(cursor + 1, cursor + 52))
    assert [m["text"] for m in got[:50]] == [f"пропущено {i}" for i in range(50)]
    assert got[50]["text"] == "после"
    await reader.send_str('{"type": "ping", "req": "p"}')
    _, extra = await recv_until(reader, lambda f: f["type"] == "pong")
    assert not [f for f in extra if f["type"] == "chat.message"], "duplicates after the gap"
    await sender.close()
    await reader.close()


async def test_gap_larger_than_replay_limit_asks_client_to_page(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    gateway = gateway_of(client)
    gateway.limits = replace(gateway.limits, replay_limit=5)
    sender = await connect(client, world.teacher)
    for i in range(8):
        await chat_send(sender, world.channel, f"m{i}")  # 8 is within the send burst
    reader = await connect(client, world.students[0])
    await subscribe(reader, world.channel, since=1)
    resync, _ = await recv_until(reader, lambda f: f["type"] == "resync")
    assert resync == {"type": "resync", "channel": world.channel, "from": 1, "to": 8, "reason": "gap_too_large"}
    resp = await client.get(f"/api/v1/chats/{world.channel}/messages", params={"after": 1, "limit": 50},
                            headers=world.students[0].headers)
    assert [m["id"] for m in (await resp.json())["items"]] == list(range(2, 9))
    await chat_send(sender, world.channel, "live")
    [live] = await collect_messages(reader, world.channel, 1)
    assert live["id"] == 9
    await sender.close()
    await reader.close()


async def test_the_resync_after_subscribed_may_reach_past_its_last_id(client, ctx, factory, monkeypatch):
    """As docs/websocket.md says: over the replay limit, `subscribed` is followed by a `resync` (no messages),
    whose `to` is read after `subscribed` was built and so may be beyond its `last_id`."""
    world = await make_class_world(ctx, factory)
    gateway_of(client).limits = replace(gateway_of(client).limits, replay_limit=5)
    await seed_messages(ctx, world.teacher, world.channel, [f"m{i}" for i in range(8)])
    original = chat_service.resume

    async def resume_then_one_more_is_sent(*args: Any, **kwargs: Any) -> Any:
        answer = await original(*args, **kwargs)
        await seed_messages(ctx, world.teacher, world.channel, ["между"])  # committed in between
        return answer

    monkeypatch.setattr(chat_service, "resume", resume_then_one_more_is_sent)
    reader = await connect(client, world.students[0])
    await send(reader, {"type": "subscribe", "channel": world.channel, "since": 1, "req": "s"})
    subscribed, _ = await recv_until(reader, lambda f: f.get("req") == "s")
    assert subscribed["last_id"] == 8
    assert subscribed["missed"] == 7
    resync, between = await recv_until(reader, lambda f: f["type"] == "resync")
    assert not [f for f in between if f["type"] == "chat.message"]
    assert resync == {"type": "resync", "channel": world.channel, "from": 1, "to": 9, "reason": "gap_too_large"}
    await reader.close()


async def test_redis_restart_during_a_conversation_loses_nothing(make_client, settings, factory, ctx):
    world = await make_class_world(ctx, factory)
    with private_redis() as server:
        node_a = await make_client(redis_url=server.url)
        node_b = await make_client(redis_url=server.url)
        sender = await connect(node_a, world.teacher)
        reader = await connect(node_b, world.students[0])
        await subscribe(reader, world.channel, since=0)
        for i in range(5):
            await chat_send(sender, world.channel, f"a{i}")
        first = await collect_messages(reader, world.channel, 5)

        hub_b = gateway_of(node_b).hub
        reconnects = hub_b.reconnects
        await asyncio.to_thread(server.stop)
        # Redis is down: REST and persistence keep working; the live publish is what fails.
        for i in range(5):
            resp = await node_a.post(f"/api/v1/chats/{world.channel}/messages", json={"text": f"down{i}"},
                                     headers=world.teacher.headers)
            assert resp.status == 201, await resp.text()
        ack = await chat_send(sender, world.channel, "down-ws")
        assert ack["type"] == "ack"
        await asyncio.to_thread(server.start)
        # Nothing new is published: the six come from node B re-reading the gap after it re-subscribed.
        during = await collect_messages(reader, world.channel, 6, timeout=15)
        for i in range(5):
            await chat_send(sender, world.channel, f"b{i}")
        after = await collect_messages(reader, world.channel, 5)
        got = first + during + after
        assert [m["id"] for m in got] == list(range(1, 17))
        assert [m["text"] for m in got] == ([f"a{i}" for i in range(5)] + [f"down{i}" for i in range(5)]
                                            + ["down-ws"] + [f"b{i}" for i in range(5)])
        assert hub_b.reconnects > reconnects
        assert await stored_messages(ctx, world.channel) == 16
        await sender.close()
        await reader.close()
        await node_a.close()
        await node_b.close()


async def test_redis_down_at_subscribe_time_still_delivers_after_recovery(make_client, ctx, factory):
    world = await make_class_world(ctx, factory)
    with private_redis() as server:
        node = await make_client(redis_url=server.url)
        reader = await connect(node, world.students[0])
        await asyncio.to_thread(server.stop)
        subscribed = await subscribe(reader, world.channel, since=0)
        assert subscribed["live"] is False
        resp = await node.post(f"/api/v1/chats/{world.channel}/messages", json={"text": "пока Redis спит"},
                               headers=world.teacher.headers)
        assert resp.status == 201
        await asyncio.to_thread(server.start)
        [message] = await collect_messages(reader, world.channel, 1, timeout=10)
        assert message["text"] == "пока Redis спит"
        await reader.close()
        await node.close()
