"""Fixtures of the import, export and feed tests: an empty school with an academic year and a term around today,
and its administrator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from edutrack.context import AppContext
from edutrack.db.diary import AcademicYear, School, Term
from edutrack.db.models import User
from tests.support.factories import Factory


@dataclass
class EmptySchool:
    id: int
    year_id: int
    term_id: int
    admin: User


async def empty_school(ctx: AppContext, factory: Factory, *, timezone: str = "Europe/Moscow",
                       name: str = "Школа № 1") -> EmptySchool:
    today = datetime.now(UTC).date()
    async with ctx.sessions.begin() as session:
        school_id = (await session.execute(insert(School).returning(School.id),
                                           [{"name": name, "timezone": timezone}])).scalar_one()
        year_id = (await session.execute(insert(AcademicYear).returning(AcademicYear.id), [{
            "school_id": school_id, "name": f"{today.year}/{today.year + 1}",
            "starts_on": today - timedelta(days=30), "ends_on": today + timedelta(days=300)}])).scalar_one()
        term_id = (await session.execute(insert(Term).returning(Term.id), [{
            "school_id": school_id, "academic_year_id": year_id, "name": "1 четверть",
            "starts_on": today - timedelta(days=30), "ends_on": today + timedelta(days=30)}])).scalar_one()
    admin = await factory.user("admin", school_id=school_id)
    return EmptySchool(school_id, year_id, term_id, admin)


@pytest.fixture
async def school(ctx: AppContext, factory: Factory) -> EmptySchool:
    return await empty_school(ctx, factory)
