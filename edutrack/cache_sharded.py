"""The cache's operations that span buckets, on a Redis Cluster (cache.py; redis_cluster.py).

Each bucket is one hash, in its own slot; a script may touch only one slot, so what cache.py does over several
buckets in one script is done here bucket by bucket. It stays correct because every token is new (never
reused) and an entry records the tokens of the buckets it depends on:

  * an invalidation gives each bucket a fresh token; the buckets need not change at one instant;
  * a lookup reads the entry with its own bucket's token in one HMGET and the other buckets' tokens after it;
    an entry whose recorded tokens are not those is a miss, whenever the change came;
  * a store first checks (and, where missing, creates) the token of each bucket the entry depends on, then
    stores the entry in its bucket if that bucket's token is still the one the reader saw, recording the
    tokens checked. A dependency changed after its check leaves an entry that no lookup serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edutrack.context import AppContext

# Replace one bucket with a fresh token (cache._INVALIDATE for one key).
_INVALIDATE_ONE = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

# The bucket's token if it is still the one the reader saw ('' = missing: then the fresh one, created here);
# false when it changed. ARGV: token field, seen, fresh, ttl.
_CHECK_BUCKET = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return false end
if not current then
  current = ARGV[3]
  redis.call('HSET', KEYS[1], ARGV[1], current)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
return current
"""

# Store the entry (ARGV[5]: the dependencies' tokens, '|', the value) if the bucket's token is still the one seen.
# ARGV: token field, seen, fresh, ttl, entry, field.
_STORE_ENTRY = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return 0 end
if not current then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
redis.call('HSET', KEYS[1], ARGV[6], ARGV[5])
return 1
"""


async def invalidate(ctx: AppContext, keys: Sequence[str], token_field: str, token: str, ttl: int) -> None:
    async with ctx.redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.eval(_INVALIDATE_ONE, 1, key, token_field, token, str(ttl))
        await pipe.execute()


async def lookup(ctx: AppContext, keys: Sequence[str], token_field: str, field: str) -> list[Any]:
    """As cache._LOOKUP: the entry, then every bucket's token (None where missing)."""
    async with ctx.redis.pipeline(transaction=False) as pipe:
        pipe.hmget(keys[0], [field, token_field])
        for key in keys[1:]:
            pipe.hget(key, token_field)
        first, *others = await pipe.execute()
    return [first[0], first[1], *others]


async def store(ctx: AppContext, keys: Sequence[str], token_field: str, field: str, value: bytes,
                seen: Sequence[str], fresh: Sequence[str], ttl: int) -> bool:
    """As cache._STORE_DEPENDENT; False when a bucket changed since `seen` (nothing stored)."""
    deps: list[bytes] = []
    for key, was, new in zip(keys[1:], seen[1:], fresh[1:], strict=True):
        current = await ctx.redis.eval(_CHECK_BUCKET, 1, key, token_field, was, new, str(ttl))
        if not current:
            return False
        deps.append(current if isinstance(current, bytes) else str(current).encode())
    entry = b",".join(deps) + b"|" + value
    stored = await ctx.redis.eval(_STORE_ENTRY, 1, keys[0], token_field, seen[0], fresh[0], str(ttl), entry, field)
    return bool(stored)
