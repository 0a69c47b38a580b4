"""SQL of grades and their audit trail. Each function is one statement, whatever the number of rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
from sqlalchemy import Row, and_, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import (
    AuditLog,
    ClassStudent,
    Grade,
    Lesson,
    School,
    SchoolClass,
    Subject,
    TeachingAssignment,
    Term,
    WorkType,
)
from edutrack.db.models import Profile, User

# Aliases of the profiles table, built once: building one per request showed up in profiles of the hot reads.
STUDENT_PROFILE = Profile.__table__.alias("sp")
TEACHER_PROFILE = Profile.__table__.alias("tp")
ACTOR_PROFILE = Profile.__table__.alias("ap")


def person_name(profile: Any = Profile) -> Any:
    """"Фамилия Имя" of a profile, as a SQL expression."""
    return func.concat_ws(" ", profile.last_name, profile.first_name)


async def student_row(session: AsyncSession, student_id: int) -> Row[Any] | None:
    """id, role, school_id, is_active and the display name of a user."""
    stmt = (
        select(User.id, User.role, User.school_id, User.is_active, person_name().label("name"))
        .join(Profile, Profile.user_id == User.id)
        .where(User.id == student_id)
    )
    return (await session.execute(stmt)).first()


async def lesson_brief(session: AsyncSession, lesson_id: int) -> Any:
    stmt = select(Lesson.id, Lesson.school_id, Lesson.class_id, Lesson.subject_id, Lesson.teacher_id,
                  Lesson.regular_teacher_id, Lesson.cancelled_at, Lesson.starts_at, Lesson.ends_at
                  ).where(Lesson.id == lesson_id)
    return (await session.execute(stmt)).first()


async def subject_school(session: AsyncSession, subject_id: int) -> int | None:
    return (await session.execute(select(Subject.school_id).where(Subject.id == subject_id))).scalar()


async def work_type(session: AsyncSession, work_type_id: int) -> WorkType | None:
    return (await session.execute(select(WorkType).where(WorkType.id == work_type_id))).scalar_one_or_none()


async def term(session: AsyncSession, term_id: int) -> Term | None:
    return (await session.execute(select(Term).where(Term.id == term_id))).scalar_one_or_none()


async def school(session: AsyncSession, school_id: int) -> School | None:
    return (await session.execute(select(School).where(School.id == school_id))).scalar_one_or_none()


async def is_enrolled(session: AsyncSession, student_id: int, class_id: int) -> bool:
    stmt = select(ClassStudent.student_id).where(ClassStudent.student_id == student_id,
                                                 ClassStudent.class_id == class_id)
    return (await session.execute(stmt)).first() is not None


async def insert_grade(session: AsyncSession, values: dict[str, Any]) -> Grade:
    return (await session.execute(insert(Grade).returning(Grade), [values])).scalar_one()


async def grade_by_id(session: AsyncSession, grade_id: int, *, for_update: bool = False) -> Grade | None:
    stmt = select(Grade).where(Grade.id == grade_id, Grade.deleted_at.is_(None))
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_grade(session: AsyncSession, grade_id: int, values: dict[str, Any]) -> Grade:
    stmt = update(Grade).where(Grade.id == grade_id).values(**values).returning(Grade)
    # populate_existing: the caller holds the same Grade in the identity map and must see the new values.
    options = {"synchronize_session": False, "populate_existing": True}
    return (await session.execute(stmt, execution_options=options)).scalar_one()


async def grade_labels(session: AsyncSession, grade_id: int) -> Row[Any]:
    """Names a notification shows: the student's, the subject's, the work type's and the teacher's."""
    student = STUDENT_PROFILE
    teacher = TEACHER_PROFILE
    stmt = (
        select(person_name(student.c).label("student_name"), Subject.name.label("subject"),
               WorkType.name.label("work_type"), WorkType.weight.label("weight"),
               person_name(teacher.c).label("teacher"))
        .select_from(Grade)
        .join(student, student.c.user_id == Grade.student_id)
        .join(teacher, teacher.c.user_id == Grade.teacher_id)
        .join(Subject, Subject.id == Grade.subject_id)
        .join(WorkType, WorkType.id == Grade.work_type_id)
        .where(Grade.id == grade_id)
    )
    return (await session.execute(stmt)).one()


async def students_graded_on_lesson(session: AsyncSession, lesson_id: int) -> list[int]:
    """Students with grades pointing at the lesson (deleting it changes their grade lists: lesson_id -> null)."""
    rows = await session.execute(select(Grade.student_id).where(Grade.lesson_id == lesson_id).distinct())
    return list(rows.scalars())


async def insert_audit(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(AuditLog), rows)


async def audit_entries(session: AsyncSession, *, school_id: int | None, entity: str | None,
                        entity_id: int | None, limit: int, offset: int) -> list[Row[Any]]:
    actor = ACTOR_PROFILE
    stmt = (
        select(AuditLog, person_name(actor.c).label("actor_name"))
        .outerjoin(actor, actor.c.user_id == AuditLog.actor_id)
        .order_by(AuditLog.at, AuditLog.id)
        .limit(limit).offset(offset)
    )
    if school_id is not None:
        stmt = stmt.where(AuditLog.school_id == school_id)
    if entity is not None:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    return list((await session.execute(stmt)).all())


def teacher_scope(teacher_id: int) -> Any:
    """Grades a teacher may see: subjects they teach in the grade's class, or anything in a class they lead
    (the class teacher, классный руководитель, follows the whole class)."""
    return or_(
        exists().where(TeachingAssignment.teacher_id == teacher_id,
                       TeachingAssignment.class_id == Grade.class_id,
                       TeachingAssignment.subject_id == Grade.subject_id),
        exists().where(SchoolClass.id == Grade.class_id, SchoolClass.class_teacher_id == teacher_id),
    )


def _filters(student_id: int, *, subject_id: int | None, starts: date | None, ends: date | None,
             teacher_id: int | None) -> list[Any]:
    conds: list[Any] = [Grade.student_id == student_id, Grade.deleted_at.is_(None)]
    if subject_id is not None:
        conds.append(Grade.subject_id == subject_id)
    if starts is not None:
        conds.append(Grade.date >= starts)
    if ends is not None:
        conds.append(Grade.date <= ends)
    if teacher_id is not None:
        conds.append(teacher_scope(teacher_id))
    return conds


async def student_grades(session: AsyncSession, student_id: int, *, subject_id: int | None, starts: date | None,
                         ends: date | None, teacher_id: int | None) -> list[Any]:
    teacher = TEACHER_PROFILE
    stmt = (
        select(Grade.id, Grade.class_id, Grade.subject_id, Subject.name.label("subject"), Grade.work_type_id,
               WorkType.name.label("work_type"), WorkType.weight, Grade.date, Grade.value, Grade.mark,
               Grade.comment, Grade.lesson_id, Grade.teacher_id, person_name(teacher.c).label("teacher"),
               Grade.created_at, Grade.updated_at)
        .join(Subject, Subject.id == Grade.subject_id)
        .join(WorkType, WorkType.id == Grade.work_type_id)
        .join(teacher, teacher.c.user_id == Grade.teacher_id)
        .where(and_(*_filters(student_id, subject_id=subject_id, starts=starts, ends=ends, teacher_id=teacher_id)))
        .order_by(Subject.name, Grade.date, Grade.id)
    )
    return list((await session.execute(stmt)).all())


async def student_subject_sums(session: AsyncSession, student_id: int, *, subject_id: int | None,
                               starts: date | None, ends: date | None, teacher_id: int | None) -> list[Row[Any]]:
    """Per subject: Σ(value×weight), Σ(weight) and count over numeric grades, the plain sum, and all marks."""
    stmt = (
        select(Grade.subject_id, Subject.name.label("subject"), *sums_columns())
        .join(Subject, Subject.id == Grade.subject_id)
        .join(WorkType, WorkType.id == Grade.work_type_id)
        .where(and_(*_filters(student_id, subject_id=subject_id, starts=starts, ends=ends, teacher_id=teacher_id)))
        .group_by(Grade.subject_id, Subject.name)
        .order_by(Subject.name)
    )
    return list((await session.execute(stmt)).all())


def sums_columns() -> list[Any]:
    """Aggregates every average is computed from (the rounding rule then lives in one Python function)."""
    numeric = Grade.value.is_not(None)
    return [
        func.coalesce(func.sum(Grade.value * WorkType.weight), 0).label("weighted_sum"),
        func.coalesce(func.sum(WorkType.weight).filter(numeric), 0).label("weight_sum"),
        func.count(Grade.value).label("numeric_count"),
        func.coalesce(func.sum(Grade.value), 0).label("value_sum"),
        func.count().label("marks_count"),
    ]


# --- the cache-missed grade list, on the driver connection -------------------------------------------------
# The hot path of a read after a write (and of every read after a school-wide change): two prepared statements
# on the asyncpg connection under a pooled engine connection (`queries/driver.py`), no ORM statements built,
# compiled or processed per request. Same columns, filters and order as `student_grades` and `parent_ids_of`.

_STUDENT_FACTS = """
SELECT u.role, u.school_id, concat_ws(' ', p.last_name, p.first_name) AS name,
       ARRAY(SELECT pc.parent_id FROM parent_children pc WHERE pc.child_id = u.id ORDER BY pc.parent_id) AS parents,
       t.school_id AS term_school_id, t.starts_on AS term_starts, t.ends_on AS term_ends
