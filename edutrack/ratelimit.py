"""Rate limits. RateLimiter: fixed-window counters in Redis, for logins and resets, across nodes; when Redis is
unreachable it lets requests through (logged): losing rate limiting for a while is better than refusing every
login. UserBudgets: token buckets per user in the process, for the frequent writes of chat."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from redis.asyncio import Redis
from redis.exceptions import RedisError

from edutrack import errors

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


# --- per-user budgets of this process ---------------------------------------------------------------------------

CHAT_SEND = "chat.send"  # a message sent, edited or deleted, over REST or any socket
CHAT_READ = "chat.read"  # a read marker moved (a chat's or the notification feed's), over REST or any socket
TYPING = "typing"  # a typing event, over any socket


@dataclass(frozen=True, slots=True)
class Budget:
    per_second: float
    burst: int


BUDGETS: Mapping[str, Budget] = MappingProxyType({
    CHAT_SEND: Budget(5.0, 20),
    CHAT_READ: Budget(5.0, 20),
    TYPING: Budget(2.0, 10),
})


class UserBudgets:
    """One token bucket per (user, action) in this process, shared by the user's REST requests and all of their
    sockets on the node. In memory rather than in Redis (RateLimiter above, for logins): these actions are the hot
    path of chat, a Redis round trip before each would add latency and Redis traffic per message (and limit
    nothing while Redis is down), and a bucket costs a microsecond. The price: a user whose requests and sockets
    are spread over N API nodes gets up to N budgets. One per AppContext."""

    def __init__(self, budgets: Mapping[str, Budget] = BUDGETS, *, max_buckets: int = 100_000) -> None:
        self.budgets = budgets
        self._max_buckets = max_buckets
        self._buckets: dict[tuple[int, str], list[float]] = {}  # -> [tokens, when counted]

    def take(self, user_id: int, action: str) -> float:
        """Spend one unit of the user's budget for `action`: 0 when allowed, else the seconds until one is."""
        budget = self.budgets[action]
        now = time.monotonic()
        key = (user_id, action)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_buckets:
                self._forget_full(now)
            bucket = self._buckets[key] = [float(budget.burst), now]
        tokens = min(float(budget.burst), bucket[0] + (now - bucket[1]) * budget.per_second)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / budget.per_second

    def charge(self, user_id: int, action: str) -> None:
        """`take`, or 429 with Retry-After."""
        wait = self.take(user_id, action)
        if wait:
            raise errors.TooManyRequests(math.ceil(wait), "Too many requests of this kind; wait a moment")

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: a new one starts full, so forgetting them changes nothing."""
        for key, (tokens, stamp) in list(self._buckets.items()):
            budget = self.budgets[key[1]]
            if tokens + (now - stamp) * budget.per_second >= budget.burst:
                del self._buckets[key]
        if len(self._buckets) >= self._max_buckets:  # all of them busy: start over rather than grow
            self._buckets.clear()
