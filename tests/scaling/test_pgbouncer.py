"""EduTrack through a real pgbouncer in transaction pooling mode (DATABASE_POOL_MODE=transaction).

The pgbouncer here has 2 server connections for many client connections, so consecutive transactions of one
client land on different server connections, as they do under load in production. The REST suites also run
through pgbouncer as a whole with `pytest --pgbouncer` (or EDUTRACK_TEST_PGBOUNCER=1); a part of them runs
that way on every run below."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from edutrack.context import AppContext
from edutrack.resources import open_context
from edutrack.settings import Settings
from tests.support.environment import PGBOUNCER_ENV
from tests.support.services import PrivatePgBouncer, private_pgbouncer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bouncer() -> Iterator[PrivatePgBouncer]:
    with private_pgbouncer(pool_size=2) as started:
        yield started


def through(bouncer: PrivatePgBouncer, settings: Settings, mode: str) -> Settings:
    database = str(make_url(settings.database_url).database)
    return settings.replace(database_url=bouncer.url(database), database_pool_mode=mode)


async def _workload(ctx: AppContext, i: int) -> None:
    """What request handlers do: reads on the read sessions, a write transaction, a driver-level statement."""
    async with ctx.reads() as session:
        for j in range(3):
            await session.execute(text("SELECT cast(:a AS int) + 1, pg_backend_pid()"), {"a": i * j})
            await session.execute(text("SELECT count(*) FROM users WHERE id <> :i"), {"i": i})
    async with ctx.sessions.begin() as session:
        await session.execute(text("SELECT id FROM users WHERE id = :i FOR UPDATE"), {"i": i})
    async with ctx.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.fetch("SELECT $1::int * 2", i)


async def _errors(settings: Settings) -> Counter[str]:
    errors: Counter[str] = Counter()
    async with open_context(settings, role="pgbouncer-test", connect_amqp=False) as ctx:
        async def one(i: int) -> None:
            try:
                await _workload(ctx, i)
            except Exception as exc:
                # Some errors have no text (a connection the broken mode left in a bad state): their type names them.
                first = (str(exc).splitlines() or [""])[0]
                errors[type(exc).__name__ + ": " + re.sub(r'"__asyncpg_\w+__"', '"..."', first)[:80]] += 1

        await asyncio.gather(*(one(i) for i in range(150)))
    return errors


async def test_transaction_mode_works_where_session_defaults_break(
    settings: Settings, bouncer: PrivatePgBouncer,
) -> None:
    # Without the setting: prepared statements cached on one server connection are looked for on another.
    broken = await _errors(through(bouncer, settings, "session"))
    assert broken, "session defaults should break behind transaction pooling: the test proves nothing otherwise"
    assert any("prepared statement" in message for message in broken), broken
    # With it: no error at all, under the same load.
    assert await _errors(through(bouncer, settings, "transaction")) == Counter()
    served = {row["database"]: int(row["total_xact_count"]) for row in bouncer.show("STATS")}
    assert served[str(make_url(settings.database_url).database)] > 0


async def test_server_connections_are_shared_not_pinned(settings: Settings, bouncer: PrivatePgBouncer) -> None:
    """The point of transaction pooling: an idle client connection holds no server connection, so 20 app
    connections run on 2 PostgreSQL backends. Nothing of ours pins one (no session state between
    transactions), so after the work every server connection is back in the pool."""
    async with open_context(through(bouncer, settings, "transaction"), role="pgbouncer-test",
                            connect_amqp=False) as ctx:
        await asyncio.gather(*(_workload(ctx, i) for i in range(40)))
        pids = set()
        for _ in range(20):
            async with ctx.reads() as session:
                pids.add((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        assert ctx.engine.pool.checkedin() >= 10  # type: ignore[attr-defined]
        database = str(make_url(settings.database_url).database)
        pools = [row for row in bouncer.show("POOLS") if row["database"] == database]
        assert sum(int(row["sv_active"]) for row in pools) == 0
        assert len(pids) <= 2


@pytest.mark.timeout(900)
def test_rest_suites_pass_through_pgbouncer() -> None:
    """A part of the REST suites (accounts, grades, term sheets, analytics, schools and classes, chat over
    REST and the batched chat path, the email pipeline) through a pgbouncer in transaction mode, every run.
    The whole suite: `pytest --pgbouncer`."""
    chosen = ["tests/foundation/test_auth.py", "tests/foundation/test_users_and_roles.py",
              "tests/diary_grades/test_grades.py", "tests/diary_grades/test_attestations.py",
              "tests/diary_grades/test_analytics.py", "tests/diary_structure/test_classes.py",
              "tests/realtime/test_chat_api.py", "tests/realtime/test_group_commit.py",
              "tests/email/test_delivery.py"]
    env = {**os.environ, PGBOUNCER_ENV: "1"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *chosen],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    tail = "\n".join(result.stdout.splitlines()[-30:])
    assert result.returncode == 0, tail
    served = re.search(r"pgbouncer \(transaction pooling\): (\d+) transactions served", result.stdout)
    assert served is not None, tail
    assert int(served.group(1)) > 0, tail
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed is not None, tail
    assert int(passed.group(1)) > 50, tail
