"""People's names and their grammatical gender (formatted in edutrack/i18n/names.py, never in SQL)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import Profile, User
from edutrack.i18n.names import PersonName


async def person_names(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, PersonName]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(Profile.user_id, Profile.first_name, Profile.last_name, Profile.middle_name, Profile.gender)
        .where(Profile.user_id.in_(ids)))
    return {r.user_id: PersonName.of(r) for r in rows}


async def person_school(session: AsyncSession, user_id: int, *, for_update: bool = False) -> tuple[int | None] | None:
    """(school id,) of an existing user, or None."""
    stmt = select(User.school_id).where(User.id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).first()
    return None if row is None else (row.school_id,)


async def set_gender(session: AsyncSession, user_id: int, gender: str | None) -> PersonName:
    await session.execute(update(Profile).where(Profile.user_id == user_id).values(gender=gender))
    return (await person_names(session, [user_id]))[user_id]
