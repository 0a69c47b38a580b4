"""Cache misses under overload: p50/p90/p99 at 128 concurrent uncached grade reads, with and without the database
admission gate (edutrack/db/gate.py), on uvloop and on asyncio's loop.

    .venv/bin/python scripts/bench/overload.py [--seconds 8] [--concurrency 128] [--rounds 3]

1. Creates a scratch database, migrates it and loads the full demo school (as scripts/bench/rest.py does).
2. For each configuration in turn, interleaved, `--rounds` times: starts one server process (this script with
   --serve) running the real app on the chosen loop, where every cache lookup of a whole response reports a miss
   (Redis is still asked, and the entry still stored, as on a real miss); then `--concurrency` keep-alive clients
   in a closed loop read the demo parent's child's grades for `--seconds` after 1 s of warm-up; a client answered
   503 waits the Retry-After it was given before its next request, as a well-behaved client does.
   Configurations: gate off (DB_CONCURRENT_REQUESTS=100000: every request goes straight to the pool, as before the
   gate) and gate on (the defaults), each on uvloop and on asyncio.
3. Reports medians over the rounds: answered req/s, p50/p90/p99 of the 200s, how many 503s and their p99, the
   server's CPU per answered request, and the load average before and after (the machine may be shared).
"""

from __future__ import annotations

import sys
from pathlib import Path

# scripts/bench/ holds email.py, which would shadow the standard library's `email` package: drop that entry.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
ROOT = _HERE.parents[1]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from aiohttp import web  # noqa: E402

from edutrack.cli import migrate  # noqa: E402
from edutrack.db.engine import drop_database, ensure_database  # noqa: E402
from edutrack.settings import load_settings  # noqa: E402
from scripts.bench.common import bench_env, cpu_seconds, free_port  # noqa: E402

PG = os.environ.get("BENCH_PG_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432")
CONFIGS = {
    "gate off, uvloop": {"EVENT_LOOP": "uvloop", "DB_CONCURRENT_REQUESTS": "100000"},
    "gate on, uvloop": {"EVENT_LOOP": "uvloop"},
    "gate off, asyncio": {"EVENT_LOOP": "asyncio", "DB_CONCURRENT_REQUESTS": "100000"},
    "gate on, asyncio": {"EVENT_LOOP": "asyncio"},
}


