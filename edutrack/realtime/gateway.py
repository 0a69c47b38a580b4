"""GET /ws: one socket per client, in the shape of Home Assistant's websocket_api: one reader loop per socket
that handles frames in order, one bounded send queue drained by one writer task, everything torn down in
`finally`.

Outgoing frames take the direct path while the client keeps up: the frame's bytes (built once per event for
the whole node, see frames.py) are written to the transport by whoever produced the frame, with no task
switch. Only a socket that is behind (bytes piling up in its transport, or frames already queued) uses the
bounded queue and its writer task; once anything is queued, everything after it is queued too, until the
writer has emptied the queue, so a socket's frames keep their order across the two paths.

Delivery rules per subscribed channel (see docs/websocket.md, "Resume"):
  * chat ids are contiguous per channel, so the socket keeps a cursor and accepts only cursor + 1; a hole means
    an event is still in flight or was lost, and the gap is read from PostgreSQL (never skipped);
  * while a gap read runs, live events of that channel wait in a pending list and are replayed after it,
    de-duplicated by id, so the client sees every message once, in order;
  * feed notifications have global ids: de-duplicated by id, delivered in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from typing import Any

from aiohttp import WSMsgType, web

from edutrack import errors, events
from edutrack.context import AppContext
from edutrack.events import redis_channel
from edutrack.realtime.frames import FrameCache
from edutrack.realtime.hub import Hub
from edutrack.realtime.presence import Presence
from edutrack.realtime.protocol import (
    SUBPROTOCOL,
    CloseCode,
    ErrorCode,
    Frame,
    Limits,
    ProtocolError,
    TokenBucket,
    dumps,
    error_frame,
    parse_frame,
    token_from_subprotocols,
)
from edutrack.security.tokens import Principal
from edutrack.services import chat, token_cutoffs
from edutrack.services.chat_batch import ChatSendBatcher

log = logging.getLogger(__name__)

EPHEMERAL = frozenset({"typing", "presence"})
SEEN_WINDOW = 1024
MEMBERS_TTL = 5.0  # seconds a class's member list is reused for joins (a membership change drops it at once)


class Gateway:
    """Every socket of this process, the hub and presence. One per app."""

    def __init__(self, ctx: AppContext, limits: Limits | None = None) -> None:
        self.ctx = ctx
        self.limits = limits or Limits()
        self._cutoffs_due = asyncio.Event()  # read the cut-offs now (Redis came back), not at the next poll
        self.hub = Hub(ctx.settings.redis_url, ctx.settings.namespace, on_node_event=self._on_node_event,
                       on_recovered=self._cutoffs_due.set)
        self.presence = Presence(ctx.redis, ctx.settings.namespace)
        # Sends of every socket of this node share transactions (group commit): see services/chat_batch.py.
        self.sends = ChatSendBatcher(ctx)
        self.frames = FrameCache()  # an event's websocket frame, built once for all its local sockets
        self.connections: set[Connection] = set()
        self._by_user: dict[int, set[Connection]] = {}
        # Gap reads after a reconnect storm or a Redis outage must not starve REST of database connections.
        self.db_slots = asyncio.Semaphore(max(2, ctx.settings.db_pool_size // 2))
        # The shared Redis client's pool refuses (does not queue) beyond 100 connections: keep presence and
        # typing well below that during a reconnect storm, so chat publishes always find a connection.
        self.redis_slots = asyncio.Semaphore(32)
        self.closed_slow = 0
        self.frames_queued = 0  # frames that went through a socket's queue (its client was behind)
        self.frames_direct = 0  # frames written straight to a socket's transport (its client kept up)
        self.shutting_down = False
        self._members: dict[str, tuple[float, set[int]]] = {}
        self._members_loading: dict[str, tuple[int, asyncio.Task[set[int]]]] = {}  # with the version it read at
        # Bumped by every membership change of a channel: a member list read before the change is not cached.
        self._members_version: dict[str, int] = {}
        self._rechecks: dict[str, asyncio.Task[None]] = {}
        self._recheck_again: set[str] = set()
        self._cutoff_watch: asyncio.Task[None] | None = None
        self.cutoffs_read = asyncio.Event()  # the first read succeeded

    async def join(self, who: Principal, channel: chat.Channel) -> set[int]:
        """Authorize a subscription; the members of a class chat are cached for a few seconds, because a
        reconnect storm asks the same question for every member of every class at once."""
        if channel.kind != "class" or who.is_superuser:
            async with self.db_slots:
                return await chat.join(self.ctx, who, channel)
        cached = self._members.get(channel.name)
        if cached is not None and cached[0] > time.monotonic():
            return _require_member(who, channel, cached[1])
        version = self._members_version.get(channel.name, 0)
        in_flight = self._members_loading.get(channel.name)
        # A read that started before a membership change may predate it: never share it past the change.
        loading = in_flight[1] if in_flight is not None and in_flight[0] == version else None
        if loading is None:
            # The members of a class reconnect together: one query answers all of them, instead of each sending
            # it before the first answer is cached. A task of its own, so a caller that goes away cannot cancel
            # the answer under the others.
            loading = asyncio.create_task(self._load_members(channel), name="realtime-members")
            loading.add_done_callback(functools.partial(self._members_loaded, channel.name))
            self._members_loading[channel.name] = (version, loading)
        return _require_member(who, channel, await asyncio.shield(loading))

    def _members_loaded(self, name: str, task: asyncio.Task[set[int]]) -> None:
        in_flight = self._members_loading.get(name)
        if in_flight is not None and in_flight[1] is task:
            del self._members_loading[name]
        _consume_error(task)

    async def _load_members(self, channel: chat.Channel) -> set[int]:
        version = self._members_version.get(channel.name, 0)
        async with self.db_slots:
            members = await chat.member_ids(self.ctx, channel)
        if len(self._members) > 10_000:
            self._members.clear()
        if self._members_version.get(channel.name, 0) == version:
            self._members[channel.name] = (time.monotonic() + MEMBERS_TTL, members)
        return members

    def channel_idle(self, name: str) -> None:
        """No local socket on the channel any more: its events stop reaching this node, so a cached member list
        could miss a change."""
        if not self.hub.subscribers(name):
            self._members_version[name] = self._members_version.get(name, 0) + 1
            self._members.pop(name, None)

    def membership_changed(self, name: str) -> None:
        """A `membership.changed` event for a class chat: re-read its members and unsubscribe the sockets of
        people who left, at once (not at their next reconnect). One re-read at a time per channel; a change
        that arrives during one gets another."""
        self._members_version[name] = self._members_version.get(name, 0) + 1
        self._members.pop(name, None)
        if name in self._rechecks:
            self._recheck_again.add(name)
            return
        task = asyncio.create_task(self._recheck(name), name="realtime-membership")
        self._rechecks[name] = task
        task.add_done_callback(functools.partial(self._recheck_done, name))

    def _recheck_done(self, name: str, task: asyncio.Task[None]) -> None:
        self._rechecks.pop(name, None)
        _consume_error(task)
        if name in self._recheck_again and not self.shutting_down:
            self._recheck_again.discard(name)
            self.membership_changed(name)

    async def _recheck(self, name: str) -> None:
        try:
            channel = chat.parse_channel(name)
            members = await self._load_members(channel)
        except Exception:  # a failed re-read must not kill the node; the next change retries
            log.warning("membership re-read failed", extra={"channel": name}, exc_info=True)
            return
        for conn in list(self.hub.subscribers(name)):
            if isinstance(conn, Connection) and not conn.principal.is_superuser and conn.user_id not in members:
                await conn.revoke(name)

    def add(self, conn: Connection) -> None:
        self.connections.add(conn)
        self._by_user.setdefault(conn.user_id, set()).add(conn)

    def discard(self, conn: Connection) -> None:
        self.connections.discard(conn)
        mine = self._by_user.get(conn.user_id)
        if mine is not None:
            mine.discard(conn)
            if not mine:
                del self._by_user[conn.user_id]

    def sockets_of(self, user_id: int) -> list[Connection]:
        return list(self._by_user.get(user_id, ()))

    # --- node events -----------------------------------------------------------------------------------

    def _on_node_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != events.ACCESS_REVOKED:
            return
        user_id, before = event.get("user_id"), event.get("before")
        if not isinstance(user_id, int) or not isinstance(before, int | float):
            return
        try:
            self.ctx.tokens.revoke_before(user_id, float(before))
        except (ValueError, OverflowError):
            return
        self._close_cut_sockets(user_id, relogin=bool(event.get("relogin")))

    def _close_cut_sockets(self, user_id: int, *, relogin: bool) -> None:
        """Close the user's sockets whose token is cut off; one opened (or re-authenticated) later stays."""
        for conn in self.sockets_of(user_id):
            if self.ctx.tokens.is_cut_off(conn.principal):
                conn.access_revoked(relogin)

    async def _watch_cutoffs(self) -> None:
        """Read the access cut-offs from PostgreSQL at start-up, every ACCESS_CUTOFF_POLL seconds, and at once after
        a Redis outage: the broadcast is the fast path, this catches one that was lost (services/token_cutoffs.py)."""
        while True:
            self._cutoffs_due.clear()
            try:
                users = await token_cutoffs.load(self.ctx)
            except Exception as exc:
                log.warning("could not read access cut-offs; retrying", extra={"error": repr(exc)})
            else:
                self.cutoffs_read.set()
                for user_id in users:
                    # The column does not say whether a login is needed: 4002, and the refresh decides.
                    self._close_cut_sockets(user_id, relogin=False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._cutoffs_due.wait(), self.ctx.settings.access_cutoff_poll)

    async def start(self) -> None:
        await self.hub.start()
        await self.presence.start()
        # After the hub: a cut-off committed from here on arrives as a broadcast; one committed before is read.
        self._cutoff_watch = asyncio.create_task(self._watch_cutoffs(), name="realtime-access-cutoffs")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.cutoffs_read.wait(), 5.0)

    async def shutdown(self) -> None:
        """SIGTERM: every socket gets 1001 (going away) so clients reconnect to another node."""
        self.shutting_down = True
        conns = list(self.connections)
        if conns:
            await asyncio.gather(*(c.close(CloseCode.GOING_AWAY, "server shutting down") for c in conns),
                                 return_exceptions=True)

    async def stop(self) -> None:
        for task in [*self._rechecks.values(), self._cutoff_watch]:
            if task is not None:
                task.cancel()
        await self.sends.close()
        await self.presence.stop()
        await self.hub.stop()


