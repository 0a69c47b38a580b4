"""EduTrack on a real Redis Cluster (3 masters, 3 replicas, started here): sharded pub/sub across API nodes, a
node subscribing only on the shards of its sockets' channels, a master killed mid-chat, the cache's cross-bucket
entries, and a part of the suites' key paths (cache, rate limits, presence, token cut-offs) on the cluster."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edutrack import cache
from edutrack.realtime import hub as hub_module
from edutrack.realtime.shards import ShardedHub
from edutrack.redis_cluster import is_cluster
from edutrack.resources import open_context
from edutrack.settings import Settings
from tests.realtime.helpers import (
    chat_send,
    collect_messages,
    connect,
    eventually,
    gateway_of,
    make_class_world,
    recv,
    recv_until,
    stored_messages,
    subscribe,
)
from tests.support.environment import REDIS_CLUSTER_ENV
from tests.support.services import PrivateRedisCluster, free_port, private_redis_cluster

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateRedisCluster]:
    with private_redis_cluster() as started:
        yield started


def hub_of(node: Any) -> ShardedHub:
    hub = gateway_of(node).hub
    assert isinstance(hub, ShardedHub)
    return hub


def hub_connections(cluster: PrivateRedisCluster, port: int, namespace: str) -> int:
    clients = cluster.cli(port, "CLIENT", "LIST").splitlines()
    return sum(1 for line in clients if f"name=edutrack-hub:{namespace} " in line + " ")


async def test_two_api_nodes_on_the_cluster_deliver_a_class_chat_in_order(make_client, settings, ctx, factory,
                                                                          cluster):
    world = await make_class_world(ctx, factory)
    node_a = await make_client(redis_cluster_nodes=cluster.nodes)
    node_b = await make_client(redis_cluster_nodes=cluster.nodes)
    teacher = await connect(node_a, world.teacher)
    student = await connect(node_a, world.students[0])
    reader = await connect(node_b, world.parent)
    assert (await subscribe(reader, world.channel, since=0))["live"] is True
    sent = []
    for i in range(15):
        sent.append((await chat_send(teacher, world.channel, f"t{i}"))["id"])
        sent.append((await chat_send(student, world.channel, f"s{i}"))["id"])
    got = await collect_messages(reader, world.channel, 30)
    assert [m["id"] for m in got] == sorted(sent)
    assert [m["text"] for m in got] == [text for i in range(15) for text in (f"t{i}", f"s{i}")]
    for ws in (teacher, student, reader):
        await ws.close()


async def test_a_node_subscribes_only_on_the_shards_of_the_channels_it_holds(make_client, settings, ctx, factory,
                                                                             cluster):
    node_a = await make_client(redis_cluster_nodes=cluster.nodes)
    node_b = await make_client(redis_cluster_nodes=cluster.nodes)
    nodes_master = cluster.master_of(f"{settings.namespace}:ev:_nodes")
    # Two class chats on two masters, neither of them the master of `_nodes`.
    worlds: dict[int, Any] = {}
    for _ in range(30):
        world = await make_class_world(ctx, factory)
        master = cluster.master_of(f"{settings.namespace}:ev:{world.channel}")
        if master != nodes_master and master not in worlds:
            worlds[master] = world
        if len(worlds) == 2:
            break
    (master_x, x), (master_y, y) = worlds.items()
    reader_a = await connect(node_a, x.students[0])
    reader_b = await connect(node_b, y.students[0])
    await subscribe(reader_a, x.channel)
    await subscribe(reader_b, y.channel)

    channel_x, channel_y = f"{settings.namespace}:ev:{x.channel}", f"{settings.namespace}:ev:{y.channel}"
    assert channel_x in cluster.cli(master_x, "PUBSUB", "SHARDCHANNELS", f"{settings.namespace}:*").split()
    assert channel_y in cluster.cli(master_y, "PUBSUB", "SHARDCHANNELS", f"{settings.namespace}:*").split()
    assert channel_x not in cluster.cli(master_y, "PUBSUB", "SHARDCHANNELS", f"{settings.namespace}:*").split()
    assert hub_of(node_a).shard_addresses() == {f"{settings.namespace}:ev:_nodes": ("127.0.0.1", nodes_master),
                                                channel_x: ("127.0.0.1", master_x)}
    # Each node holds a connection on `_nodes`' master and on the masters of its sockets' channels, no other:
    # Y's events never reach node A.
    assert hub_connections(cluster, nodes_master, settings.namespace) == 2
    assert hub_connections(cluster, master_x, settings.namespace) == 1
    assert hub_connections(cluster, master_y, settings.namespace) == 1

    delivered_a = hub_of(node_a).delivered
    writer = await connect(node_b, y.teacher)
    for i in range(5):
        await chat_send(writer, y.channel, f"y{i}")
    assert len(await collect_messages(reader_b, y.channel, 5)) == 5
    assert hub_of(node_a).delivered == delivered_a
    for ws in (reader_a, reader_b, writer):
        await ws.close()


async def test_a_channel_no_socket_holds_any_more_leaves_its_shard(make_client, settings, ctx, factory, cluster,
                                                                   monkeypatch):
    monkeypatch.setattr(hub_module, "IDLE_UNSUBSCRIBE_AFTER", 0.2)  # production: 30 s
    node = await make_client(redis_cluster_nodes=cluster.nodes)
    nodes_master = cluster.master_of(f"{settings.namespace}:ev:_nodes")
    for _ in range(30):
        world = await make_class_world(ctx, factory)
        name = f"{settings.namespace}:ev:{world.channel}"
        if (master := cluster.master_of(name)) != nodes_master:
            break
    reader = await connect(node, world.students[0])
    await subscribe(reader, world.channel)
    assert hub_connections(cluster, master, settings.namespace) == 1
    await reader.close()
    # Swept: SUNSUBSCRIBE, and the connection to that master closed, since no channel of the node lives there.
    await eventually(lambda: hub_connections(cluster, master, settings.namespace) == 0, timeout=10)
    assert name not in cluster.cli(master, "PUBSUB", "SHARDCHANNELS", f"{settings.namespace}:*").split()
    assert hub_connections(cluster, nodes_master, settings.namespace) == 1
    assert hub_of(node).shard_addresses() == {f"{settings.namespace}:ev:_nodes": ("127.0.0.1", nodes_master)}


async def test_a_slot_migrated_mid_chat_moves_the_subscription_and_loses_nothing(make_client, settings, ctx,
                                                                                factory, cluster):
    world = await make_class_world(ctx, factory)
    node_a = await make_client(redis_cluster_nodes=cluster.nodes)
    node_b = await make_client(redis_cluster_nodes=cluster.nodes)
    teacher = await connect(node_a, world.teacher)
    reader = await connect(node_b, world.students[0])
    await subscribe(reader, world.channel, since=0)
    for i in range(3):
        await chat_send(teacher, world.channel, f"before{i}")
    first = await collect_messages(reader, world.channel, 3)
    name = f"{settings.namespace}:ev:{world.channel}"
    source = cluster.master_of(name)
    target = next(port for port in cluster.master_ports() if port != source)
    hub_b = hub_of(node_b)
    reconnects = hub_b.reconnects
    await asyncio.to_thread(cluster.move_slot, name, target)
    # The old master drops the channel's subscribers (SUNSUBSCRIBE); the hub follows the slot to its new master.
    await eventually(lambda: hub_b.shard_addresses().get(name) == ("127.0.0.1", target), timeout=10)
    assert hub_b.reconnects > reconnects
    for i in range(3):
        await chat_send(teacher, world.channel, f"after{i}")
    rest = await collect_messages(reader, world.channel, 3)
    assert [m["text"] for m in first + rest] == [f"before{i}" for i in range(3)] + [f"after{i}" for i in range(3)]
    assert [m["id"] for m in first + rest] == list(range(1, 7))
    assert name in cluster.cli(target, "PUBSUB", "SHARDCHANNELS", f"{settings.namespace}:*").split()
    assert name not in cluster.cli(source, "PUBSUB", "SHARDCHANNELS", f"{settings.namespace}:*").split()
    await teacher.close()
    await reader.close()


async def test_killing_a_master_mid_chat_loses_no_acked_message(make_client, settings, ctx, factory):
    world = await make_class_world(ctx, factory)
    with private_redis_cluster() as own:
        node_a = await make_client(redis_cluster_nodes=own.nodes)
        node_b = await make_client(redis_cluster_nodes=own.nodes)
        teacher = await connect(node_a, world.teacher)
        reader = await connect(node_b, world.students[0])
        await subscribe(reader, world.channel, since=0)
        acked: list[int] = []
        for i in range(5):
            acked.append((await chat_send(teacher, world.channel, f"before{i}"))["id"])
        first = await collect_messages(reader, world.channel, 5)
        hub_b = hub_of(node_b)
        reconnects = hub_b.reconnects
        victim = own.master_of(f"{settings.namespace}:ev:{world.channel}")
        await asyncio.to_thread(own.kill, victim)
        started = time.monotonic()
        for i in range(5):  # while the failover is under way: stored and acked; their live publish may fail
            acked.append((await chat_send(teacher, world.channel, f"during{i}"))["id"])
        # The sends above take milliseconds (their publishes wait on the dead master at most
        # live_shards.GROUP_TIMEOUT): the cluster may not even have noticed the kill yet.
        await asyncio.to_thread(_promoted_at, own, f"{settings.namespace}:ev:{world.channel}", victim)
        await asyncio.to_thread(own.wait_ok)
        await eventually(lambda: hub_b.reconnects > reconnects, timeout=20)
        for i in range(5):
            acked.append((await chat_send(teacher, world.channel, f"after{i}"))["id"])
        rest = await collect_messages(reader, world.channel, 10, timeout=20)
        got = first + rest
        assert [m["id"] for m in got] == acked
        assert [m["text"] for m in got] == ([f"before{i}" for i in range(5)] + [f"during{i}" for i in range(5)]
                                            + [f"after{i}" for i in range(5)])
        assert time.monotonic() - started < 30
        await reader.send_str('{"type": "ping", "req": "p"}')
        _, extra = await recv_until(reader, lambda f: f["type"] == "pong")
        assert not [f for f in extra if f["type"] == "chat.message"], "duplicates after the failover"
        assert await stored_messages(ctx, world.channel) == 15
        await teacher.close()
        await reader.close()
        await node_a.close()
        await node_b.close()


class _Chat:
    """One class chat of the test below: its sender's socket (node A), its reader's (node B), what was sent when and
    acknowledged with which id, and what the reader received when."""

    def __init__(self, world: Any, sender: Any, reader: Any) -> None:
        self.channel = world.channel
        self.sender, self.reader = sender, reader
        self.sent_at: dict[str, float] = {}  # text -> when its frame was written
        self.acked: dict[str, int] = {}  # req -> message id
        self.got: list[tuple[dict[str, Any], float]] = []

    async def send(self, text: str) -> None:
        self.sent_at[text] = time.monotonic()
        await self.sender.send_json({"type": "chat.send", "channel": self.channel, "text": text, "req": text})

    async def read(self) -> None:  # tasks, both sockets: acks on one, messages on the other
        async def acks() -> None:
            while True:
                frame = await recv(self.sender, 60)
                if frame["type"] == "ack":
                    self.acked[frame["req"]] = frame["id"]

        async def messages() -> None:
            while True:
                frame = await recv(self.reader, 60)
                if frame["type"] == "chat.message" and frame["channel"] == self.channel:
                    self.got.append((frame, time.monotonic()))
        await asyncio.gather(acks(), messages())

    def latencies(self, prefix: str) -> list[float]:
        return [at - self.sent_at[m["text"]] for m, at in self.got if m["text"].startswith(prefix)]


async def test_a_killed_master_does_not_delay_the_chats_on_the_other_masters(make_client, settings, ctx, factory):
    """Node A's group commit stores the three chats' sends together, so each committed batch has events for the
    killed master's channel and for the others': those go out at once, per master, and only the killed master's
    wait (held, then published again when its replica has taken over)."""
    with private_redis_cluster() as own:
        node_a = await make_client(redis_cluster_nodes=own.nodes)
        node_b = await make_client(redis_cluster_nodes=own.nodes)
        worlds: dict[int, Any] = {}  # one class chat on each master
        for _ in range(40):
            world = await make_class_world(ctx, factory)
            worlds.setdefault(own.master_of(f"{settings.namespace}:ev:{world.channel}"), world)
            if len(worlds) == 3:
                break
        chats = [_Chat(w, await connect(node_a, w.teacher), await connect(node_b, w.students[0]))
                 for w in worlds.values()]
        for chat in chats:
            await subscribe(chat.reader, chat.channel, since=0)
        readers = [asyncio.create_task(chat.read()) for chat in chats]
        victim, killed = next(iter(worlds)), chats[0]
        for i in range(3):
            await asyncio.gather(*(chat.send(f"before{i}") for chat in chats))
        await eventually(lambda: all(len(chat.got) == 3 for chat in chats), timeout=10)

        await asyncio.to_thread(own.kill, victim)
        promoted = asyncio.create_task(asyncio.to_thread(_promoted_at, own, f"{settings.namespace}:ev:{killed.channel}",
                                                         victim))
        for i in range(14):  # 3.5 s: the replica takes over after about 2 s (cluster-node-timeout 1000)
            await asyncio.gather(*(chat.send(f"during{i}") for chat in chats))
            await asyncio.sleep(0.25)
        taken_over = await promoted
        for i in range(3):
            await asyncio.gather(*(chat.send(f"after{i}") for chat in chats))
        await eventually(lambda: all(len(chat.acked) == 20 and len(chat.got) >= 20 for chat in chats), timeout=30)
        await asyncio.sleep(0.5)  # anything delivered twice would come now
        for task in readers:
            task.cancel()

        for chat in chats:
            assert [m["id"] for m, _ in chat.got] == sorted(chat.acked.values()), chat.channel
            assert [m["text"] for m, _ in chat.got] == ([f"before{i}" for i in range(3)] + [f"during{i}" for i in
                                                        range(14)] + [f"after{i}" for i in range(3)])
        # The other masters' chats went on while the killed one's slot had no master (some of their sends were
        # made then), each message delivered within a second; before, each waited for the failover with it.
        for chat in chats[1:]:
            assert sum(1 for text, sent in chat.sent_at.items() if text.startswith("during") and sent < taken_over) >= 4
            assert max(chat.latencies("during")) < 1.0, chat.latencies("during")
        for chat in chats:
            await chat.sender.close()
            await chat.reader.close()
        await node_a.close()
        await node_b.close()


def _promoted_at(cluster: PrivateRedisCluster, name: str, victim: int) -> float:
    """When another master serves the slot of the killed master's channel."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(RuntimeError):  # no master serves the slot yet
            if cluster.master_of(name) != victim:
                return time.monotonic()
        time.sleep(0.05)
    raise AssertionError("the killed master's replica did not take over")


