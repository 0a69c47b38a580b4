"""Realtime peak against honest baselines, in one run: EduTrack (two `edutrack api` nodes, as ws.py starts them),
the bare aiohttp broadcast server of ws.py and a bare Node `ws` server (scripts/bench/node/server.js, same room
shape), all driven by a Node `ws` load generator (scripts/bench/node/loader.js, `--loaders` processes, a room's
members in one process), so that the loader is not what caps a server's peak.

    npm ci --prefix scripts/bench/node      # once: the pinned `ws` package
    ulimit -n 20000; flock /tmp/edutrack-bench.lock .venv/bin/python scripts/bench/ws_peak.py [--clients 5000]

For each server: the clients connect (EduTrack: `edutrack.v1` + `bearer.<token>` subprotocols, subscribed to their
class chat, alternating between the two nodes; bare servers: `join`), then rate steps as ws.py's (`duration` s of
chat.send spread over the rooms' members, each socket <= 2 msg/s, 1 s warm-up, 3 s drain; latency = receive - send
time stamped in the text, on every member). A step fails when p99 > 250 ms or < 99 % is delivered; the steps go on
past a failed one while the deliveries received during the step are >= 90 % of those offered (the throughput has
not peaked), at most three failed steps in a row.
Reported per step: deliveries/s received while sending (the peak compares these), p50/p99, the server processes'
CPU (user + system, /proc/<pid>/stat, drain included) per delivery, the loader's achieved send rate against the
asked one and its own CPU. Last, ws.py's Python loader (2 processes) is driven at the bare aiohttp server's peak
rate, to show what the old baseline measured. Uses ws.py's database set-up, tokens and node start by import.
"""

from __future__ import annotations

import sys
from pathlib import Path

# scripts/bench/ holds email.py, which would shadow the standard library's `email` (aiohttp imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # for scripts.bench.common

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from scripts.bench.common import load_script  # noqa: E402

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
# ws.py loaded under a fixed name, also in the spawned Python loader processes (they import this module first).
ws = load_script(HERE / "ws.py", "bench_ws")

RATES = "500,1000,1500,2000,3000,4000,5000,6000,7000,8000"


