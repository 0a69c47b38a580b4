"""Gateway guarantees that the other realtime tests do not pin down: heartbeat pings, presence across nodes
(and after a node crashed), one Redis subscriber connection per process, tokens never logged, every device of a
user gets its notifications and read markers.

Timing knobs are shrunk per test (`Gateway.limits`, or the presence / hub constants through monkeypatch, which
the code reads at call time) so every test runs in a few seconds and polls instead of sleeping blindly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from edutrack.context import AppContext
from edutrack.keys import CTX
from edutrack.logs import JsonFormatter
from edutrack.realtime import hub as hub_module
from edutrack.realtime import presence as presence_module
from edutrack.realtime.presence import Presence
from edutrack.realtime.protocol import CloseCode
from edutrack.security.tokens import TokenService
from edutrack.settings import Settings
from tests.realtime.helpers import (
    PROTOCOLS,
    ClassWorld,
    chat_send,
    collect_messages,
    connect,
    eventually,
    expect_close,
    gateway_of,
    make_class_world,
    recv,
    recv_until,
    send,
    subscribe,
)
from tests.support.environment import TEST_JWT_SECRET, AppFactory
from tests.support.factories import Actor, Factory
from tests.support.school import build_school
from tests.support.services import private_redis

ROOT = Path(__file__).resolve().parents[2]


async def poll(check: Any, timeout: float, interval: float = 0.05) -> float:
    """Await the async `check` until it is true; the seconds it took. Fails after `timeout`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
    return time.monotonic() - started


async def ping(ws: ClientWebSocketResponse, req: str = "alive") -> None:
    await send(ws, {"type": "ping", "req": req})
    pong, _ = await recv_until(ws, lambda f: f["type"] == "pong" and f.get("req") == req)
    assert pong["req"] == req


# --- 1. heartbeat ----------------------------------------------------------------------------------------


HEARTBEAT = 0.4  # seconds between server pings in these tests; a pong is due within half of it


def fast_heartbeat(client: TestClient[Any, Any]) -> None:
    gateway = gateway_of(client)
    gateway.limits = replace(gateway.limits, heartbeat=HEARTBEAT)


async def test_production_heartbeat_is_the_documented_25_seconds(client: TestClient[Any, Any]) -> None:
    assert gateway_of(client).limits.heartbeat == 25.0
    doc = (ROOT / "docs" / "websocket.md").read_text()
    assert re.search(r"\| heartbeat \| websocket ping every 25 s, [^|]+ \| nothing from the client within 12\.5 s "
                     r"of a ping \(neither the pong nor any other frame\) closes the connection", doc)


async def test_a_client_that_never_answers_pings_is_closed_in_bounded_time(client: TestClient[Any, Any],
                                                                           factory: Factory) -> None:
    fast_heartbeat(client)
    gateway = gateway_of(client)
    actor = await factory.actor("student")
    # autoping off and never a pong: a client whose network died without a FIN looks exactly like this.
    ws = await connect(client, actor, autoping=False)
    started = time.monotonic()
    pings = 0
    closed_by: WSMsgType | None = None
    while time.monotonic() - started < 10 * HEARTBEAT:
        try:
            msg = await ws.receive(timeout=10 * HEARTBEAT)
        except TimeoutError:
            break
        if msg.type == WSMsgType.PING:
            pings += 1
            continue
        closed_by = msg.type
        break
    elapsed = time.monotonic() - started
    assert closed_by in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR), closed_by
    assert pings >= 1, "the server never pinged the idle socket"
    # One interval to the ping, half of one for the pong, and scheduling slack.
    assert elapsed < HEARTBEAT * 1.5 + 1.0, f"closed only after {elapsed:.2f} s"
    assert ws.closed
    # The server side is torn down too: no connection left behind.
    await eventually(lambda: not gateway.connections, timeout=3)


async def test_a_client_that_answers_pings_stays_connected_across_heartbeats(client: TestClient[Any, Any],
                                                                             factory: Factory) -> None:
    fast_heartbeat(client)
    gateway = gateway_of(client)
    polite_actor, default_actor = await factory.actor("student"), await factory.actor("teacher")
    polite = await connect(client, polite_actor, autoping=False)  # pongs by hand, so the pings can be counted
    default = await connect(client, default_actor)  # aiohttp's own autoping, as real clients do
    reader = asyncio.create_task(_drain_with_autoping(default))
    started = time.monotonic()
    pings = 0
    while time.monotonic() - started < 5 * HEARTBEAT:
        msg = await polite.receive(timeout=5 * HEARTBEAT)
        assert msg.type == WSMsgType.PING, (msg.type, msg.data)
        pings += 1
        await polite.pong(msg.data)
    assert pings >= 3, f"only {pings} pings in {5 * HEARTBEAT:.1f} s"
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    assert not polite.closed
    assert not default.closed
    assert {c.user_id for c in gateway.connections} == {polite_actor.id, default_actor.id}
    await ping(polite)
    await ping(default)
    await polite.close()
    await default.close()