async def test_an_unreachable_cluster_degrades_like_one_redis_down(make_client, ctx, factory):
    """redis-py's cluster client raises RedisClusterException, not a RedisError, when no node answers: EduTrack's
    client turns it into one, so every Redis path falls back as with one Redis that is down."""
    world = await make_class_world(ctx, factory)
    node = await make_client(redis_cluster_nodes=f"127.0.0.1:{free_port()}")
    ready = await node.get("/health/ready")
    assert ready.status == 200
    assert (await ready.json())["status"] == "degraded"
    resp = await node.post(f"/api/v1/chats/{world.channel}/messages", json={"text": "без Redis"},
                           headers=world.teacher.headers)
    assert resp.status == 201, await resp.text()
    resp = await node.get(f"/api/v1/chats/{world.channel}/messages", headers=world.students[0].headers)
    assert [m["text"] for m in (await resp.json())["items"]] == ["без Redis"]
    login = await node.post("/api/v1/auth/login", json={"email": world.parent.user.email, "password": "wrong"})
    assert login.status == 401


async def test_an_entry_depending_on_buckets_in_other_slots_goes_with_any_of_them(settings: Settings,
                                                                                    cluster):
    on_cluster = settings.replace(redis_cluster_nodes=cluster.nodes)
    async with open_context(on_cluster, role="cluster-test", connect_amqp=False) as ctx:
        assert is_cluster(ctx.redis)
        buckets = (cache.student_marks_bucket(7), cache.school_ref_bucket(1), cache.class_marks_bucket(3))
        slots = {cluster.cli(cluster.alive()[0], "CLUSTER", "KEYSLOT", cache.bucket_key(ctx, b)).strip()
                 for b in buckets}
        assert len(slots) == 3
        miss = await cache.lookup(ctx, buckets, "entry")
        assert miss.value is None
        await cache.store(ctx, buckets, "entry", miss, b"body")
        assert (await cache.lookup(ctx, buckets, "entry")).value == b"body"
        await cache.invalidate(ctx, buckets[2])
        after = await cache.lookup(ctx, buckets, "entry")
        assert after.value is None
        # A value read before that invalidation and stored after it is dropped, not served.
        await cache.store(ctx, buckets, "entry", miss, b"stale")
        assert (await cache.lookup(ctx, buckets, "entry")).value is None
        await cache.store(ctx, buckets, "entry", after, b"fresh")
        assert (await cache.lookup(ctx, buckets, "entry")).value == b"fresh"
        await cache.invalidate(ctx, buckets[0], buckets[1])
        assert (await cache.lookup(ctx, buckets, "entry")).value is None


