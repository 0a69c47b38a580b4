"""Where an idle socket's memory goes: tracemalloc in one `edutrack api` node (or ws.py's bare aiohttp server), a
snapshot before and after `--clients` sockets connect (authenticated and subscribed, ws_peak.py's Node loader),
and the difference grouped by the line that allocated it (the innermost frame of edutrack, aiohttp or asyncio
code), in bytes per socket.

    ulimit -n 20000; flock /tmp/edutrack-bench.lock .venv/bin/python scripts/bench/ws_socket_trace.py \
        [--clients 1000] [--target edutrack|bare] [--root /path/to/a/checkout] [--top 40]

tracemalloc counts Python's allocations only (objects, buffers); RSS (ws_sockets.py) adds the kernel-side and
allocator overhead. The traced figure is what the code can shrink.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # for scripts.bench.common

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import tracemalloc  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

from scripts.bench.common import load_script  # noqa: E402

HERE = Path(__file__).resolve().parent
sockets = load_script(HERE / "ws_sockets.py", "bench_ws_sockets")
peak, ws = sockets.peak, sockets.ws

# Runs the node (or the bare server) with tracemalloc on; SIGUSR1 writes a snapshot to $TRACE_DIR/<n>.snap.
WRAPPER = """
import os, signal, sys, tracemalloc
tracemalloc.start(12)
count = [0]
def dump(*_):
    count[0] += 1
    tracemalloc.take_snapshot().dump(os.path.join(os.environ['TRACE_DIR'], f'{count[0]}.snap'))
    open(os.path.join(os.environ['TRACE_DIR'], f'{count[0]}.done'), 'w').close()
signal.signal(signal.SIGUSR1, dump)
def collect_and_dump(*_):
    import gc
    gc.collect()
    dump()
signal.signal(signal.SIGUSR2, collect_and_dump)
if sys.argv[1] == '--bare':
    sys.path.insert(0, os.environ['BENCH_DIR'])
    import importlib.util
    spec = importlib.util.spec_from_file_location('bench_ws', os.path.join(os.environ['BENCH_DIR'], 'ws.py'))
    module = importlib.util.module_from_spec(spec); sys.modules['bench_ws'] = module; spec.loader.exec_module(module)
    module.run_bare_server(int(sys.argv[2]))
else:
    sys.argv = ['edutrack', *sys.argv[1:]]
    from edutrack.cli import main
    sys.exit(main())
"""

OURS = ("edutrack/", "aiohttp/", "asyncio/", "yarl/", "multidict/", "jwt/", "redis/", "sqlalchemy/", "asyncpg/")


async def snapshot(proc: subprocess.Popen[bytes], trace_dir: Path, n: int,
                   collect: bool = False) -> tracemalloc.Snapshot:
    """`collect`: after a full garbage collection (what only waits for one is then gone)."""
    proc.send_signal(signal.SIGUSR2 if collect else signal.SIGUSR1)
    while not (trace_dir / f"{n}.done").exists():  # noqa: ASYNC110 (another process writes the file)
        await asyncio.sleep(0.2)
    return tracemalloc.Snapshot.load(str(trace_dir / f"{n}.snap"))


def where(trace: tracemalloc.StatisticDiff) -> str:
    """The innermost frame in a library or our code (not the standard library's generic helpers)."""
    for frame in reversed(trace.traceback):  # tracemalloc lists the oldest frame first
        if any(part in frame.filename for part in OURS):
            name = frame.filename.split("site-packages/")[-1].split("/edutrack/", 1)[-1]
            return f"{name}:{frame.lineno}"
    frame = trace.traceback[-1]
    return f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"


def start_traced(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    # cwd: not the checkout, since `python -c` puts the working directory first on sys.path, which would hide
    # PYTHONPATH's code.
    return subprocess.Popen([sys.executable, "-c", WRAPPER, *command], env={**os.environ, **env}, cwd=cwd,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000)))


