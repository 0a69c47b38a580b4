"""Bulk writes of the demo loader: COPY and array statements on the session's own connection (so they are part
of its transaction), and a fast mode for the hundreds of thousands of attendance marks and grades a school year
has.

The fast mode: PostgreSQL checks a foreign key with a trigger per inserted row, which made up four fifths of
the time of a year's marks. The loader first takes, once per parent row, the lock those triggers would take
(FOR KEY SHARE on the school's users, classes, subjects, work types, terms and the lessons being filled: nobody can
delete them until the commit), then sets session_replication_role = replica for its own transaction, which
skips the per-row triggers; unique, check and exclusion constraints still hold. Every id it writes was read in
this transaction under those locks. Only a role allowed to set that parameter (a superuser) gets the fast
mode; any other role takes the ordinary, slower path with the triggers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import Lesson, School, SchoolClass, Subject, Term, WorkType
from edutrack.db.models import User


async def driver(session: AsyncSession) -> asyncpg.Connection:
    conn = await session.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    assert isinstance(raw, asyncpg.Connection)
    return raw


async def copy_rows(session: AsyncSession, table: str, columns: Sequence[str], records: list[tuple[Any, ...]]) -> None:
    if records:
        await (await driver(session)).copy_records_to_table(table, records=records, columns=list(columns))


async def may_skip_triggers(session: AsyncSession) -> bool:
    return bool((await session.execute(text("SELECT current_setting('is_superuser') = 'on'"))).scalar())


@asynccontextmanager
async def fast_writes(session: AsyncSession, school_id: int,
                      lessons: tuple[datetime, datetime] | None = None) -> AsyncIterator[bool]:
    """Lock the parents of the rows about to be written (the school's people, classes, subjects, work types, and
    its lessons between the two moments), and skip per-row foreign-key triggers if allowed."""
    # FOR KEY SHARE: the lock a foreign-key check takes on the row it finds.
    await session.execute(select(School.id).where(School.id == school_id).with_for_update(read=True, key_share=True))
    for model in (User, SchoolClass, Subject, WorkType, Term):
        await session.execute(select(model.id).where(model.school_id == school_id)
                              .with_for_update(read=True, key_share=True))
    if lessons is not None:
        await session.execute(select(Lesson.id).where(
            Lesson.school_id == school_id, Lesson.starts_at >= lessons[0], Lesson.starts_at < lessons[1],
        ).with_for_update(read=True, key_share=True))
    allowed = await may_skip_triggers(session)
    if allowed:
        await session.execute(text("SET LOCAL session_replication_role = replica"))
    yield allowed
    # After an error the transaction is rolled back, and SET LOCAL with it.
    if allowed:
        await session.execute(text("SET LOCAL session_replication_role = origin"))
