"""The hub on a Redis Cluster (REDIS_CLUSTER_NODES): sharded pub/sub, one subscription connection per master.

A channel's events are published with SPUBLISH and live only on the master of the channel's slot (and its
replicas). This hub keeps the `Hub` interface (attach / detach / channels / subscribers) and the same reader
(subscriber.py, replies parsed in bulk), but holds one connection per master that owns a slot of a channel its
sockets need, and SSUBSCRIBEs there only those channels: a node receives the events of its sockets' channels,
not every event of the namespace. The `_nodes` channel (access cut-offs) is always subscribed, on its master.

The slot map comes from CLUSTER SLOTS, asked of the nodes it knows. When a shard's connection fails (a master
died, a network cut), when a master answers MOVED (its slot moved, or it became a replica) or drops a channel
itself (Redis sends SUNSUBSCRIBE when a slot migrates away or a master is demoted), the hub hands that shard's
channels back to the placer: it re-reads the slot map, subscribes each channel on the master that owns it now
(retrying with backoff while the failover is under way), and once the subscription is confirmed tells the
channel's local subscribers to re-read from PostgreSQL what they may have missed (like Hub after a reconnect).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.crc import key_slot

from edutrack.realtime import hub as hub_module
from edutrack.realtime.hub import HEALTH_CHECK_INTERVAL, SUBSCRIBE_CONFIRM_TIMEOUT, YIELD_EVERY, Hub, Subscriber
from edutrack.realtime.subscriber import SubscriberConnection
from edutrack.redis_cluster import cluster_nodes, node_url
from edutrack.settings import Settings

log = logging.getLogger(__name__)


class SlotMap:
    """Which master (host, port) owns each slot, as one node's CLUSTER SLOTS said."""

    def __init__(self, ranges: list[tuple[int, int, str, int]]) -> None:
        self._ranges = sorted(ranges)
        self._starts = [r[0] for r in self._ranges]

    def master(self, name: str) -> tuple[str, int] | None:
        slot = key_slot(name.encode())
        i = bisect.bisect_right(self._starts, slot) - 1
        if i < 0 or self._ranges[i][1] < slot:
            return None
        return self._ranges[i][2], self._ranges[i][3]

    def masters(self) -> set[tuple[str, int]]:
        return {(r[2], r[3]) for r in self._ranges}


async def read_slot_map(redis_url: str, nodes: list[tuple[str, int]]) -> SlotMap:
    """Ask the nodes one by one; the first answer wins. ConnectionError if none answers."""
    errors = []
    for host, port in nodes:
        client = Redis.from_url(node_url(redis_url, host, port), socket_connect_timeout=0.5, socket_timeout=1.0)
        try:
            slots = await client.execute_command("CLUSTER SLOTS")  # type: ignore[no-untyped-call]
        except Exception as exc:  # refused, timed out, not a cluster node: ask the next one
            errors.append(f"{host}:{port}: {exc}")
            continue
        finally:
            await client.aclose()
        ranges = []
        for entry in slots:
            host_b, port_i = entry[2][0], entry[2][1]
            master = host_b.decode() if isinstance(host_b, bytes) else str(host_b)
            ranges.append((int(entry[0]), int(entry[1]), master or host, int(port_i)))
        if ranges:
            return SlotMap(ranges)
    raise ConnectionError("no Redis Cluster node answered CLUSTER SLOTS: " + "; ".join(errors))


class _Moved(ConnectionError):
    """The master no longer serves a channel of ours (MOVED, or a SUNSUBSCRIBE we did not ask for)."""


