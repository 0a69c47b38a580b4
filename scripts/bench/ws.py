"""Realtime benchmark: two `edutrack api` nodes, a bare aiohttp broadcast baseline, and a load generator in
separate processes with its own connections.

    .venv/bin/python scripts/bench/ws.py [--clients 5000] [--room 30] [--workers 2] [--rates 100,250,500,...]

Scenarios (results printed as JSON and as a Markdown table for docs/benchmarks.md):
  1. connections: every client connects to node A (subprotocol token), subscribes its class chat;
     memory per connection = RSS delta of node A / clients;
  2. fan-out: clients re-connect split across both nodes; rooms of `room` members; for each rate, `duration`
     seconds of chat.send spread over the rooms' members; latency = receive time - send time stamped in the text,
     measured on every member (deliveries); the highest rate whose p99 stays <= 250 ms with nothing missing;
  3. the same steps through a bare aiohttp broadcast (no auth, no database, no Redis), same clients and rooms;
  4. reconnect storm: every client drops; `storm_messages` messages per room are sent over REST while they are
     away; all reconnect at once with their cursors; time until every client holds exactly its missed messages.

`--reconnect-waves N` runs only this instead (one node): N waves in which every client connects (subscribed,
authenticated), then all close cleanly; node A's RSS is read before the first wave and 3 s after each wave. A node
that frees a closed socket at close stays flat after the first waves; one that leaves them to the garbage
collector grows with every wave.

`--nodes 2,4 [--redis single|cluster|both] [--placement by-class|spread] [--failover]` runs instead, for each node
count and each Redis set-up in the same run (interleaved): N `edutrack api` processes on a private redis-server or
on a private Redis Cluster (3 masters + 3 replicas, tests/support/services.py, as scripts/bench/cluster.py starts
it); clients connect to the node of their class ("by-class": a class's members on one node, class c on node
c mod N) or spread over the nodes; the fan-out steps as in 2., with each node's share of the published events
(each node counts the events its hub reads from Redis, NODE_WRAPPER; the denominator is a hub of this script
subscribed to every class channel), and the redis-server processes' CPU per delivery. `--failover` (cluster only):
clients keep sending acknowledged messages (client_msg_id) at `--failover-rate` while the master of the first
class's channel is SIGKILLed; measured: when its replica serves the slot, how long each channel's members waited
for their next delivery, the latency of messages sent after the kill, acknowledged messages some member never got
(after the server's gap re-read, and a `resync` read over REST as the protocol says), duplicates and order.

Needs PostgreSQL, Redis and RabbitMQ on localhost (as for the tests). Creates and drops its own database.
"""

from __future__ import annotations

import sys
from pathlib import Path

# scripts/bench/ holds email.py, which would shadow the standard library's `email` (aiohttp imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing as mp  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Awaitable, Callable, Iterable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from multiprocessing.connection import Connection as Pipe  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from aiohttp import web  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts.bench.common import cpu_seconds  # noqa: E402  (ws.cpu_seconds for the scripts that import ws)

PG = "postgresql://postgres@127.0.0.1:5432"
SECRET = "bench-secret-" + "y" * 40
WARMUP = 1.0  # seconds at the start of each fan-out step that are sent but not measured


# --- the bare broadcast baseline --------------------------------------------------------------------------


def run_bare_server(port: int) -> None:
    rooms: dict[str, set[web.WebSocketResponse]] = {}

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        room: str | None = None
        try:
            async for msg in ws:
                data = json.loads(msg.data)
                if data["type"] == "join":
                    room = data["room"]
                    rooms.setdefault(room, set()).add(ws)
                    await ws.send_str(json.dumps({"type": "subscribed", "channel": room}))
                elif data["type"] == "chat.send" and room is not None:
                    frame = json.dumps({"type": "chat.message", "channel": room, "text": data["text"]})
                    for peer in list(rooms[room]):
                        await peer.send_str(frame)
        finally:
            if room is not None:
                rooms[room].discard(ws)
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- load generator worker (a separate process) ------------------------------------------------------------


@dataclass
class Client:
    user_id: int
    token: str
    channel: str
    index: int  # position inside its room
    room: int = 0  # which room (class) of the benchmark, 0..rooms-1
    ws: aiohttp.ClientWebSocketResponse | None = None
    url: str = ""  # the node it is connected to
    cursor: int = 0
    ids: list[int] = field(default_factory=list)
    # While a failover is measured: (id, received at, sent at) of every chat.message, in arrival order.
    log: list[tuple[int, float, float]] = field(default_factory=list)
    closed_code: int | None = None
    sent: int = 0


def node_for(client: Client, position: int, n_urls: int, assign: str) -> int:
    """Which node a client connects to: "by-class" puts a class's members on one node (class c on node c mod N),
    "spread" spreads every class over the nodes (as least-connections balancing does), "round" alternates."""
    if assign == "by-class":
        return client.room % n_urls
    if assign == "spread":
        return (client.room + client.index) % n_urls
    return position % n_urls


