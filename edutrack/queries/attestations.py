"""SQL of term marks and the class term sheet. Every function is one statement, whatever the class size."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy import and_, select, union
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import (
    Attestation,
    ClassStudent,
    Grade,
    School,
    SchoolClass,
    Subject,
    TeachingAssignment,
    WorkType,
)
from edutrack.db.models import Profile, User
from edutrack.queries.grades import person_name, sums_columns


async def class_with_policy(session: AsyncSession, class_id: int) -> Any:
    """The class, its school's time zone and attestation policy in one row (None for an unknown class)."""
    stmt = (
        select(SchoolClass.id, SchoolClass.name, SchoolClass.school_id, SchoolClass.class_teacher_id, School.timezone,
               School.min_marks_for_attestation, School.rounding_threshold, School.at_risk_average,
               School.at_risk_unexcused_absences)
        .join(School, School.id == SchoolClass.school_id)
        .where(SchoolClass.id == class_id)
    )
    return (await session.execute(stmt)).first()


async def class_students(session: AsyncSession, class_id: int) -> list[Any]:
    stmt = (
        select(User.id, person_name().label("name"))
        .join(ClassStudent, ClassStudent.student_id == User.id)
        .join(Profile, Profile.user_id == User.id)
        .where(ClassStudent.class_id == class_id)
        .order_by(Profile.last_name, Profile.first_name, User.id)
    )
    return list((await session.execute(stmt)).all())


async def class_subjects(session: AsyncSession, class_id: int, starts: date, ends: date,
                         only: Collection[int] | None) -> list[Any]:
    """Subjects taught in the class, plus any its students were graded in during the period."""
    taught = select(TeachingAssignment.subject_id.label("subject_id")).where(TeachingAssignment.class_id == class_id)
    graded = (
        select(Grade.subject_id)
        .where(Grade.class_id == class_id, Grade.deleted_at.is_(None), Grade.date.between(starts, ends))
    )
    ids = union(taught, graded).subquery()
    stmt = select(Subject.id, Subject.name).join(ids, ids.c.subject_id == Subject.id).order_by(Subject.name, Subject.id)
    if only is not None:
        stmt = stmt.where(Subject.id.in_(list(only)))
    return list((await session.execute(stmt)).all())


async def class_sums(session: AsyncSession, class_id: int, starts: date, ends: date,
                     only: Collection[int] | None) -> list[Any]:
    """Per (student, subject) of the class: the sums every average is computed from. Grades given in this class
    (`grades.class_id`, indexed) to students still enrolled in it."""
    stmt = (
        select(Grade.student_id, Grade.subject_id, *sums_columns())
        .join(ClassStudent, and_(ClassStudent.student_id == Grade.student_id, ClassStudent.class_id == class_id))
        .join(WorkType, WorkType.id == Grade.work_type_id)
        .where(Grade.class_id == class_id, Grade.deleted_at.is_(None), Grade.date.between(starts, ends))
        .group_by(Grade.student_id, Grade.subject_id)
    )
    if only is not None:
        stmt = stmt.where(Grade.subject_id.in_(list(only)))
    return list((await session.execute(stmt)).all())


async def class_attestations(session: AsyncSession, class_id: int, term_id: int) -> list[Attestation]:
    stmt = (
        select(Attestation)
        .join(ClassStudent, ClassStudent.student_id == Attestation.student_id)
        .where(ClassStudent.class_id == class_id, Attestation.term_id == term_id)
    )
    return list((await session.execute(stmt)).scalars())


async def subjects_taught_in_class(session: AsyncSession, teacher_id: int, class_id: int) -> set[int]:
    stmt = select(TeachingAssignment.subject_id).where(TeachingAssignment.teacher_id == teacher_id,
                                                      TeachingAssignment.class_id == class_id)
    return set((await session.execute(stmt)).scalars())


