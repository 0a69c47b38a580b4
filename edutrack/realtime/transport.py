"""The send path of one socket: frames written straight to the transport while the client keeps up (a socket's
frames of one turn of the loop in one write, WriteBatch), a bounded queue drained by one writer task once it falls
behind, the slow-consumer rule, and closing.

A server frame is not masked (RFC 6455, 5.1) and /ws never negotiates permessage-deflate (the handler passes
`compress=False`), so the bytes of a frame do not depend on the socket: an event fanned out to 30 sockets of a
node is UTF-8 encoded and framed once (FrameCache), instead of once per socket by aiohttp's writer.

Only a socket that is behind (bytes piling up in its transport, or frames already queued) uses the queue and its
writer task; once anything is queued, everything after it is queued too, until the writer has emptied the queue,
so a socket's frames keep their order across the two paths. The queue and the writer task exist only while the
socket is behind: an idle socket (most of a node's thousands) holds neither (docs/benchmarks.md, "Memory per socket
and connect time").
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import socket
import struct
import termios
from collections import deque
from typing import Any

from aiohttp import WSCloseCode, web
from aiohttp.abc import AbstractStreamWriter

from edutrack.realtime.protocol import CloseCode, Limits

log = logging.getLogger(__name__)

_FIN_TEXT = 0x81  # FIN + opcode 1 (text), RSV bits clear: not compressed
_PING = b"\x89\x00"  # FIN + opcode 9 (ping), no payload: a server frame is not masked
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


class WriteBatch:
    """The frames a node's sockets get within one turn of the event loop, written once per socket when the turn is
    over: a burst of events (the hub hands Redis's replies over in bulk; during a connect wave most are presence)
    costs each socket one transport write, not one per frame. One per gateway; a socket's frames keep their order
    (SocketWriter.flush)."""

    __slots__ = ("_armed", "_writers")

    def __init__(self) -> None:
        self._writers: list[SocketWriter] = []
        self._armed = False

    def add(self, writer: SocketWriter) -> None:
        self._writers.append(writer)
        if not self._armed:
            self._armed = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._armed = False
        writers, self._writers = self._writers, []
        for writer in writers:
            try:
                writer.flush()
            except Exception:  # one socket's broken transport must not cost the others their frames
                log.exception("realtime: a batched write failed")


class SocketWriter:
    """Everything that goes out of one socket. Never blocks its callers: a client that falls too far behind is
    cut off (4008) and its connection dropped within the close timeout; typing and presence are dropped well
    before that. Too far behind (either, whichever comes first; docs/websocket.md, "Limits and protection"):
      * `send_queue` frames waiting in its queue: fires first for small frames (chat messages of a few hundred
        bytes: 1,024 of them are well under the byte limit);
      * `max_unsent_bytes` bytes the node has not got to the client: its queue, the transport's buffer and the
        kernel's send buffer: fires first for large frames, and bounds what one socket can hold on the node."""

    __slots__ = ("__weakref__", "_batch", "_close_task", "_frames", "_pending", "_pending_bytes", "_socket",
                 "_stats", "_stream", "_transport", "_user_id", "_watermark", "_writer", "close_code", "close_reason",
                 "closing", "dropped_ephemeral", "limits", "queue", "queued_bytes", "ws")

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None, stream: AbstractStreamWriter,
                 frames: FrameCache, stats: SendStats, limits: Limits, *, user_id: int,
                 batch: WriteBatch | None = None) -> None:
        self.ws = ws
        # Prepared before the writer exists, so there is a transport; it is None only once the peer is gone.
        self._transport = transport
        self._socket = transport.get_extra_info("socket") if transport is not None else None
        self._stream = stream  # what ws.prepare() returned: waits for the transport to drain
        self._frames = frames
        self._stats = stats
        self.limits = limits
        self._user_id = user_id  # for the log
        # Direct frames of this turn of the loop, written together when it ends (WriteBatch); None: written at once.
        self._batch = batch
        self._pending: list[bytes] | None = None
        self._pending_bytes = 0
        # Whole frames, framed once per event (FrameCache). Made when the client falls behind, dropped once the
        # writer has caught up: an empty deque is ~600 bytes, an idle socket needs none.
        self.queue: deque[bytes] | None = None
        self.queued_bytes = 0
        self._watermark = limits.write_buffer_watermark
        # The writer task runs only while frames are queued (started by the first, ended when the queue is empty).
        self._writer: asyncio.Task[None] | None = None
        self._close_task: asyncio.Task[None] | None = None
        self.closing = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.dropped_ephemeral = 0

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
            if transport.get_write_buffer_size() + self._pending_bytes <= self._watermark:
                # Direct path: whole frames, written synchronously (aiohttp writes its own pong, ping and close
                # frames the same way, so the two never interleave inside a frame), at the end of this turn
                # together with the socket's other frames of the turn.
                frame = self._frames.frame(text)
                self._stats.frames_direct += 1
                pending, batch = self._pending, self._batch
                if batch is None:
                    transport.write(frame)
                elif pending is None:
                    self._pending, self._pending_bytes = [frame], len(frame)
                    batch.add(self)
                else:
                    pending.append(frame)
                    self._pending_bytes += len(frame)
                return
            self.flush()  # what this turn gathered goes out before anything that has to wait
        queued = len(queue) if queue is not None else 0
        limits = self.limits
        if ephemeral and queued >= limits.send_queue * limits.ephemeral_watermark:
            self.dropped_ephemeral += 1
            return
        frame = self._frames.frame(text)
        if queued >= limits.send_queue:
            self._cut_off("send queue overflow: read faster", queued=queued)
            return
        unsent = self.queued_bytes + len(frame) + self.unsent_bytes()
        if unsent > limits.max_unsent_bytes:
            self._cut_off("too many unsent bytes: read faster", queued=queued, unsent_bytes=unsent)
            return
        if queue is None:
            queue = self.queue = deque()
        queue.append(frame)
        self.queued_bytes += len(frame)
        self._stats.frames_queued += 1
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(queue), name="realtime-writer")

    def flush(self) -> None:
        """Write this turn's direct frames, in the order they were sent, as one write; dropped if the transport is
        gone or aiohttp has sent (or is sending) a close frame: nothing may follow it."""
        pending = self._pending
        if pending is None:
            return
        self._pending, self._pending_bytes = None, 0
        transport = self._transport
        if self.closing or transport is None or transport.is_closing() or self.ws.closed:
            return
        transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def ping(self) -> bool:
        """A websocket ping (the node's heartbeat, heartbeat.py); False if the socket is closing. Written straight
        to the transport whatever is queued: a control frame may come between two frames, and every write here is
        a whole frame, so it never lands inside one."""
        if self.closing or self._close_task is not None:
            return False
        transport = self._transport
        if transport is None or transport.is_closing() or self.ws.closed:
            return False
        transport.write(_PING)
        return True

    def give_up(self, silence: float) -> None:
        """The client sent nothing (no pong, no frame) for `silence` seconds after a ping: end the connection as
        aiohttp's own per-socket heartbeat did (its close code 1006, the transport closed, the reader woken with
        the error). Unsent bytes then get close_timeout (release)."""
        if self.closing or self._close_task is not None:
            return  # a close is on the way, bounded by close_timeout
        # getattr: a later aiohttp may not have it; then a reset, which the reader sees as the end too.
        fail = getattr(self.ws, "_handle_ping_pong_exception", None)
        if fail is not None:
            fail(TimeoutError(f"No PONG received after {silence:g} seconds"))
        else:
            self.abort()

    def unsent_bytes(self) -> int:
        """What the transport and the kernel hold for this socket and the client has not taken yet."""
        transport = self._transport
        buffered = transport.get_write_buffer_size() if transport is not None else 0
        return self._pending_bytes + buffered + kernel_unsent(self._socket)

    def _cut_off(self, reason: str, **facts: int) -> None:
        self._stats.closed_slow += 1
        log.info("realtime: closing a slow consumer", extra={"user_id": self._user_id, "reason": reason, **facts})
        self.spawn_close(CloseCode.SLOW_CONSUMER, reason)

    async def _write_loop(self, queue: deque[bytes]) -> None:
        """Drains the queue of a client that fell behind: one whole frame at a time, then a wait for the
        transport to drain. Each write is synchronous, so when the queue is empty every queued frame is in the
        transport, ahead of any direct write that follows. Ends with the queue empty (the next frame that has to
        wait starts another) or with the transport closing (the reader sees the close)."""
        transport, stream = self._transport, self._stream
        try:
            while queue:
                if transport is None or transport.is_closing() or self.ws.closed:
                    return
                frame = queue.popleft()
                self.queued_bytes -= len(frame)
                transport.write(frame)
                await stream.drain()
            # Caught up: no suspension between the check above and here, so nothing was queued meanwhile.
            if self.queue is queue:
                self.queue = None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the transport went away under us; the reader sees the close
            log.debug("realtime: writer stopped", extra={"error": str(exc)})
        finally:
            # Forgotten by the writer once done (cancelled ones are forgotten by _stop_writer): see there.
            if self._writer is asyncio.current_task():
                self._writer = None

    def spawn_close(self, code: int, reason: str) -> None:
        if self._close_task is None:
            self._close_task = asyncio.create_task(self.close(code, reason), name="realtime-close")

    async def close(self, code: int, reason: str) -> None:
        """The close handshake, for at most close_timeout; a peer that does not answer in time (or cannot even
        be sent the close frame, behind what it did not read) has its connection reset."""
        if self.closing:
            return
        self.flush()  # the frames sent before the close (an error saying why) go before the close frame
        self.closing = True
        self.close_code, self.close_reason = code, reason
        if self.queue is not None:
            self.queue.clear()
        self.queued_bytes = 0
        self._stop_writer()
        try:
            async with asyncio.timeout(self.limits.close_timeout):
                await self.ws.close(code=code, message=reason.encode())
        except Exception as exc:
            log.debug("realtime: close handshake failed", extra={"error": repr(exc)})
        finally:
            # aiohttp records 1006 when the peer's close frame did not come (its own timeout, or ours).
            if self.ws.close_code in (None, WSCloseCode.ABNORMAL_CLOSURE):
                self.abort()

    def abort(self) -> None:
        """Drop the connection now, with what it has not sent, the kernel's share included: a reset, not a FIN
        queued behind megabytes that a client which does not read would keep on the node for as long as it likes."""
        transport = self._transport
        if transport is None:
            return
        if self._socket is not None and self._socket.fileno() >= 0:
            with contextlib.suppress(OSError):
                self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
        transport.abort()

    def stop(self) -> None:
        """The socket is being torn down: nothing more goes out after what was already sent."""
        self.flush()
        self.closing = True
        self._stop_writer()

    def _stop_writer(self) -> None:
        # Cancelled and forgotten: a cancelled task keeps its CancelledError, whose traceback holds the loop's
        # frame and so this writer; a writer that kept the task would be a cycle only a full collection frees.
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()

    async def release(self) -> None:
        """At teardown: whatever the peer does, the connection is gone within close_timeout. A close in progress
        is bounded by it (see close); bytes still unsent after any other end (the heartbeat gave up on the peer,
        a failed handshake) get that long to reach a client that reads, then the connection is reset."""
        close_task = self._close_task
        if close_task is not None:
            try:
                await close_task
            except Exception as exc:
                log.debug("realtime: close failed", extra={"error": repr(exc)})
            self._close_task = None  # see _stop_writer
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.close_timeout
        # Polled: the kernel's send buffer emptying is no event one can wait on.
        while self.unsent_bytes() and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if self.unsent_bytes():
            self.abort()


_RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() discards unsent data and sends RST
_OUTQ = getattr(termios, "TIOCOUTQ", None)  # on a Linux socket: bytes not yet sent or not yet acknowledged


def kernel_unsent(sock: Any) -> int:
    """Bytes of this socket's kernel send buffer the peer has not acknowledged (0 where that cannot be read)."""
    if _OUTQ is None or sock is None:
        return 0
    fd = sock.fileno()
    if fd < 0:
        return 0
    try:
        return int(struct.unpack("i", fcntl.ioctl(fd, _OUTQ, b"\0\0\0\0"))[0])
    except OSError:
        return 0
