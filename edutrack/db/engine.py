"""Engines and session makers, for PostgreSQL directly or through PgBouncer.

DATABASE_POOL_MODE=transaction is for a PgBouncer in transaction pooling mode, which hands each transaction
(or each statement outside one) whichever server connection is free. What a session keeps across
transactions is then gone or, worse, someone else's:

- asyncpg caches named prepared statements per connection, and SQLAlchemy's dialect keeps its own cache of
  them: both are off (statement_cache_size, prepared_statement_cache_size = 0), and the statements
  SQLAlchemy still prepares get names unique across all clients, so two clients' `__asyncpg_stmt_1__` never
  collide on one server connection;
- SQLAlchemy prepares a statement and executes it in two round trips; outside a transaction PgBouncer may
  run the second on another server connection, which has never seen the statement. So reads do not use
  autocommit in this mode: every read is inside a transaction, which PgBouncer keeps on one server
  connection. (Plain asyncpg calls with the cache off re-parse within one round trip and are safe.)
- nothing in EduTrack holds session state across transactions: no session-level advisory locks (the demo
  loader's lock is pg_advisory_xact_lock), no SET, LISTEN, temporary tables or WITH HOLD cursors. Keep it so.

PgBouncer 1.21+ can track protocol-level prepared statements itself (max_prepared_statements); this mode
works with older ones too (Debian 12 ships 1.18) and costs a Parse per statement.
"""

from __future__ import annotations

import uuid

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from edutrack.db.gate import GatedPool
from edutrack.settings import Settings


def unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def connect_args(settings: Settings) -> dict[str, object]:
    # Fail fast instead of hanging when PostgreSQL is unreachable; bound every statement.
    args: dict[str, object] = {"timeout": 5, "command_timeout": 30,
                               "server_settings": {"application_name": "edutrack"}}
    if settings.database_pool_mode == "transaction":
        args.update(statement_cache_size=0, prepared_statement_cache_size=0,
                    prepared_statement_name_func=unique_statement_name)
    return args


def make_engine(settings: Settings, url: str | None = None, **overrides: object) -> AsyncEngine:
    options: dict[str, object] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_pre_ping": False,
        "pool_timeout": 10,
        "connect_args": connect_args(settings),
        # API requests are admitted before their first connection (db/gate.py); everything else passes.
        "poolclass": GatedPool,
    }
    options.update(overrides)
    return create_async_engine(url or settings.database_url, **options)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def make_read_sessionmaker(engine: AsyncEngine, settings: Settings) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads. Directly on PostgreSQL (or PgBouncer in session mode) they autocommit, so a read
    costs its queries only, without BEGIN/ROLLBACK round trips; READ COMMITTED gives each statement its own
    snapshot inside a transaction too, so a reader sees the same either way. Through PgBouncer in transaction
    mode they open a transaction (see above)."""
    if settings.database_pool_mode == "transaction":
        return make_sessionmaker(engine)
    return make_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


def _asyncpg_dsn(database_url: str) -> tuple[str, str]:
    url = make_url(database_url)
    server = url.set(drivername="postgresql", database="postgres")
    return server.render_as_string(hide_password=False), str(url.database)


async def ensure_database(database_url: str) -> bool:
    """Create the database named in `database_url` if it does not exist. Returns True if created."""
    server_dsn, name = _asyncpg_dsn(database_url)
    conn = await asyncpg.connect(server_dsn, timeout=10, statement_cache_size=0)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        quoted = '"' + name.replace('"', '""') + '"'
        await conn.execute(f"CREATE DATABASE {quoted}")
        return True
    finally:
        await conn.close()


async def drop_database(database_url: str) -> None:
    server_dsn, name = _asyncpg_dsn(database_url)
    conn = await asyncpg.connect(server_dsn, timeout=10, statement_cache_size=0)
    try:
        quoted = '"' + name.replace('"', '""') + '"'
        await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        await conn.close()
