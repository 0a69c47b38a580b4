"""A frame is checked as a REST body is (edutrack/validation.py): nesting too deep for the JSON parser is
`invalid_json`, NUL or a lone surrogate anywhere is `invalid_text`, each counted against the error budget like
any refused frame, never an `internal_error` with a traceback; and a refused frame's `error` echoes its `req`."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from edutrack.realtime.protocol import CloseCode
from tests.realtime.helpers import (
    connect,
    expect_close,
    gateway_of,
    make_class_world,
    recv,
    send,
    stored_messages,
    subscribe,
)

DEEP = "[" * 3000 + "]" * 3000


async def test_deeply_nested_frames_are_invalid_json_and_count_against_the_budget(client, factory, caplog):
    gateway_of(client).limits = replace(gateway_of(client).limits, errors_burst=5, errors_per_second=0.01)
    ws = await connect(client, await factory.actor("student"))
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            await ws.send_str(DEEP)
            error = await recv(ws)
            assert error["type"] == "error", error
            assert error["code"] == "invalid_json", error
        await ws.send_str(DEEP)  # the budget is spent: the socket is closed
        code, _ = await expect_close(ws)
    assert code == CloseCode.POLICY_VIOLATION
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "logged as a failure on our side"


async def test_a_deeply_nested_first_frame_is_refused_like_any_bad_first_frame(client, caplog):
    ws = await client.ws_connect("/ws")
    with caplog.at_level(logging.WARNING):
        await ws.send_str(DEEP)
        code, frames = await expect_close(ws)
    assert code == CloseCode.AUTH_FAILED
    assert frames
    assert frames[0]["code"] == "unauthorized"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_nul_and_lone_surrogates_are_invalid_text_and_nothing_is_stored(client, ctx, factory, caplog):
    world = await make_class_world(ctx, factory)
    ws = await connect(client, world.teacher)
    await subscribe(ws, world.channel)
    bad_texts = ["до\x00после", "\ud800", "хвост \udfff"]
    with caplog.at_level(logging.WARNING):
        for i, text in enumerate(bad_texts):
            # json.dumps writes the surrogate as the escape \ud800, which is valid JSON
            await send(ws, {"type": "chat.send", "channel": world.channel, "text": text, "req": f"t{i}"})
            error = await recv(ws)
            assert error == {"type": "error", "code": "invalid_text", "req": f"t{i}",
                             "message": "Текст должен быть в Юникоде и без символов NUL."}, error
        await ws.send_str(json.dumps({"type": "ping", "req": "\ud800"}))  # a `req` that could not be echoed
        error = await recv(ws)
        assert error["code"] == "invalid_frame"
        assert "req" not in error
        resp = await client.post(f"/api/v1/chats/{world.channel}/messages", json={"text": "до\x00после"},
                                  headers=world.teacher.headers)
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "invalid_text"  # the same rule
    assert await stored_messages(ctx, world.channel) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    await ws.close()


async def test_refused_frames_echo_their_req(client, factory):
    ws = await connect(client, await factory.actor("student"))
    cases = [
        ({"type": "subscribe", "req": "r1"}, "invalid_frame"),
        ({"type": "subscribe", "channel": "class:1", "since": -4, "req": 2}, "invalid_frame"),
        ({"type": "chat.send", "channel": "class:1", "text": 42, "req": "r3"}, "invalid_frame"),
        ({"type": "read", "channel": "class:1", "req": "r4"}, "invalid_frame"),
        ({"type": "launch.rockets", "req": "r5"}, "unknown_type"),
        ({"type": 5, "req": "r6"}, "invalid_frame"),
        ({"type": "subscribe", "channel": "general", "req": "r7"}, "invalid_channel"),
    ]
    for frame, code in cases:
        await send(ws, frame)
        error = await recv(ws)
        assert error["code"] == code, (frame, error)
        assert error.get("req") == frame["req"], (frame, error)
    await ws.close()
