from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from edutrack.settings import Settings


def make_engine(settings: Settings, **overrides: object) -> AsyncEngine:
    options: dict[str, object] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_pre_ping": False,
        "pool_timeout": 10,
        # Fail fast instead of hanging when PostgreSQL is unreachable; bound every statement.
        "connect_args": {"timeout": 5, "command_timeout": 30, "server_settings": {"application_name": "edutrack"}},
    }
    options.update(overrides)
    return create_async_engine(settings.database_url, **options)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _asyncpg_dsn(database_url: str) -> tuple[str, str]:
    url = make_url(database_url)
    server = url.set(drivername="postgresql", database="postgres")
    return server.render_as_string(hide_password=False), str(url.database)


async def ensure_database(database_url: str) -> bool:
    """Create the database named in `database_url` if it does not exist. Returns True if created."""
    server_dsn, name = _asyncpg_dsn(database_url)
    conn = await asyncpg.connect(server_dsn, timeout=10)
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
    conn = await asyncpg.connect(server_dsn, timeout=10)
    try:
        quoted = '"' + name.replace('"', '""') + '"'
        await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        await conn.close()
