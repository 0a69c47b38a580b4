"""SQL of the teacher's journal: what a teacher teaches and leads, a class+subject's lessons, grades, attendance
and term marks over a period, a lesson's sheet, the audit of a journal's grades, a class's parents.
Every function is one statement, whatever the size of the class or the period."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, cast, func, null, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import (
    Attendance,
    Attestation,
    AuditLog,
    ClassStudent,
    Grade,
    Lesson,
    ParentChild,
    SchoolClass,
    Subject,
    TeachingAssignment,
    Term,
    WorkType,
)
from edutrack.db.models import User

_student_counts = (
    select(ClassStudent.class_id, func.count().label("students"))
    .group_by(ClassStudent.class_id)
    .subquery()
)


async def subject_brief(session: AsyncSession, subject_id: int) -> Any:
    return (await session.execute(select(Subject.id, Subject.name, Subject.school_id)
                                  .where(Subject.id == subject_id))).first()


async def taught_by(session: AsyncSession, user_id: int) -> list[Any]:
    """Every class and subject the user teaches, and every class they lead (subject columns null), with the
    class's size. Ordered by grade level, then name, so 5А comes before 10А."""
    taught = (
        select(TeachingAssignment.class_id.label("class_id"), TeachingAssignment.subject_id.label("subject_id"))
        .where(TeachingAssignment.teacher_id == user_id)
    )
    led = select(SchoolClass.id, cast(null(), TeachingAssignment.subject_id.type)).where(
        SchoolClass.class_teacher_id == user_id)
    mine = union(taught, led).subquery()
    stmt = (
        select(SchoolClass.id.label("class_id"), SchoolClass.name.label("class_name"), SchoolClass.grade_level,
               SchoolClass.class_teacher_id, Subject.id.label("subject_id"), Subject.name.label("subject_name"),
               func.coalesce(_student_counts.c.students, 0).label("students"))
        .join(mine, mine.c.class_id == SchoolClass.id)
        .outerjoin(Subject, Subject.id == mine.c.subject_id)
        .outerjoin(_student_counts, _student_counts.c.class_id == SchoolClass.id)
        .order_by(SchoolClass.grade_level, SchoolClass.name, SchoolClass.id, Subject.name)
    )
    return list((await session.execute(stmt)).all())


async def lessons_of_teacher(session: AsyncSession, teacher_id: int, starts: datetime,
                             ends: datetime) -> list[Any]:
    """The teacher's lessons overlapping [starts, ends), with how many of the class's students are marked."""
    marked = (
        select(Attendance.lesson_id, func.count().label("marked"))
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(ClassStudent, and_(ClassStudent.student_id == Attendance.student_id,
                                 ClassStudent.class_id == Lesson.class_id))
        .where(Lesson.teacher_id == teacher_id, Lesson.starts_at < ends, Lesson.ends_at > starts)
        .group_by(Attendance.lesson_id)
        .subquery()
    )
    stmt = (
        select(Lesson.id, Lesson.class_id, SchoolClass.name.label("class_name"), Lesson.subject_id,
               Subject.name.label("subject_name"), Lesson.room, Lesson.starts_at, Lesson.ends_at, Lesson.topic,
               Lesson.homework, Lesson.cancelled_at, Lesson.change_note,
               func.coalesce(marked.c.marked, 0).label("marked"),
               func.coalesce(_student_counts.c.students, 0).label("students"))
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
        .join(Subject, Subject.id == Lesson.subject_id)
        .outerjoin(marked, marked.c.lesson_id == Lesson.id)
        .outerjoin(_student_counts, _student_counts.c.class_id == Lesson.class_id)
        .where(Lesson.teacher_id == teacher_id, Lesson.starts_at < ends, Lesson.ends_at > starts)
        .order_by(Lesson.starts_at, Lesson.id)
    )
    return list((await session.execute(stmt)).all())


async def school_terms(session: AsyncSession, school_id: int) -> list[Term]:
    stmt = select(Term).where(Term.school_id == school_id).order_by(Term.starts_on, Term.id)
    return list((await session.execute(stmt)).scalars())


async def student_ids(session: AsyncSession, class_id: int) -> list[int]:
    rows = await session.execute(select(ClassStudent.student_id).where(ClassStudent.class_id == class_id))
    return list(rows.scalars())


async def lessons(session: AsyncSession, class_id: int, subject_id: int, starts: datetime,
                  ends: datetime) -> list[Lesson]:
    """The class's lessons of the subject starting in [starts, ends), in time order."""
    stmt = (
        select(Lesson)
        .where(Lesson.class_id == class_id, Lesson.subject_id == subject_id, Lesson.starts_at >= starts,
               Lesson.starts_at < ends)
        .order_by(Lesson.starts_at, Lesson.id)
    )
    return list((await session.execute(stmt)).scalars())


