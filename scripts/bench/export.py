"""Export benchmark on the demo school: the class journal and the term sheet (XLSX) and a report card (PDF).

    .venv/bin/python scripts/bench/export.py [--rounds 5] [--keep-db]

Creates a scratch database, loads the full demo school (`edutrack.demo.load_demo`), starts the real app on a
local port in this process and, as the school's admin, downloads for the first term that is over: the journal of
each subject of 5А (the largest, Математика or Алгебра, is reported too), the class term sheet, and the report card
of one student; `--rounds` times each, reporting medians and sizes.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
ROOT = _HERE.parents[1]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import date  # noqa: E402

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import select  # noqa: E402

from edutrack.cli import migrate  # noqa: E402
from edutrack.db.diary import ClassStudent, Lesson, SchoolClass, Subject, Term  # noqa: E402
from edutrack.db.engine import drop_database, ensure_database  # noqa: E402
from edutrack.db.models import User  # noqa: E402
from edutrack.demo.loader import load_demo  # noqa: E402
from edutrack.keys import CTX  # noqa: E402
from edutrack.settings import load_settings  # noqa: E402

PG = os.environ.get("BENCH_PG_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432")


async def timed(http: aiohttp.ClientSession, url: str, token: str, rounds: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise SystemExit(f"{url}: {resp.status} {body[:500]!r}")
        times.append(time.perf_counter() - started)
        size = len(body)
    return statistics.median(times), size


async def main(args: argparse.Namespace) -> None:
    url_db = f"{PG}/edutrack_bench_export_{uuid.uuid4().hex[:8]}"
    await ensure_database(url_db)
    settings = load_settings({"DATABASE_URL": url_db, "JWT_SECRET": "bench-" + "s" * 40,
                              "NAMESPACE": f"bench{uuid.uuid4().hex[:8]}", "LOG_LEVEL": "WARNING",
                              "ENVIRONMENT": "production", "DEV_MAIL_CATCHER": "false",
                              "EXPORT_MAX_PER_MINUTE": "100000"}, env_file=None)
    await asyncio.to_thread(migrate, settings)
    from edutrack.app import create_app

    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    ctx = runner.app[CTX]
    try:
        demo = await load_demo(ctx, progress_stream=io.StringIO())
        async with ctx.reads() as session:
            admin = (await session.execute(select(User).where(User.email == demo.logins["admin"]))).scalar_one()
            cls = (await session.execute(select(SchoolClass).where(SchoolClass.school_id == demo.school_id,
                                                                   SchoolClass.name == "5А")
                                         .order_by(SchoolClass.id.desc()))).scalars().first()
            assert cls is not None
            term = (await session.execute(select(Term).where(Term.school_id == demo.school_id,
                                                             Term.ends_on < date.today())
                                          .order_by(Term.starts_on.desc()))).scalars().first()
            assert term is not None, "no term is over yet: run with a later --today in load-demo"
            subjects = (await session.execute(select(Subject.id, Subject.name).join(
                Lesson, Lesson.subject_id == Subject.id).where(Lesson.class_id == cls.id).distinct())).all()
            student = (await session.execute(select(ClassStudent.student_id).where(
                ClassStudent.class_id == cls.id).limit(1))).scalar_one()
        token, _ = ctx.tokens.issue_access(admin.id, admin.role, admin.school_id, False)
        print(f"demo school: {demo.seconds:.1f} s; class {cls.name}, {term.name} ({term.starts_on} - {term.ends_on}),"
              f" {len(subjects)} subjects; load average {os.getloadavg()}", flush=True)
        async with aiohttp.ClientSession() as http:
            journals = []
            for subject_id, name in subjects:
                seconds, size = await timed(http, f"{base}/api/v1/classes/{cls.id}/journal.xlsx?subject_id="
                                            f"{subject_id}&term_id={term.id}", token, args.rounds)
                journals.append((seconds, size, name))
            slowest = max(journals)
            typical = statistics.median(j[0] for j in journals)
            print(f"journal.xlsx, {len(journals)} subjects: median of medians {typical:.3f} s; slowest {slowest[2]}"
                  f" {slowest[0]:.3f} s, {slowest[1]} bytes", flush=True)
            for label, url in (("term-sheet.xlsx", f"/api/v1/classes/{cls.id}/term-sheet.xlsx?term_id={term.id}"),
                               ("report-card.pdf", f"/api/v1/students/{student}/report-card.pdf?term_id={term.id}")):
                seconds, size = await timed(http, base + url, token, args.rounds)
                print(f"{label}: median {seconds:.3f} s, {size} bytes", flush=True)
        print(f"load average after: {os.getloadavg()}", flush=True)
    finally:
        await runner.cleanup()
        if not args.keep_db:
            await drop_database(url_db)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep-db", action="store_true")
    asyncio.run(main(parser.parse_args()))