async def _drain_with_autoping(ws: ClientWebSocketResponse) -> None:
    """aiohttp answers pings inside receive(): keep receiving, as a real client's read loop does."""
    while True:
        msg = await ws.receive()
        assert msg.type == WSMsgType.TEXT, (msg.type, msg.data)


# --- 2. presence across nodes ----------------------------------------------------------------------------


async def online_via_subscribe(ws: ClientWebSocketResponse, channel: str) -> set[int]:
    """Who a member sees online, asked the documented way: the `online` list of a fresh `subscribed`."""
    reply = await subscribe(ws, channel)
    assert reply["type"] == "subscribed", reply
    await send(ws, {"type": "unsubscribe", "channel": channel, "req": f"unsub-{channel}"})
    await recv_until(ws, lambda f: f.get("req") == f"unsub-{channel}")
    return set(reply["online"])


async def test_presence_joins_and_leaves_cross_nodes(client: TestClient[Any, Any], make_client: AppFactory,
                                                     ctx: AppContext, factory: Factory) -> None:
    world = await make_class_world(ctx, factory)
    node_b = await make_client()
    first, second = world.students
    on_a = await connect(client, first)
    await subscribe(on_a, world.channel)
    on_b = await connect(node_b, second)
    sub_b = await subscribe(on_b, world.channel)
    # The member on node A is online for the member on node B; the teacher, who has no socket, is not.
    assert {first.id, second.id} <= set(sub_b["online"])
    assert world.teacher.id not in sub_b["online"]
    joined, _ = await recv_until(on_a, lambda f: f["type"] == "presence")
    assert joined == {"type": "presence", "channel": world.channel, "user_id": second.id, "status": "online"}

    teacher_on_a = await connect(client, world.teacher)
    await subscribe(teacher_on_a, world.channel)
    joined, _ = await recv_until(on_b, lambda f: f["type"] == "presence")
    assert joined == {"type": "presence", "channel": world.channel, "user_id": world.teacher.id,
                      "status": "online"}

    await on_a.close()
    left, _ = await recv_until(on_b, lambda f: f["type"] == "presence")
    assert left == {"type": "presence", "channel": world.channel, "user_id": first.id, "status": "offline"}
    # Asked afresh on node B: gone too, the others still there.
    probe = await connect(node_b, world.parent)
    online = await online_via_subscribe(probe, world.channel)
    assert first.id not in online
    assert {second.id, world.teacher.id, world.parent.id} <= online
    await probe.close()
    await on_b.close()
    await teacher_on_a.close()
    await node_b.close()