FROM users u JOIN profiles p ON p.user_id = u.id LEFT JOIN terms t ON t.id = $2
WHERE u.id = $1
"""

_STUDENT_GRADES = """
SELECT g.id, g.class_id, g.subject_id, s.name, g.work_type_id, w.name, w.weight, g.date, g.value, g.mark,
       g.comment, g.lesson_id, g.teacher_id, concat_ws(' ', tp.last_name, tp.first_name), g.created_at, g.updated_at
FROM grades g JOIN subjects s ON s.id = g.subject_id JOIN work_types w ON w.id = g.work_type_id
     JOIN profiles tp ON tp.user_id = g.teacher_id
WHERE g.student_id = $1 AND g.deleted_at IS NULL AND ($2::bigint IS NULL OR g.subject_id = $2)
  AND ($3::date IS NULL OR g.date >= $3) AND ($4::date IS NULL OR g.date <= $4)
ORDER BY s.name, g.date, g.id
"""


async def student_facts_raw(db: asyncpg.Connection, student_id: int, term_id: int | None) -> asyncpg.Record | None:
    """A user's role, school, display name and linked parents (as `parent_ids_of`), and the term's school and
    dates (None where there is no such term): what reading their grades is decided from."""
    return await db.fetchrow(_STUDENT_FACTS, student_id, term_id)


async def student_grades_raw(db: asyncpg.Connection, student_id: int, *, subject_id: int | None,
                             starts: date | None, ends: date | None) -> list[asyncpg.Record]:
    """`student_grades` without a teacher's scope: the same columns in the same order."""
    return list(await db.fetch(_STUDENT_GRADES, student_id, subject_id, starts, ends))