async def attestation(session: AsyncSession, student_id: int, subject_id: int, term_id: int,
                      *, for_update: bool = False) -> Attestation | None:
    stmt = select(Attestation).where(Attestation.student_id == student_id, Attestation.subject_id == subject_id,
                                     Attestation.term_id == term_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def upsert_attestation(session: AsyncSession, values: dict[str, Any]) -> Attestation:
    base = insert(Attestation).values(**values)
    stmt = base.on_conflict_do_update(
        index_elements=[Attestation.student_id, Attestation.subject_id, Attestation.term_id],
        set_={k: base.excluded[k] for k in ("class_id", "proposed", "final", "is_override", "average", "comment",
                                             "confirmed_by", "confirmed_at")},
    ).returning(Attestation)
    result = await session.scalars(stmt, execution_options={"populate_existing": True})
    return result.one()


async def teacher_sees_subject(session: AsyncSession, teacher_id: int, student_id: int, subject_id: int) -> bool:
    """Does the teacher teach this subject in one of the student's classes, or lead one of them?"""
    teaches = (
        select(TeachingAssignment.id)
        .join(ClassStudent, ClassStudent.class_id == TeachingAssignment.class_id)
        .where(TeachingAssignment.teacher_id == teacher_id, TeachingAssignment.subject_id == subject_id,
               ClassStudent.student_id == student_id)
    )
    leads = (
        select(SchoolClass.id)
        .join(ClassStudent, ClassStudent.class_id == SchoolClass.id)
        .where(SchoolClass.class_teacher_id == teacher_id, ClassStudent.student_id == student_id)
    )
    return (await session.execute(union(teaches, leads).limit(1))).first() is not None


# --- the cache-missed term sheet, on the driver connection --------------------------------------------------
# A sheet is dropped from the cache by every grade of its class, so under a mixed load its misses were most of
# the server's CPU: six ORM statements built, compiled and processed per miss. Here: prepared statements on the
# asyncpg connection under the heavy-read session's connection (`queries/driver.py`), with the same columns,
# filters and order as the statements above.

_SHEET_FACTS = """
SELECT c.name, c.school_id, c.class_teacher_id, s.min_marks_for_attestation, s.rounding_threshold,
       t.school_id AS term_school_id, t.starts_on, t.ends_on,
       ARRAY(SELECT ta.subject_id FROM teaching_assignments ta WHERE ta.teacher_id = $3 AND ta.class_id = c.id)
         AS taught
FROM classes c JOIN schools s ON s.id = c.school_id LEFT JOIN terms t ON t.id = $2
WHERE c.id = $1
"""

_SHEET_STUDENTS = """
SELECT u.id, concat_ws(' ', p.last_name, p.first_name)
FROM users u JOIN class_students cs ON cs.student_id = u.id JOIN profiles p ON p.user_id = u.id
WHERE cs.class_id = $1
ORDER BY p.last_name, p.first_name, u.id
"""

_SHEET_SUBJECTS = """
SELECT s.id, s.name
FROM subjects s JOIN (SELECT ta.subject_id FROM teaching_assignments ta WHERE ta.class_id = $1
                      UNION
                      SELECT g.subject_id FROM grades g
                      WHERE g.class_id = $1 AND g.deleted_at IS NULL AND g.date BETWEEN $2 AND $3) ids
     ON ids.subject_id = s.id
WHERE $4::bigint[] IS NULL OR s.id = ANY($4::bigint[])
ORDER BY s.name, s.id
"""

_SHEET_SUMS = """
SELECT g.student_id, g.subject_id, coalesce(sum(g.value * w.weight), 0),
       coalesce(sum(w.weight) FILTER (WHERE g.value IS NOT NULL), 0), count(g.value), coalesce(sum(g.value), 0),
       count(*)
FROM grades g JOIN class_students cs ON cs.student_id = g.student_id AND cs.class_id = $1
     JOIN work_types w ON w.id = g.work_type_id
WHERE g.class_id = $1 AND g.deleted_at IS NULL AND g.date BETWEEN $2 AND $3
  AND ($4::bigint[] IS NULL OR g.subject_id = ANY($4::bigint[]))
GROUP BY g.student_id, g.subject_id
"""

_SHEET_FINALS = """
SELECT a.student_id, a.subject_id, a.final, a.is_override
FROM attestations a JOIN class_students cs ON cs.student_id = a.student_id
WHERE cs.class_id = $1 AND a.term_id = $2
"""


async def sheet_facts_raw(db: asyncpg.Connection, class_id: int, term_id: int,
                          teacher_id: int) -> asyncpg.Record | None:
    """The class (name, school, class teacher), its school's attestation policy, the term's school and dates
    (None where there is no such term) and the subjects `teacher_id` teaches in the class: what the sheet's
    reader is decided from (None for an unknown class)."""
    return await db.fetchrow(_SHEET_FACTS, class_id, term_id, teacher_id)


# The four row statements above as one: each an array of anonymous records (asyncpg gives a record per row, its
# fields decoded as in the statement alone), so a miss asks PostgreSQL twice (facts, rows) instead of five times.
# The ROW is built in each statement's own SELECT, so its ORDER BY orders the array.
def _records(statement: str) -> str:
    head, _, rest = statement.strip().partition("\nFROM ")
    assert head.startswith("SELECT ") and rest, statement
    return f"ARRAY(SELECT ROW({head.removeprefix('SELECT ')}) FROM {rest})"  # noqa: S608 (this module's constants)


_SHEET_ROWS = (f"SELECT {_records(_SHEET_STUDENTS)}, {_records(_SHEET_SUBJECTS)}, {_records(_SHEET_SUMS)}, "
               f"{_records(_SHEET_FINALS.replace('$2', '$5'))}")


async def sheet_rows_raw(db: asyncpg.Connection, class_id: int, term_id: int, starts: date, ends: date,
                         only: Collection[int] | None) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """`class_students`, `class_subjects`, `class_sums` and `class_attestations` (student, subject, final,
    override) of one sheet, as records in the same column order and, where they have one, the same order."""
    row = await db.fetchrow(_SHEET_ROWS, class_id, starts, ends, None if only is None else list(only), term_id)
    assert row is not None
    students, subjects, sums, finals = row
    return students, subjects, sums, finals
