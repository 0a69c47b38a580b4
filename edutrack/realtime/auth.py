"""Who is on a socket: the handshake (a token in the subprotocol or a first `auth` frame) and the lifetime of the
socket's access token (`auth.expiring`, expiry, a fresh token over the socket, cut-offs).
"""

from __future__ import annotations

import asyncio
import contextlib
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
        msg = await ws.receive(timeout=limits.auth_timeout)
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


class TokenLifetime:
    """The access token a socket was opened (or last re-authenticated) with."""

    __slots__ = ("_limits", "_timers", "_tokens", "_writer", "principal")

    def __init__(self, principal: Principal, writer: SocketWriter, tokens: TokenService, limits: Limits) -> None:
        self.principal = principal
        self._writer = writer
        self._tokens = tokens
        self._limits = limits
        self._timers: list[asyncio.TimerHandle] = []

    def start(self) -> None:
        self.stop()
        loop = asyncio.get_running_loop()
        left = self.principal.expires_at - time.time()
        self._timers = [loop.call_later(max(0.0, left), self._expired)]
        if left > self._limits.token_refresh_warning:
            self._timers.append(loop.call_later(left - self._limits.token_refresh_warning, self._expiring))

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers = []

    def _expiring(self) -> None:
        self._writer.send(frames.auth_expiring(self.principal.expires_at))

    def _expired(self) -> None:
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