@pytest.mark.timeout(900)
def test_key_paths_of_the_suites_pass_on_a_redis_cluster() -> None:
    """Cache (grades, term sheets), rate limits and the login throttle, presence, token cut-offs and chat across
    nodes, with every app of those tests on a Redis Cluster. Any test on it: `pytest --redis-cluster`."""
    chosen = ["tests/foundation/test_auth.py", "tests/diary_grades/test_grades.py",
              "tests/diary_grades/test_attestations.py", "tests/realtime/test_chat_api.py",
              "tests/realtime/test_delivery.py", "tests/realtime/test_session_end.py",
              *(f"tests/realtime/test_access_revocation.py::{name}" for name in (
                  "test_deactivation_cuts_every_token_and_socket_on_every_node",
                  "test_password_change_signs_other_devices_out_at_once",
                  "test_logout_everywhere_closes_sockets_for_a_new_login"))]
    # It listens with a plain SUBSCRIBE, which sees nothing of SPUBLISH: the same event reaches sockets in
    # test_delivery.py.
    plain = "tests/diary_grades/test_grades.py::test_grade_event_is_published_after_commit"
    env = {**os.environ, REDIS_CLUSTER_ENV: "1"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *chosen,
                             "--deselect", plain],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    tail = "\n".join(result.stdout.splitlines()[-30:])
    assert result.returncode == 0, tail
    served = re.search(r"redis cluster \(3 masters\): (\d+) commands served", result.stdout)
    assert served is not None, tail
    assert int(served.group(1)) > 1000, tail
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed is not None, tail
    assert int(passed.group(1)) > 50, tail