async def test_presence_of_a_crashed_node_expires_and_live_nodes_stay(monkeypatch: pytest.MonkeyPatch,
                                                                     make_client: AppFactory,
                                                                     settings: Settings) -> None:
    # Production values, as documented: refreshed every 20 s, 60 s TTL.
    doc = (ROOT / "docs" / "websocket.md").read_text()
    documented = re.search(r"refreshed every (\d+) s with a (\d+) s TTL", doc)
    assert documented is not None
    assert tuple(map(int, documented.groups())) == (presence_module.REFRESH_EVERY, presence_module.TTL)
    monkeypatch.setattr(presence_module, "TTL", 2)  # whole seconds: Redis EXPIRE
    monkeypatch.setattr(presence_module, "REFRESH_EVERY", 0.3)
    node = await make_client()  # the node that lives on
    ctx = node.app[CTX]
    world = await make_class_world(ctx, Factory(node, ctx))
    crashed_user, shared_user = world.students
    shared = await connect(node, shared_user)
    await subscribe(shared, world.channel)
    observer = await connect(node, world.teacher)
    # A node that crashed: it wrote its users' presence like any node, then never refreshed or cleaned it up.
    crashed = Presence(ctx.redis, settings.namespace)
    started = time.monotonic()
    assert await crashed.connected(crashed_user.id)
    assert await crashed.connected(shared_user.id)  # this user also has a socket on the live node
    assert {crashed_user.id, shared_user.id, world.teacher.id} <= await online_via_subscribe(observer, world.channel)

    async def crashed_user_gone() -> bool:
        return crashed_user.id not in await online_via_subscribe(observer, world.channel)

    await poll(crashed_user_gone, timeout=presence_module.TTL + 3)
    gone_after = time.monotonic() - started
    assert gone_after <= presence_module.TTL + 2, f"a crashed node's user stayed online {gone_after:.1f} s"
    # Live sockets are refreshed well past the TTL.
    await asyncio.sleep(max(0.0, 2 * presence_module.TTL - gone_after))
    assert {shared_user.id, world.teacher.id} <= await online_via_subscribe(observer, world.channel)

    # The live node pruned the crashed node's field, so when the shared user leaves the live node they are
    # offline everywhere at once (not a TTL later) and the observer is told.
    key = f"{settings.namespace}:presence:user:{shared_user.id}"

    async def only_live_field() -> bool:
        fields = await ctx.redis.hkeys(key)
        return [f.decode() for f in fields] == [gateway_of(node).presence.node_id]

    await poll(only_live_field, timeout=3)
    await subscribe(observer, world.channel)
    await shared.close()
    left, _ = await recv_until(observer, lambda f: f["type"] == "presence" and f["user_id"] == shared_user.id,
                               timeout=3)
    assert left["status"] == "offline"
    assert not await ctx.redis.exists(key)
    await observer.close()
    await node.close()



async def test_a_user_who_leaves_during_a_presence_refresh_is_offline_at_once(
        monkeypatch: pytest.MonkeyPatch, make_client: AppFactory, settings: Settings) -> None:
    """A refresh already on its way to Redis must not re-add the field a disconnect just deleted (the user would
    look online for a whole TTL after the "offline" event, or get no "offline" event at all)."""
    monkeypatch.setattr(presence_module, "REFRESH_EVERY", 0.0005)  # a refresh is in flight almost always
    node = await make_client()
    ctx = node.app[CTX]
    world = await make_class_world(ctx, Factory(node, ctx))
    leaver = world.students[0]
    observer = await connect(node, world.teacher)
    await subscribe(observer, world.channel)
    key = f"{settings.namespace}:presence:user:{leaver.id}"
    problems: list[str] = []
    for attempt in range(40):
        ws = await connect(node, leaver)
        await subscribe(ws, world.channel)
        await ws.close()
        try:
            await recv_until(observer, lambda f: f["type"] == "presence" and f["user_id"] == leaver.id
                             and f["status"] == "offline", timeout=2)
        except TimeoutError:
            problems.append(f"{attempt}: no offline event")
            continue
        await asyncio.sleep(0.005)  # a few refresh rounds
        if await ctx.redis.exists(key):
            problems.append(f"{attempt}: online again after leaving")
            await ctx.redis.delete(key)
    assert not problems, problems
    await observer.close()
    await node.close()

# --- 3. one Redis subscriber connection per process ------------------------------------------------------


def local_tcp_ports() -> set[int]:
    """The local ports of every TCP socket this process holds (Linux /proc): matched against the `addr` of
    Redis's CLIENT LIST, they say which server-side clients are ours, whatever else shares the Redis."""
    inodes: set[str] = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports: set[int] = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def our_pubsub_clients(redis: Redis) -> list[dict[str, Any]]:
    ports = local_tcp_ports()
    clients = await redis.client_list(_type="pubsub")
    return [c for c in clients if int(str(c["addr"]).rsplit(":", 1)[1]) in ports]


async def namespace_channels(redis: Redis, namespace: str) -> set[str]:
    return {c.decode() if isinstance(c, bytes) else c for c in await redis.pubsub_channels(f"{namespace}:ev:*")}


