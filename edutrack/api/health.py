from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import text

from edutrack.api.http import ctx_of, json_response
from edutrack.api.openapi import doc
from edutrack.api.schemas import HealthSchema, ReadinessSchema

CHECK_TIMEOUT = 2.0
HEALTH = ("health",)


@doc("Liveness: the process answers (no I/O)", tags=HEALTH, auth=False, response=HealthSchema)
async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def _timed(check: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except Exception as exc:
        return {"status": "down", "latency_ms": None, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2), "error": None}


@doc("Readiness: PostgreSQL, Redis and RabbitMQ with latency. 503 if PostgreSQL is down; 200 'degraded' "
     "if only Redis or RabbitMQ is", tags=HEALTH, auth=False, response=ReadinessSchema,
     extra_responses={503: "PostgreSQL is unreachable"})
async def ready(request: web.Request) -> web.Response:
    ctx = ctx_of(request)

    async def postgres() -> None:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis() -> None:
        await ctx.redis.ping()

    async def rabbitmq() -> None:
        await ctx.amqp.ping(CHECK_TIMEOUT)

    pg, rd, mq = await asyncio.gather(_timed(postgres), _timed(redis), _timed(rabbitmq))
    checks = {"postgres": pg, "redis": rd, "rabbitmq": mq}
    if pg["status"] != "ok":
        status, code = "down", 503
    elif rd["status"] != "ok" or mq["status"] != "ok":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return json_response({"status": status, "checks": checks}, status=code)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/health/ready", ready)
