"""The test run's PostgreSQL server and JWT secret, settings for a test database, and the clean-up between tests:
for the root conftest and for tests that build their own app or process."""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from edutrack.settings import Settings, load_settings

PG_SERVER = os.environ.get("TEST_PG_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432")
TEST_JWT_SECRET = "test-secret-" + "x" * 40
PGBOUNCER_ENV = "EDUTRACK_TEST_PGBOUNCER"
REDIS_CLUSTER_ENV = "EDUTRACK_TEST_REDIS_CLUSTER"


def base_test_settings(database_url: str, **overrides: Any) -> Settings:
    env = {
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "NAMESPACE": f"t{uuid.uuid4().hex[:12]}",
        # Cheap hashing keeps the suite fast; production cost is set by the defaults.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "8",
        "ARGON2_PARALLELISM": "1",
        "LOG_LEVEL": "WARNING",
        "DEV_MAIL_CATCHER": "false",
    }
    # Services elsewhere than the local defaults: the same variables the app reads.
    env.update({k: os.environ[k] for k in ("REDIS_URL", "RABBITMQ_URL") if k in os.environ})
    return load_settings(env, env_file=None).replace(**overrides)


async def truncate_all(database_url: str) -> None:
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        if tables:
            names = ", ".join(f'"{t["tablename"]}"' for t in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


async def drop_namespace(redis_url: str, namespace: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{namespace}:*", count=500)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


AppFactory = Callable[..., Awaitable[TestClient]]