GATEWAY = web.AppKey("realtime_gateway", Gateway)


class Subscription:
    __slots__ = ("channel", "cursor", "dirty", "floor", "gap_timer", "held", "last_typing", "pending", "running",
                 "seen", "seen_order", "syncing")

    def __init__(self, channel: chat.Channel) -> None:
        self.channel = channel
        self.cursor = 0  # last id delivered (chat: contiguous; feed: highest)
        self.floor = 0  # feed: ids at or below were covered by the resume read
        self.syncing = True  # a gap read is due or running: live events wait in `pending`
        self.running = False
        self.dirty = False  # another gap read is needed after the running one
        self.pending: list[tuple[dict[str, Any], str | None]] = []
        # Chat messages that arrived ahead of a hole, waiting a moment for the missing one: two nodes publish
        # consecutive messages of a channel in either order, so most holes close by themselves within ms.
        self.held: dict[int, tuple[dict[str, Any], str | None]] = {}
        self.gap_timer: asyncio.TimerHandle | None = None
        self.seen: set[int] = set()
        self.seen_order: deque[int] = deque()
        self.last_typing = 0.0


def _require_member(who: Principal, channel: chat.Channel, members: set[int]) -> set[int]:
    if who.user_id not in members:
        raise errors.Forbidden("You are not a member of this channel", code="not_a_member",
                               details={"channel": channel.name})
    return members


