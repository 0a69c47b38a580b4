"""Read-through cache of reference lists and schedules in Redis, with invalidation on write.

Entries live in Redis hashes called buckets (`{namespace}:cache:{bucket}`): one field per query
(e.g. one week of one class), plus a `~token` field. A write invalidates a whole bucket at once by
replacing it with a fresh token, so every cached variant of that data goes together, however many
filter/page/range combinations were cached.

The token closes the classic read-through race: a reader that loaded from PostgreSQL before a writer
committed would otherwise store stale data after the writer's invalidation. The reader remembers the
token it saw on its miss and stores only if the bucket still carries that token (checked atomically in
Lua), so a concurrent invalidation makes the stale value be dropped instead of cached.

Redis is an optimisation only: any Redis error is logged and the value comes from PostgreSQL.
Values are JSON; empty lists are cached like any other value.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.exceptions import RedisError

from edutrack.context import AppContext

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TTL = 300  # seconds; bounds staleness from changes the cache cannot see (e.g. a renamed teacher)
GENERATION_FIELD = "~generation"

# Store only if the bucket's token is still the one the reader saw (nil = bucket did not exist).
# A bucket created here gets a token and the TTL; an existing bucket keeps its TTL.
_STORE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return 0 end
if not current then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[6])
return 1
"""

# Invalidation: replace the bucket with a new token only, so readers that missed before it cannot store.
_INVALIDATE = """
for i, key in ipairs(KEYS) do
  redis.call('DEL', key)
  redis.call('HSET', key, ARGV[1], ARGV[2])
  redis.call('EXPIRE', key, ARGV[3])
end
return #KEYS
"""


def bucket_key(ctx: AppContext, bucket: str) -> str:
    return ctx.redis_key("cache", bucket)


def schools_bucket() -> str:
    return "schools"


def school_ref_bucket(school_id: int) -> str:
    """Classes, subjects, work types, years and terms of one school."""
    return f"school:{school_id}:ref"


def school_schedule_bucket(school_id: int) -> str:
    """Every cached lesson range (per class and per teacher) of one school."""
    return f"school:{school_id}:schedule"


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


async def cached(ctx: AppContext, bucket: str, field: str, load: Callable[[], Awaitable[T]],
                 ttl: int = DEFAULT_TTL) -> T | Any:
    """The value of `field` in `bucket`, loaded with `load()` and stored on a miss.

    `load` must return JSON-ready data (dates as ISO strings): a hit returns the decoded JSON, so both
    paths must look the same to the caller.
    """
    key = bucket_key(ctx, bucket)
    try:
        raw, token = await ctx.redis.hmget(key, [field, GENERATION_FIELD])
    except (RedisError, OSError) as exc:
        log.warning("cache unavailable; reading from PostgreSQL", extra={"bucket": bucket, "error": str(exc)})
        return await load()
    if raw is not None:
        return json.loads(raw)
    value = await load()
    seen = token.decode() if isinstance(token, bytes) else (token or "")
    try:
        await ctx.redis.eval(_STORE, 1, key, GENERATION_FIELD, seen, field, str(ttl), uuid.uuid4().hex,
                             json.dumps(value, ensure_ascii=False, default=_json_default))
    except (RedisError, OSError) as exc:
        log.warning("cache store failed", extra={"bucket": bucket, "error": str(exc)})
    return value


async def invalidate(ctx: AppContext, *buckets: str, ttl: int = DEFAULT_TTL) -> None:
    """Drop every cached entry of these buckets. Call after the commit of the change.

    If Redis is unreachable the entries cannot be dropped now; they expire with their TTL. That is
    logged loudly, because until then readers on other nodes may see the old data.
    """
    if not buckets:
        return
    keys = [bucket_key(ctx, b) for b in buckets]
    try:
        await ctx.redis.eval(_INVALIDATE, len(keys), *keys, GENERATION_FIELD, uuid.uuid4().hex, str(ttl))
    except (RedisError, OSError) as exc:
        log.error("cache invalidation failed; entries expire with their TTL",
                  extra={"buckets": list(buckets), "error": str(exc)})
