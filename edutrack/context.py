"""The resources one process holds, built by the app factory and handed to services.

Services receive this object instead of reaching for globals, so two apps in one process
(the multi-node tests do that) never share state by accident.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from edutrack.amqp import AmqpLink
from edutrack.background import BackgroundTasks
from edutrack.db.gate import DbGate
from edutrack.db.replica import HeavyReads
from edutrack.live_retry import HeldPublishes
from edutrack.live_shards import MasterLanes
from edutrack.mail.templates import MailTemplates
from edutrack.ratelimit import FailureThrottle, RateLimiter, UserBudgets
from edutrack.security.passwords import PasswordHasher
from edutrack.security.tokens import TokenService
from edutrack.settings import Settings


@dataclass(eq=False)
class AppContext:
    settings: Settings
    engine: AsyncEngine
    # Transactions: `async with unit_of_work(ctx) as uow:` (edutrack/uow.py) for anything that writes and has
    # effects after its commit; `async with ctx.sessions.begin() as session:` for the rest.
    sessions: async_sessionmaker[AsyncSession]
    # Reads: autocommit sessions, so a read costs its queries only, without BEGIN/ROLLBACK round trips
    # (transactions through PgBouncer in transaction mode: db/engine.py). PostgreSQL's READ COMMITTED gives
    # each statement its own snapshot inside a transaction too, so dropping the transaction changes nothing
    # a reader can see. Never write through these.
    reads: async_sessionmaker[AsyncSession]
    # Term sheets, analytics: `async with ctx.heavy_reads() as session:` reads on DATABASE_READ_URL's replica
    # once it has replayed everything committed before the read began, else on the primary (db/replica.py).
    heavy_reads: HeavyReads
    redis: Redis
    amqp: AmqpLink
    passwords: PasswordHasher
    tokens: TokenService
    limiter: RateLimiter
    throttle: FailureThrottle
    mail: MailTemplates
    # Admission of API requests to PostgreSQL: a bounded queue, then 503 (db/gate.py).
    db_gate: DbGate
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
    # Chat writes per user on this node, REST and sockets together (ratelimit.py).
    budgets: UserBudgets = field(default_factory=UserBudgets)
    # Live events Redis did not take, published again when it does (live_retry.py).
    held_publishes: HeldPublishes = field(default_factory=HeldPublishes)
    # On a Redis Cluster: which masters failed lately, skipped by new publishes for a while (live_shards.py).
    publish_lanes: MasterLanes = field(default_factory=MasterLanes)
    # Whole-response cache misses being loaded on this node, by entry and the bucket tokens seen (cache.py):
    # a reader that misses the same entry meanwhile waits for that load instead of repeating it.
    cache_loads: dict[Any, asyncio.Future[Any]] = field(default_factory=dict)

    def redis_key(self, *parts: object) -> str:
        return ":".join([self.settings.namespace, *(str(p) for p in parts)])