# --- the checks of a new grade, on the driver connection (services/diary/grade_target.py) -------------------

_GRADE_FACTS = """
SELECT u.role, u.school_id,
       (SELECT c.school_id FROM classes c WHERE c.id = $2) AS class_school,
       (SELECT s.school_id FROM subjects s WHERE s.id = $3) AS subject_school,
       EXISTS (SELECT 1 FROM teaching_assignments ta
               WHERE ta.teacher_id = $4 AND ta.class_id = $2 AND ta.subject_id = $3) AS teaches,
       EXISTS (SELECT 1 FROM class_students cs WHERE cs.student_id = u.id AND cs.class_id = $2) AS enrolled,
       w.school_id AS work_type_school,
       concat_ws(' ', sp.last_name, sp.first_name) AS student_name,
       (SELECT s.name FROM subjects s WHERE s.id = $3) AS subject, w.name AS work_type, w.weight,
       (SELECT concat_ws(' ', tp.last_name, tp.first_name) FROM profiles tp WHERE tp.user_id = $4) AS teacher,
       ARRAY(SELECT pc.parent_id FROM parent_children pc JOIN users pu ON pu.id = pc.parent_id
             WHERE pc.child_id = u.id AND pu.is_active ORDER BY pc.parent_id) AS parents,
       ARRAY(SELECT ta.teacher_id FROM teaching_assignments ta WHERE ta.class_id = $2 AND ta.subject_id = $3
             UNION
             SELECT c.class_teacher_id FROM classes c WHERE c.id = $2 AND c.class_teacher_id IS NOT NULL) AS keepers
FROM users u LEFT JOIN profiles sp ON sp.user_id = u.id LEFT JOIN work_types w ON w.id = $5
WHERE u.id = $1
"""


