"""A stalled reader is cut off without slowing the others; SIGTERM closes sockets with 1001; typing and
presence are ephemeral."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from pathlib import Path

import aiohttp

from edutrack.events import redis_channel
from edutrack.realtime.protocol import CloseCode
from tests.realtime.helpers import (
    PROTOCOLS,
    chat_send,
    connect,
    eventually,
    expect_close,
    gateway_of,
    make_class_world,
    message_event,
    node_env,
    recv,
    recv_until,
    send,
    stored_messages,
    subscribe,
    wait_until_up,
)
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]


async def test_stalled_reader_is_disconnected_without_slowing_the_others(client, ctx, factory, settings):
    world = await make_class_world(ctx, factory)
    gateway = gateway_of(client)
    # Frames go out directly while a client keeps up and through its queue once it is behind: the gateway counts
    # both, so the test shows the stalled client went from one to the other and was still cut off.
    stalled = await connect(client, world.students[0])
    healthy = await connect(client, world.students[1])
    await subscribe(stalled, world.channel)
    await subscribe(healthy, world.channel)
    [stalled_writer] = [c.writer for c in gateway.connections if c.user_id == world.students[0].id]
    # Kernel buffers bounded on both ends of the stalled connection: with send-buffer autotuning up to tcp_wmem's
    # 4 MiB, the node's kernel alone could hold MAX_UNSENT_BYTES, and the first frame that had to wait met the
    # byte limit before any frame was ever queued (seen on this machine: 4.16 MiB in the kernel, 68 KiB in the
    # transport). The test is about the node's own path from direct writes to its queue to the cut-off.
    stalled_writer._socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 128 * 1024)
    client_end = stalled._response.connection.transport.get_extra_info("socket")  # type: ignore[union-attr]
    client_end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)

    # 3,000 frames of ~8 KB each (24 MB), far more than the socket buffers between server and the stalled
    # client hold. Published straight to Redis so the test measures delivery, not inserts.
    count, text = 3000, "ж" * 4000
    target = redis_channel(settings.namespace, world.channel)
    started = time.monotonic()
    collector = asyncio.create_task(_collect_ids(healthy, world.channel, count))
    async with ctx.redis.pipeline(transaction=False) as pipe:
        for i in range(1, count + 1):
            pipe.publish(target, json.dumps(message_event(world.channel, i, text, world.teacher.id),
                                            ensure_ascii=False))
        await pipe.execute()
    ids = await asyncio.wait_for(collector, 20)
    elapsed = time.monotonic() - started
    assert ids == list(range(1, count + 1))
    assert elapsed < 10, f"the healthy client was slowed down: {elapsed:.1f} s"

    def stalled_conn_closed() -> bool:
        return any(c.user_id == world.students[0].id and c.writer.close_code == CloseCode.SLOW_CONSUMER
                   for c in gateway.connections)

    await eventually(lambda: stalled_conn_closed() or gateway.stats.closed_slow > 0, timeout=10)
    assert gateway.stats.closed_slow == 1
    assert gateway.stats.frames_direct > 0
    assert gateway.stats.frames_queued > 0
    assert stalled_writer.close_code == CloseCode.SLOW_CONSUMER == 4008
    code, frames = await expect_close(stalled, timeout=15)
    # It reads again only now, after the close timeout: its connection was reset (1006) rather than kept for it;
    # a client that reads within the timeout finds the 4008 close frame after its frames.
    assert code in (CloseCode.SLOW_CONSUMER, 1006)
    assert len(frames) < count  # it was cut off, not served everything
    await eventually(lambda: len(gateway.connections) == 1)
    await send(healthy, {"type": "ping", "req": "still-here"})
    await recv_until(healthy, lambda f: f["type"] == "pong")
    await healthy.close()


async def _collect_ids(ws, channel: str, count: int) -> list[int]:
    ids: list[int] = []
    while len(ids) < count:
        frame = await recv(ws, timeout=20)
        if frame["type"] == "chat.message" and frame["channel"] == channel:
            ids.append(frame["id"])
    return ids


async def test_typing_and_presence_are_ephemeral(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    a = await connect(client, world.students[0])
    b = await connect(client, world.students[1])
    sub_a = await subscribe(a, world.channel)
    assert world.students[0].id in sub_a["online"]  # yourself
    sub_b = await subscribe(b, world.channel)
    assert {world.students[0].id, world.students[1].id} <= set(sub_b["online"])
    online, _ = await recv_until(a, lambda f: f["type"] == "presence")
    assert online == {"type": "presence", "channel": world.channel, "user_id": world.students[1].id,
                      "status": "online"}
    await send(b, {"type": "typing", "channel": world.channel})
    typing, _ = await recv_until(a, lambda f: f["type"] == "typing")
    assert typing["user_id"] == world.students[1].id
    assert await stored_messages(ctx, world.channel) == 0
    await send(b, {"type": "typing", "channel": f"class:{world.class_id + 999}"})
    assert (await recv_until(b, lambda f: f["type"] == "error"))[0]["code"] == "not_subscribed"
    await b.close()
    offline, _ = await recv_until(a, lambda f: f["type"] == "presence")
    assert offline["status"] == "offline"
    assert offline["user_id"] == world.students[1].id
    await a.close()


async def test_typing_is_dropped_first_under_pressure(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    gateway = gateway_of(client)
    a = await connect(client, world.students[0])
    await subscribe(a, world.channel)
    [conn] = [c for c in gateway.connections if c.user_id == world.students[0].id]
    await eventually(lambda: not conn.subs[world.channel].syncing)
    # Hold the writer back: fill the queue past the ephemeral watermark with durable frames. The writer task starts
    # with the first queued frame and runs at the next suspension; nothing below suspends before the checks.
    writer = conn.writer
    writer._watermark = -1  # white-box: a transport that is behind, so frames are queued, not written directly
    await asyncio.sleep(0)
    for i in range(conn.limits.send_queue // 2 + 1):
        conn.send(json.dumps({"type": "chat.message", "id": i}))
    before = len(writer.queue)
    sub = conn.subs[world.channel]
    sub.on_event(world.channel, {"type": "typing", "channel": world.channel, "user_id": 999}, "{}")
    assert len(writer.queue) == before
    assert writer.dropped_ephemeral == 1
    sub.on_event(world.channel, {"type": "chat.edited", "channel": world.channel, "id": 1}, "{}")
    assert len(writer.queue) == before + 1  # durable frames still queue until the hard limit
    await a.close()


async def test_sigterm_closes_sockets_with_1001(settings, factory, ctx, client):
    world = await make_class_world(ctx, factory)
    port = free_port()
    env = node_env(settings)
    proc = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv/bin/edutrack"), "--env-file", "/nonexistent", "api", "--host", "127.0.0.1",
        "--port", str(port), env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await wait_until_up(port)
        async with aiohttp.ClientSession() as session:
            sockets = []
            for actor in (world.students[0], world.teacher):
                ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws",
                                              protocols=(*PROTOCOLS, f"bearer.{actor.access_token}"))
                assert (await recv(ws))["type"] == "ready"
                await subscribe(ws, world.channel)
                sockets.append(ws)
            ack = await chat_send(sockets[1], world.channel, "до свидания")
            assert ack["type"] == "ack"
            proc.send_signal(signal.SIGTERM)
            for ws in sockets:
                code, _ = await expect_close(ws, timeout=10)
                assert code == CloseCode.GOING_AWAY == 1001
        _, stderr_bytes = await asyncio.wait_for(proc.communicate(), 15)
        stderr = stderr_bytes.decode()
        assert proc.returncode == 0, stderr
        assert world.students[0].access_token not in stderr  # tokens never reach the logs
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
