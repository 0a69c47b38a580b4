"""Who is on a socket: the handshake (a token in the subprotocol or a first `auth` frame) and the lifetime of the
socket's access token (`auth.expiring`, expiry, a fresh token over the socket, cut-offs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import WSMsgType, web

from edutrack import errors
from edutrack.i18n import N_, _
from edutrack.realtime import frames
from edutrack.realtime.commands import Command, parse
from edutrack.realtime.protocol import CloseCode, ErrorCode, Limits, ProtocolError, Req
from edutrack.realtime.transport import SocketWriter
from edutrack.security.tokens import Principal, TokenService

log = logging.getLogger(__name__)

FIRST_FRAME = N_("The first frame must be {\"type\": \"auth\", \"token\": ...}")


async def authenticate(ws: web.WebSocketResponse, token: str | None, *, limits: Limits, tokens: TokenService,
                       commands: Mapping[str, Command[Any]]) -> Principal | None:
    """The caller, from the subprotocol token or a first `auth` frame; None after closing the socket."""
    if token is None:
        token = await _first_frame_token(ws, limits, commands)
        if token is None:
            return None
    try:
        return tokens.decode_access(token)
    except errors.Unauthorized as exc:
        # token_expired / token_revoked: 4002, refresh and reconnect (the refresh says if a login is needed).
        refresh = exc.code in (ErrorCode.TOKEN_EXPIRED, ErrorCode.TOKEN_REVOKED)
        await refuse(ws, CloseCode.TOKEN_EXPIRED if refresh else CloseCode.AUTH_FAILED,
                      exc.code if refresh else ErrorCode.UNAUTHORIZED, exc.message)
        return None


async def _first_frame_token(ws: web.WebSocketResponse, limits: Limits,
                             commands: Mapping[str, Command[Any]]) -> str | None:
    try:
        async with asyncio.timeout(limits.auth_timeout):
            msg = await ws.receive()
            # autoping is off (http.py: the node's heartbeat reads pongs itself): a ping before the auth frame
            # is answered here, as aiohttp would have, and a pong is no frame.
            while msg.type in (WSMsgType.PING, WSMsgType.PONG):
                if msg.type == WSMsgType.PING:
                    with contextlib.suppress(ConnectionError):  # the peer left: the next receive says so
                        await ws.pong(msg.data)
                msg = await ws.receive()
    except TimeoutError:
        await refuse(ws, CloseCode.AUTH_TIMEOUT, ErrorCode.UNAUTHORIZED,
                      _("Send an auth frame within %(seconds)s s", seconds=format(limits.auth_timeout, "g")))
        return None
    if msg.type != WSMsgType.TEXT:
        if msg.type not in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            await refuse(ws, CloseCode.AUTH_FAILED, ErrorCode.UNAUTHORIZED, _(FIRST_FRAME))
        return None
    try:
        parsed = parse(msg.data, commands) if len(msg.data) <= limits.max_frame_bytes else None
    except ProtocolError:
        parsed = None
    if parsed is None or parsed.command.name != "auth":
        await refuse(ws, CloseCode.AUTH_FAILED, ErrorCode.UNAUTHORIZED, _(FIRST_FRAME))
        return None
    return str(parsed.data.token)


async def refuse(ws: web.WebSocketResponse, code: int, error: str, message: str) -> None:
    with contextlib.suppress(Exception):
        await ws.send_str(frames.error(error, message))
        # The close reason is the error's code: ASCII, within the 123 bytes a close frame allows (the message,
        # in the socket's language, went in the error frame).
        await asyncio.wait_for(ws.close(code=code, message=error.encode()[:123]), 2.0)


class Deadlines:
    """When each socket's token warning and expiry are due, for every socket of a node on one timer. A timer per
    socket (a uvloop TimerHandle is ~540 bytes) was a fortieth of an idle socket's memory (docs/benchmarks.md,
    "Memory per socket and connect time"). Kept to the whole second and fired at its start: a token's `exp` is a
    whole second, so its expiry fires on time; a warning at a fractional offset, at most a second early."""

    def __init__(self) -> None:
        self._due: dict[int, dict[TokenLifetime, None]] = {}  # second -> who is due then (an ordered set)
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for: int | None = None

    def add(self, when: float, who: TokenLifetime) -> int:
        second = int(when)
        self._due.setdefault(second, {})[who] = None
        if self._armed_for is None or second < self._armed_for:
            self._arm(second)
        return second

    def remove(self, second: int, who: TokenLifetime) -> None:
        bucket = self._due.get(second)
        if bucket is not None:
            bucket.pop(who, None)
            if not bucket:
                del self._due[second]

    def _arm(self, second: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_for = second
        self._timer = asyncio.get_running_loop().call_later(max(0.0, second - time.time()), self._fire)

    def _fire(self) -> None:
        self._timer = self._armed_for = None
        now = time.time()
        for second in sorted(s for s in self._due if s <= now):
            for who in self._due.pop(second):
                try:
                    who.due()
                except Exception:  # one socket's failure must not cost the others their expiry
                    log.exception("realtime: a token deadline failed")
        if self._due:
            self._arm(min(self._due))

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._armed_for = None
        self._due.clear()


class TokenLifetime:
    """The access token a socket was opened (or last re-authenticated) with: `auth.expiring` token_refresh_warning
    seconds before it expires, then the expiry, each due on the node's Deadlines."""

    __slots__ = ("_deadlines", "_due_at", "_limits", "_tokens", "_warned", "_writer", "principal")

    def __init__(self, principal: Principal, writer: SocketWriter, tokens: TokenService, limits: Limits,
                 deadlines: Deadlines) -> None:
        self.principal = principal
        self._writer = writer
        self._tokens = tokens
        self._limits = limits
        self._deadlines = deadlines
        self._due_at: int | None = None  # the second this lifetime is due in `deadlines`
        self._warned = False

    def start(self) -> None:
        self.stop()
        warn_at = self.principal.expires_at - self._limits.token_refresh_warning
        self._warned = warn_at <= time.time()
        self._due_at = self._deadlines.add(self.principal.expires_at if self._warned else warn_at, self)

    def stop(self) -> None:
        if self._due_at is not None:
            self._deadlines.remove(self._due_at, self)
            self._due_at = None

    def due(self) -> None:
        self._due_at = None
        if not self._warned:
            self._warned = True
            self._writer.send(frames.auth_expiring(self.principal.expires_at))
            self._due_at = self._deadlines.add(self.principal.expires_at, self)
            return
        self._writer.send(frames.error(ErrorCode.TOKEN_EXPIRED, _("Access token expired; reconnect with a fresh one")))
        self._writer.spawn_close(CloseCode.TOKEN_EXPIRED, "token expired")

    def refresh(self, token: str, req: Req) -> None:
        fresh = self._tokens.decode_access(token)  # Unauthorized -> error frame, socket stays
        if fresh.user_id != self.principal.user_id:
            self._writer.send(frames.error(ErrorCode.UNAUTHORIZED, _("The token belongs to another user"), req=req))
            self._writer.spawn_close(CloseCode.AUTH_FAILED, "token of another user")
            return
        self.principal = fresh
        self.start()
        self._writer.send(frames.auth_ok(req, fresh.expires_at))

    @property
    def cut_off(self) -> bool:
        """The token predates a cut-off of its user (services/token_cutoffs.py)."""
        return self._tokens.is_cut_off(self.principal)

    def revoked(self, relogin: bool) -> None:
        """Close the socket of a token that was cut off: 4001 when the user must log in again, else 4002."""
        if relogin:
            self._writer.send(frames.error(ErrorCode.TOKEN_REVOKED, _("This session was ended; log in again")))
            self._writer.spawn_close(CloseCode.AUTH_FAILED, "session ended")
        else:
            self._writer.send(frames.error(ErrorCode.TOKEN_REVOKED, _("The account changed; refresh the access token")))
            self._writer.spawn_close(CloseCode.TOKEN_EXPIRED, "token revoked")
