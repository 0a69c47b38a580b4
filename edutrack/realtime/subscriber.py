"""The hub's Redis connection: subscribe mode only, with replies parsed in bulk by hiredis.

redis-py's PubSub hands out one message per `get_message` call, each through its retry, timeout and parser
layers: about 29 us per event with its pure-Python parser (14 us with hiredis) on the machine of
docs/benchmarks.md, against about 1 us here, where every chunk read from the socket is fed to hiredis and all
the replies in it are handed over at once. At a few thousand events per second per node that was a tenth of a
node's CPU spent on reading alone.

It does only what a subscriber needs: connect (TCP, TLS or a Unix socket, as REDIS_URL says; AUTH; CLIENT
SETNAME), SUBSCRIBE / UNSUBSCRIBE, and a PING after a quiet spell, so a peer that went away without closing the
connection is noticed. It never reconnects by itself: when the connection is gone, `replies()` raises
ConnectionError and the hub starts a new session (re-subscribing and re-reading what its sockets missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any, cast

import hiredis
from redis.asyncio.connection import SSLConnection, parse_url

# Bytes of replies waiting for the hub beyond this pause the socket reads (Redis then buffers for us, up to its
# client-output-buffer-limit for pub/sub, and drops the connection beyond it: the hub reconnects and re-reads what
# its sockets missed), so a burst cannot grow this process's memory without bound.
PAUSE_ABOVE_BYTES = 8 * 1024 * 1024


def command(*args: str | bytes) -> bytes:
    """One command in RESP (an array of bulk strings)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.replies: list[Any] = []
        self.arrived = asyncio.Event()
        self.transport: asyncio.Transport | None = None
        self.lost: BaseException | None = None
        self.paused = False
        self.waiting_bytes = 0  # read since the hub last took the replies

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport, though not always a subclass of asyncio.Transport (uvloop's TCPTransport is not).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        self.waiting_bytes += len(data)
        replies = self.replies
        try:
            while (reply := reader.gets()) is not False:
                replies.append(reply)
        except hiredis.ProtocolError as exc:  # not Redis speaking: drop the connection, the hub reconnects
            self.lost = ConnectionError(f"Redis protocol error: {exc}")
            assert self.transport is not None
            self.transport.abort()
        self.arrived.set()
        if self.waiting_bytes > PAUSE_ABOVE_BYTES and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.lost is None:
            self.lost = ConnectionError(f"Redis connection lost: {exc}" if exc else "Redis closed the connection")
        self.arrived.set()


class SubscriberConnection:
    def __init__(self, protocol: _Protocol, health_interval: float) -> None:
        self._protocol = protocol
        self._health_interval = health_interval

    @classmethod
    async def open(cls, url: str, *, client_name: str, connect_timeout: float = 1.0,
                   health_interval: float = 10.0) -> SubscriberConnection:
        """Connect, authenticate and name the connection; ConnectionError (or TimeoutError) when Redis cannot
        be reached or refuses."""
        options: dict[str, Any] = dict(parse_url(url))
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(connect_timeout):
            if "path" in options:
                _, protocol = await loop.create_unix_connection(_Protocol, options["path"])
            else:
                tls = _tls_context(options) if options.get("connection_class") is SSLConnection else None
                _, protocol = await loop.create_connection(
                    _Protocol, options.get("host", "localhost"), int(options.get("port", 6379)), ssl=tls)
            conn = cls(protocol, health_interval)
            try:
                setup = []
                if options.get("password") is not None:
                    auth = ("AUTH", options["username"], options["password"]) if options.get("username") else (
                        "AUTH", options["password"])
                    setup.append(auth)
                setup.append(("CLIENT", "SETNAME", client_name))
                conn._write(b"".join(command(*args) for args in setup))
                answers: list[Any] = []
                while len(answers) < len(setup):
                    answers.extend(await conn.replies())
                for args, answer in zip(setup, answers, strict=True):
                    if isinstance(answer, hiredis.ReplyError):
                        raise ConnectionError(f"Redis refused {args[0]}: {answer}")
            except BaseException:
                conn.close()
                raise
        return conn

    def subscribe(self, *channels: str) -> None:
        if channels:
            self._write(command("SUBSCRIBE", *channels))

    def unsubscribe(self, *channels: str) -> None:
        if channels:
            self._write(command("UNSUBSCRIBE", *channels))

    def ssubscribe(self, *channels: str) -> None:
        """Sharded subscriptions (Redis Cluster): one SSUBSCRIBE per channel, since one command may name channels
        of one slot only. Replies: [b"ssubscribe", channel, count], then [b"smessage", channel, data]."""
        if channels:
            self._write(b"".join(command("SSUBSCRIBE", channel) for channel in channels))

    def sunsubscribe(self, *channels: str) -> None:
        if channels:
            self._write(b"".join(command("SUNSUBSCRIBE", channel) for channel in channels))

    async def replies(self) -> list[Any]:
        """Every reply that has arrived, at least one; waits for one. In subscribe mode a reply is a list:
        [b"message", channel, data], [b"subscribe", channel, count], [b"unsubscribe", ...], [b"pong", b""]."""
        protocol = self._protocol
        pinged = False
        while not protocol.replies:
            if protocol.lost is not None:
                raise protocol.lost
            protocol.arrived.clear()
            try:
                async with asyncio.timeout(self._health_interval):
                    await protocol.arrived.wait()
            except TimeoutError:
                if protocol.replies:  # arrived while this task waited for the loop (a blocked loop, not Redis)
                    break
                if pinged:
                    self.abort()
                    raise ConnectionError("Redis did not answer a PING") from None
                self._write(command("PING"))
                pinged = True
        replies, protocol.replies = protocol.replies, []
        protocol.waiting_bytes = 0
        if protocol.paused and protocol.transport is not None:
            protocol.paused = False
            protocol.transport.resume_reading()
        return replies

    def close(self) -> None:
        transport = self._protocol.transport
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()

    def abort(self) -> None:
        """Drop the connection without waiting for unsent bytes to drain (the peer is not reading them)."""
        transport = self._protocol.transport
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.abort()

    def _write(self, data: bytes) -> None:
        protocol = self._protocol
        transport = protocol.transport
        if protocol.lost is not None or transport is None or transport.is_closing():
            raise ConnectionError("the Redis subscription connection is closed")
        transport.write(data)


def _tls_context(options: dict[str, Any]) -> ssl.SSLContext:
    """rediss:// with the query options redis-py reads: verify against the system CAs (or ssl_ca_certs /
    ssl_ca_path); ssl_cert_reqs=none turns verification off, ssl_check_hostname=false the host name check;
    ssl_certfile + ssl_keyfile present a client certificate (mutual TLS)."""
    context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"), capath=options.get("ssl_ca_path"))
    if options.get("ssl_certfile"):
        context.load_cert_chain(options["ssl_certfile"], options.get("ssl_keyfile"))
    if str(options.get("ssl_check_hostname", "true")).lower() in ("false", "0", "no"):
        context.check_hostname = False
    if str(options.get("ssl_cert_reqs", "required")).lower() in ("none", "cert_none"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
