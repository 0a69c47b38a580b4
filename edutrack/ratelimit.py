"""Fixed-window counters in Redis. When Redis is unreachable the limiter lets requests through (logged):
losing rate limiting for a while is better than refusing every login."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:rl:"

    async def hit(self, key: str, window: int) -> tuple[int, int]:
        """Count one event in the window; return (count so far, seconds until the window resets)."""
        full = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(full)
                pipe.expire(full, window, nx=True)
                pipe.ttl(full)
                count, _, ttl = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("rate limiter unavailable, allowing request", extra={"error": str(exc)})
            return 0, 0
        return int(count), max(int(ttl), 1)

    async def peek(self, key: str) -> tuple[int, int]:
        full = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(full)
                pipe.ttl(full)
                raw, ttl = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("rate limiter unavailable, allowing request", extra={"error": str(exc)})
            return 0, 0
        return int(raw or 0), max(int(ttl), 1)

    async def reset(self, key: str) -> None:
        try:
            await self._redis.delete(self._prefix + key)
        except (RedisError, OSError) as exc:
            log.warning("rate limiter unavailable", extra={"error": str(exc)})
