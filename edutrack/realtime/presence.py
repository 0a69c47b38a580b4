"""Who is online, across every API node, in Redis.

`presence_key(namespace, user_id)` (edutrack.events) is a hash of node id -> expiry time. It exists while the
user has a socket on any node: each node keeps its own field fresh and the key's TTL; a field whose node
died is pruned by the next refresh, and the key vanishes by itself when no node refreshes it any more.
Presence is best effort: when Redis is down nobody looks online, nothing else breaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from edutrack.events import presence_key
from edutrack.realtime.script_batch import ScriptBatch
from edutrack.redis_cluster import is_cluster

log = logging.getLogger(__name__)

TTL = 60
REFRESH_EVERY = 20

# KEYS[1] presence key; ARGV: node id, now, expiry, ttl. Set our field, prune dead nodes' fields, extend.
_TOUCH = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if tonumber(fields[i + 1]) < tonumber(ARGV[2]) then redis.call('HDEL', KEYS[1], fields[i]) end
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


# KEYS: presence keys. One command answering "which of these exist" (EXISTS with many keys only counts).
# ARGV (optional): a Redis channel and a message to publish in the same round trip (the caller's own
# "online" announcement, which a subscribe sends right after asking who is online).
_WHICH = """
local found = {}
for i, key in ipairs(KEYS) do found[i] = redis.call('EXISTS', key) end
if ARGV[1] then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return found
"""


class Presence:
    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._namespace = namespace
        self.node_id = uuid.uuid4().hex[:12]
        self._sockets: Counter[int] = Counter()
        # user id -> done when the latest touch (HSET) sent for the user has landed; a disconnect waits for it,
        # or a refresh already on the wire would re-add the field after the disconnect's HDEL.
        self._touching: dict[int, asyncio.Future[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._touch = redis.register_script(_TOUCH)
        self._which = redis.register_script(_WHICH)
        # A Redis Cluster: each command touches one user's key (its own slot); no script spans users.
        self._sharded = is_cluster(redis)
        self._batch = ScriptBatch(redis)  # single Redis: the calls of one turn of the loop in one pipeline

    def _key(self, user_id: int) -> str:
        return presence_key(self._namespace, user_id)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_loop(), name="realtime-presence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._batch.close()
        users = list(self._sockets)
        self._sockets.clear()
        if users:
            with contextlib.suppress(RedisError, OSError):
                async with self._redis.pipeline(transaction=False) as pipe:
                    for user_id in users:
                        pipe.hdel(self._key(user_id), self.node_id)
                    await pipe.execute()

    async def connected(self, user_id: int) -> bool:
        """Count a socket; True if it is the user's first on this node."""
        self._sockets[user_id] += 1
        if self._sockets[user_id] > 1:
            return False
        now = int(time.time())
        done = self._start_touch([user_id])
        keys, args = [self._key(user_id)], [self.node_id, str(now), str(now + TTL), str(TTL)]
        if self._sharded:
            try:
                await self._touch(keys=keys, args=args)
            except (RedisError, OSError) as exc:
                log.debug("presence: Redis unavailable", extra={"error": str(exc)})
            finally:
                self._end_touch([user_id], done)
            return True
        landed = self._batch.call(self._touch, keys, args)
        # Ended when the touch has landed, not when this caller stops waiting (a socket closed meanwhile): a
        # disconnect waits for it, or its HDEL could overtake the HSET still on the wire.
        landed.add_done_callback(lambda _: self._end_touch([user_id], done))
        try:
            await asyncio.shield(landed)
        except (RedisError, OSError) as exc:
            log.debug("presence: Redis unavailable", extra={"error": str(exc)})
        return True

    async def disconnected(self, user_id: int) -> bool:
        """Uncount a socket; True if the user is now offline everywhere."""
        self._sockets[user_id] -= 1
        if self._sockets[user_id] > 0:
            return False
        del self._sockets[user_id]
        # Shielded: a caller cancelled half-way must not leave the user's field behind for a whole TTL.
        return await asyncio.shield(self._leave(user_id))

    async def _leave(self, user_id: int) -> bool:
        while (touch := self._touching.get(user_id)) is not None:
            await touch
        if user_id in self._sockets:
            return False  # a new socket of the user arrived meanwhile: its touch stands
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hdel(self._key(user_id), self.node_id)
                pipe.exists(self._key(user_id))
                _, still = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.debug("presence: Redis unavailable", extra={"error": str(exc)})
            return True
        return not bool(still)

    async def online(self, user_ids: Iterable[int], *, announce: tuple[str, str] | None = None) -> set[int]:
        """Which of `user_ids` are online on any node. `announce`: (Redis channel, message) to publish in the
        same round trip."""
        ids = sorted(set(user_ids))
        if not ids and announce is None:
            return set()
        try:
            if self._sharded:
                found = await self._which_sharded(ids, announce)
            else:
                found = await self._batch.call(self._which, [self._key(user_id) for user_id in ids],
                                               list(announce or ()))
        except (RedisError, OSError) as exc:
            log.debug("presence: Redis unavailable", extra={"error": str(exc)})
            return {uid for uid in ids if uid in self._sockets}
        return {uid for uid, exists in zip(ids, found, strict=True) if exists}

    async def _which_sharded(self, ids: list[int], announce: tuple[str, str] | None) -> list[int]:
        """`_WHICH` on a cluster: EXISTS key by key (one pipeline, which the client splits by master), then the
        announcement on its channel's shard."""
        found: list[int] = []
        if ids:
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in ids:
                    pipe.exists(self._key(user_id))
                found = await pipe.execute()
        if announce is not None:
            await self._redis.spublish(*announce)
        return found

    def _start_touch(self, user_ids: list[int]) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for user_id in user_ids:
            self._touching[user_id] = done
        return done

    def _end_touch(self, user_ids: list[int], done: asyncio.Future[None]) -> None:
        for user_id in user_ids:
            if self._touching.get(user_id) is done:
                del self._touching[user_id]
        done.set_result(None)

    async def _touch_users(self, user_ids: list[int]) -> None:
        now = int(time.time())
        done = self._start_touch(user_ids)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in user_ids:
                    args: list[str | int] = [self.node_id, now, now + TTL, TTL]
                    if self._sharded:  # EVAL, not EVALSHA: a master promoted by a failover has no script cache
                        pipe.eval(_TOUCH, 1, self._key(user_id), *args)
                    else:
                        await self._touch(keys=[self._key(user_id)], args=args, client=pipe)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.debug("presence: Redis unavailable", extra={"error": str(exc)})
        finally:
            self._end_touch(user_ids, done)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_EVERY)
            users = list(self._sockets)
            for start in range(0, len(users), 500):
                # Only users still connected now: one who left since the snapshot was already deleted.
                batch = [user_id for user_id in users[start:start + 500] if user_id in self._sockets]
                if batch:
                    await self._touch_users(batch)
