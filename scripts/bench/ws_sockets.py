"""What an idle socket costs: memory per authenticated, subscribed socket and the time to connect 5,000 of them,
for EduTrack (this tree, and optionally a second checkout as the baseline of the same run) against ws.py's bare
aiohttp server, all driven by ws_peak.py's Node loader (100 handshakes at a time per loader process).

    ulimit -n 20000; flock /tmp/edutrack-bench.lock .venv/bin/python scripts/bench/ws_sockets.py \
        [--clients 5000] [--rounds 3] [--base-root /path/to/a/checkout/of/main] [--profile-dir DIR]

Each round, for each target (the order is reversed every other round): start it, then
  1. all clients connect to one process (EduTrack: node A, `edutrack.v1` + `bearer.<token>`, `ready`, `subscribe`
     to the class chat, `subscribed`; bare: `join`, `subscribed`); seconds until the last is subscribed, the
     process's RSS (VmRSS) before and 2 s after, so KiB per socket = delta / clients; CPU seconds of the process
     and of the loader processes (which share the machine's cores with it);
  2. all drop; all connect again split over two nodes (EduTrack, alternating as ws_peak.py; the bare server has
     one process): seconds;
then stop it. The baseline (`--base-root`) runs with this venv and `PYTHONPATH=<base-root>`, so only the code
differs. `--profile-dir`: py-spy (raw collapsed stacks) records node A during step 1 of the first round.
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
import os  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

from scripts.bench.common import load_script  # noqa: E402

HERE = Path(__file__).resolve().parent
peak = load_script(HERE / "ws_peak.py", "bench_ws_peak")
ws = peak.ws

PORTS = {"a": 18741, "b": 18742, "bare": 18743}


def loadavg() -> str:
    return " / ".join(Path("/proc/loadavg").read_text().split()[:3])


def start_edutrack(db: str, namespace: str, root: Path | None) -> dict[str, subprocess.Popen[bytes]]:
    extra: dict[str, str] = {}
    if root is not None:  # the baseline's code, with this venv's packages
        extra = {"PYTHONPATH": str(root)}
    return {name: ws.start_node(db, PORTS[name], namespace, env_extra=extra) for name in ("a", "b")}


def start_py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on the process until SIGINT: raw collapsed stacks, 250 samples a second, idle time left out."""
    return subprocess.Popen([str(ws.ROOT / ".venv/bin/py-spy"), "record", "-p", str(pid), "-r", "250", "-f", "raw",
                             "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def connect(loaders: Any, clients: list[Any], mode: str, urls: list[str]) -> dict[str, Any]:
    per_loader: list[list[dict[str, Any]]] = [[] for _ in loaders.procs]
    for i, c in enumerate(clients):
        per_loader[c.room % len(per_loader)].append(
            {"id": c.user_id, "token": c.token, "channel": c.channel, "room": c.room, "index": c.index,
             "url": urls[i % len(urls)]})
    answers = await loaders.call([{"cmd": "connect", "mode": mode, "clients": share} for share in per_loader])
    return {"seconds": round(max(a["seconds"] for a in answers), 2), "failures": sum(a["failures"] for a in answers)}


async def measure_target(label: str, loaders: Any, clients: list[Any], servers: dict[str, subprocess.Popen[bytes]],
                         mode: str, profile: Path | None) -> dict[str, Any]:
    one = servers.get("a") or servers["bare"]
    port_one = PORTS["a"] if "a" in servers else PORTS["bare"]
    if mode == "edutrack":
        for name in ("a", "b"):
            await ws.wait_http(f"http://127.0.0.1:{PORTS[name]}/health")
    else:
        await ws.wait_http(f"http://127.0.0.1:{PORTS['bare']}/ws")
    await asyncio.sleep(2)
    spy = None
    if profile is not None:
        spy = start_py_spy(one.pid, profile)
        await asyncio.sleep(1)
    rss0, cpu0 = ws.rss_kib(one.pid), ws.cpu_seconds(one.pid)
    loader_cpu0 = sum(ws.cpu_seconds(p.pid) for p in loaders.procs)
    single = await connect(loaders, clients, mode, [f"ws://127.0.0.1:{port_one}/ws"])
    cpu = ws.cpu_seconds(one.pid) - cpu0
    loader_cpu = sum(ws.cpu_seconds(p.pid) for p in loaders.procs) - loader_cpu0
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)
    await asyncio.sleep(2)
    rss1 = ws.rss_kib(one.pid)
    await loaders.same({"cmd": "drop"})
    await asyncio.sleep(3)
    urls = [f"ws://127.0.0.1:{PORTS[n]}/ws" for n in (("a", "b") if mode == "edutrack" else ("bare",))]
    split = await connect(loaders, clients, mode, urls)
    await loaders.same({"cmd": "drop"})
    await asyncio.sleep(2)
    result = {"target": label, "one_process_connect_s": single["seconds"], "failures": single["failures"],
              "cpu_s_one_process": round(cpu, 2), "loader_cpu_s": round(loader_cpu, 2),
              "rss_before_mib": round(rss0 / 1024, 1),
              "rss_after_mib": round(rss1 / 1024, 1), "kib_per_socket": round((rss1 - rss0) / len(clients), 2),
              "split_connect_s": split["seconds"], "split_failures": split["failures"]}
    print(json.dumps(result), flush=True)
    return result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--room", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loaders", type=int, default=2)
    parser.add_argument("--base-root", type=Path, help="a checkout of the baseline's code (e.g. main)")
    parser.add_argument("--profile-dir", type=Path)
    parser.add_argument("--skip-bare", action="store_true")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    await peak.ensure_node_packages()
    report: dict[str, Any] = {"clients": args.clients, "loadavg_start": loadavg(), "runs": []}
    db = f"edutrack_bench_wssock_{uuid.uuid4().hex[:6]}"
    _, members = await ws.prepare_database(db, args.clients, args.room)
    clients = peak.make_clients(members)
    targets: list[tuple[str, Path | None]] = [("edutrack", None)]
    if args.base_root is not None:
        targets.insert(0, ("base", args.base_root.resolve()))
    if not args.skip_bare:
        targets.append(("bare", None))
    loaders = peak.NodeLoaders()
    await loaders.start(args.loaders)
    try:
        for round_no in range(args.rounds):
            for label, root in (targets if round_no % 2 == 0 else targets[::-1]):
                profile = None
                if args.profile_dir is not None and round_no == 0 and label != "bare":
                    args.profile_dir.mkdir(parents=True, exist_ok=True)
                    profile = args.profile_dir / f"connect-{label}.txt"
                if label == "bare":
                    servers = {"bare": peak.spawn([sys.executable, str(HERE / "ws_peak.py"), "--serve-bare",
                                                   str(PORTS["bare"])])}
                else:
                    servers = start_edutrack(db, f"bench{uuid.uuid4().hex[:6]}", root)
                try:
                    result = await measure_target(label, loaders, clients, servers,
                                                  "bare" if label == "bare" else "edutrack", profile)
                finally:
                    ws.stop_processes(servers.values(), 30)
                result["round"] = round_no + 1
                report["runs"].append(result)
    finally:
        await loaders.stop()
        await ws.drop_database(db)
    report["loadavg_end"] = loadavg()
    report["medians"] = {
        label: {key: statistics.median(r[key] for r in report["runs"] if r["target"] == label)
                for key in ("kib_per_socket", "one_process_connect_s", "split_connect_s", "cpu_s_one_process",
                            "loader_cpu_s")}
        for label in {r["target"] for r in report["runs"]}}
    print("REPORT " + json.dumps(report), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())
