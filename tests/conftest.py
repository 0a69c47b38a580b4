"""Shared fixtures: a fresh PostgreSQL database per test run (migrated with Alembic), a Redis namespace
and a RabbitMQ namespace per test, and an aiohttp test client of a real app."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.engine import make_url

from edutrack.app import create_app
from edutrack.cli import migrate
from edutrack.context import AppContext
from edutrack.db.engine import drop_database, ensure_database
from edutrack.keys import CTX
from edutrack.settings import Settings
from tests.support.contract import check_responses
from tests.support.environment import (
    PG_SERVER,
    PGBOUNCER_ENV,
    REDIS_CLUSTER_ENV,
    AppFactory,
    base_test_settings,
    drop_namespace,
    truncate_all,
)
from tests.support.factories import Factory
from tests.support.services import (
    PrivatePgBouncer,
    PrivateRedisCluster,
    ensure_service,
    private_pgbouncer,
    private_redis_cluster,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pgbouncer", action="store_true", default=os.environ.get(PGBOUNCER_ENV, "") not in ("", "0"),
        help="run the app of every test through a pgbouncer in transaction pooling mode, started by the run in "
             f"front of the test PostgreSQL (DATABASE_POOL_MODE=transaction); also {PGBOUNCER_ENV}=1")
    parser.addoption(
        "--redis-cluster", action="store_true",
        default=os.environ.get(REDIS_CLUSTER_ENV, "") not in ("", "0"),
        help="run the app of every test on a Redis Cluster (3 masters, 3 replicas) started by the run "
             f"(REDIS_CLUSTER_NODES); also {REDIS_CLUSTER_ENV}=1")


@pytest.fixture(scope="session")
def services() -> None:
    for name in ("postgres", "redis", "rabbitmq"):
        ensure_service(name)


@pytest.fixture(scope="session")
def database_url(services: None) -> Iterator[str]:
    """One database for the whole run, named uniquely so parallel runs never collide."""
    url = f"{PG_SERVER}/edutrack_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(ensure_database(url))
    migrate(base_test_settings(url))
    yield url
    asyncio.run(drop_database(url))


PGBOUNCER_USED = pytest.StashKey["PrivatePgBouncer"]()


@pytest.fixture(scope="session")
def pgbouncer(request: pytest.FixtureRequest, database_url: str) -> Iterator[PrivatePgBouncer | None]:
    """The run's pgbouncer with --pgbouncer, else None. After `database_url`, so it stops before the drop."""
    if not request.config.getoption("--pgbouncer"):
        yield None
        return
    server = make_url(PG_SERVER)
    database = str(make_url(database_url).database)
    with private_pgbouncer(target_host=server.host or "127.0.0.1", target_port=server.port or 5432,
                           user=server.username or "postgres") as bouncer:
        request.config.stash[PGBOUNCER_USED] = bouncer
        yield bouncer
        bouncer.served = sum(int(row["total_xact_count"]) for row in bouncer.show("STATS")
                             if row["database"] == database)


REDIS_CLUSTER_USED = pytest.StashKey["PrivateRedisCluster"]()


@pytest.fixture(scope="session")
def redis_cluster(request: pytest.FixtureRequest) -> Iterator[PrivateRedisCluster | None]:
    """The run's Redis Cluster with --redis-cluster, else None."""
    if not request.config.getoption("--redis-cluster"):
        yield None
        return
    with private_redis_cluster() as cluster:
        request.config.stash[REDIS_CLUSTER_USED] = cluster
        yield cluster
        cluster.served = sum(int(cluster.info(port).get("total_commands_processed", 0)) for port in cluster.alive())


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    # Proof for whoever runs the suite this way (and tests/scaling checks it) that the app really went
    # through pgbouncer, not around it.
    bouncer = config.stash.get(PGBOUNCER_USED, None)
    if bouncer is not None:
        terminalreporter.write_line(f"pgbouncer (transaction pooling): {bouncer.served} transactions served")
    cluster = config.stash.get(REDIS_CLUSTER_USED, None)
    if cluster is not None:
        terminalreporter.write_line(f"redis cluster ({cluster.masters} masters): {cluster.served} commands served")


@pytest.fixture
async def settings(database_url: str, pgbouncer: PrivatePgBouncer | None,
                   redis_cluster: PrivateRedisCluster | None) -> AsyncIterator[Settings]:
    await truncate_all(database_url)
    if pgbouncer is None:
        settings = base_test_settings(database_url)
    else:
        settings = base_test_settings(pgbouncer.url(str(make_url(database_url).database)),
                                      database_pool_mode="transaction")
    if redis_cluster is not None:
        settings = settings.replace(redis_cluster_nodes=redis_cluster.nodes)
    yield settings
    if redis_cluster is None:  # the run's private cluster goes with the run
        await drop_namespace(settings.redis_url, settings.namespace)


@pytest.fixture
async def make_client(
    aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings
) -> AppFactory:
    """Build another app (e.g. a second API node) on the same database, optionally with other settings."""

    async def build(**overrides: Any) -> TestClient:
        app: web.Application = check_responses(create_app(settings.replace(**overrides)))
        return await aiohttp_client(app)

    return build


@pytest.fixture
async def client(make_client: AppFactory) -> TestClient:
    return await make_client()


@pytest.fixture
def ctx(client: TestClient) -> AppContext:
    return client.app[CTX]


@pytest.fixture
def factory(client: TestClient, ctx: AppContext) -> Factory:
    return Factory(client, ctx)
