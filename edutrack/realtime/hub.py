"""Per-process fan-out: ONE Redis pub/sub connection per process, channels subscribed while local sockets
need them, every published event parsed once and handed to each local subscriber. Besides those, every hub
subscribes the `_nodes` channel (events for the nodes themselves, such as access cut-offs) and a channel of its own.

Redis is only the fast path. When the subscription connection drops (Redis restart, network), the hub
reconnects with backoff, re-subscribes every channel, waits for the confirmations and then tells every local
subscriber to re-read what it may have missed from PostgreSQL. Nothing published while it was away is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from edutrack.events import NODES_CHANNEL, redis_channel
from edutrack.realtime.subscriber import SubscriberConnection

log = logging.getLogger(__name__)

SUBSCRIBE_CONFIRM_TIMEOUT = 2.0
HEALTH_CHECK_INTERVAL = 10.0  # seconds of silence before a PING; as long again without an answer ends the session
YIELD_EVERY = 32  # events dispatched between two yields to the event loop
IDLE_UNSUBSCRIBE_AFTER = 30.0


class Subscriber(Protocol):
    def on_event(self, channel: str, event: dict[str, Any], text: str) -> None: ...

    def on_redis_recovered(self, channels: set[str]) -> None: ...


class Hub:
    def __init__(self, redis_url: str, namespace: str, *,
                 on_node_event: Callable[[dict[str, Any]], None] | None = None,
                 on_recovered: Callable[[], None] | None = None) -> None:
        """`on_node_event`: events for the node itself (the `_nodes` channel, subscribed whatever the sockets
        need); `on_recovered`: the subscription came back after a drop, so such events may have been missed."""
        # Its own connection (subscriber.py), not one of the command pool's: it blocks in reads, is read in bulk,
        # and never reconnects behind our back, so a drop is always noticed here.
        self._redis_url = redis_url
        self._client_name = f"edutrack-hub:{namespace}"
        self._namespace = namespace
        self._prefix = redis_channel(namespace, "")
        # A channel of this process only: the subscription exists even with no sockets, so a Redis drop is
        # noticed (and counted) while idle too.
        self._control = redis_channel(namespace, f"_node:{uuid.uuid4().hex}")
        self._nodes = redis_channel(namespace, NODES_CHANNEL)
        self._on_node_event = on_node_event
        self._on_recovered = on_recovered
        self._subs: dict[str, set[Subscriber]] = {}
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._conn: SubscriberConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0  # how many times the subscription was re-established after a drop
        self.delivered = 0

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="realtime-hub")
        self._sweeper = asyncio.create_task(self._sweep(), name="realtime-hub-sweep")
        # Do not block start-up on Redis: REST and persistence work without it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), 2.0)

    async def stop(self) -> None:
        for task in (self._task, self._sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._close_conn()

    # --- subscriptions ---------------------------------------------------------------------------------

    def channels(self) -> set[str]:
        return {channel for channel, members in self._subs.items() if members}

    def subscribers(self, channel: str) -> set[Subscriber]:
        return self._subs.get(channel, set())

    async def attach(self, channel: str, who: Subscriber) -> bool:
        """Add a local subscriber. Returns once Redis confirmed the subscription (True), or at once / after
        a short timeout when Redis is unavailable (False): then the recovery after reconnect covers it."""
        members = self._subs.get(channel)
        if members is not None:
            members.add(who)
            pending = self._waiting.get(channel)
            if pending is not None:
                # Another socket is subscribing this channel right now: its confirmation is ours too.
                try:
                    await asyncio.wait_for(asyncio.shield(pending), SUBSCRIBE_CONFIRM_TIMEOUT)
                except (ConnectionError, TimeoutError):
                    return False
            return self.connected.is_set()
        self._subs[channel] = {who}
        conn = self._conn
        if conn is None:
            return False  # the next session subscribes every channel in _subs
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[channel] = waiter
        try:
            conn.subscribe(self._prefix + channel)
            await asyncio.wait_for(asyncio.shield(waiter), SUBSCRIBE_CONFIRM_TIMEOUT)
            return True
        except (OSError, TimeoutError) as exc:
            log.warning("realtime: subscribe not confirmed; will recover after reconnect",
                        extra={"channel": channel, "error": str(exc)})
            return False
        finally:
            if self._waiting.get(channel) is waiter:
                del self._waiting[channel]

    async def detach(self, channel: str, who: Subscriber) -> None:
        # The Redis subscription stays until the sweeper finds the channel idle: a reconnecting client
        # (or a reconnect storm) re-attaches without a round trip, and no unsubscribe can race a subscribe.
        members = self._subs.get(channel)
        if members is not None:
            members.discard(who)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(IDLE_UNSUBSCRIBE_AFTER)
            # Not one an attach is still waiting on: its confirmation must answer that attach, not a later one.
            idle = [channel for channel, members in self._subs.items() if not members and channel not in self._waiting]
            conn = self._conn
            if not idle or conn is None or not self.connected.is_set():
                continue
            for channel in idle:
                del self._subs[channel]
            # Written at once, with no suspension since the channels left _subs: an attach that follows writes its
            # SUBSCRIBE after this UNSUBSCRIBE, and Redis applies them in that order.
            try:
                conn.unsubscribe(*(self._prefix + c for c in idle))
            except OSError as exc:  # the session is ending; the next one subscribes only what _subs holds
                log.debug("realtime: unsubscribe failed", extra={"error": str(exc)})

    # --- the one reader --------------------------------------------------------------------------------

    async def _run(self) -> None:
        delay = 0.05
        first = True
        quiet_until = 0.0  # while Redis stays away, say so once every 30 s, not on every retry
        while True:
            try:
                await self._session(first)
            except OSError as exc:  # ConnectionError, TimeoutError, refused AUTH: all end the session
                now = time.monotonic()
                if self.connected.is_set() or now >= quiet_until:
                    quiet_until = now + 30.0
                    log.warning("realtime: no Redis subscription; retrying", extra={"error": str(exc)})
            except Exception:  # a bug must not end live delivery for good: log it, start a new session
                log.exception("realtime: the Redis subscription failed unexpectedly; reconnecting")
            # Back off quickly at first (a restart takes a moment), never beyond a second.
            delay = 0.05 if self.connected.is_set() else min(delay * 2, 1.0)
            self.connected.clear()
            for waiter in self._waiting.values():
                if not waiter.done():
                    waiter.set_exception(ConnectionError("Redis subscription lost"))
            self._close_conn()
            first = False
            await asyncio.sleep(delay)

    async def _session(self, first: bool) -> None:
        conn = await SubscriberConnection.open(self._redis_url, client_name=self._client_name,
                                               connect_timeout=1.0, health_interval=HEALTH_CHECK_INTERVAL)
        self._conn = conn
        awaiting = {self._control, self._nodes, *(self._prefix + c for c in self._subs)}
        conn.subscribe(*awaiting)
        recovered = False
        dispatch = self._dispatch
        while True:
            handled = 0
            for reply in await conn.replies():
                if type(reply) is not list or len(reply) < 3:
                    if isinstance(reply, Exception):  # an error reply, e.g. an ACL refusing SUBSCRIBE
                        raise ConnectionError(f"Redis refused a subscription: {reply}")
                    continue  # a PING's [b"pong", b""]
                kind = reply[0]
                if kind == b"message":
                    dispatch(reply[1].decode(), reply[2])
                    handled += 1
                    if not handled % YIELD_EVERY:
                        # A burst arrives as one read: yield now and then, so the sockets' writers and the
                        # other tasks run between its events.
                        await asyncio.sleep(0)
                elif kind == b"subscribe":
                    name = reply[1].decode()
                    awaiting.discard(name)
                    waiter = self._waiting.get(name[len(self._prefix):])
                    if waiter is not None and not waiter.done():
                        waiter.set_result(None)
                    if not awaiting and not recovered:
                        recovered = True
                        self.connected.set()
                        if not first:
                            self.reconnects += 1
                            log.warning("realtime: Redis subscription restored; re-reading gaps",
                                        extra={"channels": len(self._subs)})
                            self._recover()
            await asyncio.sleep(0)

    def _recover(self) -> None:
        if self._on_recovered is not None:
            self._on_recovered()
        by_subscriber: dict[Subscriber, set[str]] = {}
        for channel, members in self._subs.items():
            for member in members:
                by_subscriber.setdefault(member, set()).add(channel)
        for member, channels in by_subscriber.items():
            member.on_redis_recovered(channels)

    def _dispatch(self, redis_name: str, data: bytes | str) -> None:
        channel = redis_name[len(self._prefix):]
        members = self._subs.get(channel)
        if not members:
            if redis_name == self._nodes and self._on_node_event is not None:
                event = _parse(channel, data)
                if event is not None:
                    try:
                        self._on_node_event(event)
                    except Exception:
                        log.exception("realtime: a node event failed", extra={"event_type": event.get("type")})
            return
        try:
            text = data.decode() if isinstance(data, bytes) else data
        except UnicodeDecodeError:
            log.warning("realtime: dropped an event that is not UTF-8", extra={"channel": channel})
            return
        event = _parse(channel, text)
        if event is None:
            return
        # Parsed once, serialized once: every local socket gets the same text.
        for member in list(members):
            try:
                member.on_event(channel, event, text)
            except Exception:  # one socket's failure must not cost the others this event, or the hub its loop
                log.exception("realtime: delivering an event failed", extra={"channel": channel})
        self.delivered += len(members)

    def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _parse(channel: str, data: bytes | str) -> dict[str, Any] | None:
    try:
        event = json.loads(data)
    except ValueError:
        log.warning("realtime: dropped an event that is not JSON", extra={"channel": channel})
        return None
    return event if isinstance(event, dict) else None