class NodeLoaders:
    """`count` loader.js processes; clients split by room so that a room's sends and receives share one clock."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self, count: int) -> None:
        for _ in range(count):
            self.procs.append(await asyncio.create_subprocess_exec(
                "node", str(NODE_DIR / "loader.js"), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                limit=64 * 1024 * 1024,
                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))))

    async def call(self, commands: list[dict[str, Any]]) -> list[Any]:
        async def one(proc: asyncio.subprocess.Process, command: dict[str, Any]) -> Any:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write((json.dumps(command) + "\n").encode())
            await proc.stdin.drain()
            return json.loads(await proc.stdout.readline())["answer"]

        return list(await asyncio.gather(*(one(p, c) for p, c in zip(self.procs, commands, strict=True))))

    async def same(self, command: dict[str, Any]) -> list[Any]:
        return await self.call([command] * len(self.procs))

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None and proc.stdin is not None:
                proc.stdin.write(b'{"cmd":"stop"}\n')
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()


def percentile_ms(hist: dict[int, int], q: float) -> float:
    total = sum(hist.values())
    if not total:
        return float("nan")
    rank = min(total - 1, int(q * total))
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen > rank:
            return round(bucket / 10, 1)
    return float("nan")


async def step(loaders: NodeLoaders, clients: list[dict[str, Any]], rate: int, rooms: int, room: int,
               duration: float, pids: tuple[int, ...], label: str) -> dict[str, Any]:
    senders = max(1, min(room, math.ceil(rate / rooms / 2.0)))  # <= 2 msg/s per sending socket, as ws.py
    total_senders = sum(1 for c in clients if c["index"] < senders)
    cpu_before = sum(ws.cpu_seconds(pid) for pid in pids)
    results = await loaders.same({"cmd": "fanout", "rate": rate, "duration": duration, "sendersPerRoom": senders,
                                  "warmup": ws.WARMUP, "totalSenders": total_senders})
    cpu = sum(ws.cpu_seconds(pid) for pid in pids) - cpu_before
    hist: dict[int, int] = {}
    for r in results:
        for bucket, n in r["hist"].items():
            hist[int(bucket)] = hist.get(int(bucket), 0) + n
    deliveries = sum(hist.values())
    expected = sum(r["expected"] for r in results)
    measured_s = duration - ws.WARMUP
    result = {
        "scenario": label, "rate": rate, "sent": sum(r["sent"] for r in results),
        "loader_achieved_per_s": round(sum(r["achieved"] for r in results)),
        "loader_cpu_while_sending": round(sum(r["cpuSendingS"] for r in results) / max(
            r["sendSeconds"] for r in results), 2),  # cores busy in the loader processes
        "deliveries": deliveries, "expected": expected,
        "p50_ms": percentile_ms(hist, 0.5), "p99_ms": percentile_ms(hist, 0.99),
        "delivered_in_window_per_s": round(sum(r["inWindow"] for r in results) / measured_s),
        "server_cpu_us_per_delivery": round(cpu / deliveries * 1e6, 2) if deliveries else None,
        "server_cpu_cores": round(cpu / (duration + 3.0), 2),
        "closed": sum(r["closed"] for r in results), "failed_sends": sum(r["failed"] for r in results),
        "duplicate_acks": sum(r.get("duplicates", 0) for r in results),
        "error_frames": {code: sum(r["errors"].get(code, 0) for r in results)
                         for code in sorted({c for r in results for c in r["errors"]})},
    }
    result["ok"] = bool(result["p99_ms"] <= 250 and deliveries >= 0.99 * expected and not result["closed"])
    print(json.dumps(result), flush=True)
    return result


async def run_target(loaders: NodeLoaders, clients: list[dict[str, Any]], label: str, mode: str,
                     pids: tuple[int, ...], args: argparse.Namespace, rooms: int) -> dict[str, Any]:
    per_loader: list[list[dict[str, Any]]] = [[] for _ in loaders.procs]
    for c in clients:
        per_loader[c["room"] % len(per_loader)].append(c)
    connected = await loaders.call([{"cmd": "connect", "mode": mode, "clients": share} for share in per_loader])
    result: dict[str, Any] = {"connect_seconds": round(max(r["seconds"] for r in connected), 1),
                              "connect_failures": sum(r["failures"] for r in connected), "steps": []}
    print(json.dumps({label: result}), flush=True)
    await asyncio.sleep(2)  # EduTrack's presence announcements go out before the first step
    failures_in_row = 0
    for rate in [int(r) for r in args.rates.split(",")]:
        result["steps"].append(await step(loaders, clients, rate, rooms, args.room, args.duration, pids, label))
        last = result["steps"][-1]
        failures_in_row = 0 if last["ok"] else failures_in_row + 1
        # Past the latency limit the steps go on while the server still delivers >= 90 % of what is offered (its
        # throughput has not peaked yet), at most three failed steps in a row.
        saturated = last["delivered_in_window_per_s"] < 0.9 * rate * args.room
        if failures_in_row == 3 or (failures_in_row and saturated):
            break
    await loaders.same({"cmd": "drop"})
    await asyncio.sleep(2)
    steps = result["steps"]
    result["peak_deliveries_per_s"] = max(s["delivered_in_window_per_s"] for s in steps)
    passing = [s for s in steps if s["ok"]]
    result["best_passing_rate"] = max((s["rate"] for s in passing), default=None)
    return result


async def python_loader_at(clients: list[Any], url: str, pid: int, rate: int, rooms: int,
                           args: argparse.Namespace) -> dict[str, Any]:
    """ws.py's own loader (2 processes) against the bare aiohttp server at `rate`: what the old baseline sent."""
    fleet = ws.Fleet(clients, 2)
    try:
        await fleet.call("connect", urls=[url], bare=True, since=False)
        steps = await ws.fanout_steps(fleet, [rate], args.duration, rooms, args.room, "bare, python loader",
                                      stop_on_failure=False, pids=(pid,))
        await fleet.call("drop")
    finally:
        await fleet.stop()
    result: dict[str, Any] = steps[0]
    result["loader_achieved_per_s"] = round(result["sent"] / args.duration)
    return result


def spawn(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ws.ROOT,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000)))


PORTS = {"a": 18731, "b": 18732, "node": 18733, "bare": 18734}


def make_clients(members: list[tuple[int, int]]) -> list[Any]:
    """ws.py's clients (a token each, their class channel, room and place in it) for the users of the database."""
    from edutrack.security.tokens import TokenService

    tokens = TokenService(ws.SECRET, "HS256", 24 * 3600)
    clients: list[Any] = []
    position: dict[int, int] = {}
    room_of: dict[int, int] = {}
    for class_id, user_id in members:
        position[class_id] = position.get(class_id, 0) + 1
        room_of.setdefault(class_id, len(room_of))
        clients.append(ws.Client(user_id, tokens.issue_access(user_id, "student", None, False)[0],
                                 f"class:{class_id}", position[class_id] - 1, room_of[class_id]))
    return clients


