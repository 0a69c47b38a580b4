"""The node: every socket of this process, the Redis hub, presence, group commit of sends, the member cache, and
the events addressed to the node itself (access cut-offs). One per app, under GATEWAY.

The pieces of one socket live elsewhere: http.py (GET /ws), auth.py (handshake, token lifetime), connection.py
(the reader loop and teardown), handlers.py (client commands), delivery.py (per-channel order and resume),
transport.py (the send path), frames.py (server frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from edutrack.context import AppContext
from edutrack.realtime.auth import Deadlines
from edutrack.realtime.connection import Connection
from edutrack.realtime.delivery import ChannelDelivery
from edutrack.realtime.heads import HeadReads
from edutrack.realtime.heartbeat import Heartbeat
from edutrack.realtime.membership import MemberCache
from edutrack.realtime.moderation import ModerationCache
from edutrack.realtime.presence import Presence
from edutrack.realtime.protocol import CloseCode, Limits
from edutrack.realtime.shards import make_hub
from edutrack.realtime.transport import FrameCache, SendStats, WriteBatch
from edutrack.security.tokens import Principal
from edutrack.services import chat, token_cutoffs
from edutrack.services.chat_batch import ChatSendBatcher

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, ctx: AppContext, limits: Limits | None = None) -> None:
        self.ctx = ctx
        self.limits = limits or Limits()
        self._cutoffs_due = asyncio.Event()  # read the cut-offs now (Redis came back), not at the next poll
        self.hub = make_hub(ctx.settings, on_node_event=self._on_node_event, on_recovered=self._cutoffs_due.set)
        self.presence = Presence(ctx.redis, ctx.settings.namespace)
        # Gap reads after a reconnect storm or a Redis outage must not starve REST of database connections.
        self.db_slots = asyncio.Semaphore(max(2, ctx.settings.db_pool_size // 2))
        # Mutes and slow mode for this node's sends.
        self.moderation = ModerationCache(ctx, self.db_slots, serving=self.hub.channels)
        # Sends of every socket of this node share transactions (group commit): see services/chat_batch.py.
        self.sends = ChatSendBatcher(ctx, screen=self.moderation.screen, serving=self.hub.channels)
        self.deadlines = Deadlines()  # the sockets' token warnings and expiries, on one timer
        self.heads = HeadReads(ctx, self.db_slots)  # chat heads of subscribes without `since`, read together
        self.frames = FrameCache()  # an event's websocket frame, built once for all its local sockets
        self.writes = WriteBatch()  # a socket's frames of one turn of the loop, written together
        self.stats = SendStats()
        self.connections: set[Connection] = set()
        self.heartbeat = Heartbeat(self)  # pings every socket of the node, on one task
        # A tuple per user, not a set: most users hold one socket, and an empty set alone is 216 bytes.
        self._by_user: dict[int, tuple[Connection, ...]] = {}
        # The shared Redis client's pool refuses (does not queue) beyond 100 connections: keep presence and
        # typing well below that during a reconnect storm, so chat publishes always find a connection.
        self.redis_slots = asyncio.Semaphore(32)
        self.members = MemberCache(ctx, self.db_slots, self._revoke_outsiders,
                                   lambda name: bool(self.hub.subscribers(name)))
        self.shutting_down = False
        self._cutoff_watch: asyncio.Task[None] | None = None
        self.cutoffs_read = asyncio.Event()  # the first read succeeded

    # --- sockets -------------------------------------------------------------------------------------------

    def add(self, conn: Connection) -> None:
        self.connections.add(conn)
        self.heartbeat.ensure_running()
        mine = self._by_user.get(conn.user_id, ())
        if conn not in mine:
            self._by_user[conn.user_id] = (*mine, conn)

    def discard(self, conn: Connection) -> None:
        self.connections.discard(conn)
        mine = self._by_user.get(conn.user_id)
        if mine is not None:
            rest = tuple(c for c in mine if c is not conn)
            if rest:
                self._by_user[conn.user_id] = rest
            else:
                del self._by_user[conn.user_id]

    def sockets_of(self, user_id: int) -> list[Connection]:
        return list(self._by_user.get(user_id, ()))

    def socket_count(self, user_id: int) -> int:
        return len(self._by_user.get(user_id, ()))

    def other_socket_on(self, conn: Connection, name: str) -> bool:
        """Whether another socket of the same user on this node is subscribed to `name`."""
        return any(c is not conn and name in c.subs for c in self._by_user.get(conn.user_id, ()))

    # --- membership ----------------------------------------------------------------------------------------

    async def join(self, who: Principal, channel: chat.Channel) -> set[int]:
        return await self.members.join(who, channel)

    def channel_idle(self, name: str) -> None:
        self.members.channel_idle(name)

    def membership_changed(self, name: str) -> None:
        self.members.changed(name)
        self.sends.audiences.forget(name)

    async def _revoke_outsiders(self, name: str, members: set[int]) -> None:
        for sub in list(self.hub.subscribers(name)):
            if isinstance(sub, ChannelDelivery) and isinstance(sub.outlet, Connection):
                conn = sub.outlet
                if not conn.principal.is_superuser and conn.user_id not in members:
                    await conn.revoke(name)

    # --- node events ---------------------------------------------------------------------------------------

    def _on_node_event(self, event: dict[str, Any]) -> None:
        revoked = token_cutoffs.apply_broadcast(self.ctx, event)
        if revoked is not None:
            self._close_cut_sockets(revoked.user_id, relogin=revoked.relogin)

    def _close_cut_sockets(self, user_id: int, *, relogin: bool) -> None:
        """Close the user's sockets whose token is cut off; one opened (or re-authenticated) later stays."""
        for conn in self.sockets_of(user_id):
            if conn.token.cut_off:
                conn.token.revoked(relogin)

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

    # --- lifecycle -----------------------------------------------------------------------------------------

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
        self.members.stopping = True
        conns = list(self.connections)
        if conns:
            await asyncio.gather(*(c.writer.close(CloseCode.GOING_AWAY, "server shutting down") for c in conns),
                                 return_exceptions=True)

    async def stop(self) -> None:
        self.members.stop()
        self.deadlines.stop()
        self.heartbeat.stop()
        await self.heads.close()
        if self._cutoff_watch is not None:
            self._cutoff_watch.cancel()
        await self.sends.close()
        await self.presence.stop()
        await self.hub.stop()


GATEWAY = web.AppKey("realtime_gateway", Gateway)
