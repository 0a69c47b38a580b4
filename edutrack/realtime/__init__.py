"""The realtime gateway: /ws, the per-process Redis fan-out hub, presence.

`setup(app)` is the one line the app factory calls. Where things are: gateway.py (the node), http.py (GET /ws),
auth.py, connection.py, handlers.py (client commands), delivery.py, transport.py, frames.py (server frames),
membership.py, hub.py + subscriber.py (Redis), shards.py (the hub on a Redis Cluster), presence.py.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator

from aiohttp import web

from edutrack.api.openapi import doc
from edutrack.keys import CTX
from edutrack.realtime.gateway import GATEWAY, Gateway
from edutrack.realtime.http import ws_handler

__all__ = ["GATEWAY", "Gateway", "setup"]


# Thousands of sockets make a large, long-lived heap; with CPython's default first-generation threshold (700)
# the collector runs so often that its full passes stalled fan-out for hundreds of milliseconds
# (p99 189-430 ms at 50-150 msg/s with 5,000 sockets; 9-35 ms at up to 200 msg/s with this setting, see
# docs/benchmarks.md). Set for the API process while the gateway runs, restored after. It still pays: what made
# it costly, closed sockets that lived in reference cycles until a (now rare) full collection, is gone, since a
# closed socket is freed by reference counting (http.py, transport.py; tests/realtime/test_memory.py runs a
# node with the collector off). What the collector still finds is incidental garbage, young and small.
GC_THRESHOLD = (20_000, 20, 100)


async def _gateway_ctx(app: web.Application) -> AsyncIterator[None]:
    gateway = Gateway(app[CTX])
    app[GATEWAY] = gateway
    previous_gc = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    await gateway.start()
    try:
        yield
    finally:
        await gateway.shutdown()
        await gateway.stop()
        gc.set_threshold(*previous_gc)


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
    app.cleanup_ctx.append(_gateway_ctx)
    app.on_shutdown.append(_on_shutdown)
