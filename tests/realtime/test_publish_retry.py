"""A live event whose publish fails while the node's subscriptions stay up is published again once Redis takes
writes (edutrack/live_retry.py): before, a reader on a subscription that never dropped did not get it until its next
`subscribe` (or, in a chat, the next message). `CLIENT PAUSE ... WRITE` makes exactly that: PUBLISH blocks past the
client's timeout, subscriptions and reads go on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from edutrack.keys import CTX
from tests.realtime.helpers import connect, make_class_world, recv_until, send, subscribe
from tests.support.services import private_redis


async def test_a_message_whose_publish_failed_reaches_a_subscribed_reader_when_redis_takes_writes_again(
        make_client, ctx, factory) -> None:
    world = await make_class_world(ctx, factory)
    with private_redis() as server:
        node = await make_client(redis_url=server.url)
        sender = await connect(node, world.students[0])
        reader = await connect(node, world.students[1])
        await subscribe(reader, world.channel)
        probe = Redis.from_url(server.url)
        try:
            await probe.execute_command("CLIENT", "PAUSE", "2500", "WRITE")
            paused_at = time.monotonic()
            await send(sender, {"type": "chat.send", "channel": world.channel, "text": "Пока Redis не пишет",
                                "client_msg_id": "paused-1", "req": "p1"})
            ack, _ = await recv_until(sender, lambda f: f.get("req") == "p1", timeout=5)
            assert ack["type"] == "ack", ack
            held = node.app[CTX].held_publishes
            for _ in range(40):  # the publish gives up after its 1 s socket timeout and is held
                if len(held):
                    break
                await asyncio.sleep(0.05)
            assert len(held) == 1
            message, _ = await recv_until(reader, lambda f: f.get("type") == "chat.message", timeout=8)
            assert message["text"] == "Пока Redis не пишет"
            assert time.monotonic() - paused_at >= 2.0  # it came after the pause, republished, not before
            assert held.republished == 1
        finally:
            await probe.aclose()
        await sender.close()
        await reader.close()


async def test_typing_is_not_held(make_client, ctx, factory) -> None:
    """A typing indicator seconds late would say someone types who has stopped."""
    world = await make_class_world(ctx, factory)
    with private_redis() as server:
        node = await make_client(redis_url=server.url)
        typist = await connect(node, world.students[0])
        await subscribe(typist, world.channel)
        probe = Redis.from_url(server.url)
        try:
            await probe.execute_command("CLIENT", "PAUSE", "1500", "WRITE")
            await send(typist, {"type": "typing", "channel": world.channel})
            await asyncio.sleep(1.3)  # past the publish's timeout
            assert len(node.app[CTX].held_publishes) == 0
        finally:
            await probe.aclose()
        await typist.close()


async def test_held_events_are_bounded_and_go_out_in_order_when_redis_is_back() -> None:
    """At most `limit` held (the oldest dropped first); when Redis is back the rest are published in their order."""
    from edutrack.live_retry import HeldPublishes

    with private_redis() as server:
        publisher = Redis.from_url(server.url, socket_timeout=0.5, socket_connect_timeout=0.5)
        listener = Redis.from_url(server.url)
        held = HeldPublishes(limit=3, max_age=30.0)

        async def send(batch: list[tuple[str, str]]) -> set[int]:
            async with publisher.pipeline(transaction=False) as pipe:
                for target, text in batch:
                    pipe.publish(target, text)
                await pipe.execute()
            return set()  # all published (else it raised)

        pubsub = listener.pubsub()
        try:
            await pubsub.subscribe("retry-test")
            await listener.execute_command("CLIENT", "PAUSE", "1500", "WRITE")  # retries time out meanwhile
            for n in range(5):
                held.hold([("retry-test", f"event {n}")], send)
            assert (len(held), held.dropped) == (3, 2)
            got: list[str] = []
            deadline = time.monotonic() + 10
            while len(got) < 3 and time.monotonic() < deadline:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                if message is not None:
                    got.append(message["data"].decode())
            assert got == ["event 2", "event 3", "event 4"]
            assert len(held) == 0
        finally:
            await pubsub.aclose()
            await held.close()
            await publisher.aclose()
            await listener.aclose()


@contextlib.asynccontextmanager
async def _node_and_listener(make_client: Any) -> AsyncIterator[tuple[Any, Any, Redis, str, str]]:
    """A node on a private Redis, and a listener there subscribed to the feeds user:1 and user:2: (the node's
    context, the listener's pubsub, the listener, user:1's Redis channel, user:2's)."""
    from edutrack import events

    with private_redis() as server:
        node = await make_client(redis_url=server.url)
        ctx = node.app[CTX]
        listener = Redis.from_url(server.url)
        pubsub = listener.pubsub()
        held = events.redis_channel(ctx.settings.namespace, "user:1")
        other = events.redis_channel(ctx.settings.namespace, "user:2")
        try:
            await pubsub.subscribe(held, other)
            yield ctx, pubsub, listener, held, other
        finally:
            await pubsub.aclose()
            await listener.aclose()


async def test_a_channel_with_held_events_gets_its_newer_ones_after_them_and_other_channels_do_not_wait(
        make_client) -> None:
    """While a channel has an event held, its next events are held behind it instead of being published past it
    (one Redis too: before, a newer event was published at once, and reached Redis before the retry of the older
    one); another channel's events are published at once."""
    from edutrack import events

    async with _node_and_listener(make_client) as (ctx, pubsub, listener, held, other):
        await listener.execute_command("CLIENT", "PAUSE", "1600", "WRITE")
        await events.publish(ctx, "user:1", {"n": 1})  # gives up after its 1 s socket timeout: held
        assert len(ctx.held_publishes) == 1
        # The retry goes out 0.2 s from now; this, at once: user:1's waits behind the held one, user:2's does not.
        await events.publish_many(ctx, [("user:1", {"n": 2}), ("user:2", {"n": 3})])
        got: list[tuple[str, int]] = []
        deadline = time.monotonic() + 10
        while len(got) < 3 and time.monotonic() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message is not None:
                got.append((message["channel"].decode(), json.loads(message["data"])["n"]))
        assert [n for channel, n in got if channel == held] == [1, 2]
        assert [n for channel, n in got if channel == other] == [3]
        assert ctx.held_publishes.republished == 2
        assert len(ctx.held_publishes) == 0


async def test_a_publish_that_redis_takes_again_releases_the_held_ones_at_once(make_client) -> None:
    """Retries back off (0.2, 0.4, 0.8, 1.6 s ... up to 5 s). When Redis takes a publish again, the held events go
    out with it rather than at the end of the retry's pause: else a busy channel, its events waiting behind the
    held ones, would stay silent for seconds after Redis is back."""
    from edutrack import events

    async with _node_and_listener(make_client) as (ctx, pubsub, listener, held, other):
        await listener.execute_command("CLIENT", "PAUSE", "6000", "WRITE")
        paused_at = time.monotonic()
        await events.publish(ctx, "user:1", {"n": 1})  # held after 1 s; retries at ~1.2, ~2.6, ~4.4, ~7.0 s
        await asyncio.sleep(max(0.0, paused_at + 6.2 - time.monotonic()))  # Redis writes again, no retry due
        await events.publish(ctx, "user:2", {"n": 2})
        taken = time.monotonic()
        arrived: dict[str, float] = {}
        while len(arrived) < 2 and time.monotonic() < taken + 5:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if message is not None:
                arrived[message["channel"].decode()] = time.monotonic()
        assert set(arrived) == {held, other}
        assert arrived[held] - taken < 0.5, arrived[held] - taken
        assert len(ctx.held_publishes) == 0


async def test_a_newer_event_does_not_overtake_an_older_one_whose_publish_then_fails(make_client) -> None:
    """An event whose publish still waits for Redis when a newer one of its channel is published: the newer one
    waits for it. Before, the newer one went out on another connection, Redis took it when its pause ended, and
    the older one, failed by then, was held and published after it: `[2, 1]`, an older edit undoing a newer one.
    Times: the pause ends at 1.25 s; the first publish gives up at 1 s (its socket timeout), the second, sent at
    0.5 s, would give up at 1.5 s, so Redis takes it when the pause ends unless it waits for the first."""
    from edutrack import events

    async with _node_and_listener(make_client) as (ctx, pubsub, listener, _held, _other):
        await listener.execute_command("CLIENT", "PAUSE", "1250", "WRITE")
        first = asyncio.create_task(events.publish(ctx, "user:1", {"n": 1}))
        await asyncio.sleep(0.5)
        second = asyncio.create_task(events.publish(ctx, "user:1", {"n": 2}))
        await asyncio.gather(first, second)
        got: list[int] = []
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message is not None:
                got.append(json.loads(message["data"])["n"])
        assert got == [1, 2]
        assert len(ctx.held_publishes) == 0


async def test_a_publish_waits_only_for_its_own_channels_and_a_cancelled_one_lets_the_next_go() -> None:
    """`in_order`: a batch waits for the publishes still in flight on its channels, not on others; a publisher
    cancelled while it waits still lets the one after it go (the futures are not cancelled with it)."""
    from edutrack.live_retry import HeldPublishes

    held = HeldPublishes()
    order: list[str] = []
    release_a = asyncio.Event()

    async def publisher(name: str, channels: list[str], release: asyncio.Event | None = None) -> None:
        async with held.in_order([(c, name) for c in channels]):
            if release is not None:
                await release.wait()
            order.append(name)

    a = asyncio.create_task(publisher("a", ["x"], release_a))
    await asyncio.sleep(0)
    b = asyncio.create_task(publisher("b", ["x", "y"]))  # waits for a
    c = asyncio.create_task(publisher("c", ["z"]))  # waits for nothing
    d = asyncio.create_task(publisher("d", ["y"]))  # waits for b
    await asyncio.sleep(0.05)
    assert order == ["c"]
    b.cancel()
    await asyncio.sleep(0.05)
    assert order == ["c", "d"]
    assert not a.done()
    release_a.set()
    await asyncio.gather(a, c, d)
    assert order == ["c", "d", "a"]
    assert held._in_flight == {}