class Worker:
    def __init__(self, clients: list[Client]) -> None:
        self.clients = clients
        self.session: aiohttp.ClientSession | None = None
        self.latencies: list[float] = []
        self.measure = False
        self.measure_from = 0.0
        self.measure_until = 0.0
        self.in_window = 0
        self.readers: list[asyncio.Task[None]] = []
        self.received = 0
        self.track = False  # log every chat.message per client (the failover step)
        self.acks: list[tuple[str, int, float, float]] = []  # (channel, id, sent at, acked at) of each send
        self.unacked: dict[str, str] = {}  # client_msg_id -> channel, sent and not yet acknowledged
        self.refused = 0
        self.resyncs = 0
        self.side_tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=0)
        self.session = aiohttp.ClientSession(connector=connector)

    async def connect_all(self, urls: list[str], bare: bool, since: bool, assign: str = "round") -> dict[str, Any]:
        assert self.session is not None
        sem = asyncio.Semaphore(100)
        started = time.perf_counter()
        failures = 0

        async def one(i: int, client: Client) -> None:
            nonlocal failures
            url = urls[node_for(client, i, len(urls), assign)]
            client.url = url
            async with sem:
                try:
                    if bare:
                        ws = await self.session.ws_connect(url, max_msg_size=0)  # type: ignore[union-attr]
                        await ws.send_str(json.dumps({"type": "join", "room": client.channel}))
                    else:
                        ws = await self.session.ws_connect(  # type: ignore[union-attr]
                            url, protocols=("edutrack.v1", f"bearer.{client.token}"), heartbeat=None)
                        ready = json.loads((await ws.receive(timeout=60)).data)
                        assert ready["type"] == "ready", ready
                        frame: dict[str, Any] = {"type": "subscribe", "channel": client.channel}
                        if since:
                            frame["since"] = client.cursor
                        await ws.send_str(json.dumps(frame))
                    while True:
                        reply = json.loads((await ws.receive(timeout=60)).data)
                        if reply["type"] == "subscribed":
                            break
                        self._on_frame(client, reply)
                    client.ws = ws
                    client.closed_code = None
                    self.readers.append(asyncio.create_task(self._read(client, ws)))
                except Exception as exc:  # counted, reported
                    failures += 1
                    print(f"connect failed: {exc!r}", file=sys.stderr)

        await asyncio.gather(*(one(i, c) for i, c in enumerate(self.clients)))
        return {"seconds": time.perf_counter() - started, "failures": failures}

    def _on_frame(self, client: Client, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "ack":
            channel = self.unacked.pop(frame.get("client_msg_id") or "", None)
            if channel is not None:
                sent_at = float(frame["client_msg_id"].split(":")[1])
                self.acks.append((channel, frame["id"], sent_at, time.time()))
            return
        if kind == "error" and frame.get("client_msg_id"):
            self.unacked.pop(frame["client_msg_id"], None)
            self.refused += 1
            return
        if kind == "resync":  # the protocol: page the range over REST, live events continue after it
            self.resyncs += 1
            self.side_tasks.append(asyncio.create_task(self._page(client, frame)))
            return
        if kind != "chat.message":
            return
        self.received += 1
        text = frame.get("text") or ""
        if "id" in frame:
            client.ids.append(frame["id"])
            client.cursor = max(client.cursor, frame["id"])
            if self.track:
                sent = float(text[2:].split(":", 1)[0]) if text.startswith("t:") else 0.0
                client.log.append((frame["id"], time.time(), sent))
        if self.measure and text.startswith("t:"):
            sent_at = float(text[2:].split(":", 1)[0])
            if sent_at >= self.measure_from:
                now = time.time()
                self.latencies.append(now - sent_at)
                self.in_window += now <= self.measure_until

    async def _page(self, client: Client, frame: dict[str, Any]) -> None:
        """Read a resync's range over REST as a client does, taking only ids it does not hold yet."""
        assert self.session is not None
        base = client.url.rsplit("/ws", 1)[0]
        after, until = frame["from"], frame.get("to")
        while True:
            async with self.session.get(f"{base}/api/v1/chats/{client.channel}/messages",
                                        params={"after": after, "limit": 100},
                                        headers={"Authorization": f"Bearer {client.token}"}) as resp:
                items = sorted((await resp.json())["items"], key=lambda m: m["id"])
            held = set(client.ids)
            for item in items:
                if item["id"] not in held and (until is None or item["id"] <= until):
                    self._on_frame(client, {**item, "type": "chat.message"})
            if len(items) < 100 or (until is not None and items[-1]["id"] >= until):
                return
            after = items[-1]["id"]

    async def _read(self, client: Client, ws: aiohttp.ClientWebSocketResponse) -> None:
        loads = json.loads
        while True:
            msg = await ws.receive()
            if msg.type == aiohttp.WSMsgType.TEXT:
                self._on_frame(client, loads(msg.data))
            else:
                client.closed_code = ws.close_code
                return

    async def drop_all(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        self.readers = []
        await asyncio.gather(*(c.ws.close() for c in self.clients if c.ws is not None), return_exceptions=True)
        for client in self.clients:
            client.ws = None

    async def fanout(self, rate: float, duration: float, rooms: int, senders_per_room: int,
                     warmup: float, acked: bool = False) -> dict[str, Any]:
        """This worker's share of `rate` messages/s, from its clients that are senders (index < senders_per_room)."""
        senders = [c for c in self.clients if c.index < senders_per_room and c.ws is not None]
        total_senders = rooms * senders_per_room
        share = rate * len(senders) / total_senders
        self.latencies = []
        self.measure = True
        self.measure_from = time.time() + warmup  # the first `warmup` seconds of a step are not measured
        # Deliveries received before sending stops: the throughput the step sustained. The late ones of a
        # saturated step (received while the step drains) count in `latencies` but not here.
        self.measure_until = time.time() + duration
        self.in_window = 0
        sent = failed = measured = 0
        started = time.perf_counter()
        tick = 0.02
        budget = 0.0
        position = 0
        while time.perf_counter() - started < duration:
            budget += share * tick
            burst = int(budget)
            budget -= burst
            for _ in range(burst):
                client = senders[position % len(senders)]
                position += 1
                assert client.ws is not None
                try:
                    now = time.time()
                    frame = {"type": "chat.send", "channel": client.channel, "text": f"t:{now}:{uuid.uuid4().hex[:6]}"}
                    if acked:  # idempotent sends whose ack is recorded (the failover step)
                        client.sent += 1
                        frame["client_msg_id"] = f"{client.user_id}-{client.sent}:{now}"
                        self.unacked[frame["client_msg_id"]] = client.channel
                    await client.ws.send_str(json.dumps(frame))
                    sent += 1
                    measured += time.perf_counter() - started >= warmup
                except Exception:  # a socket closed under load: counted via `closed`
                    failed += 1
            await asyncio.sleep(tick)
        await asyncio.sleep(3.0)  # let deliveries drain
        self.measure = False
        closed = sum(1 for c in self.clients if c.closed_code is not None)
        return {"sent": sent, "measured": measured, "failed": failed, "latencies": self.latencies,
                "in_window": self.in_window, "closed": closed}

    def acknowledged(self) -> dict[str, Any]:
        return {"acks": self.acks, "unacked": len(self.unacked), "refused": self.refused, "resyncs": self.resyncs}

    async def failover_report(self, acked: dict[str, list[int]], kill_at: float, affected: list[str],
                              timeout: float) -> dict[str, Any]:
        """Wait until every client holds every acknowledged id of its channel (or timeout); then what was lost,
        duplicated, and how long each channel's members went without a delivery after the kill."""
        deadline = time.monotonic() + timeout
        def missing(c: Client) -> int:
            return len(set(acked.get(c.channel, ())) - set(c.ids))
        while time.monotonic() < deadline and any(missing(c) for c in self.clients):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        hit = set(affected)
        silence: dict[str, float] = {}  # channel -> the longest wait of a member for its first delivery after the kill
        late: dict[bool, list[float]] = {True: [], False: []}  # latency of messages sent after the kill
        for c in self.clients:
            after = [(r, s) for _, r, s in c.log if r > kill_at]
            if after:
                silence[c.channel] = max(silence.get(c.channel, 0.0), after[0][0] - kill_at)
            late[c.channel in hit].extend(r - s for r, s in after if s >= kill_at)
        return {"missing": sum(missing(c) for c in self.clients),
                "clients_missing": sum(1 for c in self.clients if missing(c)),
                "duplicates": sum(len(c.log) - len({i for i, _, _ in c.log}) for c in self.clients),
                "ordered": all([i for i, _, _ in c.log] == sorted(i for i, _, _ in c.log) for c in self.clients),
                "silence": silence, "late_affected": late[True], "late_other": late[False],
                "resyncs": self.resyncs}

    def cursors(self) -> dict[int, int]:
        return {c.user_id: c.cursor for c in self.clients}

    def reset_ids(self) -> None:
        for client in self.clients:
            client.ids = []


def worker_main(pipe: Pipe, clients: list[Client]) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))

    async def main() -> None:
        worker = Worker(clients)
        await worker.open()
        loop = asyncio.get_running_loop()
        while True:
            command, args = await loop.run_in_executor(None, pipe.recv)
            if command == "stop":
                await worker.drop_all()
                assert worker.session is not None
                await worker.session.close()
                pipe.send(None)
                return
            if command == "connect":
                pipe.send(await worker.connect_all(**args))
            elif command == "drop":
                await worker.drop_all()
                pipe.send(None)
            elif command == "fanout":
                pipe.send(await worker.fanout(**args))
            elif command == "reset_ids":
                worker.reset_ids()
                pipe.send(None)
            elif command == "wait_ids":
                # Until every client holds `expected` new messages (or timeout); report losses and duplicates.
                started = time.perf_counter()
                deadline = started + args["timeout"]
                while time.perf_counter() < deadline:
                    if all(len(c.ids) >= args["expected"] for c in worker.clients):
                        break
                    await asyncio.sleep(0.02)
                done = time.perf_counter()
                complete = sum(1 for c in worker.clients if len(c.ids) >= args["expected"])
                duplicates = sum(len(c.ids) - len(set(c.ids)) for c in worker.clients)
                ordered = all(c.ids == sorted(c.ids) for c in worker.clients)
                pipe.send({"done_at": time.time() - (time.perf_counter() - done), "complete": complete,
                           "clients": len(worker.clients), "duplicates": duplicates, "ordered": ordered,
                           "missing": sum(max(0, args["expected"] - len(set(c.ids))) for c in worker.clients)})
            elif command == "cursors":
                pipe.send(worker.cursors())
            elif command == "track":  # start (or stop) logging every delivery per client
                worker.track = args["on"]
                for client in worker.clients:
                    client.log = []
                    client.ids = []
                worker.acks, worker.unacked, worker.refused, worker.resyncs = [], {}, 0, 0
                pipe.send(None)
            elif command == "acknowledged":
                pipe.send(worker.acknowledged())
            elif command == "failover_report":
                pipe.send(await worker.failover_report(**args))

    asyncio.run(main())


