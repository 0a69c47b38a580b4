"""The node's heartbeat (realtime/heartbeat.py) and what an idle socket no longer keeps.

One task per node pings every socket and closes those that sent nothing since, instead of aiohttp's timer per
socket; the handshake's headers are dropped once the socket runs (docs/benchmarks.md, "Issue 18: ... helper
sockmem"). The liveness contract is docs/websocket.md's: a ping every `heartbeat` seconds, and a socket that
answers nothing (no pong, no frame) within half of it is closed. The clients here are real websocket clients.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from edutrack.realtime.heartbeat import BUSY, HEARD, QUIET
from tests.realtime.helpers import (
    connect,
    eventually,
    gateway_of,
    make_class_world,
    recv,
    send,
    subscribe,
)

HEARTBEAT = 0.4  # seconds between the node's pings in these tests; an answer is due within half of it


def fast_heartbeat(client: TestClient[Any, Any]) -> None:
    gateway = gateway_of(client)
    gateway.limits = replace(gateway.limits, heartbeat=HEARTBEAT)


async def test_a_client_that_stops_answering_is_closed_in_time_and_a_talking_one_is_not(client, ctx, factory):
    fast_heartbeat(client)
    gateway = gateway_of(client)
    world = await make_class_world(ctx, factory)
    quitter_actor, talker_actor = world.students
    quitter = await connect(client, quitter_actor, autoping=False)
    # Never a pong, but a frame every quarter interval: any frame counts as heard, as any chunk did for aiohttp.
    talker = await connect(client, talker_actor, autoping=False)

    async def talk() -> int:
        pings = 0
        for i in range(20):  # five intervals
            await send(talker, {"type": "ping", "req": f"t{i}"})
            deadline = time.monotonic() + HEARTBEAT / 4
            while (left := deadline - time.monotonic()) > 0:
                try:
                    msg = await talker.receive(timeout=left)
                except TimeoutError:
                    break
                assert msg.type in (WSMsgType.TEXT, WSMsgType.PING), (msg.type, msg.data)
                pings += msg.type == WSMsgType.PING
        return pings

    talking = asyncio.create_task(talk())
    answered = 0
    while answered < 3:  # the quitter answers three pings, then goes silent
        msg = await quitter.receive(timeout=5 * HEARTBEAT)
        assert msg.type == WSMsgType.PING, (msg.type, msg.data)
        await quitter.pong(msg.data)
        answered += 1
    stopped = time.monotonic()
    msg = await quitter.receive(timeout=5 * HEARTBEAT)
    while msg.type == WSMsgType.PING:  # unanswered
        msg = await quitter.receive(timeout=5 * HEARTBEAT)
    elapsed = time.monotonic() - stopped
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR), msg.type
    # At most an interval to the next ping and half of one for its pong (docs/websocket.md), with slack.
    assert elapsed < HEARTBEAT * 1.5 + 1.0, f"closed only {elapsed:.2f} s after its last pong"
    await eventually(lambda: {c.user_id for c in gateway.connections} == {talker_actor.id}, timeout=3)
    assert await talking >= 3  # it was pinged all along, and never closed
    assert not talker.closed
    await send(talker, {"type": "ping", "req": "last"})
    while (await recv(talker))["type"] != "pong":
        pass
    await talker.close()


async def test_a_ping_of_the_client_is_answered_before_and_after_auth(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    ws = await connect(client, expect_ready=False, autoping=False)  # authenticates with a first frame
    await ws.ping(b"before")
    msg = await ws.receive(timeout=5)
    assert (msg.type, msg.data) == (WSMsgType.PONG, b"before")
    await send(ws, {"type": "auth", "token": world.students[0].access_token})
    assert (await recv(ws))["type"] == "ready"
    await ws.ping(b"after")
    msg = await ws.receive(timeout=5)
    assert (msg.type, msg.data) == (WSMsgType.PONG, b"after")
    await ws.close()


async def test_a_socket_whose_frame_is_still_being_handled_is_not_closed(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    gateway = gateway_of(client)
    ws = await connect(client, world.students[0], autoping=False)
    [conn] = list(gateway.connections)
    conn.heard = BUSY  # as while a handler waits on the database, the client's pong unread behind its frame
    gateway.heartbeat.ping_all()
    gateway.heartbeat.close_silent(HEARTBEAT / 2)
    assert not conn.writer.closing
    assert not ws.closed
    conn.heard = HEARD
    gateway.heartbeat.ping_all()
    assert conn.heard == QUIET
    assert (await ws.receive(timeout=5)).type == WSMsgType.PING
    gateway.heartbeat.close_silent(HEARTBEAT / 2)  # no pong came
    msg = await ws.receive(timeout=5)
    while msg.type == WSMsgType.PING:
        msg = await ws.receive(timeout=5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR), msg.type
    await eventually(lambda: not gateway.connections, timeout=3)


async def test_an_idle_socket_keeps_no_timer_of_its_own_and_no_handshake_headers(client, ctx, factory):
    """The bytes issue 18 took out of an idle socket stay out (white-box: aiohttp's attributes)."""
    world = await make_class_world(ctx, factory)
    student = world.students[0]
    ws = await connect(client, student, headers={"X-Request-ID": "sockmem-header-1"})
    await subscribe(ws, world.channel)
    [conn] = list(gateway_of(client).connections)
    server_ws = conn.ws
    # No per-socket heartbeat timer or data callback of aiohttp's: the node's one task pings.
    assert server_ws._heartbeat is None
    assert server_ws._heartbeat_cb is None
    request = server_ws._req
    assert request.protocol._data_received_cb is None
    # The handshake's parsed headers, the token among them, are emptied; the sent answer's too. (aiohttp's raw
    # copy, request.raw_headers, is immutable and stays: docs/benchmarks.md.)
    assert len(request.headers) == 0
    assert student.access_token not in repr(request.headers)
    assert len(server_ws.headers) == 0
    assert gateway_of(client).heartbeat._task is not None  # the node's heartbeat runs instead
    await send(ws, {"type": "ping", "req": "p"})
    assert (await recv(ws))["req"] == "p"
    await ws.close()
