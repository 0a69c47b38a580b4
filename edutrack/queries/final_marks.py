"""SQL of final marks: a student's term marks of a year, year marks, and the subjects a teacher may see."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, null, or_, select, union
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import (
    AcademicYear,
    Attestation,
    ClassStudent,
    SchoolClass,
    Subject,
    TeachingAssignment,
    Term,
    YearMark,
)


async def year_of_school(session: AsyncSession, school_id: int, year_id: int | None, today: date) -> Any:
    """The year asked for (of this school), else the one holding today, else the latest; None if none."""
    stmt = select(AcademicYear).where(AcademicYear.school_id == school_id)
    if year_id is not None:
        stmt = stmt.where(AcademicYear.id == year_id)
    holds = and_(AcademicYear.starts_on <= today, AcademicYear.ends_on >= today)
    stmt = stmt.order_by(case((holds, 0), else_=1), AcademicYear.starts_on.desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def terms_of_year(session: AsyncSession, year_id: int) -> list[Term]:
    stmt = select(Term).where(Term.academic_year_id == year_id).order_by(Term.starts_on)
    return list((await session.execute(stmt)).scalars())


async def term_marks(session: AsyncSession, student_id: int, year_id: int,
                     subject_id: int | None = None) -> list[Attestation]:
    stmt = (select(Attestation).join(Term, Term.id == Attestation.term_id)
            .where(Attestation.student_id == student_id, Term.academic_year_id == year_id))
    if subject_id is not None:
        stmt = stmt.where(Attestation.subject_id == subject_id)
    return list((await session.execute(stmt)).scalars())


async def year_marks(session: AsyncSession, student_id: int, year_id: int) -> list[YearMark]:
    stmt = select(YearMark).where(YearMark.student_id == student_id, YearMark.academic_year_id == year_id)
    return list((await session.execute(stmt)).scalars())


async def year_mark(session: AsyncSession, student_id: int, subject_id: int, year_id: int) -> YearMark | None:
    stmt = (select(YearMark).where(YearMark.student_id == student_id, YearMark.subject_id == subject_id,
                                   YearMark.academic_year_id == year_id).with_for_update())
    return (await session.execute(stmt)).scalar_one_or_none()


async def upsert_year_mark(session: AsyncSession, values: dict[str, Any]) -> YearMark:
    base = insert(YearMark).values(**values)
    stmt = base.on_conflict_do_update(
        index_elements=[YearMark.student_id, YearMark.subject_id, YearMark.academic_year_id],
        set_={k: base.excluded[k] for k in ("class_id", "proposed", "final", "is_override", "comment",
                                              "confirmed_by", "confirmed_at")},
    ).returning(YearMark)
    return (await session.scalars(stmt, execution_options={"populate_existing": True})).one()


async def subjects_of_student(session: AsyncSession, student_id: int, year_id: int,
                              teacher_id: int | None) -> list[Any]:
    """Subjects taught in the student's classes of the year or with a term mark in it (id, name), by name. For a
    teacher: what they teach the student, or everything when they lead one of the student's classes."""
    classes = (select(SchoolClass.id, SchoolClass.class_teacher_id)
               .join(ClassStudent, ClassStudent.class_id == SchoolClass.id)
               .where(ClassStudent.student_id == student_id,
                      or_(SchoolClass.academic_year_id == year_id, SchoolClass.academic_year_id.is_(None)))
               .subquery())
    taught = select(TeachingAssignment.subject_id.label("subject_id"), TeachingAssignment.teacher_id).join(
        classes, classes.c.id == TeachingAssignment.class_id)
    marked = (select(Attestation.subject_id.label("subject_id"), cast(null(), BigInteger).label("teacher_id"))
              .join(Term, Term.id == Attestation.term_id)
              .where(Attestation.student_id == student_id, Term.academic_year_id == year_id))
    ids = union(taught, marked).subquery()
    stmt = select(Subject.id, Subject.name).where(Subject.id.in_(select(ids.c.subject_id)))
    if teacher_id is not None:
        leads = select(classes.c.id).where(classes.c.class_teacher_id == teacher_id).exists()
        mine = select(ids.c.subject_id).where(ids.c.teacher_id == teacher_id)
        stmt = stmt.where(or_(leads, Subject.id.in_(mine)))
    return list((await session.execute(stmt.order_by(Subject.name))).all())


async def subject_name(session: AsyncSession, subject_id: int) -> str:
    return (await session.execute(select(Subject.name).where(Subject.id == subject_id))).scalar_one()


async def class_term_marks(session: AsyncSession, student_ids: list[int], subject_id: int,
                           year_id: int) -> list[Attestation]:
    """The term marks of these students in one subject over a year (a class's year marks sheet)."""
    stmt = (select(Attestation).join(Term, Term.id == Attestation.term_id)
            .where(Attestation.student_id.in_(student_ids), Attestation.subject_id == subject_id,
                   Term.academic_year_id == year_id))
    return list((await session.execute(stmt)).scalars())


async def class_year_marks(session: AsyncSession, student_ids: list[int], subject_id: int,
                           year_id: int) -> list[YearMark]:
    stmt = select(YearMark).where(YearMark.student_id.in_(student_ids), YearMark.subject_id == subject_id,
                                  YearMark.academic_year_id == year_id)
    return list((await session.execute(stmt)).scalars())


async def year_finals(session: AsyncSession, student_ids: list[int], year_id: int) -> dict[tuple[int, int], str]:
    """The confirmed year marks of these students over a year, by (student, subject) (a class's term sheet)."""
    stmt = select(YearMark.student_id, YearMark.subject_id, YearMark.final).where(
        YearMark.student_id.in_(student_ids), YearMark.academic_year_id == year_id, YearMark.final.is_not(None))
    return {(student, subject): final for student, subject, final in (await session.execute(stmt)).all()}
