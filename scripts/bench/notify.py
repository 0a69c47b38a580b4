"""Issue 14's numbers: an announcement that asks 4,000 parents to confirm it, half of them online.

    .venv/bin/python scripts/bench/notify.py [--families 2000] [--acks 1000] [--ack-seconds 10] [--notifiers 2]

A school of `families` students in classes of 25, two parents each (`families` x 2 parents), one administrator.
Real processes: two `edutrack api` nodes, `--relays` `edutrack relay` (outbox relay + digest scheduler), `--notifiers`
`edutrack notifier`s sending to an aiosmtpd sink in this process. One parent of each family is online: a socket
on node A or B (alternately) subscribed to its feed `user:{id}`; the other is offline.

1. live: the administrator posts `announcements:{school}` with `ack: ["parent"]` over REST to node A; for each
   online parent, the time from just before the POST until its `notification` frame of that message arrives
   (the POST writes 4,000 notification rows in its transaction: that is inside the figure);
2. email: each offline parent gets one email (their `email` channel, after DIGEST_DELAY): the time until every one
   is an outbox row, and until the sink has received every one and the database says `sent`; lost (an offline
   parent never mailed), duplicated (an outbox id or a recipient received twice), and online parents mailed
   (must be none). Web push, the same way: each offline parent has one browser subscribed (`--no-push`: none),
   whose endpoint is a push service in this process that checks every request's VAPID signature
   (tests/email/push_service.py); its pushes go out at the dispatcher's default interval (PUSH_INTERVAL 2 s);
   the time until every one is an outbox row of kind `push`, and until the service has received every one
   and the database says `sent`; lost, duplicated, online parents pushed, and every payload decrypted;
3. acknowledgements: `--acks` online parents send `chat.ack` over their sockets, spread evenly over
   `--ack-seconds`; the author's socket is on node B: the time from each send until the author's `chat.ack`
   frame, which is when the author's page marks that person (static/web/news-acks.js updates its table in place);
   then one full read of the table (its time, and that it counts every confirmation).

Prints JSON. Needs PostgreSQL, Redis and RabbitMQ on localhost; creates and drops its own database and namespace.
"""

from __future__ import annotations

import sys
from pathlib import Path

# scripts/bench/ holds email.py, which would shadow the standard library's `email` (aiohttp imports it).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
ROOT = _HERE.parents[1]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402
from typing import Any  # noqa: E402

import aio_pika  # noqa: E402
import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from aiosmtpd.smtp import SMTP  # noqa: E402

from edutrack.cli import migrate  # noqa: E402
from edutrack.db.engine import drop_database, ensure_database  # noqa: E402
from edutrack.outbox import topology  # noqa: E402
from edutrack.security.tokens import TokenService  # noqa: E402
from edutrack.settings import load_settings  # noqa: E402
from tests.email.push_service import Browser, PushService, running_push_service  # noqa: E402

OUTBOX_ID = re.compile(rb"^X-EduTrack-Outbox-Id: (\d+)", re.MULTILINE)
EDUTRACK = str(Path(sys.executable).parent / "edutrack")
SECRET = "bench-" + "n" * 40
CLASS_SIZE = 25


class Sink:
    def __init__(self) -> None:
        self.ids: Counter[int] = Counter()
        self.recipients: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = OUTBOX_ID.search(envelope.original_content or b"")
        if found:
            self.ids[int(found.group(1))] += 1
        for rcpt in envelope.rcpt_tos:
            self.recipients[rcpt] += 1
        return "250 OK"


def push_arrivals(service: PushService | None) -> Counter[str]:
    return Counter(a.token for a in service.arrivals) if service is not None else Counter()