async def _waves(proc: subprocess.Popen[bytes], trace_dir: Path, loaders: Any, clients: list[Any], mode: str,
                 port: int, waves: int) -> tuple[tracemalloc.Snapshot, tracemalloc.Snapshot, Any]:
    """Waves of connect, then close; snapshots after the second and after the last (3 s after its close)."""
    before = after = None
    answer: Any = None
    for wave in range(1, waves + 1):
        answer = await sockets.connect(loaders, clients, mode, [f"ws://127.0.0.1:{port}/ws"])
        await loaders.same({"cmd": "drop"})
        await asyncio.sleep(3)
        if wave == 2:
            before = await snapshot(proc, trace_dir, 1, collect=True)
    after = await snapshot(proc, trace_dir, 2)
    collected = await snapshot(proc, trace_dir, 3, collect=True)
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    leaked = sum(stat.size_diff for stat in collected.compare_to(before, "filename"))
    print(json.dumps({"grown_bytes_per_socket_wave": round(grown / len(clients) / (waves - 2)),
                      "left_after_a_full_collection": round(leaked / len(clients) / (waves - 2))}), flush=True)
    assert before is not None
    return before, after, answer


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--room", type=int, default=30)
    parser.add_argument("--target", choices=("edutrack", "bare"), default="edutrack")
    parser.add_argument("--root", type=Path, help="run this checkout's code (PYTHONPATH) with this venv")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--waves", type=int, default=0,
                        help="instead: this many waves of connect + close; the difference between the snapshots "
                             "after the second and the last wave is what closed sockets left behind")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    trace_dir = Path(tempfile.mkdtemp(prefix="ws-trace-"))
    db = f"edutrack_bench_wstrace_{uuid.uuid4().hex[:6]}"
    _, members = await ws.prepare_database(db, args.clients, args.room)
    clients = peak.make_clients(members)
    port = sockets.PORTS["a"]
    env = {"TRACE_DIR": str(trace_dir), "BENCH_DIR": str(HERE)}
    if args.root is not None:
        env["PYTHONPATH"] = str(args.root.resolve())
    if args.target == "bare":
        command = ["--bare", str(port)]
    else:
        command = ["--env-file", "/nonexistent", "api", "--host", "127.0.0.1", "--port", str(port)]
        env.update({"DATABASE_URL": f"{ws.PG}/{db}", "JWT_SECRET": ws.SECRET, "ENVIRONMENT": "test",
                    "NAMESPACE": f"bench{uuid.uuid4().hex[:6]}", "LOG_LEVEL": "WARNING",
                    "DEV_MAIL_CATCHER": "false", "DB_POOL_SIZE": "10"})
    proc = start_traced(command, env, trace_dir)
    loaders = peak.NodeLoaders()
    report: dict[str, Any] = {"target": args.target, "clients": args.clients}
    try:
        if args.target == "bare":
            await ws.wait_http(f"http://127.0.0.1:{port}/ws")
        else:
            await ws.wait_http(f"http://127.0.0.1:{port}/health", timeout=240)  # imports under tracemalloc are slow
        await loaders.start(2)
        mode = "bare" if args.target == "bare" else "edutrack"
        # A first, small wave warms caches (imports, first-use objects) so that they are not counted per socket.
        await sockets.connect(loaders, clients[:60], mode, [f"ws://127.0.0.1:{port}/ws"])
        await loaders.same({"cmd": "drop"})
        await asyncio.sleep(2)
        if args.waves:
            before, after, answer = await _waves(proc, trace_dir, loaders, clients, mode, port, args.waves)
        else:
            before = await snapshot(proc, trace_dir, 1)
            answer = await sockets.connect(loaders, clients, mode, [f"ws://127.0.0.1:{port}/ws"])
            await asyncio.sleep(2)
            after = await snapshot(proc, trace_dir, 2)
        report["connect"] = answer
        diff = after.compare_to(before, "traceback")
        sites: dict[str, int] = {}
        for stat in diff:
            key = where(stat)
            sites[key] = sites.get(key, 0) + stat.size_diff
        total = sum(sites.values())
        report["traced_bytes_per_socket"] = round(total / args.clients)
        report["top"] = [(site, round(size / args.clients)) for site, size in
                         sorted(sites.items(), key=lambda kv: -kv[1])[:args.top]]
        await loaders.same({"cmd": "drop"})
    finally:
        await loaders.stop()
        ws.stop_processes([proc], 30)
        await ws.drop_database(db)
    print(json.dumps(report["connect"]))
    print(f"traced bytes per socket: {report['traced_bytes_per_socket']}")
    for site, size in report["top"]:
        print(f"{size:8d}  {site}")


if __name__ == "__main__":
    asyncio.run(main())
