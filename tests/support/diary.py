"""Helpers of the diary tests (structure and grades): tokens without HTTP logins, the one error shape, SQL counting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from edutrack.context import AppContext
from edutrack.db.models import User


def auth(ctx: AppContext, user: User) -> dict[str, str]:
    """Bearer headers for a user, minted directly: logging in over HTTP would hit the login rate limit
    and cost an argon2 hash per user."""
    token, _ = ctx.tokens.issue_access(user.id, user.role, user.school_id, user.is_superuser)
    return {"Authorization": f"Bearer {token}"}


async def body_of(resp: Any, status: int) -> Any:
    body = await resp.json() if resp.content_type == "application/json" else None
    assert resp.status == status, (resp.status, body)
    if status >= 400:
        assert set(body["error"]) >= {"code", "message"}, body
    return body


@contextmanager
def count_sql(ctx: AppContext) -> Iterator[list[str]]:
    """Every statement the app's engine sends while the block runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(ctx.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(ctx.engine.sync_engine, "before_cursor_execute", record)
