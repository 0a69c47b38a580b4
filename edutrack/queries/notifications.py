from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import Notification


async def insert_notifications(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[Notification]:
    """Insert many feed rows in one statement; returns them with ids and timestamps (for publishing)."""
    if not rows:
        return []
    result = await session.scalars(insert(Notification).returning(Notification), list(rows))
    return list(result.all())
