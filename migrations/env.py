"""Alembic environment: async engine, URL from EduTrack settings, metadata of every model."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from edutrack.db.all_models import Base
from edutrack.db.engine import connect_args
from edutrack.settings import load_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url or load_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _connect_args() -> dict[str, object]:
    # Set by `edutrack migrate`; the same as the app's, so migrations also run through PgBouncer in
    # transaction mode (each migration is one transaction, on one server connection).
    found = config.attributes.get("connect_args")
    return dict(found) if found is not None else connect_args(load_settings())


async def run_migrations_online() -> None:
    engine = create_async_engine(_url(), connect_args=_connect_args())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
