"""Frames written straight to the transport from the fan-out (the direct path) and through the bounded queue
(a client that is behind): valid frames for a standard client, one order across both paths."""

from __future__ import annotations

import asyncio
import json
import struct
from dataclasses import replace
from typing import Any

import aiohttp

from edutrack.events import redis_channel
from edutrack.realtime.protocol import Limits
from edutrack.realtime.transport import FrameCache, SendStats, SocketWriter, WriteBatch, text_frame
from tests.realtime.helpers import connect, gateway_of, make_class_world, message_event, recv, subscribe


def _parse(frame: bytes) -> tuple[int, int, bytes]:
    """(first byte, length field, payload) of one unmasked frame."""
    first, second = frame[0], frame[1]
    assert second & 0x80 == 0, "server frames are never masked"
    size, offset = second & 0x7F, 2
    if size == 126:
        (size,), offset = struct.unpack("!H", frame[2:4]), 4
    elif size == 127:
        (size,), offset = struct.unpack("!Q", frame[2:10]), 10
    payload = frame[offset:]
    assert len(payload) == size
    return first, second & 0x7F, payload


def test_text_frame_length_encodings() -> None:
    for size, field in ((0, 0), (125, 125), (126, 126), (65535, 126), (65536, 127), (200_000, 127)):
        first, length_field, payload = _parse(text_frame("x" * size))
        assert first == 0x81  # FIN, text, no RSV bits (not compressed)
        assert length_field == field, size
        assert payload == b"x" * size
    # The length is in bytes, not characters.
    _, length_field, payload = _parse(text_frame("ж" * 100))
    assert length_field == 126
    assert payload.decode() == "ж" * 100


def test_text_frame_is_built_once_per_event() -> None:
    frames = FrameCache()
    text = json.dumps({"type": "chat.message", "id": 1, "text": "hello"})
    assert frames.frame(text) is frames.frame(text)
    # An equal but distinct string is framed again (identity, not equality, is the cache key), correctly.
    other = "".join(list(text))
    assert other is not text
    assert frames.frame(other) == frames.frame(text) == text_frame(text)


