"""Onboarding import benchmark: 1,500 students + 3,000 parents + 120 teachers, 60 classes, 480 teaching
assignments and a term's weekly timetable (30 lessons a week per class), as one XLSX workbook and as CSV files.

    .venv/bin/python scripts/bench/import.py [--rounds 3] [--format xlsx|csv|both] [--keep-db]

1. Creates a scratch database and migrates it; starts the real app (every middleware, Redis, the outbox tables)
   on a local port in this process, with production settings (Argon2 at its default cost).
2. Each round: a new school (its year around today, a term of the next 8 weeks), then over HTTP:
   the dry run (`POST /api/v1/imports?dry_run=true`), the real run (`dry_run=false`), and the same file again
   (a rerun that must change nothing). CSV: the seven files one after another, each checked then imported
   (each refers to what the files before it wrote), the times summed per phase; then all seven again.
3. Prints each round and the medians, the rows written, and the load average before and after.
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
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from edutrack.cli import migrate  # noqa: E402
from edutrack.db.diary import AcademicYear, School, Term  # noqa: E402
from edutrack.db.engine import drop_database, ensure_database  # noqa: E402
from edutrack.keys import CTX  # noqa: E402
from edutrack.services import accounts  # noqa: E402
from edutrack.settings import load_settings  # noqa: E402
from tests.support.onboarding import SHEETS, OnboardingSchool  # noqa: E402

PG = os.environ.get("BENCH_PG_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432")
KINDS = list(SHEETS)


async def new_school(app: web.Application, n: int) -> tuple[int, str]:
    """A school with a year around today and a term of the next 8 weeks; an admin's access token."""
    ctx = app[CTX]
    today = datetime.now(UTC).date()
    async with ctx.sessions.begin() as session:
        school_id = (await session.execute(insert(School).returning(School.id),
                                           [{"name": f"Школа {n} {uuid.uuid4().hex[:6]}"}])).scalar_one()
        year_id = (await session.execute(insert(AcademicYear).returning(AcademicYear.id), [{
            "school_id": school_id, "name": "bench", "starts_on": today - timedelta(days=30),
            "ends_on": today + timedelta(days=300)}])).scalar_one()
        await session.execute(insert(Term), [{"school_id": school_id, "academic_year_id": year_id,
                                              "name": "1 четверть", "starts_on": today,
                                              "ends_on": today + timedelta(days=55)}])
    admin = await accounts._create(ctx, accounts.NewUser(
        email=f"admin{n}.{uuid.uuid4().hex[:6]}@example.test", password=uuid.uuid4().hex, role="admin",
        first_name="Анна", last_name="Администраторова", school_id=school_id))
    token, _ = ctx.tokens.issue_access(admin.id, admin.role, admin.school_id, False)
    return school_id, token


async def post(http: aiohttp.ClientSession, url: str, token: str, data: bytes, dry_run: bool) -> tuple[float, Any]:
    started = time.perf_counter()
    async with http.post(f"{url}/api/v1/imports?dry_run={'true' if dry_run else 'false'}", data=data,
                         headers={"Authorization": f"Bearer {token}"}) as resp:
        body = await resp.json()
        elapsed = time.perf_counter() - started
    if resp.status != 200 or not body.get("ok"):
        raise SystemExit(f"import failed: {resp.status} {str(body)[:2000]}")
    return elapsed, body


async def one_round(app: web.Application, http: aiohttp.ClientSession, url: str, n: int,
                    fmt: str) -> dict[str, float]:
    files = OnboardingSchool.make(classes=60, students_per_class=25, parents_per_student=2, teachers=120,
                                  subjects=8, lessons_per_day=6, tag=f"b{n}{uuid.uuid4().hex[:4]}")
    _school, token = await new_school(app, n)
    uploads = [files.xlsx()] if fmt == "xlsx" else [files.csv(kind) for kind in KINDS]
    result = {"dry run": 0.0, "real run": 0.0, "rerun": 0.0}
    summary: dict[str, Any] = {}
    # As a secretary would: each file checked, then imported (a CSV refers to what the files before it wrote).
    for data in uploads:
        for name, dry in (("dry run", True), ("real run", False)):
            elapsed, body = await post(http, url, token, data, dry)
            result[name] += elapsed
            if not dry:
                summary.update({kind: counts["created"] for kind, counts in body["summary"].items()})
    for data in uploads:
        elapsed, body = await post(http, url, token, data, False)
        result["rerun"] += elapsed
        assert all(c["created"] == c["updated"] == c["deleted"] == 0 for c in body["summary"].values())
    result["rows"] = sum(summary.values())
    print(f"  round {n} ({fmt}): " + ", ".join(f"{k} {v:.1f} s" for k, v in result.items() if k != "rows")
          + f"; created {summary}", flush=True)
    return result


async def main(args: argparse.Namespace) -> None:
    url_db = f"{PG}/edutrack_bench_import_{uuid.uuid4().hex[:8]}"
    await ensure_database(url_db)
    env = {"DATABASE_URL": url_db, "JWT_SECRET": "bench-" + "s" * 40, "NAMESPACE": f"bench{uuid.uuid4().hex[:8]}",
           "LOG_LEVEL": "WARNING", "ENVIRONMENT": "production", "DEV_MAIL_CATCHER": "false",
           "IMPORT_MAX_PER_HOUR": "1000"}
    settings = load_settings(env, env_file=None)
    await asyncio.to_thread(migrate, settings)
    from edutrack.app import create_app

    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}"
    print(f"load average before: {os.getloadavg()}", flush=True)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
            formats = ["xlsx", "csv"] if args.format == "both" else [args.format]
            for fmt in formats:
                rounds = [await one_round(runner.app, http, url, n, fmt) for n in range(1, args.rounds + 1)]
                print(f"{fmt}: medians of {args.rounds}: " + ", ".join(
                    f"{k} {statistics.median(r[k] for r in rounds):.1f} s"
                    for k in ("dry run", "real run", "rerun")), flush=True)
    finally:
        print(f"load average after: {os.getloadavg()}", flush=True)
        await runner.cleanup()
        if not args.keep_db:
            await drop_database(url_db)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--format", choices=["xlsx", "csv", "both"], default="both")
    parser.add_argument("--keep-db", action="store_true")
    asyncio.run(main(parser.parse_args()))
