"""SQL of schools, academic years, terms and work types."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import AcademicYear, Attestation, Grade, School, SchoolClass, Term, WorkType
from edutrack.i18n import N_, _, for_recipients


async def insert_school(session: AsyncSession, fields: dict[str, Any]) -> School:
    school = School(**fields)
    session.add(school)
    await session.flush()
    await session.refresh(school)
    return school


async def school_by_id(session: AsyncSession, school_id: int, *, for_update: bool = False) -> School | None:
    stmt = select(School).where(School.id == school_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def school_name_taken(session: AsyncSession, name: str, *, except_id: int | None = None) -> bool:
    stmt = select(School.id).where(func.lower(School.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(School.id != except_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def list_schools(session: AsyncSession, *, ids: Sequence[int] | None, q: str | None, limit: int,
                       offset: int) -> tuple[list[School], int]:
    conditions: list[Any] = []
    if ids is not None:
        conditions.append(School.id.in_(list(ids)))
    if q:
        conditions.append(func.lower(School.name).contains(q.lower(), autoescape=True))
    total = (await session.execute(select(func.count()).select_from(School).where(*conditions))).scalar_one()
    rows = await session.execute(select(School).where(*conditions).order_by(School.id).limit(limit).offset(offset))
    return list(rows.scalars()), int(total)


async def delete_school(session: AsyncSession, school_id: int) -> bool:
    result = await session.execute(delete(School).where(School.id == school_id).returning(School.id))
    return result.first() is not None


# Academic years and terms


async def insert_year(session: AsyncSession, fields: dict[str, Any]) -> AcademicYear:
    year = AcademicYear(**fields)
    session.add(year)
    await session.flush()
    return year


async def year_by_id(session: AsyncSession, year_id: int, *, for_update: bool = False) -> AcademicYear | None:
    stmt = select(AcademicYear).where(AcademicYear.id == year_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def years_of_school(session: AsyncSession, school_id: int) -> list[AcademicYear]:
    rows = await session.execute(
        select(AcademicYear).where(AcademicYear.school_id == school_id).order_by(AcademicYear.starts_on)
    )
    return list(rows.scalars())


async def year_overlaps(session: AsyncSession, school_id: int, starts_on: date, ends_on: date,
                        except_id: int | None = None) -> AcademicYear | None:
    stmt = select(AcademicYear).where(
        AcademicYear.school_id == school_id, AcademicYear.starts_on <= ends_on, AcademicYear.ends_on >= starts_on
    )
    if except_id is not None:
        stmt = stmt.where(AcademicYear.id != except_id)
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()


async def year_name_taken(session: AsyncSession, school_id: int, name: str, except_id: int | None = None) -> bool:
    stmt = select(AcademicYear.id).where(AcademicYear.school_id == school_id, AcademicYear.name == name)
    if except_id is not None:
        stmt = stmt.where(AcademicYear.id != except_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def terms_outside(session: AsyncSession, year_id: int, starts_on: date, ends_on: date) -> int:
    """How many terms of the year would fall outside new year dates."""
    stmt = select(func.count()).select_from(Term).where(
        Term.academic_year_id == year_id, (Term.starts_on < starts_on) | (Term.ends_on > ends_on)
    )
    return int((await session.execute(stmt)).scalar_one())


async def year_in_use(session: AsyncSession, year_id: int) -> bool:
    """Classes of the year or term marks in its terms: deleting it would lose or orphan them."""
    classes = exists().where(SchoolClass.academic_year_id == year_id)
    marks = exists().where(Attestation.term_id == Term.id, Term.academic_year_id == year_id)
    return bool((await session.execute(select(classes | marks))).scalar())


async def term_in_use(session: AsyncSession, term_id: int) -> bool:
    return bool((await session.execute(select(exists().where(Attestation.term_id == term_id)))).scalar())


async def delete_year(session: AsyncSession, year_id: int) -> None:
    await session.execute(delete(AcademicYear).where(AcademicYear.id == year_id))


async def insert_term(session: AsyncSession, fields: dict[str, Any]) -> Term:
    term = Term(**fields)
    session.add(term)
    await session.flush()
    return term


async def term_by_id(session: AsyncSession, term_id: int, *, for_update: bool = False) -> Term | None:
    stmt = select(Term).where(Term.id == term_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def terms_of_school(session: AsyncSession, school_id: int, year_id: int | None) -> list[Term]:
    stmt = select(Term).where(Term.school_id == school_id)
    if year_id is not None:
        stmt = stmt.where(Term.academic_year_id == year_id)
    return list((await session.execute(stmt.order_by(Term.starts_on, Term.id))).scalars())


async def overlapping_term(session: AsyncSession, year_id: int, starts_on: date, ends_on: date,
                           except_id: int | None = None) -> Term | None:
    stmt = select(Term).where(Term.academic_year_id == year_id, Term.starts_on <= ends_on,
                              Term.ends_on >= starts_on)
    if except_id is not None:
        stmt = stmt.where(Term.id != except_id)
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()


async def term_name_taken(session: AsyncSession, year_id: int, name: str, except_id: int | None = None) -> bool:
    stmt = select(Term.id).where(Term.academic_year_id == year_id, Term.name == name)
    if except_id is not None:
        stmt = stmt.where(Term.id != except_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def lock_year_terms(session: AsyncSession, year_id: int) -> None:
    """Serialise term writes of one year, so two concurrent inserts cannot both pass the overlap check."""
    await session.execute(select(AcademicYear.id).where(AcademicYear.id == year_id).with_for_update())


async def delete_term(session: AsyncSession, term_id: int) -> None:
    await session.execute(delete(Term).where(Term.id == term_id))


# Work types


# A new school's work types (renamed or added to by its admins), named in the school's language.
DEFAULT_WORK_TYPES = (
    (N_("Test"), 3),
    (N_("Independent work"), 2),
    (N_("Quiz"), 2),
    (N_("Answer in class"), 1),
    (N_("Homework assignment"), 1),
)


async def seed_work_types(session: AsyncSession, school_id: int) -> None:
    with for_recipients():
        rows = [{"school_id": school_id, "name": _(n), "weight": w} for n, w in DEFAULT_WORK_TYPES]
    await session.execute(insert(WorkType), rows)


async def insert_work_type(session: AsyncSession, fields: dict[str, Any]) -> WorkType:
    row = WorkType(**fields)
    session.add(row)
    await session.flush()
    return row


async def work_type_by_id(session: AsyncSession, work_type_id: int, *, for_update: bool = False) -> WorkType | None:
    stmt = select(WorkType).where(WorkType.id == work_type_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def work_types_of_school(session: AsyncSession, school_id: int) -> list[WorkType]:
    rows = await session.execute(
        select(WorkType).where(WorkType.school_id == school_id).order_by(WorkType.weight.desc(), WorkType.name)
    )
    return list(rows.scalars())


async def work_type_name_taken(session: AsyncSession, school_id: int, name: str,
                               except_id: int | None = None) -> bool:
    stmt = select(WorkType.id).where(WorkType.school_id == school_id, func.lower(WorkType.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(WorkType.id != except_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def work_type_in_use(session: AsyncSession, work_type_id: int) -> bool:
    return bool((await session.execute(select(exists().where(Grade.work_type_id == work_type_id)))).scalar())


async def delete_work_type(session: AsyncSession, work_type_id: int) -> None:
    await session.execute(delete(WorkType).where(WorkType.id == work_type_id))
