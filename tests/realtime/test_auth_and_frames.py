"""Authentication at connect and on a live socket; malformed, oversize and abusive frames."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

from edutrack.ratelimit import BUDGETS, CHAT_SEND, Budget, UserBudgets
from edutrack.realtime.protocol import CloseCode
from edutrack.security.tokens import TokenService
from tests.realtime.helpers import (
    PROTOCOLS,
    chat_send,
    connect,
    expect_close,
    gateway_of,
    make_class_world,
    recv,
    recv_until,
    send,
    stored_messages,
    subscribe,
)
from tests.support.environment import TEST_JWT_SECRET


def token_for(user, ttl: int) -> str:
    tokens = TokenService(TEST_JWT_SECRET, "HS256", ttl)
    token, _ = tokens.issue_access(user.id, user.role, user.school_id, user.is_superuser)
    return token


async def ping(ws) -> None:
    await send(ws, {"type": "ping", "req": "alive"})
    pong, _ = await recv_until(ws, lambda f: f["type"] == "pong")
    assert pong["req"] == "alive"


async def test_token_in_subprotocol_and_in_first_frame(client, factory):
    actor = await factory.actor("student")
    ws = await client.ws_connect("/ws", protocols=(*PROTOCOLS, f"bearer.{actor.access_token}"))
    assert ws.protocol == "edutrack.v1"
    ready = await recv(ws)
    assert ready["type"] == "ready"
    assert ready["user_id"] == actor.id
    await ws.close()

    ws = await client.ws_connect("/ws")
    await send(ws, {"type": "auth", "token": actor.access_token})
    ready = await recv(ws)
    assert ready["type"] == "ready"
    assert ready["user_id"] == actor.id
    await ping(ws)
    await ws.close()


async def test_expired_token_is_refused_with_4002(client, factory):
    user = await factory.user("student")
    expired = token_for(user, ttl=-60)
    ws = await connect(client, token=expired, expect_ready=False)
    code, frames = await expect_close(ws)
    assert code == CloseCode.TOKEN_EXPIRED == 4002
    assert frames[0]["type"] == "error"
    assert frames[0]["code"] == "token_expired"

    ws = await client.ws_connect("/ws")
    await send(ws, {"type": "auth", "token": expired})
    code, _ = await expect_close(ws)
    assert code == 4002


async def test_invalid_token_and_missing_auth(client, factory):
    ws = await connect(client, token="not-a-jwt", expect_ready=False)
    code, frames = await expect_close(ws)
    assert code == CloseCode.AUTH_FAILED
    assert frames[0]["code"] == "unauthorized"

    ws = await client.ws_connect("/ws")
    await send(ws, {"type": "subscribe", "channel": "class:1"})
    code, _ = await expect_close(ws)
    assert code == CloseCode.AUTH_FAILED

    gateway = gateway_of(client)
    gateway.limits = replace(gateway.limits, auth_timeout=0.2)
    ws = await client.ws_connect("/ws")
    code, frames = await expect_close(ws)
    assert code == CloseCode.AUTH_TIMEOUT
    assert frames[0]["type"] == "error"


async def test_handshake_errors_are_json(client, factory):
    actor = await factory.actor("student")
    resp = await client.get("/ws", headers={"Sec-WebSocket-Protocol": f"bearer.{actor.access_token}"})
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "unsupported_subprotocol"
    resp = await client.get("/ws")
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "websocket_required"


async def test_token_refresh_over_the_socket_keeps_it_open(client, factory):
    user = await factory.user("teacher")
    ws = await connect(client, token=token_for(user, ttl=2))
    await send(ws, {"type": "auth", "token": token_for(user, ttl=600), "req": "r1"})
    ok, _ = await recv_until(ws, lambda f: f["type"] == "auth.ok")
    assert ok["req"] == "r1"
    await asyncio.sleep(2.3)
    await ping(ws)  # still open past the first token's expiry
    other = await factory.user("student")
    await send(ws, {"type": "auth", "token": token_for(other, ttl=600)})
    code, frames = await expect_close(ws)
    assert code == CloseCode.AUTH_FAILED
    assert any(f.get("code") == "unauthorized" for f in frames)


async def test_token_expiring_on_a_live_socket_closes_it_with_4002(client, factory):
    user = await factory.user("student")
    # Two seconds, not one: `exp` is a whole second, so a one-second token may have 0.1 s left when it is issued.
    ws = await connect(client, token=token_for(user, ttl=2))
    code, frames = await expect_close(ws, timeout=5)
    assert code == CloseCode.TOKEN_EXPIRED
    assert frames[-1]["code"] == "token_expired"


async def test_a_socket_is_warned_before_its_token_expires_then_closed_4002(client, factory):
    # The warning is due first; it then makes the expiry due (realtime/auth.py, Deadlines).
    gateway = gateway_of(client)
    gateway.limits = replace(gateway.limits, token_refresh_warning=1.5)
    user = await factory.user("student")
    ws = await connect(client, token=token_for(user, ttl=4))  # 3-4 s left at connect
    warned, _ = await recv_until(ws, lambda f: f["type"] == "auth.expiring", timeout=5)
    # Sent at the warning (1.5 s before, to the whole second: at most a second early), not at connect.
    assert 0 < warned["expires_at"] - time.time() <= 2.6
    code, frames = await expect_close(ws, timeout=5)
    assert code == CloseCode.TOKEN_EXPIRED
    assert frames[-1]["code"] == "token_expired"


async def test_malformed_frames_get_errors_and_the_socket_stays(client, factory):
    actor = await factory.actor("student")
    ws = await connect(client, actor)
    cases = [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"type": 5}', "invalid_frame"),
        ('{"type": "launch.rockets"}', "unknown_type"),
        ('{"type": "subscribe"}', "invalid_frame"),
        ('{"type": "subscribe", "channel": "class:1", "since": -4}', "invalid_frame"),
        ('{"type": "subscribe", "channel": "general"}', "invalid_channel"),
        ('{"type": "subscribe", "channel": "dm:7:3"}', "invalid_channel"),
        ('{"type": "chat.send", "channel": "class:1", "text": 42}', "invalid_frame"),
        ('{"type": "read", "channel": "class:1"}', "invalid_frame"),
    ]
    for raw, code in cases:
        await ws.send_str(raw)
        error = await recv(ws)
        assert error["type"] == "error", (raw, error)
        assert error["code"] == code, (raw, error)
    await ws.send_bytes(b"\x00\x01")
    assert (await recv(ws))["code"] == "invalid_frame"
    await ping(ws)
    await ws.close()


async def test_oversize_frames(client, factory):
    actor = await factory.actor("student")
    ws = await connect(client, actor)
    big = json.dumps({"type": "chat.send", "channel": "class:1", "text": "я" * 9000})  # ~18 KB in UTF-8
    await ws.send_str(big)
    error = await recv(ws)
    assert error["code"] == "frame_too_large"
    assert error["details"]["max_frame_bytes"] == 16 * 1024
    await ping(ws)
    await ws.send_str("x" * (70 * 1024))  # beyond the hard limit: the socket is closed
    code, _ = await expect_close(ws)
    assert code == CloseCode.MESSAGE_TOO_BIG == 1009


async def test_a_client_that_keeps_misbehaving_is_closed_4009(client, factory):
    actor = await factory.actor("student")
    ws = await connect(client, actor)
    for _ in range(30):
        await ws.send_str("garbage")
    code, frames = await expect_close(ws)
    assert code == CloseCode.POLICY_VIOLATION
    assert len([f for f in frames if f["type"] == "error"]) >= 20


async def test_send_rate_limit(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    gateway = gateway_of(client)
    gateway.limits = replace(gateway.limits, errors_burst=50)
    ctx.budgets = UserBudgets({**BUDGETS, CHAT_SEND: Budget(0.1, 3)})
    ws = await connect(client, world.teacher)
    for i in range(5):
        await send(ws, {"type": "chat.send", "channel": world.channel, "text": f"спам {i}", "req": i})
    replies = []
    while len(replies) < 5:
        frame = await recv(ws)
        if "req" in frame:
            replies.append(frame)
    assert [r["type"] for r in sorted(replies, key=lambda r: r["req"])] == ["ack"] * 3 + ["error"] * 2
    assert {r["code"] for r in replies if r["type"] == "error"} == {"rate_limited"}
    assert await stored_messages(ctx, world.channel) == 3
    await ws.close()


async def test_non_member_cannot_join_or_send_and_nothing_is_stored(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    member = await connect(client, world.students[0])  # fills the node's member-list cache for the class
    assert (await subscribe(member, world.channel))["type"] == "subscribed"
    for intruder in (world.outsider, world.stranger):
        ws = await connect(client, intruder)
        reply = await subscribe(ws, world.channel)
        assert reply["type"] == "error"
        assert reply["code"] == "not_a_member"
        reply = await chat_send(ws, world.channel, "я тут чужой", client_msg_id=f"x-{intruder.id}")
        assert reply["type"] == "error"
        assert reply["code"] == "not_a_member"
        reply = await subscribe(ws, f"user:{world.teacher.id}")
        assert reply["code"] == "not_a_member"
        await ws.close()
        resp = await client.post(f"/api/v1/chats/{world.channel}/messages", json={"text": "и так тоже"},
                                 headers=intruder.headers)
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "not_a_member"
        resp = await client.get(f"/api/v1/chats/{world.channel}/messages", headers=intruder.headers)
        assert resp.status == 403
    assert await stored_messages(ctx, world.channel) == 0
    await member.close()
    # A student of another school cannot open a private chat with this school's teacher.
    a, b = sorted((world.stranger.id, world.teacher.id))
    resp = await client.post(f"/api/v1/chats/dm:{a}:{b}/messages", json={"text": "привет"},
                             headers=world.stranger.headers)
    assert resp.status == 403
    assert await stored_messages(ctx, f"dm:{a}:{b}") == 0


async def test_parents_stay_out_when_the_school_says_so(client, ctx, factory):
    world = await make_class_world(ctx, factory, parents_in_chat=False)
    ws = await connect(client, world.parent)
    assert (await subscribe(ws, world.channel))["code"] == "not_a_member"
    await ws.close()
    ws = await connect(client, world.teacher)
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    await ws.close()
