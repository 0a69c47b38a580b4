"""SQL of the schedule: lessons, their conflicts, and week views (one query each)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import ClassStudent, Lesson, School, SchoolClass, Subject
from edutrack.db.models import Profile
from edutrack.queries.classes import full_name_sql


def _lesson_select() -> Any:
    return (
        select(
            Lesson,
            SchoolClass.name.label("class_name"),
            Subject.name.label("subject_name"),
            full_name_sql().label("teacher_name"),
        )
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
        .join(Subject, Subject.id == Lesson.subject_id)
        .join(Profile, Profile.user_id == Lesson.teacher_id)
    )


async def lesson_by_id(session: AsyncSession, lesson_id: int, *, for_update: bool = False) -> Lesson | None:
    stmt = select(Lesson).where(Lesson.id == lesson_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def lesson_row(session: AsyncSession, lesson_id: int) -> Row[Any] | None:
    return (await session.execute(_lesson_select().where(Lesson.id == lesson_id))).first()


async def lessons_in_range(session: AsyncSession, *, starts: datetime, ends: datetime,
                           class_ids: Collection[int] | None = None,
                           teacher_id: int | None = None, school_id: int | None = None) -> list[Row[Any]]:
    """Lessons overlapping [starts, ends) of some classes and/or one teacher (or a whole school), in time order."""
    stmt = _lesson_select().where(Lesson.starts_at < ends, Lesson.ends_at > starts)
    if school_id is not None:
        stmt = stmt.where(Lesson.school_id == school_id)
    if class_ids is not None:
        stmt = stmt.where(Lesson.class_id.in_(list(class_ids)))
    if teacher_id is not None:
        stmt = stmt.where(Lesson.teacher_id == teacher_id)
    rows = await session.execute(stmt.order_by(Lesson.starts_at, Lesson.class_id, Lesson.id))
    return list(rows.all())


async def conflicts(session: AsyncSession, *, school_id: int, class_id: int, teacher_id: int, room: str | None,
                    starts: datetime, ends: datetime, except_id: int | None) -> list[Row[Any]]:
    """Lessons that would double-book the class, the teacher or the room. Half-open intervals, as the
    exclusion constraints use, so a lesson ending at 09:45 and one starting at 09:45 do not clash. A cancelled
    lesson books nothing."""
    same: Any = (Lesson.class_id == class_id) | (Lesson.teacher_id == teacher_id)
    if room:
        same = same | ((Lesson.school_id == school_id) & (Lesson.room == room))
    stmt = _lesson_select().where(same, Lesson.starts_at < ends, Lesson.ends_at > starts,
                                  Lesson.cancelled_at.is_(None))
    if except_id is not None:
        stmt = stmt.where(Lesson.id != except_id)
    return list((await session.execute(stmt.order_by(Lesson.starts_at).limit(10))).all())


async def insert_lesson(session: AsyncSession, fields: dict[str, Any]) -> Lesson:
    row = Lesson(**fields)
    session.add(row)
    await session.flush()
    return row


async def insert_lessons(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    session.add_all([Lesson(**fields) for fields in rows])
    await session.flush()


async def delete_lesson(session: AsyncSession, lesson_id: int) -> None:
    await session.execute(delete(Lesson).where(Lesson.id == lesson_id))


async def student_ids_of_class(session: AsyncSession, class_id: int) -> list[int]:
    rows = await session.execute(
        select(ClassStudent.student_id).where(ClassStudent.class_id == class_id).order_by(ClassStudent.student_id)
    )
    return list(rows.scalars())


async def class_schools(session: AsyncSession, class_ids: Collection[int]) -> list[Row[Any]]:
    """(class_id, school_id, timezone) of each class, one query."""
    if not class_ids:
        return []
    rows = await session.execute(
        select(SchoolClass.id.label("class_id"), SchoolClass.school_id, School.timezone)
        .join(School, School.id == SchoolClass.school_id)
        .where(SchoolClass.id.in_(list(class_ids)))
        .order_by(SchoolClass.id)
    )
    found: list[Row[Any]] = list(rows.all())  # type: ignore[arg-type]
    return found
