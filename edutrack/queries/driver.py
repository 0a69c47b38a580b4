"""The asyncpg connection under a pooled SQLAlchemy connection, for the hot paths that run below SQLAlchemy
(chat sends and resumes, the cache-missed grade list, `/profile/me`): a prepared statement and asyncpg's
records instead of statement building, compilation and result processing per request.

The connection comes from the engines' pool, so an API request is admitted to PostgreSQL as for any other
query (db/gate.py). Statements run outside any SQLAlchemy transaction: each commits on its own. Through
PgBouncer in transaction mode asyncpg's statement cache is off (db/engine.py), so each re-parses in one round
trip, which is safe there.
"""

from __future__ import annotations

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection


async def driver(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under a pooled SQLAlchemy connection (no SQLAlchemy transaction is open on it)."""
    raw = await conn.get_raw_connection()
    found = raw.driver_connection
    assert isinstance(found, asyncpg.Connection)
    return found
