"""Publishing a batch of live events on a Redis Cluster: per master, each master's share on its own.

A committed chat batch's events go out together (edutrack/uow.py). In one cluster pipeline, redis-py sends each
master its commands and waits for all of them, retrying a master that fails until the slot map names another: when
a master dies, every batch that touches one of its channels (nearly every batch, with a third of the channels on
it) waited seconds, and the chats of the surviving masters with it (docs/benchmarks.md, the failover runs).

Here the batch is split by the master that owns each channel's slot (redis-py's slot map, the one its commands are
routed by), and the parts are sent concurrently, each as its own pipeline in the batch's order, so a channel's
events keep their order (one channel, one slot, one part). A part that fails or takes longer than `GROUP_TIMEOUT`
is given up (redis-py closes a connection whose reply was not read) and returned to the caller, which holds it
for a retry (live_retry.py); the others are published meanwhile. A master that failed is skipped for `DOWN_FOR`
seconds, its parts returned at once, so that the next batches do not wait on it again; the retries still try it
(`probe`, with `PROBE_TIMEOUT`), and a part that gets through clears the mark. An event sent twice this way (a part
given up after its master took it) is harmless: subscribers drop ids they have already sent.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from edutrack.live_retry import Batch

log = logging.getLogger(__name__)

# A part's pipeline normally answers in a millisecond or two; beyond this its master is taken for failing and the
# part is held. Each batch behind it waits this long at most.
GROUP_TIMEOUT = 0.5
# A retry of held events waits longer: nothing waits behind it but other held events, and redis-py, retrying within
# it, reads the slot map again and reaches a promoted replica as soon as the cluster names it.
PROBE_TIMEOUT = 2.0
# The longest pause between two retries of held events on a cluster (one Redis: live_retry.LAST_RETRY): a failed
# master's replica takes over within seconds, and its channels' events wait for the retry that finds it.
CLUSTER_LAST_RETRY = 1.0
# How long a master that failed is skipped by new publishes (the retries keep trying it, and clear this on success).
DOWN_FOR = 5.0


class MasterLanes:
    """One per process (AppContext.publish_lanes): which masters failed lately."""

    def __init__(self) -> None:
        self._down: dict[str, float] = {}  # node name (host:port) -> skipped until (monotonic)

    def is_down(self, name: str) -> bool:
        return self._down.get(name, 0.0) > time.monotonic()

    async def send(self, client: RedisCluster, batch: Batch, *, probe: bool = False) -> set[int]:
        """SPUBLISH the batch, per master, concurrently; returns the positions not published."""
        parts: dict[str | None, list[int]] = {}
        for position, (target, _text) in enumerate(batch):
            parts.setdefault(_master_name(client, target), []).append(position)
        unsent: set[int] = set()
        tried = []
        for name, positions in parts.items():
            if not probe and name is not None and self.is_down(name):
                unsent.update(positions)  # held without waiting on it again
            else:
                tried.append((name, positions))
        timeout = PROBE_TIMEOUT if probe else GROUP_TIMEOUT
        failures = await asyncio.gather(*(_publish(client, [batch[i] for i in positions], timeout)
                                          for _name, positions in tried))
        for (name, positions), failure in zip(tried, failures, strict=True):
            if failure is None:
                if name is not None:
                    self._down.pop(name, None)
                continue
            unsent.update(positions)
            if name is not None:
                self._down[name] = time.monotonic() + DOWN_FOR
            log.warning("live publish to a cluster master failed",
                        extra={"master": name, "count": len(positions), "error": repr(failure)})
        return unsent


def _master_name(client: RedisCluster, target: str) -> str | None:
    """The master that owns the channel's slot in the client's slot map; None before the client has read one (the
    part then goes through redis-py's routing, which reads it)."""
    try:
        node = client.get_node_from_key(target)
    except (RedisError, RedisClusterException):  # the slot is not covered (yet)
        return None
    return node.name if node is not None else None


async def _publish(client: RedisCluster, pairs: Batch, timeout: float) -> BaseException | None:
    """Publish one master's part in its order; the error if it failed or took longer than `timeout`."""
    try:
        async with asyncio.timeout(timeout):
            await publish_in_order(client, pairs, sharded=True)
    except (RedisError, RedisClusterException, OSError) as exc:  # TimeoutError is an OSError
        return exc
    return None


async def publish_in_order(client: Redis | RedisCluster, pairs: Batch, *, sharded: bool) -> None:
    """PUBLISH (one Redis) or SPUBLISH (a cluster, pairs of one master) the pairs in one round trip, in order."""
    if len(pairs) == 1:
        await (client.spublish if sharded else client.publish)(*pairs[0])
        return
    async with client.pipeline(transaction=False) as pipe:
        for target, text in pairs:
            (pipe.spublish if sharded else pipe.publish)(target, text)
        await pipe.execute()