async def test_one_pubsub_connection_per_process_and_idle_channels_are_unsubscribed(
        monkeypatch: pytest.MonkeyPatch, make_client: AppFactory, settings: Settings) -> None:
    monkeypatch.setattr(hub_module, "IDLE_UNSUBSCRIBE_AFTER", 0.2)  # production: 30 s
    node = await make_client()  # the only app (node) in this process
    ctx = node.app[CTX]
    factory = Factory(node, ctx)
    worlds = [await make_class_world(ctx, factory) for _ in range(3)]
    redis: Redis = Redis.from_url(settings.redis_url)
    ns = settings.namespace
    try:
        sockets: dict[int, list[ClientWebSocketResponse]] = {}
        for world in worlds:
            sockets[world.class_id] = []
            for actor in (world.teacher, *world.students, world.parent, world.students[0]):  # a second device
                ws = await connect(node, actor)
                await subscribe(ws, world.channel)
                await subscribe(ws, f"user:{actor.id}")
                sockets[world.class_id].append(ws)

        def wanted(live: list[ClassWorld]) -> set[str]:
            names = {w.channel for w in live}
            names |= {f"user:{a.id}" for w in live for a in (w.teacher, *w.students, w.parent)}
            return {f"{ns}:ev:{n}" for n in names}

        expected = wanted(worlds)
        assert len(expected) == 15
        assert sum(len(s) for s in sockets.values()) == 15
        # Besides the sockets' channels: the node channel (`_nodes`) and this process's own (`_node:...`).
        assert {c for c in await namespace_channels(redis, ns) if ":ev:_" not in c} == expected
        assert f"{ns}:ev:_nodes" in await namespace_channels(redis, ns)
        # Every channel is held once by Redis however many local sockets need it...
        numsub = dict(await redis.pubsub_numsub(*expected))
        assert set(numsub.values()) == {1}, numsub
        # ... and all of them by the one pub/sub connection of this process (plus the two node channels).
        [ours] = await our_pubsub_clients(redis)
        assert int(ours["sub"]) == len(expected) + 2
        assert int(ours["psub"]) == 0

        # Sockets leave: the channels nobody on the node needs any more are unsubscribed, the rest stay.
        for ws in sockets.pop(worlds[0].class_id) + sockets.pop(worlds[1].class_id):
            await ws.close()
        remaining = wanted(worlds[2:])

        async def pruned() -> bool:
            return {c for c in await namespace_channels(redis, ns) if ":ev:_" not in c} == remaining

        await poll(pruned, timeout=5)
        [ours_after] = await our_pubsub_clients(redis)
        assert ours_after["id"] == ours["id"]  # the same connection, not a new one
        assert int(ours_after["sub"]) == len(remaining) + 2
        assert gateway_of(node).hub.channels() == {n[len(f"{ns}:ev:"):] for n in remaining}

        # A channel unsubscribed on Redis is subscribed again when a socket needs it, and delivers.
        back = await connect(node, worlds[0].students[1])
        await subscribe(back, worlds[0].channel)
        sender = await connect(node, worlds[0].teacher)
        await chat_send(sender, worlds[0].channel, "снова здесь")
        [message] = await collect_messages(back, worlds[0].channel, 1)
        assert message["text"] == "снова здесь"
        assert len(await our_pubsub_clients(redis)) == 1
        for ws in [back, sender, *sockets.pop(worlds[2].class_id)]:
            await ws.close()

        async def only_control_left() -> bool:
            return not {c for c in await namespace_channels(redis, ns) if ":ev:_" not in c}

        await poll(only_control_left, timeout=5)
        await node.close()

        async def none_left() -> bool:
            return not await our_pubsub_clients(redis)

        await poll(none_left, timeout=5)
    finally:
        await redis.aclose()


# --- 4. tokens never logged ------------------------------------------------------------------------------


def token_for(user_id: int, role: str, school_id: int | None, ttl: int) -> str:
    token, _ = TokenService(TEST_JWT_SECRET, "HS256", ttl).issue_access(user_id, role, school_id, False)
    return token


def tampered(token: str) -> str:
    head, payload, signature = token.split(".")
    return f"{head}.{payload}.{signature[::-1]}"


