"""Opening and closing the resources of one process (API node, worker, or a CLI command)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import BlockingConnectionPool, Redis

from edutrack.amqp import AmqpLink
from edutrack.context import AppContext

# Mappers resolve foreign keys across feature modules (users.school_id -> schools): every model module must be
# imported before the first query, in every process (API, workers, CLI), not only where Alembic loads them.
from edutrack.db import all_models  # noqa: F401
from edutrack.db.engine import make_engine, make_read_sessionmaker, make_sessionmaker
from edutrack.db.gate import DbGate
from edutrack.db.replica import make_heavy_reads
from edutrack.live_retry import HeldPublishes
from edutrack.live_shards import CLUSTER_LAST_RETRY
from edutrack.mail.templates import MailTemplates
from edutrack.ratelimit import FailureThrottle, RateLimiter
from edutrack.redis_cluster import is_cluster, make_cluster
from edutrack.security.passwords import PasswordHasher
from edutrack.security.tokens import TokenService
from edutrack.settings import Settings


def make_redis(settings: Settings) -> Redis:
    if settings.redis_cluster_nodes:
        return make_cluster(settings)  # a Redis Cluster (redis_cluster.py): decided here, once per process
    # Short timeouts: a stopped Redis must degrade features quickly, never hang a request.
    # A blocking pool: under a burst (a reconnect storm) callers wait briefly for a free connection instead of
    # failing at once with "Too many connections", and the process never opens more than REDIS_MAX_CONNECTIONS.
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=2.0,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        health_check_interval=15,
        decode_responses=False,
        # Named, so `CLIENT LIST` on a shared Redis shows which deployment holds which connections.
        client_name=f"edutrack:{settings.namespace}",
    )
    return Redis.from_pool(pool)  # from_pool: closing the client closes the pool


@asynccontextmanager
async def open_context(settings: Settings, *, role: str, connect_amqp: bool = True,
                       small_pool: bool = False) -> AsyncIterator[AppContext]:
    engine = make_engine(settings, pool_size=2, max_overflow=2) if small_pool else make_engine(settings)
    redis = make_redis(settings)
    amqp = AmqpLink(settings.rabbitmq_url, name=f"edutrack-{role}:{settings.namespace}")
    if connect_amqp:
        await amqp.start()
    passwords = PasswordHasher(settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism,
                               workers=settings.argon2_workers, queue_limit=settings.argon2_queue)
    reads = make_read_sessionmaker(engine, settings)
    ctx = AppContext(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        reads=reads,
        heavy_reads=make_heavy_reads(settings, reads),
        redis=redis,
        amqp=amqp,
        passwords=passwords,
        tokens=TokenService(settings.jwt_secret, settings.jwt_algorithm, settings.access_token_ttl),
        limiter=RateLimiter(redis, settings.namespace),
        throttle=FailureThrottle(redis, settings.namespace),
        mail=MailTemplates(),
        db_gate=DbGate(settings.db_concurrent_requests, settings.db_queue_size, settings.db_queue_wait),
        # On a cluster a failed master's held events are tried again at least every second (live_shards.py).
        held_publishes=HeldPublishes(last_retry=CLUSTER_LAST_RETRY) if is_cluster(redis) else HeldPublishes(),
    )
    try:
        yield ctx
    finally:
        await ctx.background.drain()
        await ctx.held_publishes.close()
        await amqp.close()
        await redis.aclose()
        await ctx.heavy_reads.close()
        await engine.dispose()
        passwords.close()
