"""A school year of the demo school: the academic year row, its quarters, and every lesson of the year (topics
and homework included, as a teacher's year plan has them), written with COPY.

The classes live on from year to year: a new year moves them (same names, same students) into it, so every
printed login stays where it was and last year's journal stays attached to the same classes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import AcademicYear, SchoolClass, Term
from edutrack.demo.bulk import copy_rows, fast_writes
from edutrack.demo.calendar import SCHOOL_TZ, SchoolYear
from edutrack.demo.course import course
from edutrack.demo.plan import DISCIPLINE_OF, GRADE_PLANS, LESSON, MSK, ROOMS, SLOTS_MSK
from edutrack.demo.school import SchoolState
from edutrack.demo.timetable import ClassPlan, build_week


@dataclass(frozen=True)
class YearRows:
    year_id: int
    term_ids: dict[str, int]  # quarter name -> id
    created: bool
    lessons: int


def at_msk(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=UTC) - MSK


def local_day(moment: datetime) -> date:
    return moment.astimezone(SCHOOL_TZ).date()


async def ensure_year(session: AsyncSession, state: SchoolState, year: SchoolYear, seed: int) -> YearRows:
    """The year's rows, created with all of its lessons if the year is new."""
    found = (await session.execute(select(AcademicYear.id).where(
        AcademicYear.school_id == state.school_id, AcademicYear.name == year.name))).scalar()
    if found is not None:
        terms = dict((n, i) for i, n in await session.execute(
            select(Term.id, Term.name).where(Term.academic_year_id == found)))
        return YearRows(found, terms, False, 0)
    [year_id] = (await session.execute(insert(AcademicYear).returning(AcademicYear.id), [{
        "school_id": state.school_id, "name": year.name, "starts_on": year.starts_on,
        "ends_on": year.ends_on}])).scalars()
    term_ids = list((await session.execute(insert(Term).returning(Term.id, sort_by_parameter_order=True), [
        {"school_id": state.school_id, "academic_year_id": year_id, "name": q.name, "starts_on": q.starts_on,
         "ends_on": q.ends_on} for q in year.quarters])).scalars())
    await session.execute(update(SchoolClass).where(SchoolClass.id.in_([c.id for c in state.classes]))
                          .values(academic_year_id=year_id))
    # In the order of each class's week: the exclusion constraints' GiST indexes take that order best.
    records = sorted(_lessons(state, year, seed), key=lambda r: (r[1], r[5]))
    async with fast_writes(session, state.school_id):
        await copy_rows(session, "lessons", ("school_id", "class_id", "subject_id", "teacher_id", "room",
                                             "starts_at", "ends_at", "topic", "homework", "created_at", "updated_at"),
                        records)
    return YearRows(year_id, {q.name: i for q, i in zip(year.quarters, term_ids, strict=True)}, True, len(records))


def rooms_of(state: SchoolState) -> dict[int, str]:
    """Each teacher's own room, by discipline (Спортзал for PE, 214 for physics...)."""
    by_discipline: dict[str, list[int]] = {}
    for teacher in state.teachers():
        subject = next(s for c in state.classes for s, t in sorted(c.teacher_of.items()) if t == teacher)
        by_discipline.setdefault(DISCIPLINE_OF.get(subject, "математика"), []).append(teacher)
    rooms = {}
    for discipline, teachers in by_discipline.items():
        names = ROOMS[discipline]
        for i, teacher in enumerate(teachers):
            rooms[teacher] = names[i] if i < len(names) else f"{names[-1]}-{i}"
    return rooms


def _lessons(state: SchoolState, year: SchoolYear, seed: int) -> list[tuple[Any, ...]]:
    plans = [ClassPlan({s: h for s, h in GRADE_PLANS[c.grade].items() if s in c.teacher_of}, c.teacher_of)
             for c in state.classes]
    week = build_week(plans, random.Random(f"{seed}:{year.start_year}:timetable"))
    rooms = rooms_of(state)
    planned = at_msk(year.starts_on - timedelta(days=2), 10, 0)
    slots: dict[tuple[int, str], list[tuple[date, int]]] = {}
    for day in year.school_days():
        for slot, plan in enumerate(week[day.weekday()]):
            for ci, subject in enumerate(plan):
                if subject is not None:
                    slots.setdefault((ci, subject), []).append((day, slot))
    records: list[tuple[Any, ...]] = []
    for (ci, subject), times in sorted(slots.items()):
        c = state.classes[ci]
        rng = random.Random(f"{seed}:{year.start_year}:{c.name}:{subject}")
        teacher = c.teacher_of[subject]
        for (day, slot), lesson in zip(times, course(subject, c.grade, len(times), rng), strict=True):
            starts = at_msk(day, *SLOTS_MSK[slot])
            records.append((state.school_id, c.id, state.subject_ids[subject], teacher, rooms[teacher], starts,
                            starts + LESSON, lesson.topic, lesson.homework, planned, planned))
    return records
