"""Email pipeline benchmark: N outbox rows -> relay -> RabbitMQ -> notifiers -> a local SMTP sink.

    .venv/bin/python scripts/bench/email.py [--emails 10000] [--notifiers 2] [--relays 1]

Runs against the machine's PostgreSQL and RabbitMQ with a scratch database and a random namespace
(both removed at the end). The relay and the notifiers are real `edutrack relay` / `edutrack notifier`
processes; the SMTP sink is an aiosmtpd server in this process that records the X-EduTrack-Outbox-Id of
every accepted message. The clock starts when the rows commit (workers already running) and stops when
the sink has seen every id and the database says every row is 'sent'.
Reports: time, emails/s, lost (ids never received), duplicated (received more than once).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is called email.py (its name in the project layout), and Python puts a script's own folder
# first on sys.path, where it would shadow the standard library's `email` package: take that entry out.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
ROOT = _HERE.parents[1]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from typing import Any  # noqa: E402

import aio_pika  # noqa: E402
import asyncpg  # noqa: E402
from aiosmtpd.smtp import SMTP  # noqa: E402

from edutrack.cli import migrate  # noqa: E402
from edutrack.db.engine import drop_database, ensure_database  # noqa: E402
from edutrack.outbox import topology  # noqa: E402
from edutrack.settings import load_settings  # noqa: E402

OUTBOX_ID = re.compile(rb"^X-EduTrack-Outbox-Id: (\d+)", re.MULTILINE)
EDUTRACK = str(Path(sys.executable).parent / "edutrack")


class Sink:
    def __init__(self) -> None:
        self.seen: Counter[int] = Counter()
        self.first_at: float | None = None
        self.last_at = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = OUTBOX_ID.search(envelope.original_content or b"")
        if found:
            self.seen[int(found.group(1))] += 1
            now = time.perf_counter()
            self.first_at = self.first_at or now
            self.last_at = now
        return "250 OK"


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--notifiers", type=int, default=2)
    parser.add_argument("--relays", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4, help="SMTP connections per notifier")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--profile", metavar="DIR", help="run the workers under cProfile, writing DIR/<role>-<n>.prof")
    args = parser.parse_args()

    sink = Sink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="bench-sink"), "127.0.0.1", 0)
    smtp_port = server.sockets[0].getsockname()[1]

    namespace = f"bench{uuid.uuid4().hex[:10]}"
    database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/edutrack_bench_email_{os.getpid()}"
    env = {
        "ENVIRONMENT": "test", "DATABASE_URL": database_url, "JWT_SECRET": "bench-" + "x" * 40,
        "NAMESPACE": namespace, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "DEV_MAIL_CATCHER": "false",
        "LOG_LEVEL": "WARNING", "NOTIFIER_CONCURRENCY": str(args.concurrency), "RELAY_POLL_INTERVAL": "0.1",
        "DIGEST_INTERVAL": "60",
    }
    settings = load_settings(env, env_file=None)
    await ensure_database(database_url)
    await asyncio.to_thread(migrate, settings)
    procs: list[asyncio.subprocess.Process] = []
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    result: dict[str, Any] = {}
    try:
        child_env = {**os.environ, **env}
        def command(role: str, n: int) -> list[str]:
            if not args.profile:
                return [EDUTRACK, role]
            return [sys.executable, "-m", "cProfile", "-o", f"{args.profile}/{role}-{n}.prof", "-m", "edutrack", role]

        for n in range(args.relays):
            procs.append(await asyncio.create_subprocess_exec(*command("relay", n), env=child_env))
        for n in range(args.notifiers):
            procs.append(await asyncio.create_subprocess_exec(*command("notifier", n), env=child_env))
        await asyncio.sleep(3)  # let the workers connect and declare their queues

        rows = [(f"reader{i}@example.test", f"Письмо {i}", f"Текст письма номер {i}.\n" * 5,
                 f"<p>Текст письма номер {i}.</p>", "bench") for i in range(args.emails)]
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO email_outbox (recipient, subject, body_text, body_html, kind) VALUES ($1,$2,$3,$4,$5)",
                rows)
        started = time.perf_counter()
        ids = {r["id"] for r in await conn.fetch("SELECT id FROM email_outbox")}
        deadline = started + args.timeout
        while time.perf_counter() < deadline:
            sent = await conn.fetchval("SELECT count(*) FROM email_outbox WHERE status = 'sent'")
            if sent == args.emails and set(sink.seen) >= ids:
                break
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(1.0)  # a late duplicate would land now
        received = sum(sink.seen.values())
        statuses = dict(await conn.fetch("SELECT status, count(*) FROM email_outbox GROUP BY status"))
        result = {
            "emails": args.emails, "relays": args.relays, "notifiers": args.notifiers,
            "smtp_connections_per_notifier": args.concurrency,
            "seconds": round(elapsed, 2), "emails_per_second": round(args.emails / elapsed, 1),
            "received": received, "lost": len(ids - set(sink.seen)),
            "duplicated": received - len(set(sink.seen)), "statuses": statuses,
        }
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
        await conn.close()
        server.close()
        connection = await aio_pika.connect(settings.rabbitmq_url)
        await topology.delete(await connection.channel(), settings)
        await connection.close()
        await drop_database(database_url)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if result.get("lost") == 0 and result.get("duplicated") == 0 else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
