"""Small helpers shared by the foundation tests."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from sqlalchemy import text

from edutrack.context import AppContext


async def error_of(resp: ClientResponse, status: int) -> dict[str, Any]:
    """Assert `resp` is the one JSON error shape with `status`; return its "error" object."""
    assert resp.status == status, (resp.status, await resp.text())
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str)
    assert body["error"]["code"]
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


async def make_school(ctx: AppContext, name: str) -> int:
    async with ctx.sessions.begin() as session:
        result = await session.execute(text("INSERT INTO schools (name) VALUES (:n) RETURNING id"), {"n": name})
        return int(result.scalar_one())


async def scalar(ctx: AppContext, sql: str, **params: Any) -> Any:
    async with ctx.sessions() as session:
        return (await session.execute(text(sql), params)).scalar()
