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

Whole responses (`lookup` / `store`): the hot diary reads (a student's grades, a class's term sheet and week)
keep their finished JSON body in one bucket *and* depend on others: an entry is stored with the tokens of
its other buckets and counts only while they are unchanged, so a school-wide change (a renamed subject, a
new enrolment) drops every dependent entry without listing them. One script call reads the entry and the
tokens, so a hit costs one Redis round trip and no PostgreSQL at all. Such an entry also carries the facts
its authorization check needs (whose parents, which school...), invalidated by the same writes as the body.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from redis.exceptions import NoScriptError, RedisError

from edutrack import cache_sharded
from edutrack.context import AppContext
from edutrack.redis_cluster import is_cluster

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


def class_marks_bucket(class_id: int) -> str:
    """Term sheets of one class: changed by grades given in the class and term marks of its students."""
    return f"class:{class_id}:marks"


def student_marks_bucket(student_id: int) -> str:
    """Grade lists of one student: changed by the student's grades (and lessons they point to)."""
    return f"student:{student_id}:marks"


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
        if is_cluster(ctx.redis):  # buckets in different slots: one by one (cache_sharded.py)
            await cache_sharded.invalidate(ctx, keys, GENERATION_FIELD, uuid.uuid4().hex, ttl)
        else:
            await ctx.redis.eval(_INVALIDATE, len(keys), *keys, GENERATION_FIELD, uuid.uuid4().hex, str(ttl))
    except (RedisError, OSError) as exc:
        log.error("cache invalidation failed; entries expire with their TTL",
                  extra={"buckets": list(buckets), "error": str(exc)})


# One round trip: the entry of the first bucket, then the token of every bucket (nil where missing).
_LOOKUP = """
local out = {redis.call('HGET', KEYS[1], ARGV[2]) or false}
for i = 1, #KEYS do out[i + 1] = redis.call('HGET', KEYS[i], ARGV[1]) or false end
return out
"""

# Store only if every bucket still carries the token the reader saw; a missing bucket gets the fresh token
# passed for it. The entry is prefixed with the tokens of the other buckets, which it depends on.
_STORE_DEPENDENT = """
local n = #KEYS
for i = 1, n do
  if (redis.call('HGET', KEYS[i], ARGV[1]) or '') ~= ARGV[4 + i] then return 0 end
end
local deps = {}
for i = 1, n do
  local current = redis.call('HGET', KEYS[i], ARGV[1])
  if not current then
    current = ARGV[4 + n + i]
    redis.call('HSET', KEYS[i], ARGV[1], current)
    redis.call('EXPIRE', KEYS[i], ARGV[2])
  end
  if i > 1 then deps[#deps + 1] = current end
end
redis.call('HSET', KEYS[1], ARGV[3], table.concat(deps, ',') .. '|' .. ARGV[4])
return 1
"""

