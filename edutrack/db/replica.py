"""Heavy reads (term sheets, analytics) from a streaming replica, never older than the primary was when the
read began.

A replica replays the primary's WAL some time after the commit (replication lag: milliseconds normally,
seconds or more under load, unbounded while the replica is stopped or its replay paused). A read that
must see what the caller just wrote, or that fills the cache after a write invalidated it, would show
(and cache) the past. So every heavy read first asks the primary where its WAL ends
(pg_current_wal_insert_lsn(): one tiny query), then reads on the replica only once the replica has
replayed up to there (pg_last_wal_replay_lsn(), checked in the very session that then reads). Everything
committed before the read began, the caller's own writes included, is then visible. If the replica does
not catch up within DATABASE_READ_WAIT seconds, is unreachable, or is not a standby at all, the read goes
to the primary: slower for the primary, never stale.

Without DATABASE_READ_URL heavy reads are ordinary reads on the primary, with no extra query.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from edutrack.settings import Settings

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.01
# After the replica failed (down, refused, timed out), heavy reads skip it for this long instead of each
# paying a connect timeout.
UNREACHABLE_PAUSE = 10.0

_PRIMARY_POSITION = text("SELECT pg_current_wal_insert_lsn()::text")
# NULL when the server is not in recovery (not a standby): its data may be anything, so it is not used.
_REPLAYED = text("SELECT pg_last_wal_replay_lsn() >= cast(cast(:target AS text) AS pg_lsn)")


class HeavyReads:
    """`async with ctx.heavy_reads() as session:` - a read session on the replica when it is fresh enough,
    else on the primary. Never write through it. `served` counts where reads went, and why."""

    def __init__(self, settings: Settings, primary: async_sessionmaker[AsyncSession],
                 replica_engine: AsyncEngine | None, replica: async_sessionmaker[AsyncSession] | None) -> None:
        self.wait = settings.database_read_wait
        self.replica_engine = replica_engine
        self._primary = primary
        self._replica = replica
        self._skip_until = 0.0
        self.served: Counter[str] = Counter()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        if self._replica is None:
            async with self._primary() as session:
                yield session
            return
        fresh = await self._fresh_replica_session()
        if fresh is None:
            async with self._primary() as primary:
                yield primary
            return
        try:
            yield fresh
        finally:
            await fresh.close()

    async def _fresh_replica_session(self) -> AsyncSession | None:
        assert self._replica is not None
        if time.monotonic() < self._skip_until:
            self.served["primary:replica-unreachable"] += 1
            return None
        async with self._primary() as primary:
            target = (await primary.execute(_PRIMARY_POSITION)).scalar_one()
        session = self._replica()
        try:
            verdict = await self._wait_for(session, str(target))
        except (SQLAlchemyError, DBAPIError, OSError, TimeoutError) as exc:
            await _close_quietly(session)
            self._skip_until = time.monotonic() + UNREACHABLE_PAUSE
            self.served["primary:replica-unreachable"] += 1
            log.warning("read replica unreachable; heavy reads go to the primary",
                        extra={"error": repr(exc), "retry_in": UNREACHABLE_PAUSE})
            return None
        if verdict != "replica":
            await session.close()
            if verdict == "primary:not-a-standby":
                log.warning("DATABASE_READ_URL is not a standby (not in recovery); heavy reads go to the primary")
        self.served[verdict] += 1
        return session if verdict == "replica" else None

    async def _wait_for(self, session: AsyncSession, target: str) -> str:
        deadline = time.monotonic() + self.wait
        while True:
            replayed = (await session.execute(_REPLAYED, {"target": target})).scalar_one()
            if replayed is None:
                return "primary:not-a-standby"
            if replayed:
                return "replica"
            if time.monotonic() >= deadline:
                return "primary:replica-lagging"
            await asyncio.sleep(POLL_INTERVAL)

    async def close(self) -> None:
        if self.replica_engine is not None:
            await self.replica_engine.dispose()


async def _close_quietly(session: AsyncSession) -> None:
    try:
        await session.close()
    except (SQLAlchemyError, OSError):
        log.debug("closing a failed replica session", exc_info=True)


def make_heavy_reads(settings: Settings, primary: async_sessionmaker[AsyncSession]) -> HeavyReads:
    from edutrack.db.engine import connect_args, make_engine, make_read_sessionmaker

    if not settings.database_read_url:
        return HeavyReads(settings, primary, None, None)
    # A replica that does not answer is skipped quickly (then for UNREACHABLE_PAUSE), not waited for.
    args = {**connect_args(settings), "timeout": 2}
    engine = make_engine(settings, url=settings.database_read_url, connect_args=args)
    return HeavyReads(settings, primary, engine, make_read_sessionmaker(engine, settings))
