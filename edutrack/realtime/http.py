"""GET /ws: refuse what is not a websocket for us, upgrade, authenticate, run the socket, tear it down."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging

from aiohttp import web
from multidict import CIMultiDict

from edutrack import errors
from edutrack.api.middlewares import defer_to_outer
from edutrack.i18n import _, locale_var
from edutrack.realtime.auth import authenticate, refuse
from edutrack.realtime.connection import Connection
from edutrack.realtime.gateway import GATEWAY, Gateway
from edutrack.realtime.handlers import COMMANDS
from edutrack.realtime.protocol import SUBPROTOCOL, CloseCode, ErrorCode, token_from_subprotocols
from edutrack.security.tokens import Principal

log = logging.getLogger(__name__)


async def ws_handler(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    offered = request.headers.get("Sec-WebSocket-Protocol")
    if offered is not None and SUBPROTOCOL not in [p.strip() for p in offered.split(",")]:
        # Refuse before the handshake: aiohttp would otherwise log the offered list (and the token in it).
        raise errors.BadRequest(_("Offer the %(subprotocol)s subprotocol", subprotocol=repr(SUBPROTOCOL)),
                                code="unsupported_subprotocol")
    if gateway.shutting_down:
        raise errors.ServiceUnavailable(_("This node is shutting down; reconnect to another"))
    token = token_from_subprotocols(offered)
    limits = gateway.limits
    # compress=False: permessage-deflate is never negotiated, so a frame's bytes are the same for every socket
    # and are built once per event (transport.py); deflating per socket would also cost a compression per delivery.
    # No heartbeat of aiohttp's (a timer per socket): the node's, heartbeat.py, pings every socket on one task and
    # needs the pongs, so autoping is off and the reader loop answers pings itself.
    ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,), heartbeat=None, autoping=False,
                               max_msg_size=limits.hard_frame_bytes, timeout=limits.close_timeout, compress=False)
    if not ws.can_prepare(request).ok:
        raise errors.BadRequest(_("This endpoint speaks WebSocket only (see docs/websocket.md)"),
                                code="websocket_required")
    stream = await ws.prepare(request)
    _drop_request_parser(request)
    transport = request.transport
    who: Principal | None = None
    try:
        who = await authenticate(ws, token, limits=limits, tokens=gateway.ctx.tokens, commands=COMMANDS)
    finally:
        if who is None:  # refused, or the peer left during the handshake
            _cut_library_cycles(request, ws, transport)
    # This frame lives as long as the socket: it keeps no copy of the token (~300 characters) it no longer needs.
    del token
    if who is None:
        return ws
    cap = gateway.ctx.settings.ws_max_sockets_per_user
    if gateway.socket_count(who.user_id) >= cap:
        await refuse(ws, CloseCode.TOO_MANY_SOCKETS, ErrorCode.TOO_MANY_SOCKETS,
                     _("At most %(num)s open sockets per user; close one first", num=cap))
        _cut_library_cycles(request, ws, transport)
        return ws
    conn = Connection(gateway, ws, transport, stream, who, COMMANDS)
    gateway.add(conn)
    # This frame, and every middleware's around it, would otherwise stay alive as long as the socket does. A
    # partial, not a closure: no cells or function object per socket.
    lifetime = functools.partial(_lifetime, conn, request, transport, locale_var.get())
    if not defer_to_outer(request, lifetime):
        await lifetime()
    return ws


async def _lifetime(conn: Connection, request: web.Request, transport: asyncio.Transport | None,
                    locale: str) -> None:
    token = locale_var.set(locale)  # the socket's words stay in its handshake's language
    # Every middleware has returned: nothing reads the handshake's headers any more.
    _drop_handshake_headers(request, conn.ws)
    try:
        await conn.run()
    except Exception:
        # Outside error_handler now: logged here, with the request id request_context still holds.
        log.exception("unhandled error", extra={"method": request.method, "path": request.path,
                                                "user_id": conn.user_id})
    finally:
        # Shielded: when the peer's TCP close cancels the handler (handler_cancellation, on in aiohttp's test
        # server), presence and the "offline" event must still be settled. A task the app owns: at shutdown the
        # handlers are cancelled first, and the context waits for these (ctx.background.drain) before it closes
        # Redis; an orphan would take a new connection from the closing pool and leave it open.
        gateway = conn.gateway
        teardown = gateway.ctx.background.spawn(_teardown(gateway, conn, request, conn.ws, transport),
                                                "ws.teardown")
        try:
            await asyncio.shield(teardown)
        finally:
            locale_var.reset(token)


async def _teardown(gateway: Gateway, conn: Connection, request: web.Request, ws: web.WebSocketResponse,
                    transport: asyncio.Transport | None) -> None:
    gateway.discard(conn)
    await conn.cleanup()
    _cut_library_cycles(request, ws, transport)


def _drop_request_parser(request: web.Request) -> None:
    """After an accepted upgrade aiohttp reads the socket with the websocket's parser only, but keeps the HTTP
    request parser (~1 KB with its buffers) for the connection's life: let it go. aiohttp reads the attribute
    only while no upgrade was accepted, and checks it for None elsewhere."""
    protocol = request.protocol
    if getattr(protocol, "_payload_parser", None) is not None and getattr(protocol, "_upgraded", False):
        protocol._parser = None  # getattr above: a later aiohttp may not have these


def _drop_handshake_headers(request: web.Request, ws: web.WebSocketResponse) -> None:
    """The request's parsed headers (~1 KB with the ~300-character token in Sec-WebSocket-Protocol) and the 101
    answer's, already sent, would stay for the socket's life. Nothing reads them after the middlewares are done
    (the API runs without aiohttp's access log), so they are emptied: `request.headers` reads as empty from here on.
    aiohttp's request handler keeps the parsed message in a local of its loop for the connection's life, so the
    read-only proxy cannot be let go: the mapping it wraps is emptied in place, reached the one way multidict
    offers (gc.get_referents). aiohttp's raw copy (`raw_headers`, a tuple of bytes, ~1 KB) cannot be emptied."""
    ws.headers.clear()  # sent with the handshake; a header set later (X-Request-ID) would never be sent anyway
    for inner in gc.get_referents(request.headers):
        if isinstance(inner, CIMultiDict):
            inner.clear()


def _cut_library_cycles(request: web.Request, ws: web.WebSocketResponse,
                        transport: asyncio.Transport | None) -> None:
    """A closed socket must be freed by reference counting, at once: the API process runs full collections
    rarely (see realtime/__init__.py), and every reconnect would otherwise leave its socket's memory behind until
    one runs. Python 3.11's selector transport keeps a bound method of itself (fixed in 3.12): cut it once the
    socket is finished. (aiohttp's request handler kept the websocket's heartbeat callback, another cycle, while
    aiohttp ran the heartbeat; heartbeat.py does now.) tests/realtime/test_memory.py fails if a cycle comes back."""
    # aiohttp keeps the error that ended a socket on it (ws.exception()): most often the close frame it could not
    # write because the peer was already gone. The error's traceback holds the frame of ws.close, which holds ws:
    # a cycle per socket that dropped, ~8 KB each that only a full collection frees (docs/benchmarks.md,
    # "Memory per socket and connect time"). The error stays readable; its traceback goes.
    error: BaseException | None = ws.exception()
    for _depth in range(8):  # and the errors it was raised during
        if error is None:
            break
        error.__traceback__ = None
        error = error.__context__ or error.__cause__
    attrs = getattr(transport, "__dict__", None)
    # Only once the transport stopped reading (close() removes its reader): the callback is what a read calls.
    if transport is not None and attrs is not None and transport.is_closing() and "_read_ready_cb" in attrs:
        attrs["_read_ready_cb"] = None
