"""Small helpers shared by the email tests."""

from __future__ import annotations

from sqlalchemy import func, select, text

from edutrack.context import AppContext
from edutrack.db.models import EmailOutbox
from edutrack.queries import outbox as q


async def add_emails(ctx: AppContext, count: int, *, kind: str = "test", prefix: str = "user") -> list[int]:
    async with ctx.sessions.begin() as session:
        return await q.insert_many(session, [
            {"recipient": f"{prefix}{i}@example.test", "subject": f"Письмо {i}", "body_text": f"Текст {i}",
             "body_html": f"<p>Текст {i}</p>", "kind": kind, "user_id": None}
            for i in range(count)
        ])


async def statuses(ctx: AppContext) -> dict[str, int]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(EmailOutbox.status, func.count()).group_by(EmailOutbox.status))
        return {status: int(n) for status, n in rows}


async def row(ctx: AppContext, outbox_id: int) -> EmailOutbox:
    async with ctx.sessions() as session:
        found = await session.get(EmailOutbox, outbox_id)
        assert found is not None
        return found


async def all_sent(ctx: AppContext, expected: int) -> bool:
    return (await statuses(ctx)).get("sent", 0) == expected


async def set_created_minutes_ago(ctx: AppContext, table: str, ids: list[int], minutes: int) -> None:
    async with ctx.sessions.begin() as session:
        await session.execute(
            text(f"UPDATE {table} SET created_at = now() - make_interval(mins => :m) WHERE id = ANY(:ids)"),
            {"m": minutes, "ids": ids},
        )
