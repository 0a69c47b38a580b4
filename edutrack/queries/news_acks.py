"""SQL of news acknowledgements ("ознакомлен"): who confirmed, and the classes, students and parents behind them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import BigInteger, ColumnElement, any_, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from edutrack.db.diary import ClassStudent, News, ParentChild, SchoolClass
from edutrack.db.models import User
from edutrack.db.notify import NewsAck


def _among(column: InstrumentedAttribute[int], ids: Iterable[int]) -> ColumnElement[bool]:
    """`column = ANY($1)` with one array parameter: a school's thousands of ids make one small statement, not
    thousands of parameters in one re-planned each time."""
    return column == any_(literal(sorted(set(ids)), ARRAY(BigInteger)))


async def insert_ack(session: AsyncSession, news_id: int, user_id: int, via: str) -> datetime | None:
    """The moment of a new acknowledgement; None when this user had already confirmed (it counts once)."""
    found = await session.execute(
        insert(NewsAck).values(news_id=news_id, user_id=user_id, via=via)
        .on_conflict_do_nothing(index_elements=[NewsAck.news_id, NewsAck.user_id]).returning(NewsAck.at)
    )
    return found.scalar()


async def ack_of(session: AsyncSession, news_id: int, user_id: int) -> datetime | None:
    found = await session.execute(select(NewsAck.at).where(NewsAck.news_id == news_id, NewsAck.user_id == user_id))
    return found.scalar()


async def acks(session: AsyncSession, news_id: int) -> dict[int, datetime]:
    rows = await session.execute(select(NewsAck.user_id, NewsAck.at).where(NewsAck.news_id == news_id))
    return {int(u): at for u, at in rows}


async def roles_of(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    rows = await session.execute(select(User.id, User.role).where(_among(User.id, user_ids)))
    return {int(u): str(r) for u, r in rows}


async def classes_of_students(session: AsyncSession, student_ids: Iterable[int],
                              school_id: int) -> list[tuple[int, str, int]]:
    """(class id, class name, student id) of the school's classes these students are in."""
    rows = await session.execute(
        select(SchoolClass.id, SchoolClass.name, ClassStudent.student_id)
        .join(ClassStudent, ClassStudent.class_id == SchoolClass.id)
        .where(_among(ClassStudent.student_id, student_ids), SchoolClass.school_id == school_id)
        .order_by(SchoolClass.grade_level, SchoolClass.name, ClassStudent.student_id)
    )
    return [(int(c), str(n), int(s)) for c, n, s in rows]


async def children_of_parents(session: AsyncSession, parent_ids: Iterable[int]) -> dict[int, list[int]]:
    """child id -> the given parents of that child."""
    result: dict[int, list[int]] = {}
    rows = await session.execute(select(ParentChild.child_id, ParentChild.parent_id)
                                 .where(_among(ParentChild.parent_id, parent_ids))
                                 .order_by(ParentChild.child_id, ParentChild.parent_id))
    for child, parent in rows:
        result.setdefault(int(child), []).append(int(parent))
    return result


async def mark_reminded(session: AsyncSession, news_id: int, at: datetime) -> None:
    await session.execute(update(News).where(News.id == news_id).values(ack_reminded_at=at))


async def active_user(session: AsyncSession, user_id: int) -> User | None:
    user = await session.get(User, user_id)
    return user if user is not None and user.is_active else None