def _consume_error(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _event_id(item: tuple[dict[str, Any], str | None]) -> int:
    value = item[0].get("id")
    return value if isinstance(value, int) else 0


class Connection:
    def __init__(self, gateway: Gateway, request: web.Request, ws: web.WebSocketResponse, who: Principal) -> None:
        self.gateway = gateway
        self.ctx = gateway.ctx
        self.limits = gateway.limits
        self.request = request
        self.ws = ws
        self.principal = who
        self.subs: dict[str, Subscription] = {}
        self.queue: deque[str] = deque()
        # Prepared before the Connection exists, so there is a transport; it is None only once the peer is gone.
        self._transport: asyncio.Transport | None = request.transport
        self._watermark = self.limits.write_buffer_watermark
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._close_task: asyncio.Task[None] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self.closing = False
        self.close_code: int | None = None
        self.sender_name: str | None = None  # filled by the first send
        self.dropped_ephemeral = 0
        self._frames = TokenBucket(self.limits.frames_per_second, self.limits.frames_burst)
        self._sends = TokenBucket(self.limits.sends_per_second, self.limits.sends_burst)
        self._errors = TokenBucket(self.limits.errors_per_second, self.limits.errors_burst)
        self._ephemeral_cap = int(self.limits.send_queue * self.limits.ephemeral_watermark)

    @property
    def user_id(self) -> int:
        return self.principal.user_id

    # --- outgoing ------------------------------------------------------------------------------------

    def send(self, text: str, *, ephemeral: bool = False) -> None:
        """Send a frame now, or queue it if the client is behind. Never blocks: a client that lets the queue
        fill up is cut off (4008); typing and presence are dropped well before that."""
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
                transport.write(self.gateway.frames.frame(text))
                self.gateway.frames_direct += 1
                return
        queued = len(queue)
        if ephemeral and queued >= self._ephemeral_cap:
            self.dropped_ephemeral += 1
            return
        if queued >= self.limits.send_queue:
            self.gateway.closed_slow += 1
            log.info("realtime: closing a slow consumer", extra={"user_id": self.user_id, "queued": queued})
            self.spawn_close(CloseCode.SLOW_CONSUMER, "send queue overflow: read faster")
            return
        queue.append(text)
        self.gateway.frames_queued += 1
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

    def error(self, code: str, message: str, *, req: str | int | None = None, details: Any = None,
              counts: bool = True, **extra: Any) -> None:
        self.send(error_frame(code, message, req=req, details=details, **extra))
        if counts and not self._errors.allow():
            self.spawn_close(CloseCode.POLICY_VIOLATION, "too many invalid frames")

    # --- closing -------------------------------------------------------------------------------------

    def spawn_close(self, code: int, reason: str) -> None:
        if self._close_task is None:
            self._close_task = asyncio.create_task(self.close(code, reason), name="realtime-close")

    async def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        self.close_code = code
        self.queue.clear()
        if self._writer is not None:
            self._writer.cancel()
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), self.limits.close_timeout)
        except Exception as exc:  # the peer would not take the close frame: drop it hard
            log.debug("realtime: close handshake failed; aborting", extra={"error": repr(exc)})
            transport = self.request.transport
            if transport is not None:
                transport.abort()

    # --- hub callbacks ---------------------------------------------------------------------------------

    def on_event(self, channel: str, event: dict[str, Any], text: str | None) -> None:
        sub = self.subs.get(channel)
        if sub is None or self.closing:
            return
        kind = event.get("type")
        if kind == events.MEMBERSHIP_CHANGED:
            # For the node, not the client; every local socket on the channel gets it, the gateway acts once.
            self.gateway.membership_changed(channel)
            return
        if kind in EPHEMERAL:
            if sub.syncing or event.get("user_id") == self.user_id:
                return
            self.send(text or dumps(event), ephemeral=True)
            return
        if sub.syncing:
            if len(sub.pending) > self.limits.replay_limit:
                # The gap read that follows covers them; do not hold an unbounded list.
                sub.pending.clear()
                sub.dirty = True
            sub.pending.append((event, text))
            return
        if kind == "chat.message":
            message_id = event.get("id")
            if not isinstance(message_id, int) or message_id <= sub.cursor:
                return
            if message_id > sub.cursor + 1:
                # A hole: an earlier message is still on its way, or was lost. Hold this one briefly; if the
                # hole does not close by itself, read it from the database.
                sub.held[message_id] = (event, text)
                if len(sub.held) > self.limits.replay_limit:
                    self.request_sync(sub)
                elif sub.gap_timer is None:
                    sub.gap_timer = asyncio.get_running_loop().call_later(
                        self.limits.gap_grace, self._gap_timeout, sub)
                return
            self._deliver(sub, event, text)
            while sub.cursor + 1 in sub.held:
                self._deliver(sub, *sub.held.pop(sub.cursor + 1))
            if not sub.held and sub.gap_timer is not None:
                sub.gap_timer.cancel()
                sub.gap_timer = None
            return
        self._deliver(sub, event, text)

    def _gap_timeout(self, sub: Subscription) -> None:
        sub.gap_timer = None
        if sub.held and self.subs.get(sub.channel.name) is sub and not self.closing:
            self.request_sync(sub)

    def on_redis_recovered(self, channels: set[str]) -> None:
        for name in channels:
            sub = self.subs.get(name)
            if sub is not None:
                self.request_sync(sub)
                if sub.channel.kind == "class":
                    # A membership change published during the outage was lost with it.
                    self.gateway.membership_changed(name)

    def _deliver(self, sub: Subscription, event: dict[str, Any], text: str | None) -> None:
        kind = event.get("type")
        if kind == "chat.message":
            message_id = event["id"]
            if message_id <= sub.cursor:
                return
            sub.cursor = message_id
        elif kind == "notification":
            note_id = event.get("id")
            if not isinstance(note_id, int) or note_id <= sub.floor or note_id in sub.seen:
                return
            sub.seen.add(note_id)
            sub.seen_order.append(note_id)
            if len(sub.seen_order) > SEEN_WINDOW:
                oldest = sub.seen_order.popleft()
                sub.seen.discard(oldest)
                sub.floor = max(sub.floor, oldest)
            sub.cursor = max(sub.cursor, note_id)
        self.send(text or dumps(event))

    # --- gap reads -------------------------------------------------------------------------------------

    def request_sync(self, sub: Subscription) -> None:
        sub.syncing = True
        if sub.held:
            sub.pending.extend(sub.held.values())
            sub.held.clear()
        if sub.gap_timer is not None:
            sub.gap_timer.cancel()
            sub.gap_timer = None
        if sub.running:
            sub.dirty = True
            return
        sub.running = True
        task = asyncio.create_task(self._sync(sub), name="realtime-sync")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sync(self, sub: Subscription, first: list[dict[str, Any]] | None = None) -> None:
        """Read what the channel has after the cursor, deliver it, then release the pending live events.
        The caller has set sub.running. `first`: the first read, already done by the caller."""
        name = sub.channel.name
        try:
            if first is not None:
                await self._apply_gap(sub, first)
            else:
                sub.dirty = True
            while sub.dirty:
                sub.dirty = False
                await self._read_gap(sub)
        except Exception as exc:
            log.warning("realtime: gap read failed; asking the client to resync", extra={"error": repr(exc)})
            self.send(dumps({"type": "resync", "channel": name, "from": sub.cursor, "to": None,
                             "reason": "unavailable"}))
        finally:
            sub.running = False
            sub.syncing = False
        if self.subs.get(name) is not sub or self.closing:
            return
        pending, sub.pending = sub.pending, []
        pending.sort(key=_event_id)
        for event, text in pending:
            self.on_event(name, event, text)

    async def _read_gap(self, sub: Subscription) -> None:
        name = sub.channel.name
        async with self.gateway.db_slots:
            missed = (await chat.missed_events(self.ctx, {name: sub.cursor}, self.limits.replay_limit)).get(name, [])
        await self._apply_gap(sub, missed)

    async def _apply_gap(self, sub: Subscription, missed: list[dict[str, Any]]) -> None:
        name = sub.channel.name
        if len(missed) > self.limits.replay_limit:
            # Too much to replay over the socket: the client pages (from, to] over REST.
            async with self.gateway.db_slots:
                head = (await chat.head_ids(self.ctx, [sub.channel]))[name]
            self.send(dumps({"type": "resync", "channel": name, "from": sub.cursor, "to": head,
                             "reason": "gap_too_large"}))
            sub.cursor = head
            sub.floor = max(sub.floor, head)
            return
        for event in missed:
            self._deliver(sub, event, None)

    # --- incoming --------------------------------------------------------------------------------------

    async def run(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="realtime-writer")
        self._schedule_expiry()
        async with self.gateway.redis_slots:
            first = await self.gateway.presence.connected(self.user_id)
        self.send(dumps({
            "type": "ready",
            "user_id": self.user_id,
            "role": self.principal.role,
            "expires_at": self.principal.expires_at,
            "first_device": first,
            "limits": {"max_frame_bytes": self.limits.max_frame_bytes, "send_queue": self.limits.send_queue,
                       "sends_per_second": self.limits.sends_per_second,
                       "replay_limit": self.limits.replay_limit},
        }))
        while not self.closing:
            msg = await self.ws.receive()
            if msg.type == WSMsgType.TEXT:
                await self._on_text(msg.data)
            elif msg.type == WSMsgType.BINARY:
                self.error(ErrorCode.INVALID_FRAME, "Send JSON text frames, not binary")
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                break

    async def _on_text(self, raw: str) -> None:
        if len(raw) > self.limits.max_frame_bytes or (
            len(raw) * 4 > self.limits.max_frame_bytes and len(raw.encode()) > self.limits.max_frame_bytes
        ):
            self.error(ErrorCode.FRAME_TOO_LARGE, f"Frames are limited to {self.limits.max_frame_bytes} bytes",
                       details={"max_frame_bytes": self.limits.max_frame_bytes})
            return
        if not self._frames.allow():
            self.error(ErrorCode.RATE_LIMITED, "Too many frames; slow down")
            return
        if self.ctx.tokens.is_cut_off(self.principal):
            # A cut-off whose broadcast has not closed this socket (yet): its old token acts no more.
            self.access_revoked(relogin=False)
            return
        req: str | int | None = None
        try:
            frame = parse_frame(raw)
            req = frame.req
            await self._handle(frame)
        except ProtocolError as exc:
            self.error(exc.code, exc.message, req=req, details=exc.details)
        except errors.ApiError as exc:
            self.error(exc.code, exc.message, req=req, details=exc.details)
        except Exception:
            log.exception("realtime: frame handling failed", extra={"user_id": self.user_id})
            self.error(ErrorCode.INTERNAL, "Something went wrong on our side", req=req, counts=False)

    async def _handle(self, frame: Frame) -> None:
        data, req = frame.data, frame.req
        if frame.type == "ping":
            self.send(dumps({"type": "pong", "req": req, "ts": time.time()}))
        elif frame.type == "chat.send":
            if not self._sends.allow():
                self.error(ErrorCode.RATE_LIMITED, "Too many messages; wait a moment", req=req,
                           client_msg_id=data["client_msg_id"])
                return
            sub = self.subs.get(data["channel"])
            # A subscribed chat was authorized at subscribe time (the same staleness as live delivery).
            known = sub is not None and sub.channel.is_chat
            result = await self.gateway.sends.send(self.principal, data["channel"], data["text"],
                                                   data["client_msg_id"], known_member=known,
                                                   sender=self.sender_name)
            message = result.message
            self.sender_name = message["sender"]
            self.send(dumps({"type": "ack", "req": req, "channel": message["channel"], "id": message["id"],
                             "client_msg_id": message["client_msg_id"], "duplicate": result.duplicate,
                             "created_at": message["created_at"]}))
        elif frame.type == "subscribe":
            await self._subscribe(data["channel"], data["since"], req)
        elif frame.type == "unsubscribe":
            await self._unsubscribe(data["channel"], req)
        elif frame.type == "typing":
            await self._typing(data["channel"], req)
        elif frame.type == "read":
            channel = data["channel"] or f"user:{self.user_id}"
            marker = await chat.mark_read(self.ctx, self.principal, channel, data["up_to"])
            self.send(dumps({"type": "read.ok", "req": req, **marker}))
        elif frame.type == "auth":
            self._refresh_token(data["token"], req)

    async def _subscribe(self, name: str, since: int | None, req: str | int | None) -> None:
        channel = chat.parse_channel(name)
        if name in self.subs:
            raise ProtocolError(ErrorCode.ALREADY_SUBSCRIBED, f"Already subscribed to {name}")
        if len(self.subs) >= self.limits.max_subscriptions:
            raise ProtocolError(ErrorCode.TOO_MANY_SUBSCRIPTIONS,
                                f"At most {self.limits.max_subscriptions} channels per socket")
        sub = Subscription(channel)
        sub.running = True
        self.subs[name] = sub
        # Order matters: Redis first (confirmed), then the database, so nothing falls between the two. That holds
        # for membership too: authorized only once a membership.changed of this channel reaches this node.
        live = await self.gateway.hub.attach(name, self)
        try:
            members = await self.gateway.join(self.principal, channel)
        except BaseException:
            self.subs.pop(name, None)
            await self.gateway.hub.detach(name, self)
            self.gateway.channel_idle(name)
            raise
        if self.subs.get(name) is not sub:  # revoked by a membership change while authorizing
            raise errors.Forbidden("You are not a member of this channel", code="not_a_member",
                                   details={"channel": name})
        try:
            async with self.gateway.db_slots:
                head, cursor, missed = await chat.resume(self.ctx, channel, since, self.limits.replay_limit)
        except BaseException:
            self.subs.pop(name, None)
            await self.gateway.hub.detach(name, self)
            raise
        sub.cursor = sub.floor = cursor
        frame: dict[str, Any] = {"type": "subscribed", "req": req, "channel": name, "since": cursor,
                                 "last_id": head, "live": live}
        announce: tuple[str, str] | None = None
        if channel.kind != "user":
            frame["missed"] = head - cursor
            if not self._other_local_socket_on(name):
                # Published with the "who is online" question: one Redis round trip for both.
                announce = (redis_channel(self.ctx.settings.namespace, name), dumps(
                    {"type": "presence", "channel": name, "user_id": self.user_id, "status": "online"}))
            async with self.gateway.redis_slots:
                frame["online"] = sorted(await self.gateway.presence.online(members, announce=announce))
        self.send(dumps(frame))
        await self._sync(sub, missed)

    def _other_local_socket_on(self, name: str) -> bool:
        return any(c is not self and name in c.subs for c in self.gateway.sockets_of(self.user_id))

    async def _unsubscribe(self, name: str, req: str | int | None) -> None:
        if self.subs.pop(name, None) is None:
            raise ProtocolError(ErrorCode.NOT_SUBSCRIBED, f"Not subscribed to {name}")
        await self.gateway.hub.detach(name, self)
        self.gateway.channel_idle(name)
        self.send(dumps({"type": "unsubscribed", "req": req, "channel": name}))

    async def revoke(self, name: str) -> None:
        """The user is no longer a member: stop the channel on this socket and say why."""
        sub = self.subs.pop(name, None)
        if sub is None:
            return
        if sub.gap_timer is not None:
            sub.gap_timer.cancel()
        await self.gateway.hub.detach(name, self)
        self.gateway.channel_idle(name)
        self.send(dumps({"type": "unsubscribed", "req": None, "channel": name, "reason": "not_a_member"}))

    async def _typing(self, name: str, req: str | int | None) -> None:
        sub = self.subs.get(name)
        if sub is None or sub.channel.kind == "user":
            raise ProtocolError(ErrorCode.NOT_SUBSCRIBED, f"Subscribe to {name} before typing in it")
        now = time.monotonic()
        if now - sub.last_typing < self.limits.typing_interval:
            return  # ephemeral: silently coalesced
        sub.last_typing = now
        async with self.gateway.redis_slots:
            await events.publish(self.ctx, name, {"type": "typing", "channel": name, "user_id": self.user_id})

    # --- token lifetime --------------------------------------------------------------------------------

    def _schedule_expiry(self) -> None:
        for timer in self._timers:
            timer.cancel()
        loop = asyncio.get_running_loop()
        left = self.principal.expires_at - time.time()
        self._timers = [loop.call_later(max(0.0, left), self._token_expired)]
        if left > self.limits.token_refresh_warning:
            self._timers.append(loop.call_later(left - self.limits.token_refresh_warning, self._token_expiring))

    def access_revoked(self, relogin: bool) -> None:
        """The token this socket was opened (or last re-authenticated) with is cut off (services/token_cutoffs.py)."""
        if relogin:
            self.send(error_frame(ErrorCode.TOKEN_REVOKED, "This session was ended; log in again"))
            self.spawn_close(CloseCode.AUTH_FAILED, "session ended")
        else:
            self.send(error_frame(ErrorCode.TOKEN_REVOKED, "The account changed; refresh the access token"))
            self.spawn_close(CloseCode.TOKEN_EXPIRED, "token revoked")

    def _token_expiring(self) -> None:
        self.send(dumps({"type": "auth.expiring", "expires_at": self.principal.expires_at}))

    def _token_expired(self) -> None:
        self.send(error_frame(ErrorCode.TOKEN_EXPIRED, "Access token expired; reconnect with a fresh one"))
        self.spawn_close(CloseCode.TOKEN_EXPIRED, "token expired")

    def _refresh_token(self, token: str, req: str | int | None) -> None:
        fresh = self.ctx.tokens.decode_access(token)  # Unauthorized -> error frame, socket stays
        if fresh.user_id != self.user_id:
            self.error(ErrorCode.UNAUTHORIZED, "The token belongs to another user", req=req)
            self.spawn_close(CloseCode.AUTH_FAILED, "token of another user")
            return
        self.principal = fresh
        self._schedule_expiry()
        self.send(dumps({"type": "auth.ok", "req": req, "expires_at": fresh.expires_at}))

    # --- teardown --------------------------------------------------------------------------------------

    async def cleanup(self) -> None:
        self.closing = True
        for timer in self._timers:
            timer.cancel()
        if self._writer is not None:
            self._writer.cancel()
        for task in list(self._tasks):
            task.cancel()
        for sub in self.subs.values():
            if sub.gap_timer is not None:
                sub.gap_timer.cancel()
        channels = [name for name, sub in self.subs.items() if sub.channel.kind != "user"]
        for name in list(self.subs):
            await self.gateway.hub.detach(name, self)
            self.gateway.channel_idle(name)
        self.subs.clear()
        async with self.gateway.redis_slots:
            offline = await self.gateway.presence.disconnected(self.user_id)
            if offline:
                for name in channels:
                    await events.publish(self.ctx, name, {"type": "presence", "channel": name,
                                                          "user_id": self.user_id, "status": "offline"})
        if self._close_task is not None:
            with contextlib.suppress(Exception):
                await self._close_task


