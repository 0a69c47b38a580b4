"""SQL of attendance marks: bulk upsert per lesson, reads per lesson and per student (one statement each)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import Attendance, ClassStudent, Lesson, SchoolClass, Subject, TeachingAssignment
from edutrack.db.models import Profile
from edutrack.queries.grades import person_name


async def lesson_with_subject(session: AsyncSession, lesson_id: int) -> Any:
    stmt = (
        select(Lesson.id, Lesson.school_id, Lesson.class_id, Lesson.subject_id, Lesson.teacher_id,
               Lesson.regular_teacher_id, Lesson.cancelled_at, Lesson.starts_at, Subject.name.label("subject"))
        .join(Subject, Subject.id == Lesson.subject_id)
        .where(Lesson.id == lesson_id)
    )
    return (await session.execute(stmt)).first()


async def class_student_names(session: AsyncSession, class_id: int) -> dict[int, str]:
    stmt = (
        select(ClassStudent.student_id, person_name().label("name"))
        .join(Profile, Profile.user_id == ClassStudent.student_id)
        .where(ClassStudent.class_id == class_id)
    )
    return {r.student_id: r.name for r in await session.execute(stmt)}


async def lesson_marks(session: AsyncSession, lesson_id: int, *, student_ids: Collection[int] | None = None,
                       for_update: bool = False) -> list[Attendance]:
    stmt = select(Attendance).where(Attendance.lesson_id == lesson_id).order_by(Attendance.student_id)
    if student_ids is not None:
        stmt = stmt.where(Attendance.student_id.in_(list(student_ids)))
    if for_update:
        stmt = stmt.with_for_update()
    return list((await session.execute(stmt)).scalars())


async def upsert_marks(session: AsyncSession, rows: list[dict[str, Any]]) -> list[Attendance]:
    base = insert(Attendance)
    stmt = base.on_conflict_do_update(
        index_elements=[Attendance.lesson_id, Attendance.student_id],
        set_={"status": base.excluded.status, "reason": base.excluded.reason, "note": base.excluded.note,
              "marked_by": base.excluded.marked_by, "updated_at": func.now()},
    ).returning(Attendance)
    result = await session.scalars(stmt, rows, execution_options={"populate_existing": True})
    return list(result.all())


async def mark_by_id(session: AsyncSession, attendance_id: int, *, for_update: bool = False) -> Attendance | None:
    stmt = select(Attendance).where(Attendance.id == attendance_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_mark(session: AsyncSession, attendance_id: int, values: dict[str, Any]) -> Attendance:
    stmt = update(Attendance).where(Attendance.id == attendance_id).values(**values, updated_at=func.now())
    result = await session.scalars(stmt.returning(Attendance),
                                   execution_options={"synchronize_session": False, "populate_existing": True})
    return result.one()


def lesson_teacher_scope(teacher_id: int) -> Any:
    """Lessons whose marks a teacher may read: their subjects in the class, or any lesson of a class they lead."""
    return or_(
        exists().where(TeachingAssignment.teacher_id == teacher_id, TeachingAssignment.class_id == Lesson.class_id,
                       TeachingAssignment.subject_id == Lesson.subject_id),
        exists().where(SchoolClass.id == Lesson.class_id, SchoolClass.class_teacher_id == teacher_id),
    )


def _student_filters(student_id: int, starts: datetime | None, ends: datetime | None,
                     teacher_id: int | None) -> list[Any]:
    conds: list[Any] = [Attendance.student_id == student_id]
    if starts is not None:
        conds.append(Lesson.starts_at >= starts)
    if ends is not None:
        conds.append(Lesson.starts_at < ends)
    if teacher_id is not None:
        conds.append(lesson_teacher_scope(teacher_id))
    return conds


async def student_marks(session: AsyncSession, student_id: int, *, starts: datetime | None, ends: datetime | None,
                        teacher_id: int | None) -> list[Any]:
    stmt = (
        select(Attendance.id, Attendance.lesson_id, Attendance.status, Attendance.reason, Attendance.note,
               Attendance.updated_at, Lesson.starts_at, Lesson.subject_id, Subject.name.label("subject"))
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Subject, Subject.id == Lesson.subject_id)
        .where(and_(*_student_filters(student_id, starts, ends, teacher_id)))
        .order_by(Lesson.starts_at, Attendance.id)
    )
    return list((await session.execute(stmt)).all())


def summary_columns() -> list[Any]:
    return [
        func.count().label("marked"),
        func.count().filter(Attendance.status == "present").label("present"),
        func.count().filter(Attendance.status == "late").label("late"),
        func.count().filter(Attendance.status == "absent").label("absent"),
        func.count().filter(Attendance.status == "absent",
                            func.coalesce(Attendance.reason, "unexcused") == "unexcused").label("unexcused"),
    ]


async def student_summary(session: AsyncSession, student_id: int, *, starts: datetime | None,
                          ends: datetime | None, teacher_id: int | None) -> Any:
    stmt = (
        select(*summary_columns())
        .select_from(Attendance)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .where(and_(*_student_filters(student_id, starts, ends, teacher_id)))
    )
    return (await session.execute(stmt)).one()

