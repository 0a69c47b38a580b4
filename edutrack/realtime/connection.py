"""One socket, in the shape of Home Assistant's websocket_api: one reader loop that handles the client's frames in
order (handlers.py), a send path that never blocks (transport.py), one delivery per subscribed channel
(delivery.py), everything torn down in `cleanup`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import WSMsgType, web
from aiohttp.abc import AbstractStreamWriter

from edutrack import errors, events
from edutrack.i18n import _
from edutrack.ratelimit import CHAT_SEND
from edutrack.realtime import frames
from edutrack.realtime.auth import TokenLifetime
from edutrack.realtime.commands import Command, parse
from edutrack.realtime.delivery import ChannelDelivery
from edutrack.realtime.heartbeat import BUSY, HEARD
from edutrack.realtime.protocol import CloseCode, ErrorCode, ProtocolError, Req, TokenBucket
from edutrack.realtime.transport import SocketWriter
from edutrack.security.tokens import Principal
from edutrack.services import chat

if TYPE_CHECKING:
    from edutrack.realtime.gateway import Gateway

log = logging.getLogger(__name__)


class Connection:
    # Slots: thousands of these live at once (see docs/benchmarks.md, memory per connection).
    __slots__ = ("__weakref__", "_errors", "_frames", "_tasks", "commands", "ctx", "gateway", "heard", "limits",
                 "send", "sender_name", "subs", "token", "writer", "ws")

    def __init__(self, gateway: Gateway, ws: web.WebSocketResponse, transport: asyncio.Transport | None,
                 stream: AbstractStreamWriter, who: Principal, commands: Mapping[str, Command[Any]]) -> None:
        self.gateway = gateway
        self.ctx = gateway.ctx
        self.limits = limits = gateway.limits
        self.ws = ws
        self.commands = commands
        self.writer = SocketWriter(ws, transport, stream, gateway.frames, gateway.stats, limits, user_id=who.user_id,
                                   batch=gateway.writes)
        self.send = self.writer.send
        self.token = TokenLifetime(who, self.writer, self.ctx.tokens, limits, gateway.deadlines)
        self.subs: dict[str, ChannelDelivery] = {}
        self._tasks: set[asyncio.Task[Any]] | None = None  # gap reads in flight; made by the first
        self.sender_name: str | None = None  # filled by the first send
        self._frames = TokenBucket(limits.frames_per_second, limits.frames_burst)
        self._errors = TokenBucket(limits.errors_per_second, limits.errors_burst)
        self.heard = HEARD  # what the node's heartbeat heard of the client since its last ping (heartbeat.py)

    @property
    def principal(self) -> Principal:
        return self.token.principal

    @property
    def user_id(self) -> int:
        return self.token.principal.user_id

    def error(self, code: str, message: str, *, req: Req = None, details: Any = None, counts: bool = True,
              client_msg_id: str | Literal[False] | None = False) -> None:
        """An error frame; each counts against the socket's error budget (running out closes it with 4009)."""
        self.send(frames.error(code, message, req=req, details=details, client_msg_id=client_msg_id))
        if counts and not self._errors.allow():
            self.writer.spawn_close(CloseCode.POLICY_VIOLATION, "too many invalid frames")

    # --- what a delivery needs (delivery.Outlet) ------------------------------------------------------------

    def current(self, delivery: ChannelDelivery) -> bool:
        return not self.writer.closing and self.subs.get(delivery.channel.name) is delivery

    async def read_missed(self, channel: chat.Channel, cursor: int) -> list[dict[str, Any]]:
        async with self.gateway.db_slots:
            missed = await chat.missed_events(self.ctx, {channel.name: cursor}, self.limits.replay_limit)
        return missed.get(channel.name, [])

    async def read_head(self, channel: chat.Channel) -> int:
        async with self.gateway.db_slots:
            return (await chat.head_ids(self.ctx, [channel]))[channel.name]

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name="realtime-sync")
        if self._tasks is None:
            self._tasks = set()
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def membership_changed(self, channel: str) -> None:
        self.gateway.membership_changed(channel)

    def moderation_changed(self, channel: str) -> None:
        self.gateway.moderation.changed(channel)

    # --- subscriptions -------------------------------------------------------------------------------------

    async def leave(self, name: str) -> bool:
        """Stop delivering `name` to this socket; False if it was not subscribed."""
        sub = self.subs.pop(name, None)
        if sub is None:
            return False
        sub.stop_timer()
        await self.gateway.hub.detach(name, sub)
        self.gateway.channel_idle(name)
        return True

    async def revoke(self, name: str) -> None:
        """The user is no longer a member: stop the channel on this socket and say why."""
        if await self.leave(name):
            self.send(frames.removed(name))

    # --- the reader ----------------------------------------------------------------------------------------

    async def run(self) -> None:
        self.token.start()
        async with self.gateway.redis_slots:
            first = await self.gateway.presence.connected(self.user_id)
        who = self.principal
        sends = self.ctx.budgets.budgets[CHAT_SEND].per_second
        self.send(frames.ready(who.user_id, who.role, who.expires_at, first, self.limits, sends))
        ws = self.ws
        while not self.writer.closing:
            msg = await ws.receive()
            kind = msg.type
            if kind == WSMsgType.TEXT:
                self.heard = BUSY  # the client spoke; a slow handler must not make it look silent
                await self._on_text(msg.data)
                self.heard = HEARD
            elif kind == WSMsgType.PONG:
                self.heard = HEARD
            elif kind == WSMsgType.PING:
                # autoping is off (http.py) so that pongs reach this loop; a client's ping is answered here.
                self.heard = HEARD
                with contextlib.suppress(ConnectionError):  # the peer left: the next receive says so
                    await ws.pong(msg.data)
            elif kind == WSMsgType.BINARY:
                self.heard = HEARD
                self.error(ErrorCode.INVALID_FRAME, _("Send JSON text frames, not binary"))
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                break

    async def _on_text(self, raw: str) -> None:
        limit = self.limits.max_frame_bytes
        if len(raw) > limit or (len(raw) * 4 > limit and len(raw.encode()) > limit):
            self.error(ErrorCode.FRAME_TOO_LARGE, _("Frames are limited to %(limit)s bytes", limit=limit),
                       details={"max_frame_bytes": limit})
            return
        if not self._frames.allow():
            self.error(ErrorCode.RATE_LIMITED, _("Too many frames; slow down"))
            return
        if self.token.cut_off:
            # A cut-off whose broadcast has not closed this socket (yet): its old token acts no more.
            self.token.revoked(relogin=False)
            return
        req: Req = None
        try:
            parsed = parse(raw, self.commands)
            req = parsed.req
            await parsed.command.handler(self, parsed.data, req)
        except ProtocolError as exc:
            self.error(exc.code, exc.message, req=exc.req if req is None else req, details=exc.details)
        except errors.ApiError as exc:
            self.error(exc.code, exc.message, req=req, details=exc.details)
        except Exception:
            log.exception("realtime: frame handling failed", extra={"user_id": self.user_id})
            self.error(ErrorCode.INTERNAL, _("Something went wrong on our side"), req=req, counts=False)

    # --- teardown ------------------------------------------------------------------------------------------

    async def cleanup(self) -> None:
        self.writer.stop()
        self.token.stop()
        for task in list(self._tasks or ()):
            task.cancel()
        channels = [name for name, sub in self.subs.items() if sub.channel.kind != "user"]
        for name in list(self.subs):
            await self.leave(name)
        async with self.gateway.redis_slots:
            offline = await self.gateway.presence.disconnected(self.user_id)
            if offline:
                for name in channels:
                    await events.publish(self.ctx, name, frames.presence(name, self.user_id, "offline"), held=False)
        await self.writer.release()
