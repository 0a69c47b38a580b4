"""SQL of parents' absence notes: the notes, the lessons a note covers, and the attendance marks it excuses."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import Date, and_, case, cast, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.absences import AbsenceNote
from edutrack.db.diary import AcademicYear, Attendance, ClassStudent, Lesson, School, SchoolClass
from edutrack.db.models import Profile
from edutrack.queries.grades import person_name


def local_day(starts_at: Any = Lesson.starts_at, tz: Any = School.timezone) -> Any:
    """The lesson's day on the school's wall clock, as SQL."""
    return cast(func.timezone(tz, starts_at), Date)


def covers() -> Any:
    """SQL: the lesson (joined with its school) is one the note (the table) covers: one of its lessons, or,
    without a list, any lesson on one of its days. The student's class is checked by the caller."""
    return case((AbsenceNote.lesson_ids.is_(None), local_day().between(AbsenceNote.starts_on, AbsenceNote.ends_on)),
                else_=Lesson.id == func.any(AbsenceNote.lesson_ids))


def covered_by(note: AbsenceNote) -> Any:
    """SQL: the lesson (joined with its school) is one this note covers."""
    if note.lesson_ids:
        return Lesson.id.in_(list(note.lesson_ids))
    return local_day().between(note.starts_on, note.ends_on)


async def class_of_student(session: AsyncSession, student_id: int, day: date) -> Any:
    """The student's class for a day (its year holds the day; else their newest class): id, school_id,
    class_teacher_id, and the school's time zone; None if the student is in no class."""
    in_year = and_(AcademicYear.starts_on <= day, AcademicYear.ends_on >= day)
    stmt = (
        select(SchoolClass.id, SchoolClass.school_id, SchoolClass.class_teacher_id, School.timezone)
        .join(ClassStudent, ClassStudent.class_id == SchoolClass.id)
        .join(School, School.id == SchoolClass.school_id)
        .outerjoin(AcademicYear, AcademicYear.id == SchoolClass.academic_year_id)
        .where(ClassStudent.student_id == student_id)
        .order_by(case((in_year, 0), else_=1), SchoolClass.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).first()


async def lessons_of_student(session: AsyncSession, student_id: int, lesson_ids: Collection[int]) -> list[Any]:
    """Of these lessons, those of the student's classes: id and the day on the school's clock."""
    stmt = (
        select(Lesson.id, local_day().label("day"))
        .join(School, School.id == Lesson.school_id)
        .join(ClassStudent, and_(ClassStudent.class_id == Lesson.class_id, ClassStudent.student_id == student_id))
        .where(Lesson.id.in_(list(lesson_ids)))
    )
    return list((await session.execute(stmt)).all())


async def insert_note(session: AsyncSession, values: dict[str, Any]) -> AbsenceNote:
    return (await session.scalars(insert(AbsenceNote).values(**values).returning(AbsenceNote))).one()


async def note_by_id(session: AsyncSession, note_id: int, *, for_update: bool = False) -> AbsenceNote | None:
    stmt = select(AbsenceNote).where(AbsenceNote.id == note_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def decide(session: AsyncSession, note_id: int, values: dict[str, Any]) -> AbsenceNote:
    stmt = update(AbsenceNote).where(AbsenceNote.id == note_id).values(**values, decided_at=func.now())
    result = await session.scalars(stmt.returning(AbsenceNote),
                                   execution_options={"synchronize_session": False, "populate_existing": True})
    return result.one()


def _note_select() -> Any:
    author = select(Profile.user_id, Profile.first_name, Profile.last_name).subquery()
    return (
        select(AbsenceNote, person_name().label("student_name"), person_name(author.c).label("author_name"))
        .join(Profile, Profile.user_id == AbsenceNote.student_id)
        .outerjoin(author, author.c.user_id == AbsenceNote.author_id)
    )


async def notes(session: AsyncSession, *, school_id: int | None, student_ids: Collection[int] | None,
                class_ids: Collection[int] | None, status: str | None, limit: int, offset: int) -> list[Any]:
    """Notes (newest first) with the student's and the author's names."""
    stmt = _note_select().order_by(AbsenceNote.starts_on.desc(), AbsenceNote.id.desc()).limit(limit).offset(offset)
    if school_id is not None:
        stmt = stmt.where(AbsenceNote.school_id == school_id)
    if student_ids is not None:
        stmt = stmt.where(AbsenceNote.student_id.in_(list(student_ids)))
    if class_ids is not None:
        stmt = stmt.where(AbsenceNote.class_id.in_(list(class_ids)))
    if status is not None:
        stmt = stmt.where(AbsenceNote.status == status)
    return list((await session.execute(stmt)).all())


async def accepted_reasons(session: AsyncSession, lesson_id: int, student_ids: Collection[int]) -> dict[int, str]:
    """student id -> the reason of an accepted note covering this lesson (the newest note if several)."""
    stmt = (
        select(AbsenceNote.student_id, AbsenceNote.reason)
        .select_from(AbsenceNote)
        .join(Lesson, Lesson.id == lesson_id)
        .join(School, School.id == Lesson.school_id)
        .where(AbsenceNote.status == "accepted", AbsenceNote.student_id.in_(list(student_ids)), covers())
        .order_by(AbsenceNote.id)
    )
    return {r.student_id: r.reason for r in await session.execute(stmt)}


async def excuse_marks(session: AsyncSession, note: AbsenceNote) -> list[Any]:
    """Absences of the note's student on lessons it covers, not yet excused, get its reason. Returns the lesson,
    class and subject of each mark changed."""
    stmt = (
        update(Attendance)
        .where(Attendance.lesson_id == Lesson.id, Lesson.school_id == School.id,
               Attendance.student_id == note.student_id, Attendance.status == "absent",
               or_(Attendance.reason.is_(None), Attendance.reason == "unexcused"),
               covered_by(note))
        .values(reason=note.reason, updated_at=func.now())
        .returning(Attendance.lesson_id, Lesson.class_id, Lesson.subject_id)
    )
    return list((await session.execute(stmt, execution_options={"synchronize_session": False})).all())


async def covered_lesson_teachers(session: AsyncSession, note: AbsenceNote) -> set[int]:
    """Teachers of the lessons of the student's classes the note covers."""
    stmt = (
        select(Lesson.teacher_id).distinct()
        .join(School, School.id == Lesson.school_id)
        .join(ClassStudent, and_(ClassStudent.class_id == Lesson.class_id,
                                 ClassStudent.student_id == note.student_id))
        .where(covered_by(note))
    )
    return set((await session.execute(stmt)).scalars())



async def classes_led_by(session: AsyncSession, teacher_id: int) -> set[int]:
    rows = await session.execute(select(SchoolClass.id).where(SchoolClass.class_teacher_id == teacher_id))
    return set(rows.scalars())


async def class_teacher_of(session: AsyncSession, class_id: int) -> int | None:
    stmt = select(SchoolClass.class_teacher_id).where(SchoolClass.id == class_id)
    return (await session.execute(stmt)).scalar()


async def note_row(session: AsyncSession, note_id: int) -> Any:
    """One note with the names, as `notes` answers."""
    return (await session.execute(_note_select().where(AbsenceNote.id == note_id))).first()
