"""SQL of what a school shows without login: its public news."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import News, School


async def school(session: AsyncSession, school_id: int) -> School | None:
    return (await session.execute(select(School).where(School.id == school_id))).scalar_one_or_none()


async def public_news(session: AsyncSession, school_id: int, limit: int) -> list[Any]:
    """Published public items of the school, newest first: never a draft, a scheduled item before its time, or
    an item not marked public."""
    stmt = (select(News.id, News.title, News.body, News.published_at, News.updated_at)
            .where(News.school_id == school_id, News.is_public.is_(True), News.status == "published",
                   News.published_at <= func.now())
            .order_by(News.published_at.desc(), News.id.desc())
            .limit(limit))
    return list((await session.execute(stmt)).all())
