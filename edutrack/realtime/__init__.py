"""The realtime gateway: /ws, the per-process Redis fan-out hub, presence; plus the chat and feed REST API.

`setup(app)` is the one line the app factory calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from edutrack.api import chats as chats_api
from edutrack.api.openapi import doc
from edutrack.keys import CTX
from edutrack.realtime.gateway import GATEWAY, Gateway, ws_handler

__all__ = ["GATEWAY", "Gateway", "setup"]


async def _gateway_ctx(app: web.Application) -> AsyncIterator[None]:
    gateway = Gateway(app[CTX])
    app[GATEWAY] = gateway
    await gateway.start()
    try:
        yield
    finally:
        await gateway.shutdown()
        await gateway.stop()


async def _on_shutdown(app: web.Application) -> None:
    gateway = app.get(GATEWAY)
    if gateway is not None:
        await gateway.shutdown()


def setup(app: web.Application) -> None:
    app.router.add_get("/ws", doc(
        "Open the realtime websocket (JSON frames; protocol in docs/websocket.md)", tags=("realtime",),
        auth=False, errors=(400,), extra_responses={101: "Switching to the WebSocket protocol"},
        description="Authenticate with the subprotocols ['edutrack.v1', 'bearer.<access token>'] or a first "
        "frame {\"type\": \"auth\", \"token\": ...} within 5 s.",
    )(ws_handler))
    chats_api.setup_routes(app)
    app.cleanup_ctx.append(_gateway_ctx)
    app.on_shutdown.append(_on_shutdown)