async def _authenticate(gateway: Gateway, request: web.Request, ws: web.WebSocketResponse,
                        token: str | None) -> Principal | None:
    """The caller, from the subprotocol token or a first `auth` frame; None after closing the socket."""
    if token is None:
        try:
            msg = await ws.receive(timeout=gateway.limits.auth_timeout)
        except TimeoutError:
            await _refuse(ws, CloseCode.AUTH_TIMEOUT, ErrorCode.UNAUTHORIZED,
                          f"Send an auth frame within {gateway.limits.auth_timeout:g} s")
            return None
        if msg.type != WSMsgType.TEXT:
            return None if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED) else await _refused(
                ws, CloseCode.AUTH_FAILED, "The first frame must be {\"type\": \"auth\", \"token\": ...}")
        try:
            frame = parse_frame(msg.data) if len(msg.data) <= gateway.limits.max_frame_bytes else None
        except ProtocolError:
            frame = None
        if frame is None or frame.type != "auth":
            return await _refused(ws, CloseCode.AUTH_FAILED,
                                  "The first frame must be {\"type\": \"auth\", \"token\": ...}")
        token = str(frame.data["token"])
    try:
        who = gateway.ctx.tokens.decode_access(token)
    except errors.Unauthorized as exc:
        # token_expired / token_revoked: 4002, refresh and reconnect (the refresh says if a login is needed).
        refresh = exc.code in (ErrorCode.TOKEN_EXPIRED, ErrorCode.TOKEN_REVOKED)
        await _refuse(ws, CloseCode.TOKEN_EXPIRED if refresh else CloseCode.AUTH_FAILED,
                      exc.code if refresh else ErrorCode.UNAUTHORIZED, exc.message)
        return None
    return who