def stats(values: list[float]) -> dict[str, float]:
    """Milliseconds: median, p99, max."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {"n": len(ordered), "median_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


async def prepare(dsn: str, families: int, push: PushService | None,
                  browser: Browser) -> tuple[int, int, list[tuple[int, int, int]]]:
    """school, admin, [(student, online parent, offline parent)]; with `push`, each offline parent has one
    subscription there (the same browser keys for all: the server encrypts each push with a new key anyway)."""
    conn = await asyncpg.connect(dsn)
    try:
        school = await conn.fetchval("INSERT INTO schools (name) VALUES ('Bench') RETURNING id")
        admin = await conn.fetchval("INSERT INTO users (email, password_hash, role, school_id) VALUES "
                                    "('admin@bench.test', 'x', 'admin', $1) RETURNING id", school)
        made = {}
        for role, n in (("student", families), ("parent", 2 * families)):
            rows = await conn.fetch(
                "INSERT INTO users (email, password_hash, role, school_id) SELECT $1 || g || '@bench.test', 'x', "
                "$1, $2 FROM generate_series(1, $3) g RETURNING id", role, school, n)
            made[role] = sorted(r["id"] for r in rows)
        await conn.execute("INSERT INTO profiles (user_id, first_name, last_name) SELECT id, 'Имя', 'Фамилия' || id "
                           "FROM users WHERE school_id = $1", school)
        classes = await conn.fetch("INSERT INTO classes (school_id, name, grade_level) SELECT $1, 'К' || g, 5 "
                                   "FROM generate_series(1, $2) g RETURNING id", school,
                                   (families + CLASS_SIZE - 1) // CLASS_SIZE)
        class_ids = sorted(r["id"] for r in classes)
        students, parents = made["student"], made["parent"]
        await conn.copy_records_to_table("class_students", columns=["class_id", "student_id"], records=[
            (class_ids[i // CLASS_SIZE], s) for i, s in enumerate(students)])
        families_list = [(s, parents[2 * i], parents[2 * i + 1]) for i, s in enumerate(students)]
        await conn.copy_records_to_table("parent_children", columns=["parent_id", "child_id"], records=[
            (p, s) for s, a, b in families_list for p in (a, b)])
        if push is not None:
            keys = browser.keys()
            await conn.copy_records_to_table("push_subscriptions", columns=["user_id", "endpoint", "p256dh", "auth"],
                                             records=[(b, push.endpoint(f"u{b}"), keys["p256dh"], keys["auth"])
                                                      for _s, _a, b in families_list])
    finally:
        await conn.close()
    return school, admin, families_list


class Parent:
    def __init__(self, user_id: int, token: str) -> None:
        self.user_id = user_id
        self.token = token
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.notified: list[tuple[int, float]] = []  # (message id, arrival) of announcement notifications
        self.ack_ok = 0


async def open_socket(session: aiohttp.ClientSession, url: str, token: str,
                      feed: str) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(url, protocols=("edutrack.v1", f"bearer.{token}"), heartbeat=None,
                                  max_msg_size=0)
    while (await ws.receive_json())["type"] != "ready":
        pass
    await ws.send_json({"type": "subscribe", "channel": feed, "req": "s"})
    while (await ws.receive_json()).get("type") != "subscribed":
        pass
    return ws


async def read_parent(parent: Parent, everyone: asyncio.Event, waiting: list[int]) -> None:
    """Its notification may arrive before the POST that caused it has answered: keep every one, sort out later."""
    assert parent.ws is not None
    async for frame in parent.ws:
        if frame.type != aiohttp.WSMsgType.TEXT:
            break
        data = json.loads(frame.data)
        if data["type"] == "notification" and "message_id" in data.get("payload", {}):
            parent.notified.append((data["payload"]["message_id"], time.perf_counter()))
            if len(parent.notified) == 1:
                waiting[0] -= 1
                if waiting[0] == 0:
                    everyone.set()
        elif data["type"] == "chat.ack.ok":
            parent.ack_ok += 1


async def watch_outbox(conn: asyncpg.Connection, push: bool, arrivals: Callable[[], Counter[str]],
                       wanted: set[str], t0: float, timeout: float) -> dict[str, Any]:
    """Until every wanted recipient's email (or push) is an outbox row, then until the sink (or push service)
    has them all and they are 'sent'. `arrivals()`: what reached the sink so far, by recipient."""
    queued_at = sent_at = None
    while time.perf_counter() < t0 + timeout:
        queued, sent = await conn.fetchrow("SELECT count(*), count(*) FILTER (WHERE status = 'sent') "
                                           "FROM email_outbox WHERE (kind = 'push') = $1", push)
        now = time.perf_counter()
        if queued_at is None and queued >= len(wanted):
            queued_at = now - t0
        if queued_at is not None and sent == queued and set(arrivals()) >= wanted:
            sent_at = now - t0
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # a late duplicate would land now
    rows = await conn.fetch("SELECT id, recipient FROM email_outbox WHERE (kind = 'push') = $1", push)
    arrived = arrivals()
    return {
        "wanted": len(wanted),
        "all_queued_s": None if queued_at is None else round(queued_at, 1),
        "all_sent_s": None if sent_at is None else round(sent_at, 1),
        "outbox_rows": len(rows),
        "lost": len(wanted - set(arrived)),
        "duplicated": sum(c - 1 for c in arrived.values()) + len(rows) - len({r["recipient"] for r in rows}),
        "online_parents_reached": len(set(arrived) - wanted),
    }


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--acks", type=int, default=1000)
    parser.add_argument("--ack-seconds", type=float, default=10.0)
    parser.add_argument("--notifiers", type=int, default=2)
    parser.add_argument("--relays", type=int, default=1)
    parser.add_argument("--digest-delay", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--no-push", dest="push", action="store_false", help="no push subscriptions")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))

    sink = Sink()
    browser = Browser()
    stack = contextlib.AsyncExitStack()
    push = await stack.enter_async_context(running_push_service()) if args.push else None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="bench-sink"), "127.0.0.1", 0)
    namespace = f"bench{uuid.uuid4().hex[:10]}"
    database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/edutrack_bench_notify_{os.getpid()}"
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    env = {
        "ENVIRONMENT": "test", "DATABASE_URL": database_url, "JWT_SECRET": SECRET, "NAMESPACE": namespace,
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.sockets[0].getsockname()[1]), "DEV_MAIL_CATCHER": "false",
        "LOG_LEVEL": "WARNING", "RELAY_POLL_INTERVAL": "0.1", "DIGEST_INTERVAL": "0.5",
        "DIGEST_DELAY": str(args.digest_delay), "SMTP_FROM": "school@bench.test", "PUSH_ALLOW_LOCAL_HTTP": "true",
    }
    settings = load_settings(env, env_file=None)
    await ensure_database(database_url)
    await asyncio.to_thread(migrate, settings)
    school, admin, families = await prepare(dsn, args.families, push, browser)
    tokens = TokenService(SECRET, "HS256", 24 * 3600)
    ports = (18811, 18812)
    child_env = {**os.environ, **env}
    procs = [await asyncio.create_subprocess_exec(EDUTRACK, "--env-file", "/nonexistent", "api", "--host",
                                                  "127.0.0.1", "--port", str(p), env=child_env) for p in ports]
    procs += [await asyncio.create_subprocess_exec(EDUTRACK, "--env-file", "/nonexistent", "relay", env=child_env)
              for _ in range(args.relays)]
    procs += [await asyncio.create_subprocess_exec(EDUTRACK, "--env-file", "/nonexistent", "notifier", env=child_env)
              for _ in range(args.notifiers)]
    result: dict[str, Any] = {"families": args.families, "parents": 2 * args.families,
                              "online_parents": args.families, "relays": args.relays, "notifiers": args.notifiers,
                              "digest_delay_s": args.digest_delay, "push_subscriptions": args.families if push else 0}
    conn = await asyncpg.connect(dsn)
    push_conn = await asyncpg.connect(dsn)  # the push watcher's: one connection runs one query at a time
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    parents: list[Parent] = []
    readers: list[asyncio.Task[None]] = []
    try:
        for port in ports:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/health") as resp:
                        if resp.status < 500:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        message: dict[str, int] = {}
        parents = [Parent(a, tokens.issue_access(a, "parent", school, False)[0]) for _s, a, _b in families]
        gate = asyncio.Semaphore(100)

        async def connect(i: int, parent: Parent) -> None:
            async with gate:
                parent.ws = await open_socket(http, f"ws://127.0.0.1:{ports[i % 2]}/ws", parent.token,
                                              f"user:{parent.user_id}")
        started = time.perf_counter()
        await asyncio.gather(*(connect(i, p) for i, p in enumerate(parents)))
        result["connect_seconds"] = round(time.perf_counter() - started, 1)
        everyone = asyncio.Event()
        waiting = [len(parents)]
        readers = [asyncio.create_task(read_parent(p, everyone, waiting)) for p in parents]
        admin_token = tokens.issue_access(admin, "admin", school, False)[0]
        author = await open_socket(http, f"ws://127.0.0.1:{ports[1]}/ws", admin_token, f"user:{admin}")
        room = f"announcements:{school}"
        headers = {"Authorization": f"Bearer {admin_token}"}
        sent_at_by_user: dict[int, float] = {}
        frame_at: dict[int, float] = {}
        frames: Counter[int] = Counter()
        all_framed = asyncio.Event()

        async def author_reader() -> None:
            """Reads from the start (an unread socket stops answering pings and is closed)."""
            async for frame in author:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(frame.data)
                if data["type"] == "chat.ack" and data["message_id"] == message.get("id"):
                    frame_at.setdefault(data["user_id"], time.perf_counter())
                    frames[data["user_id"]] += 1
                    if len(frame_at) >= args.acks:
                        all_framed.set()

        readers.append(asyncio.create_task(author_reader()))
        await asyncio.sleep(2)  # presence keys written; the relay sees who is online

        # 1. live delivery (and 2., the email, measured meanwhile)
        offline = {r["email"] for r in await conn.fetch("SELECT email FROM users WHERE id = ANY($1::bigint[])",
                                                        [b for _s, _a, b in families])}
        t0 = time.perf_counter()
        mail = asyncio.create_task(watch_outbox(conn, False, lambda: sink.recipients, offline, t0, args.timeout))
        subscribed = {f"u{b}" for _s, _a, b in families} if push is not None else set()
        pushes = asyncio.create_task(watch_outbox(push_conn, True, partial(push_arrivals, push), subscribed, t0,
                                                  args.timeout))
        async with http.post(f"http://127.0.0.1:{ports[0]}/api/v1/chats/{room}/messages", headers=headers,
                             json={"text": "Собрание в пятницу в 18:00. Подтвердите, пожалуйста.",
                                   "ack": ["parent"], "client_msg_id": "bench-1"}) as resp:
            assert resp.status == 201, await resp.text()
            message["id"] = (await resp.json())["id"]
        result["post_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone.wait(), 60)
        mine = [[at for m, at in p.notified if m == message["id"]] for p in parents]
        result["live"] = {**stats([got[0] - t0 for got in mine if got]),
                          "missing": sum(1 for got in mine if not got),
                          "duplicated": sum(len(got) - 1 for got in mine if got)}
        result["email"] = await mail
        pushed = await pushes
        if push is not None:
            result["push"] = {**pushed, "service_refused": len(push.refused),
                              "decrypted": sum(1 for a in push.arrivals if "title" in browser.decrypt(a.body))}

        # 3. acknowledgements and the author's table
        ackers = parents[: args.acks]
        gap = args.ack_seconds / max(1, len(ackers))
        start = time.perf_counter()
        for i, parent in enumerate(ackers):
            delay = start + i * gap - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            assert parent.ws is not None
            sent_at_by_user[parent.user_id] = time.perf_counter()
            await parent.ws.send_json({"type": "chat.ack", "channel": room, "message_id": message["id"],
                                       "req": "a"})
        result["acks_sent_in_s"] = round(time.perf_counter() - start, 2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_framed.wait(), 60)
        began = time.perf_counter()
        async with http.get(f"http://127.0.0.1:{ports[1]}/api/v1/chats/{room}/messages/{message['id']}/acks",
                            headers=headers) as resp:
            table = await resp.json()
        read_ms = round((time.perf_counter() - began) * 1000, 1)
        result["acks"] = {
            "sent": len(ackers), "ok_replies": sum(p.ack_ok for p in ackers),
            "stored": await conn.fetchval("SELECT count(*) FROM chat_acks"),
            "author_frame": stats([frame_at[u] - t for u, t in sent_at_by_user.items() if u in frame_at]),
            "frames_duplicated": sum(c - 1 for c in frames.values()),
            "table_read_after_ms": read_ms, "table_acknowledged": table.get("acknowledged"),
            "table_required": table.get("required"),
        }
    finally:
        for task in readers:
            task.cancel()
        for parent in parents:
            if parent.ws is not None:
                await parent.ws.close()
        await http.close()
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
        await conn.close()
        await push_conn.close()
        server.close()
        connection = await aio_pika.connect(settings.rabbitmq_url)
        await topology.delete(await connection.channel(), settings)
        await connection.close()
        await drop_database(database_url)
        await stack.aclose()
    print(json.dumps(result, ensure_ascii=False, indent=2))
    checked = [result.get("email", {})] + ([result.get("push", {})] if args.push else [])
    return 0 if all(c.get("lost") == 0 and c.get("duplicated") == 0 for c in checked) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
