"""The shared resources of a process under a burst."""

from __future__ import annotations

import asyncio
import dataclasses

from edutrack.resources import make_redis
from edutrack.settings import Settings


async def test_redis_burst_waits_for_a_free_connection_instead_of_failing(settings: Settings) -> None:
    """A reconnect storm asks Redis for far more connections at once than the pool holds: callers queue for a
    connection (bounded wait) and every call succeeds, while the process never opens more than the cap."""
    capped = dataclasses.replace(settings, redis_max_connections=4)
    redis = make_redis(capped)
    key = f"{settings.namespace}:burst"
    try:
        # BLPOP with a short timeout holds its connection for the whole call, so 40 of them need queueing.
        results = await asyncio.gather(*(redis.blpop([key], timeout=0.05) for _ in range(40)))
        assert results == [None] * 40
        assert await redis.ping()
        clients = await redis.client_list()
        ours = [c for c in clients if c.get("name") == f"edutrack:{settings.namespace}"]
        assert 1 <= len(ours) <= 4, ours
    finally:
        await redis.aclose()