async def lesson_row(session: AsyncSession, lesson_id: int) -> Any:
    stmt = (
        select(Lesson.id, Lesson.class_id, Lesson.subject_id, Subject.name.label("subject_name"), Lesson.teacher_id,
               Lesson.regular_teacher_id, Lesson.room, Lesson.starts_at, Lesson.ends_at, Lesson.topic, Lesson.homework,
               Lesson.cancelled_at, Lesson.change_note, Lesson.moved_from)
        .join(Subject, Subject.id == Lesson.subject_id)
        .where(Lesson.id == lesson_id)
    )
    return (await session.execute(stmt)).first()


def _grade_select() -> Any:
    return (
        select(Grade.id, Grade.student_id, Grade.lesson_id, Grade.date, Grade.value, Grade.mark, Grade.comment,
               Grade.work_type_id, WorkType.name.label("work_type"), WorkType.weight, Grade.teacher_id,
               Grade.created_at, Grade.updated_at)
        .join(WorkType, WorkType.id == Grade.work_type_id)
        .where(Grade.deleted_at.is_(None))
        .order_by(Grade.date, Grade.id)
    )


async def grades(session: AsyncSession, class_id: int, subject_id: int, starts: date, ends: date) -> list[Any]:
    """Grades given in the class in the subject, dated within [starts, ends]."""
    stmt = _grade_select().where(Grade.class_id == class_id, Grade.subject_id == subject_id,
                                 Grade.date.between(starts, ends))
    return list((await session.execute(stmt)).all())


async def lesson_grades(session: AsyncSession, lesson_id: int) -> list[Any]:
    return list((await session.execute(_grade_select().where(Grade.lesson_id == lesson_id))).all())


async def attendance(session: AsyncSession, lesson_ids: Collection[int]) -> list[Attendance]:
    if not lesson_ids:
        return []
    stmt = (select(Attendance).where(Attendance.lesson_id.in_(list(lesson_ids)))
            .order_by(Attendance.lesson_id, Attendance.student_id))
    return list((await session.execute(stmt)).scalars())


async def attestations(session: AsyncSession, student_ids: Collection[int], subject_id: int,
                       term_id: int) -> list[Attestation]:
    if not student_ids:
        return []
    stmt = select(Attestation).where(Attestation.student_id.in_(list(student_ids)),
                                     Attestation.subject_id == subject_id, Attestation.term_id == term_id)
    return list((await session.execute(stmt)).scalars())


async def grade_changes(session: AsyncSession, class_id: int, subject_id: int, *, grade_id: int | None, limit: int,
                        offset: int) -> list[Any]:
    """Audit entries of the grades given in the class in the subject (deleted grades too), or of one of them,
    newest first."""
    stmt = (
        select(AuditLog.id, AuditLog.entity_id.label("grade_id"), AuditLog.action, AuditLog.actor_id,
               AuditLog.old, AuditLog.new, AuditLog.at, Grade.student_id, Grade.date, Grade.lesson_id)
        .join(Grade, and_(AuditLog.entity == "grade", Grade.id == AuditLog.entity_id))
        .where(Grade.class_id == class_id, Grade.subject_id == subject_id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(limit).offset(offset)
    )
    if grade_id is not None:
        stmt = stmt.where(Grade.id == grade_id)
    return list((await session.execute(stmt)).all())


async def work_type_names(session: AsyncSession, school_id: int) -> dict[int, str]:
    rows = await session.execute(select(WorkType.id, WorkType.name).where(WorkType.school_id == school_id))
    return {r.id: r.name for r in rows}


async def grade_scope(session: AsyncSession, grade_id: int) -> Any:
    """school, class and subject of a grade, deleted or not (the audit trail outlives the grade)."""
    stmt = select(Grade.school_id, Grade.class_id, Grade.subject_id).where(Grade.id == grade_id)
    return (await session.execute(stmt)).first()


async def class_parents(session: AsyncSession, class_id: int) -> list[Any]:
    """(parent id, email, active, child id) for every parent link of the class's students."""
    stmt = (
        select(ParentChild.parent_id, User.email, User.is_active, ParentChild.child_id)
        .join(ClassStudent, and_(ClassStudent.student_id == ParentChild.child_id, ClassStudent.class_id == class_id))
        .join(User, User.id == ParentChild.parent_id)
        .order_by(ParentChild.child_id, ParentChild.parent_id)
    )
    return list((await session.execute(stmt)).all())


async def journal_keepers(session: AsyncSession, class_id: int, subject_id: int) -> set[int]:
    """Who keeps this class+subject's journal or follows it: its teachers and the class teacher."""
    stmt: Any = union(
        select(TeachingAssignment.teacher_id.label("user_id"))
        .where(TeachingAssignment.class_id == class_id, TeachingAssignment.subject_id == subject_id),
        select(SchoolClass.class_teacher_id).where(SchoolClass.id == class_id,
                                                   SchoolClass.class_teacher_id.is_not(None)),
    )
    return {int(u) for u in (await session.execute(stmt)).scalars()}
