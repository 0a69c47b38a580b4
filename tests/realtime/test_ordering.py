"""Chat ids arrive in order, once: holes close by themselves or are read from PostgreSQL."""

from __future__ import annotations

import json

from edutrack.events import redis_channel
from edutrack.queries import chat as q
from tests.realtime.helpers import (
    collect_messages,
    connect,
    make_class_world,
    message_event,
    recv_until,
    send,
    subscribe,
)


async def test_out_of_order_publishes_are_delivered_in_order_once(client, ctx, factory, settings):
    world = await make_class_world(ctx, factory)
    reader = await connect(client, world.students[0])
    await subscribe(reader, world.channel, since=0)
    target = redis_channel(settings.namespace, world.channel)

    async def publish(message_id: int, text: str) -> None:
        await ctx.redis.publish(target, json.dumps(message_event(world.channel, message_id, text)))

    # Two nodes may publish consecutive messages in either order: 2 before 1 is held, then both go out.
    await publish(2, "второе")
    await publish(1, "первое")
    await publish(2, "второе")  # a repeat is dropped
    got = await collect_messages(reader, world.channel, 2)
    assert [(m["id"], m["text"]) for m in got] == [(1, "первое"), (2, "второе")]

    # A publish that never happens (a lost event): 3 and 4 are committed, only 4 is published.
    async with ctx.sessions.begin() as session:
        for n in (1, 2, 3, 4):
            await q.append_message(session, world.channel, world.teacher.id, None, f"db{n}")
    await publish(4, "db4")
    got = await collect_messages(reader, world.channel, 2, timeout=5)
    assert [(m["id"], m["text"]) for m in got] == [(3, "db3"), (4, "db4")]  # 3 read from PostgreSQL
    await send(reader, {"type": "ping", "req": "p"})
    _, between = await recv_until(reader, lambda f: f["type"] == "pong")
    assert not [f for f in between if f["type"] == "chat.message"]
    await reader.close()
