"""Mixed reads and writes on the demo school: 90 % cached diary reads, 10 % teachers' grade writes that invalidate
them, through the real REST API; p50/p90/p99 for reads, writes and both, the cache's hit ratio, errors.

    .venv/bin/python scripts/bench/mixed.py [--seconds 20] [--concurrency 32] [--rounds 3] [--write-share 0.1]
                                            [--servers 1]

1. Creates a scratch database, migrates it and loads the full demo school (as scripts/bench/rest.py does).
2. Starts ONE server process (this script with --serve): the real app with production settings on the loop its
   settings choose (uvloop), beside a small stats site that reports how many whole-response cache lookups found
   their entry (`edutrack.cache.lookup`, counted, not changed). `--servers N` starts N such processes (the
   design's N stateless API nodes, here on the same machine), each client keeps to one of them (client i to
   server i mod N), and hits, misses and CPU are summed over them.
3. From this process (the load generator, on the same two cores), `--concurrency` keep-alive clients in a closed
   loop; each request is, at random, a read (share 1 - write_share) or a write:
   - reads, the diary's hot cached reads, each of the four equally often: a parent reads their child's grades of
     the current term; a student reads their own; a parent or a student reads their class's current week
     (`GET /lessons?class_id=&from=&to=`); the class teacher reads the class's term sheet of the current term;
   - writes, each of the two equally often: a teacher grades a student of a class and subject they teach
     (`POST /grades`, dated a school day of the current term), or changes the value of one of the existing
     grades of such a class and subject (`PATCH /grades/{id}`); both invalidate the student's grade lists and
     the class's term sheets (edutrack/cache.py), so the next read of them is a miss.
   The actors are every student, parent and teacher of the first `--classes` classes (tokens minted with the
   server's secret, as the tests do: logging 600 people in would be a benchmark of Argon2).
   Each round runs a read-only mix and the asked mix back to back, after 2 s of warm-up each.
4. Reports medians over the rounds: req/s, p50/p90/p99 of reads, writes and all, hit ratio, errors, the server's
   CPU per request, and the load average before and after.
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
import random  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from aiohttp import web  # noqa: E402

from edutrack.cli import migrate  # noqa: E402
from edutrack.db.engine import drop_database, ensure_database  # noqa: E402
from edutrack.security.tokens import TokenService  # noqa: E402
from edutrack.settings import load_settings  # noqa: E402
from scripts.bench.common import bench_env, cpu_seconds, free_port  # noqa: E402

PG = os.environ.get("BENCH_PG_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432")


# ----------------------------------------------------------------------------------------------- server side
def serve(app_port: int, stats_port: int) -> None:
    from edutrack import cache, loops
    from edutrack.app import create_app

    counts = {"hits": 0, "misses": 0}
    real_lookup = cache.lookup

    async def counted(ctx: Any, buckets: Any, field: str) -> cache.Lookup:
        found = await real_lookup(ctx, buckets, field)
        counts["hits" if found.value is not None else "misses"] += 1
        return found

    cache.lookup = counted  # type: ignore[assignment]
    settings = load_settings(env_file=None)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(counts)

    async def run() -> None:
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", app_port).start()
        stats_app = web.Application()
        stats_app.router.add_get("/stats", stats)
        stats_runner = web.AppRunner(stats_app, access_log=None)
        await stats_runner.setup()
        await web.TCPSite(stats_runner, "127.0.0.1", stats_port).start()
        print("ready", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await stats_runner.cleanup()
        await runner.cleanup()

    loops.run(settings, run())


# ----------------------------------------------------------------------------------------------- the workload
@dataclass
class Workload:
    reads: list[list[tuple[dict[str, str], str]]]  # per kind of read: (headers, path)
    teaching: list[tuple[dict[str, str], int, int, list[int], list[int]]]  # headers, class, subject, students, grades
    work_types: list[int]
    days: list[date]


async def build_workload(pg: asyncpg.Connection, tokens: TokenService, school_id: int, classes: int) -> Workload:
    def headers(user: asyncpg.Record) -> dict[str, str]:
        token, _ = tokens.issue_access(user["id"], user["role"], user["school_id"], False)
        return {"Authorization": f"Bearer {token}"}

    today = datetime.now(UTC).date()
    term = await pg.fetchrow("SELECT id, starts_on FROM terms WHERE school_id = $1 AND starts_on <= $2 "
                             "ORDER BY starts_on DESC LIMIT 1", school_id, today)
    monday = today - timedelta(days=today.weekday())
    week = f"from={monday - timedelta(days=7)}&to={monday - timedelta(days=1)}"  # the last full school week
    class_rows = await pg.fetch("SELECT c.id, c.class_teacher_id FROM classes c WHERE c.school_id = $1 "
                                "ORDER BY c.id LIMIT $2", school_id, classes)
    users = {u["id"]: u for u in await pg.fetch("SELECT id, role, school_id FROM users WHERE school_id = $1",
                                                school_id)}
    grades_by_parent, grades_by_student, weeks, sheets = [], [], [], []
    teaching = []
    for cls in class_rows:
        students = [r["student_id"] for r in await pg.fetch(
            "SELECT student_id FROM class_students WHERE class_id = $1 ORDER BY student_id", cls["id"])]
        for sid in students:
            grades_path = f"/api/v1/students/{sid}/grades?term_id={term['id']}"
            grades_by_student.append((headers(users[sid]), grades_path))
            weeks.append((headers(users[sid]), f"/api/v1/lessons?class_id={cls['id']}&{week}"))
            for pid in await pg.fetch("SELECT parent_id FROM parent_children WHERE child_id = $1", sid):
                grades_by_parent.append((headers(users[pid["parent_id"]]), grades_path))
                weeks.append((headers(users[pid["parent_id"]]), f"/api/v1/lessons?class_id={cls['id']}&{week}"))
        sheets.append((headers(users[cls["class_teacher_id"]]),
                       f"/api/v1/classes/{cls['id']}/term-sheet?term_id={term['id']}"))
        for a in await pg.fetch("SELECT teacher_id, subject_id FROM teaching_assignments WHERE class_id = $1",
                                cls["id"]):
            ids = [r["id"] for r in await pg.fetch(
                "SELECT id FROM grades WHERE class_id = $1 AND subject_id = $2 AND value IS NOT NULL "
                "AND deleted_at IS NULL AND date >= $3", cls["id"], a["subject_id"], term["starts_on"])]
            teaching.append((headers(users[a["teacher_id"]]), cls["id"], a["subject_id"], students, ids))
    work_types = [r["id"] for r in await pg.fetch("SELECT id FROM work_types WHERE school_id = $1", school_id)]
    days = [term["starts_on"] + timedelta(days=n) for n in range((today - term["starts_on"]).days + 1)]
    days = [d for d in days if d.weekday() < 5]
    return Workload([grades_by_parent, grades_by_student, weeks, sheets], teaching, work_types, days)


@dataclass
class Tally:
    reads: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


async def one_request(http: aiohttp.ClientSession, base: str, work: Workload, write_share: float,
                      rng: random.Random, tally: Tally | None) -> None:
    write = rng.random() < write_share
    if write:
        hdrs, class_id, subject_id, students, grade_ids = rng.choice(work.teaching)
        if grade_ids and rng.random() < 0.5:
            method, path = "PATCH", f"/api/v1/grades/{rng.choice(grade_ids)}"
            body: dict[str, Any] = {"value": rng.randint(2, 5)}
        else:
            method, path = "POST", "/api/v1/grades"
            body = {"student_id": rng.choice(students), "subject_id": subject_id, "class_id": class_id,
                    "work_type_id": rng.choice(work.work_types), "date": rng.choice(work.days).isoformat(),
                    "value": rng.randint(2, 5)}
    else:
        hdrs, path = rng.choice(rng.choice(work.reads))
        method, body = "GET", None
    t0 = time.perf_counter()
    async with http.request(method, base + path, headers=hdrs, json=body) as resp:
        await resp.read()
        status = resp.status
    if tally is not None:
        (tally.writes if write else tally.reads).append(time.perf_counter() - t0)
        if status >= 300:
            key = f"{method} {status}"
            tally.errors[key] = tally.errors.get(key, 0) + 1


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


async def _stats(http: aiohttp.ClientSession, stats_urls: list[str]) -> dict[str, int]:
    """Hits and misses summed over the servers."""
    total = {"hits": 0, "misses": 0}
    for url in stats_urls:
        async with http.get(url) as resp:
            found = await resp.json()
        total = {key: total[key] + found[key] for key in total}
    return total


async def run_mix(bases: list[str], stats_urls: list[str], pids: list[int], work: Workload, write_share: float,
                  seconds: float, concurrency: int, seed: int) -> dict[str, Any]:
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        async def worker(n: int, until: float, record: bool) -> None:
            rng = random.Random(seed * 1000 + n)
            while time.perf_counter() < until:
                await one_request(http, bases[n % len(bases)], work, write_share, rng, tally if record else None)

        warm = time.perf_counter() + 2.0
        await asyncio.gather(*(worker(n, warm, False) for n in range(concurrency)))
        before = await _stats(http, stats_urls)
        cpu0 = sum(cpu_seconds(pid) for pid in pids)
        started = time.perf_counter()
        await asyncio.gather(*(worker(n, started + seconds, True) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu0
        after = await _stats(http, stats_urls)
    hits, misses = after["hits"] - before["hits"], after["misses"] - before["misses"]
    both = tally.reads + tally.writes
    return {"rps": len(both) / elapsed, "reads": len(tally.reads), "writes": len(tally.writes),
            **{f"{name}_{q}": pct(values, p) for name, values in (("read", tally.reads), ("write", tally.writes),
                                                                   ("all", both))
               for q, p in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))},
            "hit_ratio": hits / max(1, hits + misses), "errors": tally.errors,
            "cpu_ms_per_request": 1000 * cpu / max(1, len(both))}


# ----------------------------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write-share", type=float, default=0.1)
    parser.add_argument("--classes", type=int, default=12)
    parser.add_argument("--servers", type=int, default=1, help="API processes; clients spread over them")
    parser.add_argument("--serve", nargs=2, type=int, metavar=("APP_PORT", "STATS_PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0
    return asyncio.run(measure(args))


async def measure(args: argparse.Namespace) -> int:
    database_url = f"{PG}/edutrack_bench_mixed_{uuid.uuid4().hex[:6]}"
    env = bench_env(database_url)
    await ensure_database(database_url)
    procs: list[asyncio.subprocess.Process] = []
    try:
        settings = load_settings(env, env_file=None)
        await asyncio.to_thread(migrate, settings)
        from edutrack.demo import load_demo
        from edutrack.resources import open_context

        async with open_context(settings, role="cli", connect_amqp=False, small_pool=True) as ctx:
            demo = await load_demo(ctx)
        pg = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        await pg.execute("ANALYZE")
        tokens = TokenService(settings.jwt_secret, settings.jwt_algorithm, settings.access_token_ttl)
        work = await build_workload(pg, tokens, demo.school_id, args.classes)
        await pg.close()
        print(f"demo school loaded in {demo.seconds:.1f}s; {sum(len(r) for r in work.reads)} readers, "
              f"{len(work.teaching)} teaching assignments", file=sys.stderr)

        bases, stats_urls = [], []
        for _ in range(args.servers):
            app_port, stats_port = free_port(), free_port()
            proc = await asyncio.create_subprocess_exec(sys.executable, __file__, "--serve", str(app_port),
                                                        str(stats_port), env=env, stdout=asyncio.subprocess.PIPE)
            procs.append(proc)
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 120)
            assert line.strip() == b"ready", line
            bases.append(f"http://127.0.0.1:{app_port}")
            stats_urls.append(f"http://127.0.0.1:{stats_port}/stats")
        mixes = {"reads only": 0.0, f"{100 - 100 * args.write_share:.0f} % reads, "
                                    f"{100 * args.write_share:.0f} % writes": args.write_share}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in mixes}
        load_before = os.getloadavg()
        for n in range(args.rounds):
            for name, share in mixes.items():
                r = await run_mix(bases, stats_urls, [p.pid for p in procs], work, share, args.seconds,
                                  args.concurrency, n)
                runs[name].append(r)
                print(f"round {n + 1} {name}: {json.dumps(r)}", file=sys.stderr)
        load_after = os.getloadavg()
        report(args, runs, load_before, load_after)
        return 0
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
        await drop_database(database_url)


def report(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]], load_before: tuple[float, ...],
           load_after: tuple[float, ...]) -> None:
    print(f"\n{args.concurrency} clients, {args.servers} server process(es), {args.seconds:.0f} s per mix, medians of "
          f"{args.rounds} rounds; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after ({os.cpu_count()} CPUs)\n")
    print("| mix | req/s | reads p50 / p90 / p99 ms | writes p50 / p90 / p99 ms | all p50 / p90 / p99 ms | "
          "hit ratio | errors | CPU ms per request | goal (all p99 <= 50 ms) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rs in runs.items():
        def med(key: str, rs: list[dict[str, Any]] = rs) -> float:
            return statistics.median(r[key] for r in rs)

        def trio(kind: str) -> str:
            return " / ".join(f"{med(f'{kind}_{q}'):.1f}" for q in ("p50", "p90", "p99"))

        errors = sum(sum(r["errors"].values()) for r in rs)
        writes = trio("write") if med("writes") else "-"
        met = "yes" if med("all_p99") <= 50 and not errors else "no"
        print(f"| {name} | {med('rps'):.0f} | {trio('read')} | {writes} | {trio('all')} | {med('hit_ratio'):.3f} | "
              f"{errors} | {med('cpu_ms_per_request'):.2f} | {met} |")


if __name__ == "__main__":
    raise SystemExit(main())
