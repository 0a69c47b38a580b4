"""SQL of the onboarding import: what the school has (a few set-based reads), and its bulk writes.

Reads take every natural key of the file at once (`= ANY(...)`), writes are one statement per table and kind of
change (executemany of a multi-row INSERT ... RETURNING, or of an UPDATE with parameters), never a round trip per
file row.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, Row, String, any_, bindparam, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import (
    AcademicYear,
    Attendance,
    ClassStudent,
    Grade,
    Lesson,
    ParentChild,
    SchoolClass,
    Subject,
    TeachingAssignment,
)
from edutrack.db.models import EmailOutbox, PasswordResetToken, Profile, User

# Namespace of the transaction-scoped advisory lock one school's import holds while it writes ("impt").
IMPORT_LOCK = 0x696D7074


async def lock_school(session: AsyncSession, school_id: int) -> None:
    """Imports of one school run one at a time: the second waits for the first to commit, then sees its rows."""
    await session.execute(select(func.pg_advisory_xact_lock(literal(IMPORT_LOCK), literal(school_id))))


async def year_for(session: AsyncSession, school_id: int, today: date) -> AcademicYear | None:
    """The year containing today, else the next one to begin, else the last one."""
    years = list((await session.execute(
        select(AcademicYear).where(AcademicYear.school_id == school_id).order_by(AcademicYear.starts_on))).scalars())
    current = [y for y in years if y.starts_on <= today <= y.ends_on]
    upcoming = [y for y in years if y.starts_on > today]
    found = current or upcoming or years[-1:]
    return found[0] if found else None


async def people(session: AsyncSession, emails: Collection[str]) -> list[Any]:
    if not emails:
        return []
    rows = await session.execute(
        select(User.id, User.email, User.role, User.school_id, Profile.first_name, Profile.last_name,
               Profile.middle_name, Profile.birthday)
        .join(Profile, Profile.user_id == User.id)
        .where(User.email == any_(bindparam("emails", list(emails), type_=ARRAY(String)))))
    return list(rows.all())


async def classes_of_year(session: AsyncSession, school_id: int, year_id: int) -> list[SchoolClass]:
    rows = await session.execute(select(SchoolClass).where(SchoolClass.school_id == school_id,
                                                           SchoolClass.academic_year_id == year_id))
    return list(rows.scalars())


async def subjects_of_school(session: AsyncSession, school_id: int) -> list[Subject]:
    return list((await session.execute(select(Subject).where(Subject.school_id == school_id))).scalars())


async def assignments_of(session: AsyncSession, class_ids: Collection[int]) -> set[tuple[int, int, int]]:
    if not class_ids:
        return set()
    rows = await session.execute(
        select(TeachingAssignment.class_id, TeachingAssignment.subject_id, TeachingAssignment.teacher_id)
        .where(TeachingAssignment.class_id.in_(list(class_ids))))
    return {(r.class_id, r.subject_id, r.teacher_id) for r in rows}


async def enrolments(session: AsyncSession, student_ids: Collection[int], class_ids: Collection[int]) -> list[Any]:
    if not student_ids or not class_ids:
        return []
    rows = await session.execute(
        select(ClassStudent.student_id, ClassStudent.class_id)
        .where(ClassStudent.student_id.in_(list(student_ids)), ClassStudent.class_id.in_(list(class_ids))))
    return list(rows.all())


async def links_of(session: AsyncSession, parent_ids: Collection[int]) -> set[tuple[int, int]]:
    if not parent_ids:
        return set()
    rows = await session.execute(select(ParentChild.parent_id, ParentChild.child_id)
                                 .where(ParentChild.parent_id.in_(list(parent_ids))))
    return {(r.parent_id, r.child_id) for r in rows}


async def lessons_with_history(session: AsyncSession, school_id: int, starts: datetime, ends: datetime) -> set[int]:
    """Lessons of the school in [starts, ends) that have a grade or an attendance mark."""
    in_range = select(Lesson.id).where(Lesson.school_id == school_id, Lesson.starts_at < ends,
                                       Lesson.ends_at > starts)
    graded = select(Grade.lesson_id).where(Grade.lesson_id.in_(in_range))
    marked = select(Attendance.lesson_id).where(Attendance.lesson_id.in_(in_range))
    rows = await session.execute(graded.union(marked))
    return {r[0] for r in rows if r[0] is not None}


# Writes


async def insert_returning_ids(session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]],
                               *columns: Any) -> list[Row[Any]]:
    """INSERT of many rows; (id, *columns) of each, in the order given."""
    if not rows:
        return []
    result = await session.execute(
        pg_insert(table).returning(table.id, *columns, sort_by_parameter_order=True), list(rows))
    return list(result.all())


async def insert_profiles(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(pg_insert(Profile), list(rows))


async def update_rows(session: AsyncSession, table: Any, key_column: str, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE rows of `table` found by `key_column` (`_key` in each row's values), one executemany per set of
    columns changed together."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        columns = tuple(sorted(k for k in row if k != "_key"))
        by_columns.setdefault(columns, []).append(row)
    for columns, group in by_columns.items():
        core = table.__table__  # Core, not the ORM's bulk UPDATE: that one allows no WHERE of our own
        stmt = update(core).where(core.c[key_column] == bindparam("_key")).values(
            {c: bindparam(f"new_{c}") for c in columns})
        await session.execute(stmt, [{"_key": r["_key"], **{f"new_{c}": r[c] for c in columns}} for r in group])


async def move_students(session: AsyncSession, placements: Sequence[tuple[int, int]],
                        year_class_ids: Collection[int]) -> None:
    """Each (student, class): the student's only class of the year from now on."""
    if not placements:
        return
    students = [s for s, _ in placements]
    await session.execute(delete(ClassStudent).where(ClassStudent.student_id.in_(students),
                                                     ClassStudent.class_id.in_(list(year_class_ids))))
    await session.execute(pg_insert(ClassStudent).on_conflict_do_nothing(),
                          [{"student_id": s, "class_id": c} for s, c in placements])


async def insert_ignoring_duplicates(session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(pg_insert(table).on_conflict_do_nothing(), list(rows))


async def delete_lessons(session: AsyncSession, lesson_ids: Sequence[int]) -> None:
    if lesson_ids:
        await session.execute(delete(Lesson).where(Lesson.id.in_(list(lesson_ids))))


async def insert_lessons(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(pg_insert(Lesson), list(rows))


async def insert_invitations(session: AsyncSession, tokens: Sequence[dict[str, Any]],
                             emails: Sequence[dict[str, Any]]) -> None:
    """Set-your-password tokens and their emails, in the transaction that creates the accounts."""
    if tokens:
        await session.execute(pg_insert(PasswordResetToken), list(tokens))
    if emails:
        await session.execute(pg_insert(EmailOutbox), list(emails))
