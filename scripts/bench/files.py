"""Attachment benchmark: a 20 MB file uploaded through one `edutrack api` process and downloaded through
another, both on one PostgreSQL (chunks of 256 KiB in `file_chunks`).

    .venv/bin/python scripts/bench/files.py [--rounds 5] [--size-mb 20] [--keep-db]

1. Creates a scratch database and migrates it; a school and a student (their access token) are written through
   the app in this process; then two API processes are started on local ports (production settings).
2. A warm-up round (a 2 MB file up and down), then each round: a new PDF of random bytes (incompressible)
   uploaded to node A as a streamed body (256 KiB writes, no Content-Length), then downloaded from node B and
   its SHA-256 checked. Timed from the first byte sent to the 201, and from the request to the last byte read.
   Each node's RSS is sampled every 20 ms during its transfer (/proc/<pid>/status): the peak, and its growth
   over the RSS just before.
3. Prints every round and the medians: upload and download MB/s (1 MB = 10^6 bytes), peak RSS and growth.
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
import hashlib  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from edutrack.cli import migrate  # noqa: E402
from edutrack.db.diary import School  # noqa: E402
from edutrack.db.engine import drop_database, ensure_database  # noqa: E402
from edutrack.keys import CTX  # noqa: E402
from edutrack.services import accounts  # noqa: E402
from edutrack.settings import load_settings  # noqa: E402
from tests.support.nodes import ApiNode, api_node  # noqa: E402

PG = os.environ.get("BENCH_PG_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432")
PIECE = 256 * 1024


def pdf(size: int) -> bytes:
    head = b"%PDF-1.4\n"
    return head + os.urandom(size - len(head))


async def student_token(env: dict[str, str]) -> str:
    from edutrack.app import create_app

    settings = load_settings(env, env_file=None)
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    try:
        ctx = runner.app[CTX]
        async with ctx.sessions.begin() as session:
            school_id = (await session.execute(insert(School).returning(School.id),
                                               [{"name": f"Школа {uuid.uuid4().hex[:6]}"}])).scalar_one()
        student = await accounts._create(ctx, accounts.NewUser(
            email=f"s.{uuid.uuid4().hex[:6]}@example.test", password=uuid.uuid4().hex, role="student",
            first_name="Иван", last_name="Учеников", school_id=school_id))
        token, _ = ctx.tokens.issue_access(student.id, student.role, student.school_id, False)
        return token
    finally:
        await runner.cleanup()


async def upload(http: aiohttp.ClientSession, node: ApiNode, token: str, data: bytes) -> dict[str, Any]:
    async def pieces() -> Any:
        for i in range(0, len(data), PIECE):
            yield data[i:i + PIECE]

    async with http.post(f"{node.url}/api/v1/files?name=bench.pdf", data=pieces(),
                         headers={"Authorization": f"Bearer {token}"}) as resp:
        body: dict[str, Any] = await resp.json()
        assert resp.status == 201, body
        return body


async def download(http: aiohttp.ClientSession, node: ApiNode, token: str, file_id: int) -> str:
    digest = hashlib.sha256()
    async with http.get(f"{node.url}/api/v1/files/{file_id}", headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200, resp.status
        async for data in resp.content.iter_chunked(PIECE):
            digest.update(data)
    return digest.hexdigest()


async def one_round(http: aiohttp.ClientSession, a: ApiNode, b: ApiNode, token: str, size: int) -> dict[str, float]:
    data = pdf(size)
    async with a.peak_rss() as up_rss:
        started = time.perf_counter()
        stored = await upload(http, a, token, data)
        up = time.perf_counter() - started
    async with b.peak_rss() as down_rss:
        started = time.perf_counter()
        digest = await download(http, b, token, stored["id"])
        down = time.perf_counter() - started
    assert digest == hashlib.sha256(data).hexdigest()
    return {"up MB/s": size / up / 1e6, "down MB/s": size / down / 1e6,
            "up peak RSS MiB": up_rss[1] / 1024, "up growth MiB": (up_rss[1] - up_rss[0]) / 1024,
            "down peak RSS MiB": down_rss[1] / 1024, "down growth MiB": (down_rss[1] - down_rss[0]) / 1024}


async def main(args: argparse.Namespace) -> None:
    url_db = f"{PG}/edutrack_bench_files_{uuid.uuid4().hex[:8]}"
    await ensure_database(url_db)
    env = {**os.environ, "DATABASE_URL": url_db, "JWT_SECRET": "bench-" + "s" * 40,
           "NAMESPACE": f"bench{uuid.uuid4().hex[:8]}", "LOG_LEVEL": "WARNING", "ENVIRONMENT": "production",
           "DEV_MAIL_CATCHER": "false", "FILE_UPLOADS_PER_HOUR": "1000"}
    await asyncio.to_thread(migrate, load_settings(env, env_file=None))
    size = int(args.size_mb * 1024 * 1024)
    print(f"load average before: {os.getloadavg()}", flush=True)
    try:
        token = await student_token(env)
        async with api_node(env) as a, api_node(env) as b, aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=600)) as http:
            await one_round(http, a, b, token, 2 * 1024 * 1024)  # warm-up
            rounds = []
            for n in range(1, args.rounds + 1):
                rounds.append(await one_round(http, a, b, token, size))
                print(f"round {n}: " + ", ".join(f"{k} {v:.1f}" for k, v in rounds[-1].items()), flush=True)
            print(f"medians of {args.rounds} ({args.size_mb} MiB): " + ", ".join(
                f"{k} {statistics.median(r[k] for r in rounds):.1f}" for k in rounds[0]), flush=True)
    finally:
        print(f"load average after: {os.getloadavg()}", flush=True)
        if not args.keep_db:
            await drop_database(url_db)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size-mb", type=float, default=20)
    parser.add_argument("--keep-db", action="store_true")
    asyncio.run(main(parser.parse_args()))
