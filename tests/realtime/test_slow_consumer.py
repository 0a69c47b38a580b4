"""A client that stops reading is cut off, and its connection is gone from the node within the close timeout:
its unsent bytes (the node's queue, the transport's buffer, the kernel's send buffer) are released and the other
members are told it went offline. Real clients with a 4 KiB receive buffer, as a phone on a bad network."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from edutrack.events import redis_channel
from edutrack.realtime.protocol import CloseCode
from tests.realtime.helpers import (
    PROTOCOLS,
    connect,
    eventually,
    gateway_of,
    make_class_world,
    message_event,
    recv,
    recv_until,
    subscribe,
)

CLOSE_TIMEOUT = 1.0


def _small_receive_buffer(addr_info: Any) -> socket.socket:
    family, kind, proto, _, _ = addr_info
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window is set at SYN
    return sock


def server_side_tcp(server_port: int, client_port: int) -> list[str]:
    """States of the node's end of the connection (from /proc/net/tcp): empty once the kernel let go of it."""
    states = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if int(local.rsplit(":", 1)[1], 16) == server_port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                states.append(state)
    return states


async def _flood(ctx: Any, settings: Any, channel: str, count: int, text: str) -> None:
    target = redis_channel(settings.namespace, channel)
    async with ctx.redis.pipeline(transaction=False) as pipe:
        for i in range(1, count + 1):
            pipe.publish(target, json.dumps(message_event(channel, i, text), ensure_ascii=False))
        await pipe.execute()


async def _stalled_socket(client: Any, session: aiohttp.ClientSession, token: str,
                          channel: str) -> tuple[aiohttp.ClientWebSocketResponse, int]:
    """A subscribed socket that will not be read again; and its local port."""
    ws = await session.ws_connect(client.make_url("/ws"), protocols=(*PROTOCOLS, f"bearer.{token}"))
    assert (await recv(ws))["type"] == "ready"
    reply = await subscribe(ws, channel)
    assert reply["type"] == "subscribed"
    transport = ws._response.connection.transport  # type: ignore[union-attr]
    return ws, transport.get_extra_info("sockname")[1]


async def test_a_client_that_stops_reading_is_gone_within_the_close_timeout(client, ctx, factory, settings):
    world = await make_class_world(ctx, factory)
    gateway = gateway_of(client)
    gateway.limits = replace(gateway.limits, close_timeout=CLOSE_TIMEOUT)
    slow_user, observer_user = world.students
    connector = aiohttp.TCPConnector(socket_factory=_small_receive_buffer)
    async with aiohttp.ClientSession(connector=connector) as session:
        slow, client_port = await _stalled_socket(client, session, slow_user.access_token, world.channel)
        observer = await connect(client, observer_user)  # reads as fast as it can, with ordinary buffers
        await subscribe(observer, world.channel)
        server_port = client.port
        assert server_side_tcp(server_port, client_port) == ["01"]  # ESTABLISHED

        reading = asyncio.create_task(recv_until(
            observer, lambda f: f["type"] == "presence" and f["user_id"] == slow_user.id
            and f["status"] == "offline", timeout=30))
        await _flood(ctx, settings, world.channel, 2000, "ж" * 4000)  # ~16 MB: far more than any buffer holds
        await eventually(lambda: gateway.stats.closed_slow == 1, timeout=20)
        cut_at = time.monotonic()
        # The node's end of the connection is gone (not ESTABLISHED with megabytes queued, not lingering).
        await eventually(lambda: not server_side_tcp(server_port, client_port), timeout=CLOSE_TIMEOUT + 3)
        released_after = time.monotonic() - cut_at
        assert released_after < CLOSE_TIMEOUT + 2, f"released only after {released_after:.1f} s"
        await eventually(lambda: not [c for c in gateway.connections if c.user_id == slow_user.id], timeout=2)
        offline, _ = await reading  # every member is told the slow client went offline
        assert offline["channel"] == world.channel
        await observer.close()
        # The stalled client, reading again, finds its connection cut (with or without the 4008 close frame).
        msg = await slow.receive(timeout=10)
        while msg.type == aiohttp.WSMsgType.TEXT:
            msg = await slow.receive(timeout=10)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        if msg.type == aiohttp.WSMsgType.CLOSE:
            assert msg.data == CloseCode.SLOW_CONSUMER


async def _cut_off_reason(client: Any, ctx: Any, settings: Any, world: Any, count: int, text: str) -> str:
    gateway = gateway_of(client)
    connector = aiohttp.TCPConnector(socket_factory=_small_receive_buffer)
    async with aiohttp.ClientSession(connector=connector) as session:
        stalled, _ = await _stalled_socket(client, session, world.students[0].access_token, world.channel)
        [writer] = [c.writer for c in gateway.connections if c.user_id == world.students[0].id]
        await _flood(ctx, settings, world.channel, count, text)
        await eventually(lambda: writer.close_code is not None, timeout=20)
        await stalled.close()
    assert writer.close_code == CloseCode.SLOW_CONSUMER
    return writer.close_reason


async def test_small_frames_hit_the_frame_limit_and_large_ones_the_byte_limit(client, ctx, factory, settings):
    """Chat-sized frames (a few hundred bytes): the 1,024 queued frames come first, long before 4 MiB are
    unsent. Frames of ~8 KB: 4 MiB of unsent bytes (queue, transport, kernel) come before 1,024 frames."""
    world = await make_class_world(ctx, factory)
    gateway_of(client).limits = replace(gateway_of(client).limits, close_timeout=CLOSE_TIMEOUT)
    reason = await _cut_off_reason(client, ctx, settings, world, 30_000, "сообщение " * 10)
    assert reason == "send queue overflow: read faster"
    # Another chat: the node may still be fanning out the first flood, whose ids (up to 30,000) would put a new
    # subscriber of the same chat past this flood's 1-2,000, which it would then rightly drop as old.
    other = await make_class_world(ctx, factory)
    reason = await _cut_off_reason(client, ctx, settings, other, 2_000, "ж" * 4000)
    assert reason == "too many unsent bytes: read faster"