def _exact_event(channel: str, message_id: int, size: int, fill: str = "x") -> str:
    """A chat.message whose UTF-8 JSON is exactly `size` bytes (for a multi-byte `fill`: at most one character
    short of it)."""
    base = json.dumps({"type": "chat.message", "channel": channel, "id": message_id, "text": ""},
                      ensure_ascii=False)
    missing = size - len(base.encode())
    width = len(fill.encode())
    text = json.dumps({"type": "chat.message", "channel": channel, "id": message_id,
                       "text": fill * (missing // width)}, ensure_ascii=False)
    assert size - width < len(text.encode()) <= size
    return text


async def test_a_standard_client_decodes_every_length_encoding(client, ctx, factory, settings):
    world = await make_class_world(ctx, factory)
    # The client offers permessage-deflate; /ws must not take it (frames are shared by every socket).
    ws = await connect(client, world.students[0], compress=15)
    assert ws.compress == 0
    await subscribe(ws, world.channel)
    sizes = [125, 126, 127, 1000, 65535, 65536, 70_000, 300_000]
    published = [_exact_event(world.channel, i, size) for i, size in enumerate(sizes, start=1)]
    published.append(_exact_event(world.channel, len(sizes) + 1, 70_000, fill="ж"))  # bytes, not characters
    target = redis_channel(settings.namespace, world.channel)
    for text in published:
        await ctx.redis.publish(target, text)
    for text in published:
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        assert msg.data == text
    await ws.close()


async def test_order_is_kept_when_a_client_falls_behind_and_catches_up(client, ctx, factory, settings):
    """The client stops reading: the first frames go out directly, then its buffers fill and frames are queued;
    it reads again, the queue drains, and later frames go out directly again. One contiguous, ordered stream."""
    world = await make_class_world(ctx, factory)
    gateway = gateway_of(client)
    # Ordering, not limits: this client may fall further behind than the byte limit lets one in production.
    gateway.limits = replace(gateway.limits, max_unsent_bytes=64 * 1024 * 1024)
    ws = await connect(client, world.students[0])
    await subscribe(ws, world.channel)
    target = redis_channel(settings.namespace, world.channel)
    queued_before, direct_before = gateway.stats.frames_queued, gateway.stats.frames_direct

    # ~24 MB, far more than the socket buffers hold, in fewer frames than the queue limit (1024).
    burst, filler = 800, "x" * 30_000
    async with ctx.redis.pipeline(transaction=False) as pipe:
        for i in range(1, burst + 1):
            pipe.publish(target, json.dumps(message_event(world.channel, i, filler)))
        await pipe.execute()

    # Not reading: wait until the node has taken every event and queued what the buffers could not hold.
    conn = next(iter(gateway.connections))
    deadline = asyncio.get_running_loop().time() + 10
    while conn.subs[world.channel].cursor < burst:
        assert asyncio.get_running_loop().time() < deadline, "the node did not take the burst"
        await asyncio.sleep(0.05)
    assert gateway.stats.frames_direct > direct_before, "the first frames went out directly"
    assert gateway.stats.frames_queued > queued_before, "a client that is behind gets the queue"
    assert conn.writer.queue, "frames are waiting in the queue while the client does not read"

    ids = [(await recv(ws, timeout=10))["id"] for _ in range(burst)]
    assert ids == list(range(1, burst + 1))

    # Caught up: the queue is empty and new frames take the direct path again, still in order.
    assert not conn.writer.queue
    direct_before, queued_before = gateway.stats.frames_direct, gateway.stats.frames_queued
    for i in range(burst + 1, burst + 11):
        await ctx.redis.publish(target, json.dumps(message_event(world.channel, i, "after")))
    ids = [(await recv(ws))["id"] for _ in range(10)]
    assert ids == list(range(burst + 1, burst + 11))
    assert gateway.stats.frames_direct - direct_before == 10
    assert gateway.stats.frames_queued == queued_before
    assert conn.writer.close_code is None
    await ws.close()


class _FakeTransport:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.buffered = 0

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def get_extra_info(self, name: str) -> None:
        return None

    def write(self, data: bytes) -> None:
        self.log.append(_parse(data)[2].decode())


class _FakeStream:
    """What ws.prepare() returns: drain() waits while the transport is paused."""

    def __init__(self) -> None:
        self.drained = asyncio.Event()
        self.drained.set()

    async def drain(self) -> None:
        await self.drained.wait()


class _FakeWs:
    closed = False


async def test_switching_between_direct_and_queued_keeps_order() -> None:
    log: list[str] = []
    transport, stream, ws = _FakeTransport(log), _FakeStream(), _FakeWs()
    limits = Limits()
    stats = SendStats()
    conn = SocketWriter(ws, transport, stream, FrameCache(), stats, limits, user_id=1)  # type: ignore[arg-type]
    try:
        conn.send("1")
        conn.send("2")
        assert log == ["1", "2"]
        assert stats.frames_direct == 2  # written at once, by the caller
        transport.buffered = limits.write_buffer_watermark + 1  # the client falls behind
        stream.drained.clear()
        conn.send("3")
        transport.buffered = 0  # the buffer emptied, but "3" is still queued: what follows must wait behind it
        conn.send("4")
        assert log == ["1", "2"]
        assert len(conn.queue) == 2
        await asyncio.sleep(0)  # the writer writes "3" and waits for the drain
        conn.send("5")
        assert log == ["1", "2", "3"]
        stream.drained.set()
        for _ in range(4):
            await asyncio.sleep(0)
        assert not conn.queue
        assert conn.queued_bytes == 0
        conn.send("6")  # caught up: direct again
        assert log == ["1", "2", "3", "4", "5", "6"]
        assert stats.frames_queued == 3
        assert stats.frames_direct == 3
    finally:
        conn.stop()


async def test_a_closed_websocket_gets_no_direct_write() -> None:
    log: list[str] = []
    transport, ws = _FakeTransport(log), _FakeWs()
    conn = SocketWriter(ws, transport, _FakeStream(), FrameCache(), SendStats(), Limits(),  # type: ignore[arg-type]
                        user_id=1)
    ws.closed = True  # aiohttp is sending (or has sent) its close frame: nothing may follow it
    conn.send("late")
    assert log == []
    assert not conn.queue


# --- one write per socket per turn of the loop (WriteBatch) -------------------------------------------------


def _split(data: bytes) -> list[str]:
    """The payloads of the whole, unmasked frames one write carried, in order."""
    payloads = []
    while data:
        size, offset = data[1] & 0x7F, 2
        if size == 126:
            (size,), offset = struct.unpack("!H", data[2:4]), 4
        elif size == 127:
            (size,), offset = struct.unpack("!Q", data[2:10]), 10
        payloads.append(data[offset:offset + size].decode())
        data = data[offset + size:]
    return payloads


class _BatchTransport(_FakeTransport):
    def __init__(self, log: list[str]) -> None:
        super().__init__(log)
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.log.extend(_split(data))


class _ClosingWs(_FakeWs):
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.close_code: int | None = None

    async def close(self, code: int, message: bytes) -> None:
        self.log.append(f"close {code}")
        self.closed = True
        self.close_code = code


def _batched(limits: Limits | None = None) -> tuple[SocketWriter, _BatchTransport, _FakeStream, list[str], Any]:
    log: list[str] = []
    transport, stream, ws = _BatchTransport(log), _FakeStream(), _ClosingWs(log)
    writer = SocketWriter(ws, transport, stream, FrameCache(), SendStats(), limits or Limits(),  # type: ignore[arg-type]
                          user_id=1, batch=WriteBatch())
    return writer, transport, stream, log, ws


async def test_the_frames_of_one_turn_go_out_in_one_write_in_order() -> None:
    writer, transport, _, log, _ = _batched()
    other, other_transport, _, other_log, _ = _batched()
    for text in ("1", "2", "3"):
        writer.send(text)
    other.send("x")
    assert log == []  # not yet: the turn is not over
    assert transport.writes == 0
    assert writer.unsent_bytes() == 9  # counted against the socket's limits meanwhile (3 frames of 3 bytes)
    await asyncio.sleep(0)
    assert log == ["1", "2", "3"]
    assert transport.writes == 1
    assert other_log == ["x"]
    assert other_transport.writes == 1
    writer.send("4")  # the next turn: its own write
    await asyncio.sleep(0)
    assert log == ["1", "2", "3", "4"]
    assert transport.writes == 2
    assert writer.unsent_bytes() == 0


async def test_a_socket_that_falls_behind_within_a_turn_writes_the_turn_first_then_queues() -> None:
    # The watermark counts the turn's frames too: after two 3-byte frames the socket is over a 5-byte watermark.
    writer, _, stream, log, _ = _batched(replace(Limits(), write_buffer_watermark=5))
    stream.drained.clear()
    writer.send("1")
    writer.send("2")
    writer.send("3")  # over the watermark: "1" and "2" are written now, "3" waits in the queue behind them
    assert log == ["1", "2"]
    assert list(writer.queue or ()) == [text_frame("3")]
    writer.send("4")
    await asyncio.sleep(0)  # the writer task writes "3" and waits for the drain
    assert log == ["1", "2", "3"]
    stream.drained.set()
    for _ in range(4):
        await asyncio.sleep(0)
    assert log == ["1", "2", "3", "4"]
    writer.stop()


async def test_a_close_writes_the_turn_frames_before_the_close_frame() -> None:
    writer, _, _, log, _ = _batched()
    writer.send("error: why")
    writer.spawn_close(4009, "too many invalid frames")
    writer.send("after the close was decided")  # refused: nothing may follow the close
    await writer.release()
    assert log == ["error: why", "close 4009"]


async def test_the_turn_frames_are_dropped_once_aiohttp_closed_the_websocket() -> None:
    writer, transport, _, log, ws = _batched()
    writer.send("1")
    ws.closed = True  # the client's close frame came and aiohttp answered it within this turn
    await asyncio.sleep(0)
    assert log == []
    assert transport.writes == 0