async def _refused(ws: web.WebSocketResponse, code: int, message: str) -> Principal | None:
    await _refuse(ws, code, ErrorCode.UNAUTHORIZED, message)
    return None


async def _refuse(ws: web.WebSocketResponse, code: int, error: str, message: str) -> None:
    with contextlib.suppress(Exception):
        await ws.send_str(error_frame(error, message))
        await asyncio.wait_for(ws.close(code=code, message=message[:120].encode()), 2.0)


async def ws_handler(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    offered = request.headers.get("Sec-WebSocket-Protocol")
    if offered is not None and SUBPROTOCOL not in [p.strip() for p in offered.split(",")]:
        # Refuse before the handshake: aiohttp would otherwise log the offered list (and the token in it).
        raise errors.BadRequest(f"Offer the {SUBPROTOCOL!r} subprotocol", code="unsupported_subprotocol")
    if gateway.shutting_down:
        raise errors.ServiceUnavailable("This node is shutting down; reconnect to another")
    token = token_from_subprotocols(offered)
    limits = gateway.limits
    # compress=False: permessage-deflate is never negotiated, so a frame's bytes are the same for every socket
    # and are built once per event (frames.py); deflating per socket would also cost a compression per delivery.
    ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,), heartbeat=limits.heartbeat,
                               max_msg_size=limits.hard_frame_bytes, timeout=limits.close_timeout, compress=False)
    if not ws.can_prepare(request).ok:
        raise errors.BadRequest("This endpoint speaks WebSocket only (see docs/websocket.md)",
                                code="websocket_required")
    await ws.prepare(request)
    who = await _authenticate(gateway, request, ws, token)
    if who is None:
        return ws
    conn = Connection(gateway, request, ws, who)
    gateway.add(conn)
    try:
        await conn.run()
    finally:
        gateway.discard(conn)
        # Shielded: when the peer's TCP close cancels the handler (handler_cancellation, on in aiohttp's test
        # server), presence and the "offline" event must still be settled.
        await asyncio.shield(conn.cleanup())
    return ws