class _Shard:
    """One master's subscription connection and the channels subscribed there."""

    def __init__(self, hub: ShardedHub, address: tuple[str, int]) -> None:
        self.hub = hub
        self.address = address
        self.channels: set[str] = set()  # Redis channel names
        self.confirmed: set[str] = set()
        self.recover: set[str] = set()  # channels to re-read once confirmed (they were lost somewhere)
        self.leaving: set[str] = set()  # SUNSUBSCRIBEs sent: their confirmations are expected
        self.conn: SubscriberConnection | None = None
        self.task = asyncio.create_task(self._run(), name=f"realtime-shard-{address[0]}:{address[1]}")

    def add(self, name: str, recover: bool) -> None:
        self.channels.add(name)
        self.leaving.discard(name)
        if recover:
            self.recover.add(name)
        if self.conn is not None:
            with contextlib.suppress(OSError):  # the session is ending: `lost` re-places every channel, this one too
                self.conn.ssubscribe(name)

    def remove(self, name: str) -> None:
        self.channels.discard(name)
        self.confirmed.discard(name)
        self.recover.discard(name)
        if self.conn is not None:
            self.leaving.add(name)
            with contextlib.suppress(OSError):
                self.conn.sunsubscribe(name)

    async def _run(self) -> None:
        try:
            await self._session()
        except OSError as exc:  # ConnectionError, TimeoutError, MOVED: all end this shard
            if self.hub.say_now():  # once per outage, not on every retry while a failover is under way
                log.warning("realtime: shard subscription lost; re-placing its channels",
                            extra={"shard": f"{self.address[0]}:{self.address[1]}", "error": str(exc)})
        except Exception:
            log.exception("realtime: a shard subscription failed unexpectedly; re-placing its channels")
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()
        self.hub.lost(self)

    async def _session(self) -> None:
        url = node_url(self.hub.redis_url, *self.address)
        conn = await SubscriberConnection.open(url, client_name=self.hub.client_name, connect_timeout=1.0,
                                               health_interval=HEALTH_CHECK_INTERVAL)
        self.conn = conn
        conn.ssubscribe(*self.channels)
        while True:
            handled = 0
            restored: list[str] = []
            for reply in await conn.replies():
                if type(reply) is not list or len(reply) < 3:
                    if isinstance(reply, hiredis.ReplyError):  # MOVED, CLUSTERDOWN, an ACL refusal
                        raise _Moved(f"Redis refused a shard subscription: {reply}")
                    continue
                kind = reply[0]
                if kind == b"smessage":
                    self.hub.dispatch(reply[1].decode(), reply[2])
                    handled += 1
                    if not handled % YIELD_EVERY:
                        await asyncio.sleep(0)
                elif kind == b"ssubscribe":
                    name = reply[1].decode()
                    self.confirmed.add(name)
                    if name in self.recover:
                        self.recover.discard(name)
                        restored.append(name)
                    self.hub.confirmed(name)
                elif kind == b"sunsubscribe":
                    name = reply[1].decode()
                    if name in self.leaving:
                        self.leaving.discard(name)
                    elif name in self.channels:
                        raise _Moved(f"the master dropped {name} (its slot moved)")
            if restored:
                self.hub.restored(restored)
            await asyncio.sleep(0)