# --- orchestration -----------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def prepare_database(db: str, clients: int, room: int) -> tuple[int, list[tuple[int, str]]]:
    from edutrack.cli import migrate
    from edutrack.settings import load_settings

    url = f"{PG}/{db}".replace("postgresql://", "postgresql+asyncpg://")
    settings = load_settings({"DATABASE_URL": url, "JWT_SECRET": SECRET, "ENVIRONMENT": "test"}, env_file=None)
    await asyncio.to_thread(migrate, settings)  # migrate() runs its own event loop
    conn = await asyncpg.connect(f"{PG}/{db}")
    try:
        school = await conn.fetchval("INSERT INTO schools (name) VALUES ('Bench') RETURNING id")
        users = await conn.fetch(
            "INSERT INTO users (email, password_hash, role, school_id) SELECT 'b' || g || '@bench.test', 'x', "
            "'student', $1 FROM generate_series(1, $2) g RETURNING id", school, clients)
        ids = sorted(r["id"] for r in users)
        await conn.execute("INSERT INTO profiles (user_id, first_name, last_name) SELECT id, 'Bench', 'User' "
                           "FROM users WHERE school_id = $1", school)
        rooms = math.ceil(clients / room)
        classes = await conn.fetch("INSERT INTO classes (school_id, name, grade_level) SELECT $1, 'C' || g, 5 "
                                   "FROM generate_series(1, $2) g RETURNING id", school, rooms)
        class_ids = sorted(r["id"] for r in classes)
        pairs = [(class_ids[i // room], uid) for i, uid in enumerate(ids)]
        await conn.copy_records_to_table("class_students", records=pairs, columns=["class_id", "student_id"])
    finally:
        await conn.close()
    return school, [(class_ids[i // room], uid) for i, uid in enumerate(ids)]


# How a node counts the events its hub reads from Redis (any channel, PUBLISH or SPUBLISH) and shows the count:
# the benchmark runs `edutrack api` under this wrapper, which counts calls of Hub._dispatch (every pub/sub message
# a hub, sharded or not, reads goes through it once) and writes the count to a file 5 times a second. The node's
# code is unchanged; the count costs one Python call per event received.
NODE_WRAPPER = """
import os, sys, threading, time
from edutrack.realtime import hub
count = [0]
dispatch = hub.Hub._dispatch
def counted(self, name, data):
    count[0] += 1
    return dispatch(self, name, data)
hub.Hub._dispatch = counted
path = os.environ['BENCH_EVENTS_FILE']
def write():
    while True:
        with open(path + '.tmp', 'w') as out:
            out.write(str(count[0]))
        os.replace(path + '.tmp', path)
        time.sleep(0.2)
threading.Thread(target=write, daemon=True).start()
sys.argv = ['edutrack', *sys.argv[1:]]
from edutrack.cli import main
sys.exit(main())
"""


def stop_processes(procs: Iterable[subprocess.Popen[bytes]], timeout: float = 20) -> None:
    """SIGTERM to all at once (they shut down together), then wait for each; kill one that outlasts `timeout`."""
    procs = list(procs)
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()


async def drop_database(db: str) -> None:
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    finally:
        await conn.close()


def start_node(db: str, port: int, namespace: str, profile: str | None = None,
               gc_threshold: int = 0, env_extra: dict[str, str] | None = None,
               events_file: str | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": f"{PG}/{db}", "JWT_SECRET": SECRET, "NAMESPACE": namespace,
           "ENVIRONMENT": "test", "LOG_LEVEL": "WARNING", "DEV_MAIL_CATCHER": "false", "DB_POOL_SIZE": "10",
           **(env_extra or {})}
    command = [str(ROOT / ".venv/bin/edutrack"), "--env-file", "/nonexistent", "api", "--host", "127.0.0.1",
               "--port", str(port)]
    if events_file:
        env["BENCH_EVENTS_FILE"] = events_file
        command = [sys.executable, "-c", NODE_WRAPPER, *command[1:]]
    if profile:  # cProfile the node; the profile is written when SIGTERM stops it
        command = [sys.executable, "-m", "cProfile", "-o", profile, *command]
    if gc_threshold:  # experiment: a larger first GC generation (fewer collections of a big heap)
        command = [sys.executable, "-c", f"import gc, sys; gc.set_threshold({gc_threshold}, 20, 100); "
                   "sys.argv = ['edutrack', *sys.argv[1:]]; from edutrack.cli import main; sys.exit(main())",
                   *command[1:]]
    return subprocess.Popen(command, env=env, cwd=ROOT,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000)))


async def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Fleet:
    def __init__(self, clients: list[Client], workers: int) -> None:
        self.pipes: list[Pipe] = []
        self.procs: list[mp.Process] = []
        ctx = mp.get_context("spawn")
        for w in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child, clients[w::workers]), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    async def call(self, command: str, **args: Any) -> list[Any]:
        for pipe in self.pipes:
            pipe.send((command, args))
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(loop.run_in_executor(None, p.recv) for p in self.pipes)))

    async def stop(self) -> None:
        await self.call("stop")
        for proc in self.procs:
            proc.join(10)


async def fanout_steps(fleet: Fleet, rates: list[int], duration: float, rooms: int, room: int,
                       label: str, stop_on_failure: bool = True, pids: tuple[int, ...] = (),
                       redis_pids: tuple[int, ...] = (),
                       counts: Callable[[], Awaitable[tuple[int, list[int]]]] | None = None) -> list[dict[str, Any]]:
    """One step per rate. EduTrack stops at its first failed step; the bare baseline runs every step, so that one
    noisy step cannot cut its peak short (its peak is the denominator of the 40 % goal). `counts`: the messages
    stored so far and the events each node's hub has read from Redis so far (the share each node received)."""
    steps = []
    for rate in rates:
        senders = max(1, min(room, math.ceil(rate / rooms / 2.0)))  # <= 2 msg/s per sending socket
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        redis_before = sum(cpu_seconds(pid) for pid in redis_pids)
        counted_before = await counts() if counts is not None else None
        results = await fleet.call("fanout", rate=rate, duration=duration, rooms=rooms, senders_per_room=senders,
                                   warmup=WARMUP)
        latencies = [x for r in results for x in r["latencies"]]
        sent = sum(r["sent"] for r in results)
        expected = sum(r["measured"] for r in results) * room
        step = {"scenario": label, "rate": rate, "sent": sent, "deliveries": len(latencies),
                "expected": expected, "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
                "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
                "deliveries_per_s": round(len(latencies) / (duration - WARMUP)),
                # What was delivered while the step was sending, per second: the peak compares these.
                "delivered_in_window_per_s": round(sum(r["in_window"] for r in results) / (duration - WARMUP)),
                "closed": sum(r["closed"] for r in results)}
        if pids and latencies:
            # The server processes' CPU over the step (its drain included) per delivery.
            step["server_cpu_us_per_delivery"] = round(
                (sum(cpu_seconds(pid) for pid in pids) - cpu_before) / len(latencies) * 1e6, 2)
        if redis_pids and latencies:  # every redis-server of the set-up (6 for the cluster)
            step["redis_cpu_us_per_delivery"] = round(
                (sum(cpu_seconds(pid) for pid in redis_pids) - redis_before) / len(latencies) * 1e6, 2)
        if counts is not None and counted_before is not None:
            messages, received = await counts()
            published = messages - counted_before[0]
            step["published"] = published
            step["node_received_fraction"] = [round((r - b) / published, 3) if published else None
                                              for r, b in zip(received, counted_before[1], strict=True)]
        print(json.dumps(step), flush=True)
        steps.append(step)
        if stop_on_failure and (step["p99_ms"] > 250 or len(latencies) < 0.99 * expected or step["closed"]):
            break
    return steps


async def reconnect_waves(fleet: Fleet, pid: int, url: str, waves: int) -> dict[str, Any]:
    """Waves of connect (authenticated, subscribed) then clean close; the node's RSS after each."""
    await asyncio.sleep(1)
    rss = [rss_kib(pid)]
    seconds = []
    failures = 0
    for wave in range(waves):
        results = await fleet.call("connect", urls=[url], bare=False, since=False)
        failures += sum(r["failures"] for r in results)
        seconds.append(round(max(r["seconds"] for r in results), 1))
        await fleet.call("drop")
        await asyncio.sleep(3)
        rss.append(rss_kib(pid))
        print(json.dumps({"wave": wave + 1, "connect_seconds": seconds[-1], "rss_mib": round(rss[-1] / 1024, 1)}),
              flush=True)
    mib = [round(r / 1024, 1) for r in rss]
    result = {"waves": waves, "rss_mib_before_and_after_each_wave": mib, "connect_seconds": seconds,
              "connect_failures": failures,
              "growth_wave2_to_last_pct": round(100 * (rss[-1] - rss[2]) / rss[2], 1) if waves >= 2 else None}
    print(json.dumps(result), flush=True)
    return result


# --- several API nodes, one Redis against a Redis Cluster (--nodes, --redis) ----------------------------------


@dataclass
class RedisSetup:
    label: str
    env: dict[str, str]  # what the nodes get: REDIS_URL, or REDIS_CLUSTER_NODES
    single: Any = None  # tests.support.services.PrivateRedis
    cluster: Any = None  # tests.support.services.PrivateRedisCluster

    def pids(self) -> tuple[int, ...]:
        if self.cluster is not None:
            return tuple(p.pid for p in self.cluster.processes.values())
        return (self.single.process.pid,)


class Spy:
    """A hub of the benchmark's own (the real Hub, or ShardedHub on the cluster) subscribed to every class channel:
    it counts every event published on them, whoever published it (chat messages, presence), as a node holding every
    class would receive them. The denominator of each node's share."""

    def __init__(self, setup: RedisSetup, namespace: str) -> None:
        from edutrack.realtime.hub import Hub
        from edutrack.realtime.shards import ShardedHub

        if setup.cluster is not None:
            nodes = [("127.0.0.1", port) for port in setup.cluster.ports]
            self.hub: Any = ShardedHub(setup.env["REDIS_URL"], nodes, namespace)
        else:
            self.hub = Hub(setup.env["REDIS_URL"], namespace)
        self.events = 0
        self.hub._dispatch = self._count  # the reader calls it once per pub/sub message, as in a node

    def _count(self, name: str, data: bytes | str) -> None:
        self.events += 1

    def on_event(self, channel: str, event: dict[str, Any], text: str) -> None:
        pass

    def on_redis_recovered(self, channels: set[str]) -> None:
        pass

    async def start(self, channels: list[str]) -> None:
        await self.hub.start()
        for channel in channels:
            await self.hub.attach(channel, self)


def slot_owners(cluster: Any, names: list[str]) -> dict[str, int]:
    """The port of the master serving each shard channel now (one CLUSTER NODES read)."""
    from redis.crc import key_slot

    ranges = []
    for line in cluster.cli(cluster.alive()[0], "CLUSTER", "NODES").splitlines():
        fields = line.split()
        if len(fields) > 8 and "master" in fields[2] and "fail" not in fields[2]:
            port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
            for part in fields[8:]:
                low, _, high = part.partition("-")
                if low.isdigit():
                    ranges.append((int(low), int(high or low), port))
    owners = {}
    for name in names:
        slot = key_slot(name.encode())
        owners[name] = next(port for low, high, port in ranges if low <= slot <= high)
    return owners


async def post_messages(ports: list[int], senders: list[Client], text: str) -> dict[str, int]:
    """One message per sender's channel over REST (as the next chat message of the room); the ids stored."""
    ids: dict[str, int] = {}
    async with aiohttp.ClientSession() as session:
        for n, client in enumerate(senders):
            async with session.post(f"http://127.0.0.1:{ports[n % len(ports)]}/api/v1/chats/{client.channel}/messages",
                                    json={"text": text}, headers={"Authorization": f"Bearer {client.token}"}) as resp:
                assert resp.status == 201, await resp.text()
                ids[client.channel] = (await resp.json())["id"]
    return ids


async def failover_step(fleet: Fleet, clients: list[Client], cluster: Any, namespace: str, ports: list[int],
                        rooms: int, args: argparse.Namespace) -> dict[str, Any]:
    """Clients keep sending (acknowledged sends) while the master of some class channels is SIGKILLed."""
    channels = sorted({c.channel for c in clients})
    owners = slot_owners(cluster, [f"{namespace}:ev:{ch}" for ch in channels])
    probe = f"{namespace}:ev:{clients[0].channel}"
    victim = owners[probe]
    affected = [ch for ch in channels if owners[f"{namespace}:ev:{ch}"] == victim]
    await fleet.call("track", on=True)
    timing: dict[str, float] = {}

    async def kill() -> None:
        await asyncio.sleep(args.failover_after)
        timing["kill_at"] = time.time()
        await asyncio.to_thread(cluster.kill, victim)
        while time.time() - timing["kill_at"] < 60:
            with contextlib.suppress(RuntimeError):  # no master serves the slot yet
                if cluster.master_of(probe) != victim:
                    break
            await asyncio.sleep(0.05)
        timing["promoted_after"] = time.time() - timing["kill_at"]

    senders = max(1, min(args.room, math.ceil(args.failover_rate / rooms / 2.0)))
    load, _ = await asyncio.gather(
        fleet.call("fanout", rate=args.failover_rate, duration=args.failover_duration, rooms=rooms,
                   senders_per_room=senders, warmup=WARMUP, acked=True), kill())
    acked_lists = await fleet.call("acknowledged")
    acked: dict[str, list[int]] = {}
    kill_at = timing["kill_at"]
    ack_waits: dict[bool, list[float]] = {True: [], False: []}  # sent after the kill: on the killed master's or not
    for part in acked_lists:
        for channel, message_id, sent_at, acked_at in part["acks"]:
            acked.setdefault(channel, []).append(message_id)
            if sent_at >= kill_at:
                ack_waits[channel in affected].append(acked_at - sent_at)
    args_report = {"acked": acked, "kill_at": kill_at, "affected": affected, "timeout": 20.0}
    reports = await fleet.call("failover_report", **args_report)
    missing_before_next = sum(r["missing"] for r in reports)
    if missing_before_next:
        # An acknowledged message whose publish failed after the hub had re-subscribed is noticed by a socket
        # when the channel's next message arrives (a hole in the ids): send that next message, as a room would.
        finals = await post_messages(ports, [c for c in clients if c.index == 0], "next")
        for channel, message_id in finals.items():
            acked.setdefault(channel, []).append(message_id)
        reports = await fleet.call("failover_report", **{**args_report, "acked": acked})
    silence: dict[str, float] = {}
    for r in reports:
        for channel, wait in r["silence"].items():
            silence[channel] = max(silence.get(channel, 0.0), wait)
    hit = [silence[ch] for ch in affected if ch in silence]
    other = [silence[ch] for ch in channels if ch not in set(affected) and ch in silence]
    late_hit = [x for r in reports for x in r["late_affected"]]
    late_other = [x for r in reports for x in r["late_other"]]
    result = {
        "killed_master": victim, "affected_channels": len(affected), "channels": len(channels),
        "replica_promoted_after_s": round(timing["promoted_after"], 2),
        "sent": sum(r["sent"] for r in load), "acked": sum(len(v) for v in acked.values()),
        "unacked": sum(a["unacked"] for a in acked_lists), "refused": sum(a["refused"] for a in acked_lists),
        "missing_before_next_message": missing_before_next,
        "lost": sum(r["missing"] for r in reports), "clients_missing": sum(r["clients_missing"] for r in reports),
        "duplicates": sum(r["duplicates"] for r in reports), "ordered": all(r["ordered"] for r in reports),
        "resyncs": sum(r["resyncs"] for r in reports),
        "silence_affected_s": {"p50": round(percentile(hit, 0.5), 2), "max": round(max(hit, default=0), 2)},
        "silence_other_s": {"p50": round(percentile(other, 0.5), 2), "max": round(max(other, default=0), 2)},
        "latency_after_kill_affected_ms": {"p50": round(percentile(late_hit, 0.5) * 1000),
                                           "p99": round(percentile(late_hit, 0.99) * 1000),
                                           "max": round(max(late_hit, default=0) * 1000)},
        "ack_after_kill_affected_ms": {"p50": round(percentile(ack_waits[True], 0.5) * 1000),
                                       "max": round(max(ack_waits[True], default=0) * 1000)},
        "ack_after_kill_other_ms": {"p50": round(percentile(ack_waits[False], 0.5) * 1000),
                                    "max": round(max(ack_waits[False], default=0) * 1000)},
        "latency_after_kill_other_ms": {"p50": round(percentile(late_other, 0.5) * 1000),
                                        "p99": round(percentile(late_other, 0.99) * 1000),
                                        "max": round(max(late_other, default=0) * 1000)},
    }
    print(json.dumps({"failover": result}), flush=True)
    await fleet.call("track", on=False)
    await asyncio.to_thread(cluster.start_node, victim)  # back, as a replica of the promoted one
    await asyncio.to_thread(cluster.wait_ok)
    await asyncio.to_thread(cluster.wait_replicated)
    return result


def read_count(file: str) -> int:
    try:
        return int(Path(file).read_text() or 0)
    except FileNotFoundError:  # the node has not written it yet
        return 0


async def run_configuration(fleet: Fleet, clients: list[Client], db: str, rooms: int, setup: RedisSetup,
                            n_nodes: int, args: argparse.Namespace) -> dict[str, Any]:
    namespace = f"bench{uuid.uuid4().hex[:6]}"
    workdir = Path(tempfile.mkdtemp(prefix="edutrack-bench-ws-"))
    files = [str(workdir / f"node{i}") for i in range(n_nodes)]
    ports = [18711 + i for i in range(n_nodes)]
    nodes = [start_node(db, port, namespace, env_extra=setup.env, events_file=file)
             for port, file in zip(ports, files, strict=True)]
    label = f"{n_nodes} nodes, {setup.label}"
    result: dict[str, Any] = {"nodes": n_nodes, "redis": setup.label, "placement": args.placement}

    spy = Spy(setup, namespace)
    await spy.start(sorted({c.channel for c in clients}))

    async def counts() -> tuple[int, list[int]]:
        await asyncio.sleep(0.5)  # the nodes write their counts 5 times a second: both sides current
        return spy.events, [read_count(file) for file in files]

    try:
        for port in ports:
            await wait_http(f"http://127.0.0.1:{port}/health")
        urls = [f"http://127.0.0.1:{port}/ws" for port in ports]
        connected = await fleet.call("connect", urls=urls, bare=False, since=False, assign=args.placement)
        result["connect_seconds"] = round(max(r["seconds"] for r in connected), 1)
        result["connect_failures"] = sum(r["failures"] for r in connected)
        await asyncio.sleep(2)  # the sockets' presence announcements go out
        rates = [int(r) for r in args.rates.split(",")]
        result["steps"] = await fanout_steps(fleet, rates, args.duration, rooms, args.room, label,
                                             pids=tuple(n.pid for n in nodes), redis_pids=setup.pids(),
                                             counts=counts)
        if setup.cluster is not None and args.failover:
            result["failover"] = await failover_step(fleet, clients, setup.cluster, namespace, ports, rooms, args)
        await fleet.call("drop")
    finally:
        await spy.hub.stop()
        for node in nodes:
            node.send_signal(signal.SIGTERM)
        for node in nodes:
            try:
                node.wait(20)
            except subprocess.TimeoutExpired:
                node.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    return result


async def run_nodes(fleet: Fleet, clients: list[Client], db: str, rooms: int,
                    args: argparse.Namespace) -> list[dict[str, Any]]:
    """For each node count, the same fan-out steps on one Redis and on a Redis Cluster, interleaved."""
    from tests.support.services import private_redis, private_redis_cluster

    modes = ["single", "cluster"] if args.redis == "both" else [args.redis]
    results = []
    with contextlib.ExitStack() as stack:
        setups = []
        if "single" in modes:
            single = stack.enter_context(private_redis())
            setups.append(RedisSetup("one Redis", {"REDIS_URL": single.url, "REDIS_CLUSTER_NODES": ""},
                                     single=single))
        if "cluster" in modes:
            cluster = stack.enter_context(private_redis_cluster())
            setups.append(RedisSetup("Redis Cluster (3 masters + 3 replicas)",
                                     {"REDIS_URL": f"redis://127.0.0.1:{cluster.ports[0]}/0",
                                      "REDIS_CLUSTER_NODES": cluster.nodes}, cluster=cluster))
        for n_nodes in [int(n) for n in args.nodes.split(",")]:
            for setup in setups:
                results.append(await run_configuration(fleet, clients, db, rooms, setup, n_nodes, args))
                print(json.dumps({"configuration": results[-1]}), flush=True)
    return results


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--room", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rates", default="250,500,750,1000,1500,2000,3000,4000")
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--storm-messages", type=int, default=3)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--profile-node", help="write a cProfile of node A to this file")
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument("--redis-cluster", action="store_true",
                        help="run both nodes on a Redis Cluster (3 masters + 3 replicas) this script starts")
    parser.add_argument("--nodes", default="",
                        help="run the fan-out steps across this many API nodes (comma list, e.g. 2,4) instead of "
                             "the two-node scenarios; with --redis, --placement, --failover")
    parser.add_argument("--redis", choices=("single", "cluster", "both"), default="both",
                        help="with --nodes: a private redis-server, a private Redis Cluster (3 masters + 3 replicas), "
                             "or both, interleaved in the same run")
    parser.add_argument("--placement", choices=("by-class", "spread"), default="by-class",
                        help="with --nodes: a class's members all on one node, or spread over the nodes")
    parser.add_argument("--failover", action="store_true",
                        help="with --nodes on the cluster: SIGKILL the master of some class channels mid-run")
    parser.add_argument("--failover-rate", type=int, default=300, help="messages/s sent during the failover")
    parser.add_argument("--failover-duration", type=float, default=15.0)
    parser.add_argument("--failover-after", type=float, default=4.0, help="seconds of sending before the kill")
    parser.add_argument("--gc-threshold", type=int, default=0, help="experiment: gc.set_threshold(N, 20, 100)")
    parser.add_argument("--reconnect-waves", type=int, default=0,
                        help="only the reconnect-waves scenario: this many waves of --clients sockets")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))

    from edutrack.security.tokens import TokenService

    db = f"edutrack_bench_ws_{uuid.uuid4().hex[:6]}"
    namespace = f"bench{uuid.uuid4().hex[:6]}"
    report: dict[str, Any] = {"clients": args.clients, "room": args.room, "workers": args.workers}
    _, members = await prepare_database(db, args.clients, args.room)
    tokens = TokenService(SECRET, "HS256", 24 * 3600)
    rooms = math.ceil(args.clients / args.room)
    clients = []
    position: dict[int, int] = {}
    room_of: dict[int, int] = {}
    for class_id, user_id in members:
        index = position.get(class_id, 0)
        position[class_id] = index + 1
        room_of.setdefault(class_id, len(room_of))
        clients.append(Client(user_id, tokens.issue_access(user_id, "student", None, False)[0], f"class:{class_id}",
                              index, room_of[class_id]))
    if args.nodes:
        loaders = Fleet(clients, args.workers)
        try:
            report["configurations"] = await run_nodes(loaders, clients, db, rooms, args)
        finally:
            await loaders.stop()
            if not args.keep_db:
                await drop_database(db)
        print("REPORT " + json.dumps(report))
        return
    port_a, port_b, port_bare = 18701, 18702, 18703
    cluster = contextlib.ExitStack()
    if args.redis_cluster:  # the nodes inherit the environment: REDIS_CLUSTER_NODES puts them on the cluster
        from tests.support.services import private_redis_cluster

        os.environ["REDIS_CLUSTER_NODES"] = cluster.enter_context(private_redis_cluster()).nodes
        report["redis"] = "cluster (3 masters + 3 replicas)"
    node_a = start_node(db, port_a, namespace, args.profile_node, args.gc_threshold)
    node_b = start_node(db, port_b, namespace, gc_threshold=args.gc_threshold)
    bare = mp.get_context("spawn").Process(target=run_bare_server, args=(port_bare,), daemon=True)
    bare.start()
    fleet: Fleet | None = None
    try:
        await wait_http(f"http://127.0.0.1:{port_a}/health")
        await wait_http(f"http://127.0.0.1:{port_b}/health")
        await wait_http(f"http://127.0.0.1:{port_bare}/ws")
        fleet = Fleet(clients, args.workers)
        url_a, url_b = f"http://127.0.0.1:{port_a}/ws", f"http://127.0.0.1:{port_b}/ws"
        if args.reconnect_waves:
            report["reconnect_waves"] = await reconnect_waves(fleet, node_a.pid, url_a, args.reconnect_waves)
            return

        # 1. connections on one node
        await asyncio.sleep(1)
        before = rss_kib(node_a.pid)
        results = await fleet.call("connect", urls=[url_a], bare=False, since=False)
        await asyncio.sleep(2)
        after = rss_kib(node_a.pid)
        report["connections"] = {
            "sockets": args.clients - sum(r["failures"] for r in results),
            "seconds": round(max(r["seconds"] for r in results), 1),
            "rss_before_mib": round(before / 1024, 1), "rss_after_mib": round(after / 1024, 1),
            "kib_per_connection": round((after - before) / args.clients, 1),
        }
        print(json.dumps(report["connections"]), flush=True)
        await fleet.call("drop")

        # 2. fan-out through both nodes
        results = await fleet.call("connect", urls=[url_a, url_b], bare=False, since=False)
        report["reconnect_split_seconds"] = round(max(r["seconds"] for r in results), 1)
        rates = [int(r) for r in args.rates.split(",")]
        report["edutrack"] = await fanout_steps(fleet, rates, args.duration, rooms, args.room, "edutrack",
                                                pids=(node_a.pid, node_b.pid))

        # 4. reconnect storm (before the bare run so the cursors are fresh)
        await fleet.call("drop")
        async with aiohttp.ClientSession() as session:
            sem = asyncio.Semaphore(20)
            senders = {c.channel: c for c in clients if c.index == 0}

            async def post(client: Client, n: int) -> None:
                async with sem, session.post(f"http://127.0.0.1:{port_a}/api/v1/chats/{client.channel}/messages",
                                             json={"text": f"storm {n}"},
                                             headers={"Authorization": f"Bearer {client.token}"}) as resp:
                    assert resp.status == 201, await resp.text()

            await asyncio.gather(*(post(c, n) for c in senders.values() for n in range(args.storm_messages)))
        await fleet.call("reset_ids")
        storm_started = time.time()
        connect_results = await fleet.call("connect", urls=[url_a, url_b], bare=False, since=True)
        waits = await fleet.call("wait_ids", expected=args.storm_messages, timeout=60)
        report["storm"] = {
            "clients": args.clients, "missed_per_client": args.storm_messages,
            "connect_failures": sum(r["failures"] for r in connect_results),
            "seconds_until_all_resumed": round(max(w["done_at"] for w in waits) - storm_started, 2),
            "complete_clients": sum(w["complete"] for w in waits),
            "missing": sum(w["missing"] for w in waits), "duplicates": sum(w["duplicates"] for w in waits),
            "ordered": all(w["ordered"] for w in waits),
        }
        print(json.dumps(report["storm"]), flush=True)
        await fleet.call("drop")

        # 3. bare broadcast baseline, same clients and rooms
        report["bare"] = []
        if not args.skip_bare:
            await fleet.call("connect", urls=[f"http://127.0.0.1:{port_bare}/ws"], bare=True, since=False)
            report["bare"] = await fanout_steps(fleet, rates, args.duration, rooms, args.room, "bare",
                                                stop_on_failure=False, pids=(bare.pid,) if bare.pid else ())
            await fleet.call("drop")
    finally:
        if fleet is not None:
            await fleet.stop()
        stop_processes((node_a, node_b))
        bare.terminate()
        bare.join(5)
        cluster.close()
        if not args.keep_db:
            await drop_database(db)

    def best(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
        ok = [s for s in steps if s["p99_ms"] <= 250 and s["deliveries"] >= 0.99 * s["expected"] and not s["closed"]]
        return max(ok, key=lambda s: s["rate"]) if ok else None

    report["edutrack_best"], report["bare_best"] = best(report["edutrack"]), best(report["bare"])
    # Deliveries that arrived while a step was sending: a saturated step's backlog, delivered late while it
    # drains, does not count as throughput.
    peak_e = max((s["delivered_in_window_per_s"] for s in report["edutrack"]), default=0)
    peak_b = max((s["delivered_in_window_per_s"] for s in report["bare"]), default=0)
    report["peak_deliveries_per_s"] = {"edutrack": peak_e, "bare": peak_b,
                                       "ratio": round(peak_e / peak_b, 2) if peak_b else None}
    print("REPORT " + json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main())
