"""REST benchmark on the demo school: requests/s and p50/p99 latency under concurrency 32.

    .venv/bin/python scripts/bench/rest.py [--seconds 10] [--concurrency 32] [--keep-db]

1. Creates a scratch database, migrates it and loads the full demo school (`edutrack.demo.load_demo`).
2. Starts ONE server process (this script with --serve) holding two aiohttp sites on the same event loop:
   the real EduTrack app (all middlewares, auth, services) and a bare aiohttp app whose only handler does one
   single-row SELECT through an asyncpg pool and returns it as JSON: the practical limit of this stack here.
3. From this process (the load generator, another core), for each endpoint in turn: 1 s warm-up, then
   `--seconds` of 32 concurrent keep-alive clients in a closed loop; every status must be 200.
   Endpoints: bare SELECT, GET /students/{id}/grades?term_id= (a parent), GET /lessons?class_id=&from=&to=
   (one week, the class teacher), GET /classes/{id}/term-sheet?term_id= (the admin), GET /profile/me (the
   floor of the stack: token, middlewares, one statement), bare SELECT again.
Reports per endpoint: requests, req/s, p50, p99, ratio to the bare baseline (mean of the two bare runs).
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
from scripts.bench.common import bench_env, free_port  # noqa: E402

PG = os.environ.get("BENCH_PG_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432")


# ----------------------------------------------------------------------------------------------- server side
async def serve(app_port: int, bare_port: int) -> None:
    from edutrack.app import create_app

    settings = load_settings(env_file=None)
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", app_port).start()

    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    pool = await asyncpg.create_pool(dsn, min_size=5, max_size=10)

    async def bare(request: web.Request) -> web.Response:
        row = await pool.fetchrow("SELECT id, email, role FROM users WHERE id = $1", int(request.query["id"]))
        return web.json_response(dict(row) if row else {})

    bare_app = web.Application()
    bare_app.router.add_get("/bare", bare)
    bare_runner = web.AppRunner(bare_app, access_log=None)
    await bare_runner.setup()
    await web.TCPSite(bare_runner, "127.0.0.1", bare_port).start()
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await bare_runner.cleanup()
    await pool.close()
    await runner.cleanup()


# ----------------------------------------------------------------------------------------------- load side
async def run_load(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        async def worker(until: float, record: bool) -> None:
            while time.perf_counter() < until:
                t0 = time.perf_counter()
                async with http.get(url) as resp:
                    await resp.read()
                    status = resp.status
                if record:
                    latencies.append(time.perf_counter() - t0)
                    if status != 200:
                        errors[status] = errors.get(status, 0) + 1

        warm = time.perf_counter() + 1.0
        await asyncio.gather(*(worker(warm, False) for _ in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], "errors": errors}


async def login(base: str, email: str, password: str) -> dict[str, str]:
    async with aiohttp.ClientSession() as http, http.post(
            f"{base}/api/v1/auth/login", json={"email": email, "password": password}) as resp:
        body = await resp.json()
        assert resp.status == 200, body
        return {"Authorization": f"Bearer {body['access_token']}"}


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--serve", nargs=2, type=int, metavar=("APP_PORT", "BARE_PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        await serve(*args.serve)
        return 0

    database_url = f"{PG}/edutrack_bench_rest_{uuid.uuid4().hex[:6]}"
    env = bench_env(database_url)
    await ensure_database(database_url)
    proc: asyncio.subprocess.Process | None = None
    try:
        settings = load_settings(env, env_file=None)
        await asyncio.to_thread(migrate, settings)
        from edutrack.demo import DEMO_PASSWORD, load_demo
        from edutrack.resources import open_context

        async with open_context(settings, role="cli", connect_amqp=False, small_pool=True) as ctx:
            demo = await load_demo(ctx)
            pg = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
            student = await pg.fetchrow("SELECT u.id, cs.class_id FROM users u JOIN class_students cs "
                                        "ON cs.student_id = u.id WHERE u.email = $1", demo.logins["student"])
            lead = await pg.fetchval("SELECT u.email FROM classes c JOIN users u ON u.id = c.class_teacher_id "
                                     "WHERE c.id = $1", student["class_id"])
            term_id = await pg.fetchval("SELECT id FROM terms WHERE school_id = $1 ORDER BY starts_on LIMIT 1",
                                        demo.school_id)
            grades_in_term = await pg.fetchval("SELECT count(*) FROM grades WHERE student_id = $1", student["id"])
            await pg.execute("ANALYZE")
            await pg.close()
        print(f"demo school loaded in {demo.seconds:.1f}s: {demo.counts}", file=sys.stderr)

        app_port, bare_port = free_port(), free_port()
        proc = await asyncio.create_subprocess_exec(sys.executable, __file__, "--serve", str(app_port),
                                                    str(bare_port), env=env, stdout=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line.strip() == b"ready", line
        base = f"http://127.0.0.1:{app_port}"
        parent = await login(base, demo.logins["parent"], DEMO_PASSWORD)
        teacher = await login(base, lead, DEMO_PASSWORD)
        admin = await login(base, demo.logins["admin"], DEMO_PASSWORD)
        cases = [
            ("bare SELECT (baseline)", f"http://127.0.0.1:{bare_port}/bare?id={student['id']}", {}),
            (f"GET /students/{{id}}/grades?term_id= ({grades_in_term} grades)",
             f"{base}/api/v1/students/{student['id']}/grades?term_id={term_id}", parent),
            ("GET /lessons?class_id=&from=&to= (one week, 30 lessons)",
             f"{base}/api/v1/lessons?class_id={student['class_id']}&from=2026-10-05&to=2026-10-11", teacher),
            ("GET /classes/{id}/term-sheet?term_id= (25 students x 12 subjects)",
             f"{base}/api/v1/classes/{student['class_id']}/term-sheet?term_id={term_id}", admin),
            # The stack's own floor: token check, middlewares, one statement (on the driver connection).
            ("GET /profile/me (stack floor: auth + 1 query)", f"{base}/api/v1/profile/me", parent),
            ("bare SELECT (baseline, again)", f"http://127.0.0.1:{bare_port}/bare?id={student['id']}", {}),
        ]
        results = []
        for name, url, headers in cases:
            r = await run_load(url, headers, args.seconds, args.concurrency)
            results.append((name, r))
            print(f"{name}: {r['rps']:.0f} req/s p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms "
                  f"errors {r['errors']}", file=sys.stderr)
        baseline = (results[0][1]["rps"] + results[-1][1]["rps"]) / 2
        print(f"\nconcurrency {args.concurrency}, {args.seconds:.0f} s per endpoint, baseline {baseline:.0f} req/s\n")
        print("| endpoint | requests | req/s | p50 ms | p99 ms | vs bare | goal met (>= 0.5x, p99 < 50 ms) |")
        print("|---|---|---|---|---|---|---|")
        for name, r in results:
            ratio = r["rps"] / baseline
            met = "yes" if ratio >= 0.5 and r["p99_ms"] < 50 and not r["errors"] else "no"
            print(f"| {name} | {r['requests']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                  f"{ratio:.2f} | {met if 'bare' not in name and 'floor' not in name else '-'} |")
        print("\n" + json.dumps({name: r for name, r in results}, default=str), file=sys.stderr)
        return 0
    finally:
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
        if not args.keep_db:
            await drop_database(database_url)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