class ShardedHub(Hub):
    def __init__(self, redis_url: str, nodes: list[tuple[str, int]], namespace: str, *,
                 on_node_event: Callable[[dict[str, Any]], None] | None = None,
                 on_recovered: Callable[[], None] | None = None) -> None:
        super().__init__(redis_url, namespace, on_node_event=on_node_event, on_recovered=on_recovered)
        self.redis_url = redis_url
        self.client_name = self._client_name
        self._seeds = list(nodes)
        self._map: SlotMap | None = None
        self._shards: dict[tuple[str, int], _Shard] = {}
        self._home: dict[str, _Shard] = {}  # Redis channel name -> the shard it is subscribed on
        self._unplaced: dict[str, bool] = {}  # Redis channel name -> recover once subscribed again
        self._place_due = asyncio.Event()
        self._placer: asyncio.Task[None] | None = None
        self.refreshes = 0  # slot map reads
        self._backoff = 0.0  # grows while shards fail one after another, back to 0 once one is restored
        self._quiet_until = 0.0

    async def start(self) -> None:
        self._unplaced[self._nodes] = False
        self._place_due.set()
        self._placer = asyncio.create_task(self._place_loop(), name="realtime-shard-placer")
        self._sweeper = asyncio.create_task(self._sweep(), name="realtime-hub-sweep")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), 2.0)

    async def stop(self) -> None:
        for task in (self._placer, self._sweeper, *(s.task for s in self._shards.values())):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for shard in self._shards.values():
            if shard.conn is not None:
                shard.conn.close()
        self._shards.clear()

    def shard_addresses(self) -> dict[str, tuple[str, int]]:
        """Where each subscribed channel (Redis name) is subscribed now (tests, benchmarks)."""
        return {name: shard.address for name, shard in self._home.items() if name in shard.confirmed}

    # --- subscriptions ---------------------------------------------------------------------------------

    async def attach(self, channel: str, who: Subscriber) -> bool:
        name = self._prefix + channel
        members = self._subs.get(channel)
        if members is None:
            members = self._subs[channel] = set()
            self._waiting[channel] = asyncio.get_running_loop().create_future()
            self._place(name, recover=False)
        members.add(who)
        pending = self._waiting.get(channel)
        if pending is not None:
            try:
                await asyncio.wait_for(asyncio.shield(pending), SUBSCRIBE_CONFIRM_TIMEOUT)
            except (ConnectionError, TimeoutError):
                log.warning("realtime: shard subscribe not confirmed; will recover once placed",
                            extra={"channel": channel})
                self._recover_later(name)
                return False
            finally:
                if self._waiting.get(channel) is pending:
                    del self._waiting[channel]
        shard = self._home.get(name)
        return shard is not None and name in shard.confirmed

    def _recover_later(self, name: str) -> None:
        """Its subscription came too late for the attach: re-read its gap once it is confirmed."""
        shard = self._home.get(name)
        if shard is not None and name not in shard.confirmed:
            shard.recover.add(name)
        elif name in self._unplaced:
            self._unplaced[name] = True

    def _place(self, name: str, recover: bool) -> None:
        address = self._map.master(name) if self._map is not None else None
        if address is None:
            self._unplaced[name] = recover or self._unplaced.get(name, False)
            self._place_due.set()
            return
        shard = self._shards.get(address)
        if shard is None:
            shard = self._shards[address] = _Shard(self, address)
        self._home[name] = shard
        shard.add(name, recover)

    async def _place_loop(self) -> None:
        delay = 0.05
        while True:
            await self._place_due.wait()
            if self._backoff:  # shards keep failing (a failover under way): do not hammer the cluster
                await asyncio.sleep(self._backoff)
            self._place_due.clear()
            try:
                self._map = await read_slot_map(self.redis_url, self._known_nodes())
                self.refreshes += 1
            except ConnectionError as exc:
                if self.say_now():
                    log.warning("realtime: no slot map; retrying", extra={"error": str(exc)})
                self._map = None
            waiting, self._unplaced = self._unplaced, {}
            for name, recover in waiting.items():
                if name == self._nodes or name[len(self._prefix):] in self._subs:  # not swept meanwhile
                    self._place(name, recover)
            if self._unplaced or self._map is None:
                self._place_due.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
            else:
                delay = 0.05

    def _known_nodes(self) -> list[tuple[str, int]]:
        known = list(self._map.masters()) if self._map is not None else []
        return known + [n for n in self._seeds if n not in known]

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(hub_module.IDLE_UNSUBSCRIBE_AFTER)
            idle = [c for c, members in self._subs.items() if not members and c not in self._waiting]
            for channel in idle:
                del self._subs[channel]
                name = self._prefix + channel
                self._unplaced.pop(name, None)
                shard = self._home.pop(name, None)
                if shard is not None:
                    shard.remove(name)
            for address, shard in list(self._shards.items()):
                if not shard.channels:  # no channel of ours on that master any more: no connection to it either
                    del self._shards[address]
                    shard.task.cancel()
                    if shard.conn is not None:
                        shard.conn.close()

    # --- called by the shards -------------------------------------------------------------------------

    def say_now(self) -> bool:
        """Whether to log a failure now: the first after a success, then once every 30 s while it lasts."""
        now = time.monotonic()
        if now >= self._quiet_until:
            self._quiet_until = now + 30.0
            return True
        return False

    def dispatch(self, name: str, data: bytes | str) -> None:
        self._dispatch(name, data)

    def confirmed(self, name: str) -> None:
        if name == self._nodes:
            self.connected.set()
        waiter = self._waiting.get(name[len(self._prefix):])
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def restored(self, names: list[str]) -> None:
        """These channels are subscribed again after a loss: their sockets re-read what they may have missed."""
        self.reconnects += 1
        self._backoff = 0.0
        self._quiet_until = 0.0  # the next outage is news again
        log.warning("realtime: shard subscriptions restored; re-reading gaps", extra={"channels": len(names)})
        if self._nodes in names and self._on_recovered is not None:
            self._on_recovered()
        by_subscriber: dict[Subscriber, set[str]] = {}
        for name in names:
            channel = name[len(self._prefix):]
            for member in self._subs.get(channel, ()):
                by_subscriber.setdefault(member, set()).add(channel)
        for member, channels in by_subscriber.items():
            member.on_redis_recovered(channels)

    def lost(self, shard: _Shard) -> None:
        """A shard's connection ended: re-place its channels (after a fresh slot map) and re-read their gaps."""
        if self._shards.get(shard.address) is shard:
            del self._shards[shard.address]
        for name in shard.channels:
            if self._home.get(name) is shard:
                del self._home[name]
                self._unplaced[name] = True
            if name == self._nodes:
                self.connected.clear()
        self._map = None  # stale: read it again before placing anything
        self._backoff = min(max(self._backoff * 2, 0.05), 1.0)
        self._place_due.set()


def make_hub(settings: Settings, *, on_node_event: Callable[[dict[str, Any]], None],
             on_recovered: Callable[[], None]) -> Hub:
    """The hub this process's Redis calls for: sharded on a Redis Cluster, else the one-connection hub."""
    nodes = cluster_nodes(settings)
    if nodes:
        return ShardedHub(settings.redis_url, nodes, settings.namespace, on_node_event=on_node_event,
                          on_recovered=on_recovered)
    return Hub(settings.redis_url, settings.namespace, on_node_event=on_node_event, on_recovered=on_recovered)
