"""SQL of what parents have seen of the diary: weeks marked seen, and when each parent or student last opened a
child's diary."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.acks import DiaryOpen, DiaryWeekSeen


async def mark_week(session: AsyncSession, parent_id: int, child_id: int, week_start: date) -> datetime | None:
    """The moment of a new mark; None when this week was already marked (it stays as first marked)."""
    found = await session.execute(
        insert(DiaryWeekSeen).values(parent_id=parent_id, child_id=child_id, week_start=week_start)
        .on_conflict_do_nothing(index_elements=[DiaryWeekSeen.parent_id, DiaryWeekSeen.child_id,
                                                DiaryWeekSeen.week_start])
        .returning(DiaryWeekSeen.at))
    return found.scalar()


async def week_seen_at(session: AsyncSession, parent_id: int, child_id: int, week_start: date) -> datetime | None:
    found = await session.execute(select(DiaryWeekSeen.at).where(
        DiaryWeekSeen.parent_id == parent_id, DiaryWeekSeen.child_id == child_id,
        DiaryWeekSeen.week_start == week_start))
    return found.scalar()


async def record_open(session: AsyncSession, user_id: int, child_id: int) -> None:
    stmt = insert(DiaryOpen).values(user_id=user_id, child_id=child_id)
    await session.execute(stmt.on_conflict_do_update(index_elements=[DiaryOpen.user_id, DiaryOpen.child_id],
                                                     set_={"at": func.now()}))


async def opens_of(session: AsyncSession, child_ids: Iterable[int]) -> dict[tuple[int, int], datetime]:
    """(user, child) -> when that user last opened that child's diary."""
    rows = await session.execute(select(DiaryOpen.user_id, DiaryOpen.child_id, DiaryOpen.at)
                                 .where(DiaryOpen.child_id.in_(list(child_ids))))
    return {(int(u), int(c)): at for u, c, at in rows}


async def last_weeks_seen(session: AsyncSession, child_ids: Iterable[int]) -> dict[tuple[int, int], date]:
    """(parent, child) -> the latest week that parent marked seen for that child."""
    rows = await session.execute(select(DiaryWeekSeen.parent_id, DiaryWeekSeen.child_id,
                                        func.max(DiaryWeekSeen.week_start))
                                 .where(DiaryWeekSeen.child_id.in_(list(child_ids)))
                                 .group_by(DiaryWeekSeen.parent_id, DiaryWeekSeen.child_id))
    return {(int(p), int(c)): w for p, c, w in rows}
