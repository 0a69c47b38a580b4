"""SQL of homework hand-in: submissions, the deadline (the class's next lesson of the subject), class lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import ClassStudent, Grade, Lesson, Subject
from edutrack.db.files import StoredFile
from edutrack.db.handin import HomeworkSubmission
from edutrack.db.models import Profile
from edutrack.queries.classes import full_name_sql


async def submission(session: AsyncSession, lesson_id: int, student_id: int, *,
                     for_update: bool = False) -> HomeworkSubmission | None:
    stmt = select(HomeworkSubmission).where(HomeworkSubmission.lesson_id == lesson_id,
                                            HomeworkSubmission.student_id == student_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def submission_by_id(session: AsyncSession, submission_id: int, *,
                           for_update: bool = False) -> HomeworkSubmission | None:
    stmt = select(HomeworkSubmission).where(HomeworkSubmission.id == submission_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def add(session: AsyncSession, row: HomeworkSubmission) -> HomeworkSubmission:
    session.add(row)
    await session.flush()
    return row


async def due_at(session: AsyncSession, lesson: Lesson) -> datetime | None:
    """When homework set at `lesson` is due: the start of the class's next lesson of the subject."""
    stmt = (select(Lesson.starts_at)
            .where(Lesson.class_id == lesson.class_id, Lesson.subject_id == lesson.subject_id,
                   Lesson.starts_at > lesson.starts_at, Lesson.cancelled_at.is_(None))
            .order_by(Lesson.starts_at).limit(1))
    return (await session.execute(stmt)).scalar()


async def drop_files(session: AsyncSession, submission_id: int) -> None:
    """A replaced hand-in's files go (their chunks with them): the new one brings its own."""
    await session.execute(delete(StoredFile).where(StoredFile.submission_id == submission_id))


async def files_of(session: AsyncSession, submission_ids: list[int]) -> dict[int, list[StoredFile]]:
    if not submission_ids:
        return {}
    rows = await session.execute(select(StoredFile).where(StoredFile.submission_id.in_(submission_ids),
                                                          StoredFile.is_thumbnail.is_(False))
                                 .order_by(StoredFile.id))
    found: dict[int, list[StoredFile]] = {}
    for f in rows.scalars():
        assert f.submission_id is not None
        found.setdefault(f.submission_id, []).append(f)
    return found


async def class_roster(session: AsyncSession, class_id: int) -> list[tuple[int, str]]:
    """(student id, name) of the class, by name."""
    stmt = (select(ClassStudent.student_id, full_name_sql().label("name"))
            .join(Profile, Profile.user_id == ClassStudent.student_id)
            .where(ClassStudent.class_id == class_id).order_by("name"))
    return [(int(r.student_id), str(r.name)) for r in (await session.execute(stmt)).all()]


async def submissions_of_lesson(session: AsyncSession, lesson_id: int) -> dict[int, HomeworkSubmission]:
    rows = await session.execute(select(HomeworkSubmission).where(HomeworkSubmission.lesson_id == lesson_id))
    return {s.student_id: s for s in rows.scalars()}


async def submissions_of_student(session: AsyncSession, student_id: int,
                                 limit: int) -> list[tuple[HomeworkSubmission, str, datetime, Any, Any]]:
    """The student's hand-ins, newest lesson first, with the lesson's subject and date and the grade's value."""
    stmt = (select(HomeworkSubmission, Subject.name.label("subject"), Lesson.starts_at,
                   Grade.value.label("grade_value"), Grade.mark.label("grade_mark"))
            .join(Lesson, Lesson.id == HomeworkSubmission.lesson_id)
            .join(Subject, Subject.id == Lesson.subject_id)
            .outerjoin(Grade, (Grade.id == HomeworkSubmission.grade_id) & Grade.deleted_at.is_(None))
            .where(HomeworkSubmission.student_id == student_id)
            .order_by(Lesson.starts_at.desc()).limit(limit))
    return [(r[0], str(r.subject), r.starts_at, r.grade_value, r.grade_mark)
            for r in (await session.execute(stmt)).all()]


async def subject_name(session: AsyncSession, subject_id: int) -> str:
    return str((await session.execute(select(Subject.name).where(Subject.id == subject_id))).scalar() or "")


async def grade_display(session: AsyncSession, grade_id: int | None) -> str | None:
    if grade_id is None:
        return None
    row = (await session.execute(select(Grade.value, Grade.mark).where(Grade.id == grade_id,
                                                                         Grade.deleted_at.is_(None)))).first()
    if row is None:
        return None
    return str(row.value) if row.value is not None else str(row.mark)
