"""GET /ws: refuse what is not a websocket for us, upgrade, authenticate, run the socket, tear it down."""

from __future__ import annotations

import asyncio

from aiohttp import web

from edutrack import errors
from edutrack.realtime.auth import authenticate
from edutrack.realtime.connection import Connection
from edutrack.realtime.gateway import GATEWAY
from edutrack.realtime.handlers import COMMANDS
from edutrack.realtime.protocol import SUBPROTOCOL, token_from_subprotocols


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
    # and are built once per event (transport.py); deflating per socket would also cost a compression per delivery.
    ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,), heartbeat=limits.heartbeat,
                               max_msg_size=limits.hard_frame_bytes, timeout=limits.close_timeout, compress=False)
    if not ws.can_prepare(request).ok:
        raise errors.BadRequest("This endpoint speaks WebSocket only (see docs/websocket.md)",
                                code="websocket_required")
    await ws.prepare(request)
    who = await authenticate(ws, token, limits=limits, tokens=gateway.ctx.tokens, commands=COMMANDS)
    if who is None:
        return ws
    conn = Connection(gateway, ws, request.transport, who, COMMANDS)
    gateway.add(conn)
    try:
        await conn.run()
    finally:
        gateway.discard(conn)
        # Shielded: when the peer's TCP close cancels the handler (handler_cancellation, on in aiohttp's test
        # server), presence and the "offline" event must still be settled.
        await asyncio.shield(conn.cleanup())
    return ws