_LOOKUP_SHA = hashlib.sha1(_LOOKUP.encode(), usedforsecurity=False).hexdigest()  # the name Redis gives a script
_STORE_DEPENDENT_SHA = hashlib.sha1(_STORE_DEPENDENT.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class Lookup:
    """What `lookup` found: the entry (None on a miss) and the bucket tokens it saw (None: Redis is down)."""

    value: bytes | None
    tokens: tuple[str, ...] | None


async def _script(ctx: AppContext, script: str, sha: str, keys: Sequence[str], args: Sequence[str | bytes]) -> Any:
    # EVALSHA sends 40 bytes instead of the script; the script is loaded on the first call after a Redis restart.
    try:
        return await ctx.redis.evalsha(sha, len(keys), *keys, *args)
    except NoScriptError:
        return await ctx.redis.eval(script, len(keys), *keys, *args)


async def lookup(ctx: AppContext, buckets: Sequence[str], field: str) -> Lookup:
    """The entry `field` of `buckets[0]`, if it is still valid for the current tokens of `buckets[1:]`."""
    keys = [bucket_key(ctx, b) for b in buckets]
    try:
        if is_cluster(ctx.redis):
            found = await cache_sharded.lookup(ctx, keys, GENERATION_FIELD, field)
        else:
            found = await _script(ctx, _LOOKUP, _LOOKUP_SHA, keys, [GENERATION_FIELD, field])
    except (RedisError, OSError) as exc:
        log.warning("cache unavailable; reading from PostgreSQL", extra={"bucket": buckets[0], "error": str(exc)})
        return Lookup(None, None)
    raw: bytes | None = found[0]
    tokens = tuple(t.decode() if t is not None else "" for t in found[1:])
    if raw is None or not all(tokens[1:]):
        return Lookup(None, tokens)
    deps, _, value = raw.partition(b"|")
    if deps.decode() != ",".join(tokens[1:]):
        return Lookup(None, tokens)  # stored before a change of a bucket it depends on
    return Lookup(value, tokens)


async def store(ctx: AppContext, buckets: Sequence[str], field: str, seen: Lookup, value: bytes,
                ttl: int = DEFAULT_TTL) -> None:
    """Store `value` as `field` of `buckets[0]`, depending on `buckets[1:]`, unless any bucket changed since
    `seen` was looked up (then the value may predate that change and is dropped)."""
    if seen.tokens is None:
        return  # Redis was down at the lookup: nothing to compare with
    keys = [bucket_key(ctx, b) for b in buckets]
    # A fresh token is used only for a bucket that was missing at the lookup (the script stores nothing if a
    # bucket's token is not the one seen): the others get none, so a miss of existing buckets makes no token.
    fresh = ["" if token else uuid.uuid4().hex for token in seen.tokens]
    try:
        if is_cluster(ctx.redis):
            await cache_sharded.store(ctx, keys, GENERATION_FIELD, field, value, seen.tokens, fresh, ttl)
        else:
            await _script(ctx, _STORE_DEPENDENT, _STORE_DEPENDENT_SHA, keys,
                          [GENERATION_FIELD, str(ttl), field, value, *seen.tokens, *fresh])
    except (RedisError, OSError) as exc:
        log.warning("cache store failed", extra={"bucket": buckets[0], "error": str(exc)})


async def authorized_body(ctx: AppContext, buckets: Sequence[str], field: str,
                          allowed: Callable[[dict[str, Any]], bool],
                          load: Callable[[], Awaitable[tuple[bytes, dict[str, Any] | None]]]) -> bytes:
    """A whole response body, cached with the facts its authorization check needs.

    A hit is served only if `allowed(facts)`; otherwise (or on a miss) `load` gives the body from PostgreSQL
    with its own checks (so a caller the facts refuse gets PostgreSQL's exact 403/404), and the facts to
    store with it, or None when the entry must not be stored (it would not depend on `buckets`).

    Right after a write invalidated an entry, every reader of it misses at once, and each would load the same
    answer. A reader that misses while another request of this node loads the same entry, having seen the same
    bucket tokens, waits for that load and takes its answer as it would take a hit stored by it (the same facts
    check); with other tokens a write came between the two lookups, and it loads its own."""
    found = await lookup(ctx, buckets, field)
    if found.value is not None:
        facts, body = unpack(found.value)
        if allowed(facts):
            return body
    if found.tokens is None:  # Redis is down: nothing to compare tokens with, nothing stored
        return (await load())[0]
    key = (tuple(buckets), field, found.tokens)
    pending = ctx.cache_loads.get(key)
    if pending is not None:
        shared = await asyncio.shield(pending)
        if shared is not None and allowed(shared[0]):
            return cast(bytes, shared[1])
        return await _load_and_store(ctx, buckets, field, found, load)
    ctx.cache_loads[key] = future = asyncio.get_running_loop().create_future()
    try:
        body, fresh = await load()
    except BaseException:
        # Waiters of a refused or failed load load their own, with their own checks and errors.
        _done(ctx, key, future, None)
        raise
    _done(ctx, key, future, None if fresh is None else (fresh, body))
    if fresh is not None:
        await store(ctx, buckets, field, found, pack(fresh, body))
    return body


def _done(ctx: AppContext, key: Any, future: asyncio.Future[Any], shared: Any) -> None:
    del ctx.cache_loads[key]
    future.set_result(shared)


async def _load_and_store(ctx: AppContext, buckets: Sequence[str], field: str, seen: Lookup,
                          load: Callable[[], Awaitable[tuple[bytes, dict[str, Any] | None]]]) -> bytes:
    body, fresh = await load()
    if fresh is not None:
        await store(ctx, buckets, field, seen, pack(fresh, body))
    return body


def pack(facts: dict[str, Any], body: bytes) -> bytes:
    """An entry: the facts an authorization check needs, then the response body (compact JSON has no newline)."""
    return json.dumps(facts, separators=(",", ":")).encode() + b"\n" + body


def unpack(value: bytes) -> tuple[dict[str, Any], bytes]:
    facts, _, body = value.partition(b"\n")
    return json.loads(facts), body
