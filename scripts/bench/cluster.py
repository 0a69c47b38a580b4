"""Redis Cluster benchmark: what each API node's hub receives with sharded pub/sub on a 3-master cluster against
one Redis, for 2 and 4 nodes, and a master killed mid-stream.

    .venv/bin/python scripts/bench/cluster.py [--classes 120] [--events 6000] [--failovers 3]

Starts its own Redis Cluster (3 masters + 3 replicas, redis-server processes on private ports, `redis-cli
--cluster create`) and its own single redis-server. No PostgreSQL, no API process: the hubs of N nodes
(edutrack/realtime/hub.py, shards.py) run in this process, as an API node runs them.

1. Fan-out, on one Redis (PUBLISH), on the cluster with classic PUBLISH, and on the cluster sharded (SPUBLISH).
   `classes` class channels; each node's sockets hold some of them: "by class" (a class's members all on
   one node, class c on node c mod N: what a balancer routing by class gives) or "spread" (members on every node,
   as a balancer by least connections gives once a class has more members than there are nodes). `events`
   events are published round robin over the classes (SPUBLISH on the cluster, PUBLISH on one Redis); counted:
   the events each node's hub received (its Redis connections, whatever its sockets), each Redis master's
   share of the SPUBLISHes (INFO commandstats), and the copies of each event that crossed the cluster bus
   (CLUSTER INFO: publish and publishshard messages received by every node).
2. Failover. One node, one channel whose master is then SIGKILLed while a writer appends to a log (in place of
   PostgreSQL's chat table: append, then SPUBLISH, "acked" once appended) every 5 ms; the subscriber takes live
   events and, on the hub's "recovered" call, re-reads the log after its last id, as a socket does. Measured:
   time from the kill until the hub's subscription is restored, acked entries never delivered (lost), entries
   delivered twice.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from redis.asyncio import Redis  # noqa: E402
from redis.asyncio.cluster import ClusterNode, RedisCluster  # noqa: E402

from edutrack.events import redis_channel  # noqa: E402
from edutrack.realtime.hub import Hub  # noqa: E402
from edutrack.realtime.shards import ShardedHub  # noqa: E402
from tests.support.services import PrivateRedisCluster, private_redis, private_redis_cluster  # noqa: E402


class Counter:
    def __init__(self) -> None:
        self.events = 0
        self.ids: list[int] = []
        self.recovered = asyncio.Event()

    def on_event(self, channel: str, event: dict[str, Any], text: str) -> None:
        self.events += 1
        self.ids.append(int(event["id"]))

    def on_redis_recovered(self, channels: set[str]) -> None:
        self.recovered.set()


MODES = {"single": "one Redis (PUBLISH)", "cluster-publish": "cluster, classic PUBLISH",
         "cluster-spublish": "cluster, sharded (SPUBLISH)"}


async def fanout(mode: str, url: str, nodes: list[tuple[str, int]], publisher: Any, n_nodes: int,
                 placement: str, classes: int, events: int, cluster: PrivateRedisCluster | None) -> dict[str, Any]:
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    sharded = mode == "cluster-spublish"
    # Classic pub/sub on a cluster: a hub may subscribe on any node, since every PUBLISH reaches every node.
    hubs = [ShardedHub(url, nodes, namespace) if sharded else Hub(url, namespace) for _ in range(n_nodes)]
    counters = [Counter() for _ in hubs]
    for hub in hubs:
        await hub.start()
    for c in range(classes):
        holders = [c % n_nodes] if placement == "by class" else range(n_nodes)
        for i in holders:
            await hubs[i].attach(f"class:{c}", counters[i])
    before = _pubsub_stats(cluster) if cluster is not None else {}
    bus_before = _bus_received(cluster) if cluster is not None else 0
    started = time.monotonic()
    for start in range(0, events, 200):
        batch = [(redis_channel(namespace, f"class:{e % classes}"), json.dumps({"type": "chat.message", "id": e}))
                 for e in range(start, min(start + 200, events))]
        if mode == "cluster-publish":  # redis-py refuses PUBLISH in a cluster pipeline: one by one, concurrently
            await asyncio.gather(*(publisher.publish(target, text) for target, text in batch))
            continue
        async with publisher.pipeline(transaction=False) as pipe:
            for target, text in batch:
                (pipe.spublish if sharded else pipe.publish)(target, text)
            await pipe.execute()
    expected = [sum(1 for e in range(events) if (e % classes) % n_nodes == i) if placement == "by class"
                else events for i in range(n_nodes)]
    deadline = time.monotonic() + 30
    while any(c.events < x for c, x in zip(counters, expected, strict=True)) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - started
    after = _pubsub_stats(cluster) if cluster is not None else {}
    bus = (_bus_received(cluster) - bus_before) if cluster is not None else 0
    for hub in hubs:
        await hub.stop()
    result: dict[str, Any] = {
        "redis": MODES[mode],
        "nodes": n_nodes, "placement": placement,
        "received_fraction": [round(c.events / events, 3) for c in counters],
        "missing": sum(max(0, x - c.events) for c, x in zip(counters, expected, strict=True)),
        "seconds": round(elapsed, 2),
    }
    if sharded:
        result["publishes_per_master"] = [after[p][0] - before.get(p, (0, 0))[0] for p in sorted(after)]
    if cluster is not None:
        # Copies of each event that crossed the cluster bus to another node (replicas, other masters).
        result["bus_copies_per_event"] = round(bus / events, 2)
    return result


def _bus_received(cluster: PrivateRedisCluster) -> int:
    total = 0
    for port in cluster.alive():
        for line in cluster.cli(port, "CLUSTER", "INFO").splitlines():
            if line.startswith(("cluster_stats_messages_publish_received:",
                                "cluster_stats_messages_publishshard_received:")):
                total += int(line.split(":")[1])
    return total


def _pubsub_stats(cluster: PrivateRedisCluster) -> dict[int, tuple[int, int]]:
    stats = {}
    for port in cluster.master_ports():
        text = cluster.cli(port, "INFO", "commandstats")
        calls = 0
        for line in text.splitlines():
            if line.startswith("cmdstat_spublish:"):
                calls = int(line.split("calls=")[1].split(",")[0])
        stats[port] = (calls, 0)
    return stats


async def failover(cluster: PrivateRedisCluster) -> dict[str, Any]:
    nodes = [("127.0.0.1", p) for p in cluster.ports]
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    url = "redis://127.0.0.1:6379/0"
    client = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in nodes], socket_connect_timeout=0.5,
                          socket_timeout=1.0)
    log: list[int] = []  # the "database": appended before the publish; an appended id is acked
    hub = ShardedHub(url, nodes, namespace)
    await hub.start()
    delivered: list[int] = []

    class Reader(Counter):
        """As a socket's ChannelDelivery: past its cursor only; a jump past cursor + 1 reads the gap first."""

        def on_event(self, channel: str, event: dict[str, Any], text: str) -> None:
            last = delivered[-1] if delivered else 0
            if event["id"] <= last:
                dropped.append(int(event["id"]))  # already had it (a live event after a gap read): not shown
                return
            delivered.extend(i for i in log if last < i < event["id"])
            delivered.append(int(event["id"]))

        def on_redis_recovered(self, channels: set[str]) -> None:
            last = delivered[-1] if delivered else 0
            delivered.extend(i for i in list(log) if i > last)  # resume from the "database"
            self.recovered.set()

    dropped: list[int] = []
    reader = Reader()
    await hub.attach("class:1", reader)
    channel = redis_channel(namespace, "class:1")
    stop = asyncio.Event()

    async def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            log.append(i)
            with contextlib.suppress(Exception):  # a failed publish: the resume fills it in
                await asyncio.wait_for(client.spublish(channel, json.dumps({"id": i})), 2.0)
            await asyncio.sleep(0.005)

    task = asyncio.create_task(writer())
    await asyncio.sleep(1.0)
    victim = cluster.master_of(channel)
    reconnects = hub.reconnects
    killed = time.monotonic()
    await asyncio.to_thread(cluster.kill, victim)
    while hub.reconnects == reconnects and time.monotonic() - killed < 60:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    recovery = time.monotonic() - killed
    await asyncio.sleep(1.5)
    stop.set()
    await task
    # One more message, published for sure: as the next chat message does for a socket, it brings whatever
    # was acked but not published (a publish that failed while the writer's client still had the old map).
    log.append(log[-1] + 1)
    for _ in range(50):
        try:
            await client.spublish(channel, json.dumps({"id": log[-1]}))
            break
        except Exception:
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    await hub.stop()
    await client.aclose()
    lost = len(set(log) - set(delivered))
    await asyncio.to_thread(cluster.start_node, victim)  # back, as a replica of the promoted one
    await asyncio.to_thread(cluster.wait_ok)
    await asyncio.to_thread(cluster.wait_replicated)
    return {"recovery_seconds": round(recovery, 2), "acked": len(log), "lost": lost,
            "duplicates": len(delivered) - len(set(delivered)), "dropped_by_cursor": len(dropped)}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--classes", type=int, default=120)
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--failovers", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, Any] = {"fanout": [], "failover": []}
    with private_redis_cluster() as cluster, private_redis() as single:
        nodes = [("127.0.0.1", p) for p in cluster.ports]
        on_cluster = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in nodes])
        on_single = Redis.from_url(single.url)
        for n_nodes in (2, 4):
            for placement in ("by class", "spread"):
                for mode in MODES:
                    on = mode != "single"
                    row = await fanout(mode, f"redis://127.0.0.1:{cluster.ports[0]}/0" if on else single.url,
                                       nodes, on_cluster if on else on_single, n_nodes, placement, args.classes,
                                       args.events, cluster if on else None)
                    print(json.dumps(row, ensure_ascii=False), flush=True)
                    results["fanout"].append(row)
        await on_cluster.aclose()
        await on_single.aclose()
        for _ in range(args.failovers):
            row = await failover(cluster)
            print(json.dumps(row), flush=True)
            results["failover"].append(row)
    times = [r["recovery_seconds"] for r in results["failover"]]
    if times:
        print(json.dumps({"recovery_median": statistics.median(times), "recovery_max": max(times),
                          "lost": sum(r["lost"] for r in results["failover"]),
                          "duplicates": sum(r["duplicates"] for r in results["failover"])}))


if __name__ == "__main__":
    asyncio.run(main())
