"""SQL of performance analytics: only aggregates leave PostgreSQL (one statement per function)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import Attendance, ClassStudent, Grade, Lesson, WorkType
from edutrack.queries.attendance import summary_columns
from edutrack.queries.grades import sums_columns, teacher_scope


async def student_trend(session: AsyncSession, student_id: int, *, unit: str, starts: date, ends: date,
                        teacher_id: int | None) -> list[Any]:
    """Per period (week or month, by its first day) and subject: the sums of the averages."""
    assert unit in ("week", "month")
    period = cast(func.date_trunc(unit, Grade.date), Date).label("period")
    conds: list[Any] = [Grade.student_id == student_id, Grade.deleted_at.is_(None),
                        Grade.date.between(starts, ends)]
    if teacher_id is not None:
        conds.append(teacher_scope(teacher_id))
    stmt = (
        select(period, Grade.subject_id, *sums_columns())
        .join(WorkType, WorkType.id == Grade.work_type_id)
        .where(and_(*conds))
        .group_by(period, Grade.subject_id)
        .order_by(period, Grade.subject_id)
    )
    return list((await session.execute(stmt)).all())


async def class_attendance(session: AsyncSession, class_id: int, starts: datetime, ends: datetime) -> list[Any]:
    """Per student of the class: attendance counts over the class's lessons starting in [starts, ends)
    (from the lessons' (class_id, starts_at) index into attendance's (lesson_id, student_id) one)."""
    stmt = (
        select(Attendance.student_id, *summary_columns())
        .select_from(Lesson)
        .join(Attendance, Attendance.lesson_id == Lesson.id)
        .join(ClassStudent, and_(ClassStudent.student_id == Attendance.student_id,
                                 ClassStudent.class_id == class_id))
        .where(Lesson.class_id == class_id, Lesson.starts_at >= starts, Lesson.starts_at < ends)
        .group_by(Attendance.student_id)
    )
    return list((await session.execute(stmt)).all())
