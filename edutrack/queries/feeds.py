"""SQL of calendar feeds: the secret's owner, and making, replacing and revoking a feed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import School
from edutrack.db.feeds import CalendarFeed
from edutrack.db.models import User


async def feed_of(session: AsyncSession, user_id: int) -> CalendarFeed | None:
    return (await session.execute(select(CalendarFeed).where(CalendarFeed.user_id == user_id))).scalar_one_or_none()


async def owner(session: AsyncSession, token_hash: str) -> Any:
    """(id, role, school_id, timezone of the school) of the active user whose feed this is, or None."""
    stmt = (select(User.id, User.role, User.school_id, School.timezone)
            .join(CalendarFeed, CalendarFeed.user_id == User.id)
            .outerjoin(School, School.id == User.school_id)
            .where(CalendarFeed.token_hash == token_hash, User.is_active.is_(True)))
    return (await session.execute(stmt)).first()


async def replace_feed(session: AsyncSession, user_id: int, token_hash: str) -> CalendarFeed:
    stmt = (pg_insert(CalendarFeed).values(user_id=user_id, token_hash=token_hash)
            .on_conflict_do_update(index_elements=[CalendarFeed.user_id],
                                   set_={"token_hash": token_hash, "created_at": func.now()})
            .returning(CalendarFeed))
    return (await session.execute(stmt)).scalar_one()


async def delete_feed(session: AsyncSession, user_id: int) -> bool:
    result = await session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id)
                                   .returning(CalendarFeed.user_id))
    return result.first() is not None