async def measure(report: dict[str, Any], servers: dict[str, subprocess.Popen[bytes]], clients: list[Any],
                  args: argparse.Namespace) -> None:
    rooms = math.ceil(args.clients / args.room)
    for name in ("a", "b"):
        await ws.wait_http(f"http://127.0.0.1:{PORTS[name]}/health")
    for name in ("bare", "node"):
        await ws.wait_http(f"http://127.0.0.1:{PORTS[name]}/ws")
    loaders = NodeLoaders()
    await loaders.start(args.loaders)

    def shaped(url: Callable[[int], str]) -> list[dict[str, Any]]:
        return [{"id": c.user_id, "token": c.token, "channel": c.channel, "room": c.room, "index": c.index,
                 "url": url(i)} for i, c in enumerate(clients)]

    targets: dict[str, tuple[str, str, Callable[[int], str], tuple[str, ...]]] = {
        "bare": ("bare aiohttp", "bare", lambda i: f"ws://127.0.0.1:{PORTS['bare']}/ws", ("bare",)),
        "node": ("Node ws", "bare", lambda i: f"ws://127.0.0.1:{PORTS['node']}/ws", ("node",)),
        "edutrack": ("EduTrack (2 nodes)", "edutrack",
                     lambda i: f"ws://127.0.0.1:{PORTS['a' if i % 2 == 0 else 'b']}/ws", ("a", "b")),
    }
    try:
        for key in args.only.split(","):
            if key == "python":
                peak_rate = report.get("bare", {}).get("best_passing_rate") or 5000
                report["python_loader_on_bare"] = await python_loader_at(
                    clients, f"http://127.0.0.1:{PORTS['bare']}/ws", servers["bare"].pid, peak_rate, rooms, args)
                continue
            label, mode, url, names = targets[key]
            report[key] = await run_target(loaders, shaped(url), label, mode,
                                           tuple(servers[n].pid for n in names), args, rooms)
    finally:
        await loaders.stop()


async def ensure_node_packages() -> None:
    """The Node loader's pinned `ws` package, installed once from the lock file."""
    if not (NODE_DIR / "node_modules" / "ws").exists():
        await asyncio.to_thread(subprocess.run, ["npm", "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"],
                                check=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--room", type=int, default=30)
    parser.add_argument("--loaders", type=int, default=2, help="Node loader processes")
    parser.add_argument("--rates", default=RATES)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--only", default="bare,node,edutrack,python", help="which targets, in this order")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    await ensure_node_packages()
    db = f"edutrack_bench_wspeak_{uuid.uuid4().hex[:6]}"
    namespace = f"bench{uuid.uuid4().hex[:6]}"
    _, members = await ws.prepare_database(db, args.clients, args.room)
    servers = {
        "a": ws.start_node(db, PORTS["a"], namespace), "b": ws.start_node(db, PORTS["b"], namespace),
        "bare": spawn([sys.executable, __file__, "--serve-bare", str(PORTS["bare"])]),
        "node": spawn(["node", str(NODE_DIR / "server.js"), "--port", str(PORTS["node"])]),
    }
    report: dict[str, Any] = {"clients": args.clients, "room": args.room, "loaders": args.loaders}
    try:
        await measure(report, servers, make_clients(members), args)
    finally:
        ws.stop_processes(servers.values())
        await ws.drop_database(db)
    summarise(report)
    print("REPORT " + json.dumps(report))


def summarise(report: dict[str, Any]) -> None:
    peaks = {k: report[k]["peak_deliveries_per_s"] for k in ("edutrack", "bare", "node") if k in report}
    report["peaks"] = peaks
    if "edutrack" in peaks and "bare" in peaks:
        report["edutrack_over_bare_peak"] = round(peaks["edutrack"] / peaks["bare"], 2)
    if "edutrack" in peaks and "node" in peaks:
        report["edutrack_over_node_peak"] = round(peaks["edutrack"] / peaks["node"], 2)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-bare"]:  # internal: ws.py's bare server in a process of its own
        ws.run_bare_server(int(sys.argv[2]))
    else:
        asyncio.run(main())
