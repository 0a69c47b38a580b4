"""SQL of the exports: a class journal (one subject, one term) and a student's report card, one query per part."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import Attendance, Attestation, ClassStudent, Grade, Lesson, SchoolClass, Subject, WorkType


async def journal_lessons(session: AsyncSession, class_id: int, subject_id: int, starts: datetime,
                          ends: datetime) -> list[Any]:
    stmt = (select(Lesson.id, Lesson.starts_at, Lesson.topic, Lesson.homework, Lesson.cancelled_at,
                   Lesson.change_note, Lesson.moved_from)
            .where(Lesson.class_id == class_id, Lesson.subject_id == subject_id, Lesson.starts_at >= starts,
                   Lesson.starts_at < ends)
            .order_by(Lesson.starts_at, Lesson.id))
    return list((await session.execute(stmt)).all())


async def journal_grades(session: AsyncSession, class_id: int, subject_id: int, starts: date,
                         ends: date) -> list[Any]:
    """The class's grades in the subject over the days, with their weight (the columns `sums_of_rows` reads)."""
    stmt = (select(Grade.student_id, Grade.lesson_id, Grade.date, Grade.value, Grade.mark, Grade.subject_id,
                   Subject.name.label("subject"), WorkType.weight)
            .join(WorkType, WorkType.id == Grade.work_type_id)
            .join(Subject, Subject.id == Grade.subject_id)
            .where(Grade.class_id == class_id, Grade.subject_id == subject_id, Grade.deleted_at.is_(None),
                   Grade.date.between(starts, ends))
            .order_by(Grade.date, Grade.id))
    return list((await session.execute(stmt)).all())


async def journal_attendance(session: AsyncSession, lesson_ids: list[int]) -> list[Any]:
    if not lesson_ids:
        return []
    stmt = (select(Attendance.lesson_id, Attendance.student_id, Attendance.status, Attendance.reason)
            .where(Attendance.lesson_id.in_(lesson_ids)))
    return list((await session.execute(stmt)).all())


async def student_attestations(session: AsyncSession, student_id: int, term_id: int) -> dict[int, str]:
    """subject id -> the confirmed term mark."""
    stmt = select(Attestation.subject_id, Attestation.final).where(Attestation.student_id == student_id,
                                                                  Attestation.term_id == term_id)
    return {r.subject_id: r.final for r in await session.execute(stmt)}


async def class_names_of_student(session: AsyncSession, student_id: int, year_id: int) -> list[str]:
    stmt = (select(SchoolClass.name).join(ClassStudent, ClassStudent.class_id == SchoolClass.id)
            .where(ClassStudent.student_id == student_id, SchoolClass.academic_year_id == year_id)
            .order_by(SchoolClass.name))
    return list((await session.execute(stmt)).scalars())
