"""What an idle socket holds and what a connect costs (docs/benchmarks.md, "Memory per socket and connect time"):
no writer task and no queue until a frame has to wait, and presence calls of many connecting sockets sent to Redis
together, without losing what the one-call-at-a-time path guaranteed."""

from __future__ import annotations

import asyncio
import json
import uuid

from redis.asyncio import Redis

from edutrack.events import presence_key
from edutrack.realtime.presence import Presence
from edutrack.realtime.script_batch import ScriptBatch
from tests.realtime.helpers import (
    connect,
    eventually,
    gateway_of,
    make_class_world,
    message_event,
    recv,
    recv_until,
    seed_messages,
    send,
    subscribe,
)


async def test_an_idle_socket_has_no_writer_task_or_queue_until_a_frame_waits(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    ws = await connect(client, world.students[0])
    await subscribe(ws, world.channel)
    await send(ws, {"type": "ping", "req": "p"})
    assert (await recv(ws))["req"] == "p"
    [conn] = [c for c in gateway_of(client).connections if c.user_id == world.students[0].id]
    writer = conn.writer
    assert writer._writer is None  # every frame so far went straight out
    assert writer.queue is None
    assert conn.subs[world.channel].seen is None  # a chat subscription never de-duplicates feed ids
    # The client falls behind (white-box: a transport over its watermark): frames wait, a writer drains them.
    writer._watermark = -1
    for i in range(5):
        conn.send(json.dumps(message_event(world.channel, 10_000 + i, f"m{i}")))
    assert writer._writer is not None
    assert len(writer.queue or ()) == 5
    writer._watermark = 64 * 1024
    received = [(await recv(ws))["id"] for _ in range(5)]
    assert received == [10_000 + i for i in range(5)]
    # Caught up: the writer task ended and the queue is gone; the next frame goes straight out again.
    await eventually(lambda: writer._writer is None and writer.queue is None)
    conn.send(json.dumps(message_event(world.channel, 10_005, "m5")))
    assert writer.queue is None
    assert (await recv(ws))["id"] == 10_005
    await ws.close()


async def _connections_named(redis: Redis, name: str) -> int:
    listing = await redis.execute_command("CLIENT", "LIST")
    return sum(1 for line in listing.decode().splitlines() if f" name={name} " in line)


async def test_presence_touches_of_sockets_connecting_together_share_one_connection(ctx, settings):
    name = f"presence-batch-{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(settings.redis_url, client_name=name)
    presence = Presence(redis, settings.namespace)
    users = list(range(900_000, 900_060))
    try:
        # 60 first sockets in one turn of the loop: one at a time, each would take a connection of its own.
        assert all(await asyncio.gather(*(presence.connected(u) for u in users)))
        assert await _connections_named(redis, name) == 1
        assert all([await ctx.redis.exists(presence_key(settings.namespace, u)) for u in users])
        assert await presence.online(users) == set(users)
    finally:
        await presence.stop()
        await redis.aclose()
    assert not any([await ctx.redis.exists(presence_key(settings.namespace, u)) for u in users])


async def test_a_disconnect_before_a_batched_touch_lands_leaves_the_user_offline(ctx, settings):
    presence = Presence(ctx.redis, settings.namespace)
    user = 900_100
    key = presence_key(settings.namespace, user)
    connecting = asyncio.create_task(presence.connected(user))
    await asyncio.sleep(0)  # the touch is queued, not yet sent
    connecting.cancel()  # the socket went away during its handshake
    # The disconnect waits for the touch on its way, then deletes the field: not overtaken by it.
    assert await presence.disconnected(user)
    assert not await ctx.redis.exists(key)
    await presence.stop()


async def test_subscribes_without_a_cursor_arriving_together_read_their_heads_in_one_statement(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=8)
    await seed_messages(ctx, world.teacher, world.channel, ["раз", "два"])
    sockets = [await connect(client, student) for student in world.students]
    heads = gateway_of(client).heads
    before = heads.reads
    for ws in sockets:
        await send(ws, {"type": "subscribe", "channel": world.channel, "req": "s"})
    replies = [(await recv_until(ws, lambda f: f.get("req") == "s"))[0] for ws in sockets]
    assert [(r["type"], r["since"], r["last_id"], r["missed"]) for r in replies] == [("subscribed", 2, 2, 0)] * 8
    assert heads.reads - before < len(sockets)
    # And live from there: the next message reaches every one of them, once.
    await seed_messages(ctx, world.teacher, world.channel, ["три"])
    for ws in sockets:
        message, _ = await recv_until(ws, lambda f: f["type"] == "chat.message")
        assert (message["id"], message["text"]) == (3, "три")
    for ws in sockets:
        await ws.close()


async def test_a_batched_script_that_redis_does_not_know_is_loaded_and_sent_again(ctx, settings):
    # A script body of its own: never loaded, as after a Redis restart, so its EVALSHA comes back NOSCRIPT.
    redis = Redis.from_url(settings.redis_url)
    script = redis.register_script(f"-- {uuid.uuid4().hex}\nreturn tonumber(ARGV[1]) * 2")
    batch = ScriptBatch(redis)
    try:
        answers = await asyncio.gather(*(batch.call(script, [], [n]) for n in range(5)))
    finally:
        await batch.close()
        await redis.aclose()
    assert answers == [0, 2, 4, 6, 8]


async def test_sockets_share_one_timer_for_their_tokens_and_a_closed_socket_leaves_it(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=3)
    deadlines = gateway_of(client).deadlines
    sockets = [await connect(client, student) for student in world.students]

    def waiting() -> int:
        return sum(len(bucket) for bucket in deadlines._due.values())

    assert waiting() == 3  # each socket's warning is due, on the node's one timer
    assert deadlines._timer is not None
    for ws in sockets:
        await ws.close()
    # Nothing of a closed socket stays behind until its token would have expired.
    await eventually(lambda: waiting() == 0)
