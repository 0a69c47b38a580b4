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
from edutrack.i18n import _
from edutrack.redis_cluster import is_cluster

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


# Reserve one attempt in every record, or none: the wait (seconds, as a string: Lua numbers come back as
# integers) until the latest `next` of them, or "0" once each record has counted the attempt as a failure and set
# its own `next` (doubling delays past its free failures). Counted before the outcome is known, so that a burst
# of parallel attempts cannot all pass while the first ones are being checked.
# KEYS: the records. ARGV: now, window, max delay, then the free failures of each record.
_RESERVE = """
local now, window, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
for _, key in ipairs(KEYS) do
  local nxt = tonumber(redis.call('HGET', key, 'n') or '0')
  if nxt - now > wait then wait = nxt - now end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  local free = tonumber(ARGV[3 + i])
  local failures = redis.call('HINCRBY', key, 'f', 1)
  local delay = 0
  if failures > free then delay = math.min(2 ^ (failures - free - 1), cap) end
  redis.call('HSET', key, 'n', tostring(now + delay))
  redis.call('EXPIRE', key, window)
end
return '0'
"""


# KEYS: records to delete (the first ARGV[1]), then records whose count goes down by one, if they still exist.
_SUCCEEDED = """
for i, key in ipairs(KEYS) do
  if i <= tonumber(ARGV[1]) then
    redis.call('DEL', key)
  elseif redis.call('EXISTS', key) == 1 then
    redis.call('HINCRBY', key, 'f', -1)
  end
end
return 0
"""


class FailureThrottle:
    """Growing delays between failed attempts, per record (an account and a client, a client, an account):
    after `free` failures the next attempt must wait 1 s, then 2 s, 4 s, ... up to `max_delay`. A record is
    forgotten `window` seconds after its last attempt. Fails open, as the limiter does."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        # In a Redis Cluster the records one attempt checks and counts together must share a slot: the hash tag.
        self._prefix = f"{{{namespace}:throttle}}:" if is_cluster(redis) else f"{namespace}:throttle:"
        self._reserve = redis.register_script(_RESERVE)
        self._succeeded = redis.register_script(_SUCCEEDED)

    async def reserve(self, records: dict[str, int], window: int, max_delay: int) -> int:
        """Count an attempt against every record ({key: free failures}); 0 if it may go ahead, else the seconds
        to wait (nothing counted)."""
        keys = [self._prefix + key for key in records]
        try:
            raw = await self._reserve(keys=keys, args=[f"{time.time():.3f}", window, max_delay, *records.values()])
        except (RedisError, OSError) as exc:
            log.warning("login throttle unavailable, allowing request", extra={"error": str(exc)})
            return 0
        wait = float(raw.decode() if isinstance(raw, bytes) else raw)
        return math.ceil(wait) if wait > 0 else 0

    async def succeeded(self, forget: list[str], uncount: list[str]) -> None:
        """The attempt was right: `forget` those records, take the attempt back from `uncount` (a correct password
        is not a failure, but it does not wipe out what others tried)."""
        try:
            await self._succeeded(keys=[self._prefix + key for key in (*forget, *uncount)], args=[len(forget)])
        except (RedisError, OSError) as exc:
            log.warning("login throttle unavailable", extra={"error": str(exc)})


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
            raise errors.TooManyRequests(math.ceil(wait), _("Too many requests of this kind; wait a moment."))

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: a new one starts full, so forgetting them changes nothing."""
        for key, (tokens, stamp) in list(self._buckets.items()):
            budget = self.budgets[key[1]]
            if tokens + (now - stamp) * budget.per_second >= budget.burst:
                del self._buckets[key]
        if len(self._buckets) >= self._max_buckets:  # all of them busy: start over rather than grow
            self._buckets.clear()
