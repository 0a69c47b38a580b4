"""A closed socket is freed when it closes, by reference counting: nothing of it waits for the garbage collector.

Phones reconnect many times a day. A socket left in a reference cycle lives until a full collection, which the
API process runs rarely (realtime/__init__.py raises the thresholds), so every reconnect wave used to add its
sockets' memory to the node. Both tests run with the collector off and never call gc.collect().
"""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from edutrack.security.tokens import TokenService
from tests.realtime.helpers import (
    PROTOCOLS,
    connect,
    eventually,
    expect_close,
    gateway_of,
    make_class_world,
    node_env,
    recv_until,
    send,
    subscribe,
    wait_until_up,
)
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]


def _server_side(client: Any, user_id: int) -> list[weakref.ref[Any]]:
    """Weak references to what the node holds for the user's one open socket."""
    [conn] = [c for c in gateway_of(client).connections if c.user_id == user_id]
    return [weakref.ref(conn), weakref.ref(conn.ws), weakref.ref(conn.writer), weakref.ref(conn.writer._transport)]


async def _open_and_close(client: Any, world: Any, actor: Any, *, by_server: bool) -> list[weakref.ref[Any]]:
    ws = await connect(client, actor)
    await subscribe(ws, world.channel)
    await send(ws, {"type": "ping", "req": "p"})
    await recv_until(ws, lambda f: f.get("req") == "p")
    refs = _server_side(client, actor.id)
    if by_server:  # the server closes it: a token of another user on this socket (4001)
        await send(ws, {"type": "auth", "token": world.teacher.access_token})
        await expect_close(ws)
    else:
        await ws.close()
    return refs


async def test_a_closed_socket_is_freed_without_the_garbage_collector(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=4)
    gateway = gateway_of(client)
    await _open_and_close(client, world, world.students[0], by_server=False)  # warm-up: first-use caches
    await eventually(lambda: not gateway.connections)
    gc.disable()
    try:
        refs: list[weakref.ref[Any]] = []
        for i, actor in enumerate(world.students):
            refs += await _open_and_close(client, world, actor, by_server=bool(i % 2))
        await eventually(lambda: not gateway.connections)

        def leftovers() -> list[str]:
            return [type(ref()).__name__ for ref in refs if ref() is not None]

        await eventually(lambda: not leftovers(), timeout=3)
    except AssertionError:
        raise AssertionError(f"still alive after close, waiting for a collection: {leftovers()}") from None
    finally:
        gc.enable()


async def test_a_socket_whose_peer_vanished_is_freed_without_the_garbage_collector(client, ctx, factory):
    # The peer goes without a close frame (a phone out of coverage, a killed tab): aiohttp's own close then fails
    # on the closed transport and keeps that error on the websocket, its traceback holding the websocket.
    world = await make_class_world(ctx, factory, students=3)
    gateway = gateway_of(client)
    gc.disable()
    try:
        refs: list[weakref.ref[Any]] = []
        for actor in world.students:
            ws = await connect(client, actor)
            await subscribe(ws, world.channel)
            refs += _server_side(client, actor.id)
            transport = ws._response.connection.transport  # type: ignore[union-attr]
            assert transport is not None
            transport.abort()
        await eventually(lambda: not gateway.connections)

        def leftovers() -> list[str]:
            return [type(ref()).__name__ for ref in refs if ref() is not None]

        await eventually(lambda: not leftovers(), timeout=3)
    except AssertionError:
        raise AssertionError(f"still alive after the peer left, waiting for a collection: {leftovers()}") from None
    finally:
        gc.enable()


# --- reconnect waves against a real node whose collector is off --------------------------------------------------


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _wave(session: aiohttp.ClientSession, url: str, tokens: list[str], channel: str) -> None:
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    gate = asyncio.Semaphore(50)

    async def one(token: str) -> None:
        async with gate:
            ws = await session.ws_connect(url, protocols=(*PROTOCOLS, f"bearer.{token}"))
            sockets.append(ws)
            assert (await ws.receive_json(timeout=30))["type"] == "ready"
            await ws.send_json({"type": "subscribe", "channel": channel, "req": "s"})
            while (await ws.receive_json(timeout=30)).get("req") != "s":
                pass

    await asyncio.gather(*(one(token) for token in tokens))
    # Half close cleanly; the other half vanish without a close frame, as phones do, which leaves aiohttp an error
    # (its own close frame could not be written) whose traceback holds the websocket (http.py cuts it).
    for ws in sockets[1::2]:
        transport = ws._response.connection.transport  # type: ignore[union-attr]
        assert transport is not None
        transport.abort()
    await asyncio.gather(*(ws.close() for ws in sockets[::2]))


@pytest.mark.timeout(240)
async def test_reconnect_waves_do_not_grow_a_node_whose_collector_is_off(settings, ctx, factory):
    world = await make_class_world(ctx, factory, students=25)
    issuer = TokenService(settings.jwt_secret, settings.jwt_algorithm, 3600)
    # 300 sockets a wave: 12 for each of the 25 students.
    tokens = [issuer.issue_access(s.id, "student", world.school_id, False)[0] for s in world.students] * 12
    port = free_port()
    env = node_env(settings)
    # The node's collector is off for its whole life: only reference counting frees anything.
    boot = ("import gc, sys; gc.disable(); from edutrack.cli import main; "
            "sys.argv = ['edutrack', *sys.argv[1:]]; sys.exit(main())")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", boot, "--env-file", "/nonexistent", "api", "--host", "127.0.0.1", "--port", str(port),
        env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await wait_until_up(port)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            url = f"http://127.0.0.1:{port}/ws"
            rss = []
            for _ in range(4):
                await _wave(session, url, tokens, world.channel)
                await asyncio.sleep(1.0)  # teardown of the last sockets
                rss.append(_rss_kib(proc.pid))
        growth = rss[-1] - rss[0]  # after the warm-up wave
        # A closed socket held by a cycle costs ~13 KiB: 900 of them would be ~12 MiB.
        assert growth < 2048, f"RSS after each wave (KiB): {rss}; grew {growth} KiB after the warm-up"
    finally:
        proc.terminate()
        await proc.wait()