async def test_tokens_never_reach_the_logs(client: TestClient[Any, Any], factory: Factory,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("edutrack", "aiohttp", "aiohttp.access", "aiohttp.server", "aiohttp.web", "aiohttp.websocket"):
        caplog.set_level(logging.DEBUG, logger=name)
    gateway = gateway_of(client)
    actor = await factory.actor("student")
    other = await factory.actor("teacher")
    expired = token_for(actor.id, "student", None, ttl=-60)
    forged = tampered(actor.access_token)
    secrets = {actor.access_token, other.access_token, expired, forged, actor.refresh_token}
    secrets |= {t.rsplit(".", 1)[1] for t in (actor.access_token, other.access_token, expired, forged)}
    ws_requests = 0

    # Accepted: in the subprotocol header, and in a first `auth` frame; then refreshed on the live socket.
    ws = await connect(client, actor)
    ws_requests += 1
    await ping(ws)
    await ws.close()
    ws = await client.ws_connect("/ws", protocols=PROTOCOLS)
    ws_requests += 1
    await send(ws, {"type": "auth", "token": actor.access_token})
    assert (await recv(ws))["type"] == "ready"
    await send(ws, {"type": "auth", "token": actor.access_token, "req": "again"})
    assert (await recv_until(ws, lambda f: f.get("req") == "again"))[0]["type"] == "auth.ok"
    # Refused on a live socket: a forged token (error frame, socket stays), a frame that is not JSON around a
    # token, then a token of another user (closed).
    await send(ws, {"type": "auth", "token": forged, "req": "forged"})
    assert (await recv_until(ws, lambda f: f.get("req") == "forged"))[0]["type"] == "error"
    await ws.send_str('{"type": "auth", "token": "' + actor.access_token + '"')
    assert (await recv_until(ws, lambda f: f["type"] == "error"))[0]["code"] == "invalid_json"
    await send(ws, {"type": "auth", "token": other.access_token})
    code, _ = await expect_close(ws)
    assert code == CloseCode.AUTH_FAILED

    # Refused at connect: forged and expired, in the header and in the first frame; a first frame that is
    # not valid JSON; a header offering the token without the required subprotocol (refused before aiohttp
    # could log the offered list).
    for bad, want in ((forged, CloseCode.AUTH_FAILED), (expired, CloseCode.TOKEN_EXPIRED)):
        ws = await connect(client, token=bad, expect_ready=False)
        ws_requests += 1
        assert (await expect_close(ws))[0] == want
        ws = await client.ws_connect("/ws", protocols=PROTOCOLS)
        ws_requests += 1
        await send(ws, {"type": "auth", "token": bad})
        assert (await expect_close(ws))[0] == want
    ws = await client.ws_connect("/ws")
    ws_requests += 1
    await ws.send_str('{"type": "auth", "token": "' + actor.access_token + '", ')
    assert (await expect_close(ws))[0] == CloseCode.AUTH_FAILED
    resp = await client.get("/ws", headers={"Sec-WebSocket-Protocol": f"bearer.{actor.access_token}",
                                            "Connection": "Upgrade", "Upgrade": "websocket",
                                            "Sec-WebSocket-Version": "13",
                                            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "unsupported_subprotocol"
    ws_requests += 1

    def ws_request_records() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name.startswith("edutrack") and r.getMessage() == "request"
                and getattr(r, "path", None) == "/ws"]

    # Each socket's request line is written when its handler returns: wait for all of them.
    await eventually(lambda: len(ws_request_records()) >= ws_requests and not gateway.connections, timeout=5)
    assert caplog.records, "nothing was captured: the check below would prove nothing"
    formatter = JsonFormatter()
    for record in caplog.records:
        text = formatter.format(record) + repr(record.__dict__)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"a token reached the log: {record.name}: {record.getMessage()!r}"


# --- 5. every device ---------------------------------------------------------------------------------------


async def notifications_until_pong(ws: ClientWebSocketResponse, req: str) -> list[dict[str, Any]]:
    """Every notification frame up to the pong of a ping sent now (everything published before is in)."""
    await send(ws, {"type": "ping", "req": req})
    _, before = await recv_until(ws, lambda f: f["type"] == "pong" and f.get("req") == req)
    return [f for f in before if f["type"] == "notification"]


async def test_every_device_gets_each_notification_once_and_read_markers_follow(
        client: TestClient[Any, Any], make_client: AppFactory, ctx: AppContext, factory: Factory) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    klass = school.classes[0]
    student: Actor = await factory.login(school.student())
    teacher: Actor = await factory.login(school.teacher_of(klass.id, school.subject(0)))
    node_b = await make_client()
    phone = await connect(client, student)  # two devices of one user, on different nodes
    laptop = await connect(node_b, student)
    feed = f"user:{student.id}"
    for device in (phone, laptop):
        assert (await subscribe(device, feed))["type"] == "subscribed"

    grade_ids: list[int] = []
    for value in (5, 4):
        resp = await client.post("/api/v1/grades", headers=teacher.headers, json={
            "student_id": student.id, "subject_id": school.subject(0), "date": date(2026, 10, 5).isoformat(),
            "work_type_id": school.work_type_ids["Контрольная работа"], "value": value})
        assert resp.status == 201, await resp.text()
        grade_ids.append((await resp.json())["id"])

    received: dict[str, list[dict[str, Any]]] = {}
    for name, device in (("phone", phone), ("laptop", laptop)):
        got: list[dict[str, Any]] = []
        while len(got) < 2:
            frame, _ = await recv_until(device, lambda f: f["type"] == "notification")
            got.append(frame)
        got += await notifications_until_pong(device, f"after-{name}")
        received[name] = got
    for name, got in received.items():
        assert len(got) == 2, f"{name}: {[(f['id'], f['kind']) for f in got]}"  # once each, no duplicates
        assert [f["payload"]["grade_id"] for f in got] == grade_ids, name
        assert {f["kind"] for f in got} == {"grade"}
        assert {f["channel"] for f in got} == {feed}
    # The same notifications (same ids) on every device.
    assert [f["id"] for f in received["phone"]] == [f["id"] for f in received["laptop"]]
    newest = max(f["id"] for f in received["phone"])

    # A read marker moved on one device shows on the other (and on the device that moved it).
    await send(phone, {"type": "read", "feed": True, "up_to": newest, "req": "read-feed"})
    ok, before_ok = await recv_until(phone, lambda f: f.get("req") == "read-feed")
    assert ok["type"] == "read.ok"
    assert ok["updated"] == 2
    assert ok["unread_count"] == 0
    synced, _ = await recv_until(laptop, lambda f: f["type"] == "read")
    assert synced == {"type": "read", "channel": feed, "up_to": newest, "unread_count": 0}
    # The event is published before the reply is queued, so on the phone it may come first.
    mirrored = [f for f in before_ok if f["type"] == "read"] or [(await recv_until(
        phone, lambda f: f["type"] == "read"))[0]]
    assert mirrored == [synced]
    rest = await (await node_b.get("/api/v1/notifications", headers=student.headers)).json()
    assert rest["unread_count"] == 0

    # The class chat's marker, moved from the laptop, reaches the phone on the other node.
    for text in ("Домашнее задание на завтра", "Не забудьте тетради"):
        resp = await client.post(f"/api/v1/chats/class:{klass.id}/messages", json={"text": text},
                                 headers=teacher.headers)
        assert resp.status == 201, await resp.text()
    await send(laptop, {"type": "read", "channel": f"class:{klass.id}", "up_to": 2, "req": "read-chat"})
    ok, _ = await recv_until(laptop, lambda f: f.get("req") == "read-chat")
    assert ok == {"type": "read.ok", "req": "read-chat", "channel": f"class:{klass.id}", "last_read_id": 2}
    synced, _ = await recv_until(phone, lambda f: f["type"] == "read")
    assert synced == {"type": "read", "channel": f"class:{klass.id}", "up_to": 2}
    assert not await notifications_until_pong(phone, "end-phone")
    assert not await notifications_until_pong(laptop, "end-laptop")
    await phone.close()
    await laptop.close()
    await node_b.close()



async def test_a_node_shutting_down_settles_its_sockets_before_it_closes_redis(
        make_client: AppFactory, ctx: AppContext, factory: Factory) -> None:
    """Shutdown cancels the handler of a socket whose peer vanished; its shielded teardown (presence, the
    "offline" event) must finish before the node closes its Redis client. Left running, it would find its
    connection closed under it, reconnect through the closed pool and leave that connection open for good."""
    world = await make_class_world(ctx, factory)
    with private_redis("--enable-debug-command", "yes") as server:
        node = await make_client(redis_url=server.url)
        ws = await connect(node, world.students[0])
        await subscribe(ws, world.channel)
        probe = Redis.from_url(server.url)
        try:
            # Redis answers nobody for a moment: the teardown is still waiting on it when the node shuts down.
            stall = asyncio.create_task(probe.execute_command("DEBUG", "SLEEP", "0.5"))
            await asyncio.sleep(0.05)
            transport = ws._conn.transport if ws._conn is not None else None
            assert transport is not None
            transport.abort()  # the tab is gone without a close frame
            await asyncio.sleep(0.05)
            await node.close()
            await stall
            left: list[str] = []
            for _ in range(20):  # the server notices closed connections on its next turns; a leak stays
                left = [c["name"] for c in await probe.client_list() if c["name"].startswith("edutrack:")]
                if not left:
                    break
                await asyncio.sleep(0.1)
            assert left == []
        finally:
            await probe.aclose()