# ----------------------------------------------------------------------------------------------- server side
def serve(port: int) -> None:
    from edutrack import cache, loops
    from edutrack.app import create_app

    real_lookup = cache.lookup

    async def always_missed(ctx: Any, buckets: Any, field: str) -> cache.Lookup:
        found = await real_lookup(ctx, buckets, field)
        return cache.Lookup(None, found.tokens)

    cache.lookup = always_missed  # type: ignore[assignment]
    settings = load_settings(env_file=None)

    class NoSharing(dict[Any, Any]):
        """Concurrent misses of one entry would share one load (cache.authorized_body); here every request is
        to pay a whole miss, as the figures say."""

        def get(self, key: Any, default: Any = None) -> Any:
            return None

        def __setitem__(self, key: Any, value: Any) -> None:
            pass

        def __delitem__(self, key: Any) -> None:
            pass

    async def run() -> None:
        app = create_app(settings)
        app.on_startup.append(lambda app: _no_sharing(app, NoSharing()))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("ready", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()

    loops.run(settings, run())


async def _no_sharing(app: web.Application, loads: dict[Any, Any]) -> None:
    from edutrack.keys import CTX

    if CTX in app:
        app[CTX].cache_loads = loads


# ----------------------------------------------------------------------------------------------- load side
async def run_load(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict[str, Any]:
    ok: list[float] = []
    refused: list[float] = []
    other: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        async def worker(until: float, record: bool) -> None:
            while time.perf_counter() < until:
                t0 = time.perf_counter()
                async with http.get(url) as resp:
                    await resp.read()
                    status = resp.status
                if record:
                    took = time.perf_counter() - t0
                    if status == 200:
                        ok.append(took)
                    elif status == 503:
                        refused.append(took)
                        await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))  # as the answer asks
                    else:
                        other[status] = other.get(status, 0) + 1

        warm = time.perf_counter() + 1.0
        await asyncio.gather(*(worker(warm, False) for _ in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ok.sort()
    refused.sort()

    def pct(values: list[float], q: float) -> float:
        return 1000 * values[min(len(values) - 1, int(len(values) * q))] if values else 0.0

    return {"ok": len(ok), "rps": len(ok) / elapsed, "p50_ms": pct(ok, 0.5), "p90_ms": pct(ok, 0.9),
            "p99_ms": pct(ok, 0.99), "max_ms": pct(ok, 1.0), "refused": len(refused),
            "refused_p99_ms": pct(refused, 0.99), "other": other}


async def one_round(name: str, env: dict[str, str], url_path: str, login: tuple[str, str], seconds: float,
                    concurrency: int) -> dict[str, Any]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(sys.executable, __file__, "--serve", str(port),
                                                env={**env, **CONFIGS[name]}, stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        assert line.strip() == b"ready", line
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http, http.post(
                f"{base}/api/v1/auth/login", json={"email": login[0], "password": login[1]}) as resp:
            token = (await resp.json())["access_token"]
        cpu0 = cpu_seconds(proc.pid)
        result = await run_load(base + url_path, {"Authorization": f"Bearer {token}"}, seconds + 1, concurrency)
        result["cpu_ms_per_ok"] = 1000 * (cpu_seconds(proc.pid) - cpu0) / max(1, result["ok"])
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=list(CONFIGS), action="append")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)  # on the loop its settings choose
        return 0
    return asyncio.run(measure(args))


async def measure(args: argparse.Namespace) -> int:
    database_url = f"{PG}/edutrack_bench_overload_{uuid.uuid4().hex[:6]}"
    env = bench_env(database_url)
    await ensure_database(database_url)
    try:
        settings = load_settings(env, env_file=None)
        await asyncio.to_thread(migrate, settings)
        from edutrack.demo import DEMO_PASSWORD, load_demo
        from edutrack.resources import open_context

        async with open_context(settings, role="cli", connect_amqp=False, small_pool=True) as ctx:
            demo = await load_demo(ctx)
        pg = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        student = await pg.fetchval("SELECT pc.child_id FROM parent_children pc JOIN users p ON p.id = pc.parent_id "
                                    "WHERE p.email = $1 ORDER BY pc.child_id LIMIT 1", demo.logins["parent"])
        term_id = await pg.fetchval("SELECT id FROM terms WHERE school_id = $1 ORDER BY starts_on LIMIT 1",
                                    demo.school_id)
        grades = await pg.fetchval("SELECT count(*) FROM grades WHERE student_id = $1", student)
        await pg.execute("ANALYZE")
        await pg.close()
        print(f"demo school loaded in {demo.seconds:.1f}s; the student has {grades} grades (one term is read)",
              file=sys.stderr)
        url_path = f"/api/v1/students/{student}/grades?term_id={term_id}"
        names = args.only or list(CONFIGS)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        load_before = os.getloadavg()
        for n in range(args.rounds):
            for name in names:
                r = await one_round(name, env, url_path, (demo.logins["parent"], DEMO_PASSWORD), args.seconds,
                                    args.concurrency)
                runs[name].append(r)
                print(f"round {n + 1} {name}: {json.dumps(r)}", file=sys.stderr)
        load_after = os.getloadavg()
        print(f"\n{args.concurrency} concurrent misses, {args.seconds:.0f} s each, medians of {args.rounds} rounds; "
              f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after ({os.cpu_count()} CPUs)\n")
        print("| configuration | answered req/s | p50 ms | p90 ms | p99 ms | 503s | 503 p99 ms | CPU ms per answer |")
        print("|---|---|---|---|---|---|---|---|")
        for name in names:
            def med(key: str, name: str = name) -> float:
                return statistics.median(r[key] for r in runs[name])
            print(f"| {name} | {med('rps'):.0f} | {med('p50_ms'):.0f} | {med('p90_ms'):.0f} | {med('p99_ms'):.0f} | "
                  f"{med('refused'):.0f} | {med('refused_p99_ms'):.0f} | {med('cpu_ms_per_ok'):.2f} |")
        return 0
    finally:
        await drop_database(database_url)


if __name__ == "__main__":
    raise SystemExit(main())