async def grade_facts_raw(db: asyncpg.Connection, student_id: int, class_id: int, subject_id: int, teacher_id: int,
                          work_type_id: int) -> asyncpg.Record | None:
    """What a new grade is decided and announced from, before it is written: the user's role and school, the
    schools of the class, subject and work type, whether `teacher_id` teaches the subject in the class and
    whether the user is enrolled in it; the names `grade_labels` gives, the active parents (as `parents_of`)
    and the journal's keepers (as `journal.journal_keepers`). None for an unknown user."""
    return await db.fetchrow(_GRADE_FACTS, student_id, class_id, subject_id, teacher_id, work_type_id)


EDIT_FACTS = """
SELECT (SELECT c.school_id FROM classes c WHERE c.id = $2) AS class_school,
       EXISTS (SELECT 1 FROM teaching_assignments ta
               WHERE ta.teacher_id = $4 AND ta.class_id = $2 AND ta.subject_id = $3) AS teaches,
       l.teacher_id AS lesson_teacher, l.regular_teacher_id AS lesson_regular_teacher,
       (SELECT concat_ws(' ', sp.last_name, sp.first_name) FROM profiles sp WHERE sp.user_id = $1) AS student_name,
       (SELECT s.name FROM subjects s WHERE s.id = $3) AS subject, w.name AS work_type, w.weight,
       (SELECT concat_ws(' ', tp.last_name, tp.first_name) FROM profiles tp WHERE tp.user_id = $7) AS teacher,
       ARRAY(SELECT pc.parent_id FROM parent_children pc JOIN users pu ON pu.id = pc.parent_id
             WHERE pc.child_id = $1 AND pu.is_active ORDER BY pc.parent_id) AS parents,
       ARRAY(SELECT ta.teacher_id FROM teaching_assignments ta WHERE ta.class_id = $2 AND ta.subject_id = $3
             UNION
             SELECT c.class_teacher_id FROM classes c WHERE c.id = $2 AND c.class_teacher_id IS NOT NULL) AS keepers
FROM (SELECT 1) AS one LEFT JOIN work_types w ON w.id = $5 LEFT JOIN lessons l ON l.id = $6
"""


async def edit_facts_raw(db: asyncpg.Connection, *, student_id: int, class_id: int, subject_id: int, editor_id: int,
                         work_type_id: int, lesson_id: int | None, author_id: int) -> asyncpg.Record:
    """What an edit of a grade (of this student, class, subject, lesson and author) is decided and announced
    from: the class's school, whether `editor_id` teaches the subject in the class, the lesson's teacher and
    regular teacher (`lesson_brief`), the names `grade_labels` gives with this work type, the active parents
    (as `parents_of`) and the journal's keepers (as `journal.journal_keepers`)."""
    row = await db.fetchrow(EDIT_FACTS, student_id, class_id, subject_id, editor_id, work_type_id, lesson_id,
                            author_id)
    assert row is not None
    return row
