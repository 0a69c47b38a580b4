"""The send path of one socket: frames written straight to the transport while the client keeps up, a bounded
queue drained by one writer task once it falls behind, the slow-consumer rule, and closing.

A server frame is not masked (RFC 6455, 5.1) and /ws never negotiates permessage-deflate (the handler passes
`compress=False`), so the bytes of a frame do not depend on the socket: an event fanned out to 30 sockets of a
node is UTF-8 encoded and framed once (FrameCache), instead of once per socket by aiohttp's writer.

Only a socket that is behind (bytes piling up in its transport, or frames already queued) uses the queue and its
writer task; once anything is queued, everything after it is queued too, until the writer has emptied the queue,
so a socket's frames keep their order across the two paths.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import deque

from aiohttp import web

from edutrack.realtime.protocol import CloseCode, Limits

log = logging.getLogger(__name__)

_FIN_TEXT = 0x81  # FIN + opcode 1 (text), RSV bits clear: not compressed
_LEN2 = struct.Struct("!BBH")
_LEN3 = struct.Struct("!BBQ")


def text_frame(text: str) -> bytes:
    """One complete, unfragmented text frame carrying `text`."""
    payload = text.encode("utf-8")
    size = len(payload)
    if size < 126:
        return bytes((_FIN_TEXT, size)) + payload
    if size < 65536:
        return _LEN2.pack(_FIN_TEXT, 126, size) + payload
    return _LEN3.pack(_FIN_TEXT, 127, size) + payload


class FrameCache:
    """The fan-out hands the same str object to every local subscriber of an event: remember the last one, so
    each event is framed once per node. Identity, not equality: comparing long strings would cost what it saves.
    One per gateway (per app), like every other resource."""

    def __init__(self) -> None:
        self._last_text: str | None = None
        self._last_frame = b""

    def frame(self, text: str) -> bytes:
        if text is not self._last_text:
            self._last_text, self._last_frame = text, text_frame(text)
        return self._last_frame


class SendStats:
    """Counters of the node's send paths (diagnostics and tests)."""

    __slots__ = ("closed_slow", "frames_direct", "frames_queued")

    def __init__(self) -> None:
        self.closed_slow = 0
        self.frames_queued = 0  # frames that went through a socket's queue (its client was behind)
        self.frames_direct = 0  # frames written straight to a socket's transport (its client kept up)


class SocketWriter:
    """Everything that goes out of one socket. Never blocks its callers: a client that lets the queue fill up is
    cut off (4008); typing and presence are dropped well before that."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None, frames: FrameCache,
                 stats: SendStats, limits: Limits, *, user_id: int) -> None:
        self.ws = ws
        # Prepared before the writer exists, so there is a transport; it is None only once the peer is gone.
        self._transport = transport
        self._frames = frames
        self._stats = stats
        self.limits = limits
        self._user_id = user_id  # for the log
        self.queue: deque[str] = deque()
        self._watermark = limits.write_buffer_watermark
        self._ephemeral_cap = int(limits.send_queue * limits.ephemeral_watermark)
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._close_task: asyncio.Task[None] | None = None
        self.closing = False
        self.close_code: int | None = None
        self.dropped_ephemeral = 0

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="realtime-writer")

    def send(self, text: str, *, ephemeral: bool = False) -> None:
        """Send a frame now, or queue it if the client is behind."""
        if self.closing or self._close_task is not None:
            return  # closed, or its close is on the way: nothing may follow the frames already sent
        queue = self.queue
        if not queue:
            transport = self._transport
            if transport is None or transport.is_closing() or self.ws.closed:
                # The peer is gone, or aiohttp has sent (or is sending) a close frame: nothing may follow it.
                # The reader loop sees the close and tears the socket down.
                return
            if transport.get_write_buffer_size() <= self._watermark:
                # Direct path. One synchronous write of a whole frame: aiohttp writes its own frames (pong,
                # ping, close) the same way, synchronously, so the two never interleave inside a frame.
                transport.write(self._frames.frame(text))
                self._stats.frames_direct += 1
                return
        queued = len(queue)
        if ephemeral and queued >= self._ephemeral_cap:
            self.dropped_ephemeral += 1
            return
        if queued >= self.limits.send_queue:
            self._stats.closed_slow += 1
            log.info("realtime: closing a slow consumer", extra={"user_id": self._user_id, "queued": queued})
            self.spawn_close(CloseCode.SLOW_CONSUMER, "send queue overflow: read faster")
            return
        queue.append(text)
        self._stats.frames_queued += 1
        if not queued:
            self._wake.set()

    async def _write_loop(self) -> None:
        """Drains the queue of a client that fell behind. aiohttp's send_str writes the frame to the transport
        before its first suspension (it then waits for the transport to drain when it is paused), so when the
        queue is empty every queued frame is already in the transport, ahead of any direct write that follows."""
        queue, ws = self.queue, self.ws
        try:
            while True:
                if not queue:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                await ws.send_str(queue.popleft())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the transport went away under us; the reader sees the close
            log.debug("realtime: writer stopped", extra={"error": str(exc)})

    def spawn_close(self, code: int, reason: str) -> None:
        if self._close_task is None:
            self._close_task = asyncio.create_task(self.close(code, reason), name="realtime-close")

    async def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        self.close_code = code
        self.queue.clear()
        self._stop_writer()
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), self.limits.close_timeout)
        except Exception as exc:  # the peer would not take the close frame: drop it hard
            log.debug("realtime: close handshake failed; aborting", extra={"error": repr(exc)})
            if self._transport is not None:
                self._transport.abort()

    def stop(self) -> None:
        """The socket is being torn down: nothing more goes out."""
        self.closing = True
        self._stop_writer()

    def _stop_writer(self) -> None:
        # Cancelled and forgotten: a cancelled task keeps its CancelledError, whose traceback holds the loop's
        # frame and so this writer; a writer that kept the task would be a cycle only a full collection frees.
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()

    async def finished(self) -> None:
        """Wait for a close in progress (at teardown), then let go of it (see _stop_writer)."""
        close_task = self._close_task
        if close_task is not None:
            try:
                await close_task
            except Exception as exc:
                log.debug("realtime: close failed", extra={"error": repr(exc)})
            self._close_task = None
