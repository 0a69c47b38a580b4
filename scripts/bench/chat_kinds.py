"""What a room message's `chat_message` rows cost in PostgreSQL, per message, three ways (docs/benchmarks.md):

  * prefiltered (what EduTrack does): only the members whose choice or role default is not off are candidates
    (`may_want`, cached per room by the group commit); `notification_mask` decides each candidate's channels in the
    INSERT ... SELECT and only rows with channels are written;
  * mask-all: every member other than the sender is a candidate, the same INSERT ... SELECT filters them;
  * insert-all + delete: a row for every member, the trigger stamps it, the rows with no channel deleted after.

Rooms: a class chat of 30 students, 2 teachers and 30 parents (parents want the digest, the rest nothing), and a
students-only class chat (nobody wants it). Each message is one transaction, like a send.

    flock /tmp/edutrack-bench.lock .venv/bin/python scripts/bench/chat_kinds.py [--messages 400]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import asyncpg  # noqa: E402

from edutrack.db.engine import drop_database, ensure_database  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
SECRET = "bench-" + "k" * 40

MASKED = """
INSERT INTO notifications (user_id, kind, payload, channels)
SELECT w.uid, 'chat_message', $2::jsonb, w.mask
FROM (SELECT uid, notification_mask(uid, 'chat_message', $3) AS mask FROM unnest($1::bigint[]) AS uid) w
WHERE w.mask <> 0
"""
INSERT_ALL = """
INSERT INTO notifications (user_id, kind, payload) SELECT uid, 'chat_message', $2::jsonb FROM unnest($1::bigint[]) uid
"""
DELETE_ZERO = "DELETE FROM notifications WHERE kind = 'chat_message' AND channels = 0 AND id > $1"
MAY_WANT = """
SELECT u.id FROM users u LEFT JOIN notification_settings s ON s.user_id = u.id
WHERE u.id = ANY($1::bigint[]) AND u.is_active
  AND CASE WHEN jsonb_typeof(s.kinds -> 'chat_message') = 'number' THEN (s.kinds ->> 'chat_message')::integer
           ELSE notification_default(u.role, 'chat_message') END <> 0
"""


async def users(conn: asyncpg.Connection, school: int, role: str, n: int, tag: str) -> list[int]:
    rows = await conn.fetch(
        "INSERT INTO users (email, password_hash, role, school_id) SELECT $1 || g || '@bench.test', 'x', $2, $3 "
        "FROM generate_series(1, $4) g RETURNING id", f"{tag}-{role}-", role, school, n)
    ids = sorted(r["id"] for r in rows)
    await conn.execute("INSERT INTO profiles (user_id, first_name, last_name) SELECT id, 'B', 'U' FROM users "
                       "WHERE id = ANY($1::bigint[])", ids)
    return ids


async def timed(conn: asyncpg.Connection, messages: int, run: object) -> list[float]:
    took: list[float] = []
    for i in range(messages):
        started = time.perf_counter()
        async with conn.transaction():
            await run(i)  # type: ignore[operator]
        took.append((time.perf_counter() - started) * 1000)
    return took


def summary(name: str, took: list[float], rows: int) -> dict[str, object]:
    ordered = sorted(took)
    return {"way": name, "messages": len(took), "rows_written": rows, "mean_ms": round(statistics.mean(took), 3),
            "p50_ms": round(ordered[len(ordered) // 2], 3), "p99_ms": round(ordered[int(len(ordered) * 0.99)], 3)}


async def three_ways(conn: asyncpg.Connection, messages: int, room: str, candidates: list[int],
                     prefiltered: list[int], payload: str) -> list[dict[str, object]]:
    async def count() -> int:
        return int(await conn.fetchval("SELECT count(*) FROM notifications WHERE kind = 'chat_message'"))

    out: list[dict[str, object]] = []
    before = await count()
    took = await timed(conn, messages, lambda i: conn.execute(MASKED, prefiltered, payload, "class:1"))
    out.append({"room": room, **summary("prefiltered", took, await count() - before)})
    before = await count()
    took = await timed(conn, messages, lambda i: conn.execute(MASKED, candidates, payload, "class:1"))
    out.append({"room": room, **summary("mask-all", took, await count() - before)})
    before = await count()
    top = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM notifications"))

    async def insert_delete(i: int) -> None:
        await conn.execute(INSERT_ALL, candidates, payload)
        await conn.execute(DELETE_ZERO, top)
    took = await timed(conn, messages, insert_delete)
    out.append({"room": room, **summary("insert-all + delete", took, await count() - before)})
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=400)
    args = parser.parse_args()
    db = f"edutrack_bench_kinds_{int(time.time())}"
    url = f"{PG}/{db}".replace("postgresql://", "postgresql+asyncpg://")
    await ensure_database(url)
    try:
        from edutrack.cli import migrate
        from edutrack.settings import load_settings
        settings = load_settings({"DATABASE_URL": url, "JWT_SECRET": SECRET, "ENVIRONMENT": "test"}, env_file=None)
        await asyncio.to_thread(migrate, settings)
        conn = await asyncpg.connect(f"{PG}/{db}")
        try:
            school = await conn.fetchval("INSERT INTO schools (name) VALUES ('Bench') RETURNING id")
            students = await users(conn, school, "student", 30, "a")
            teachers = await users(conn, school, "teacher", 2, "a")
            parents = await users(conn, school, "parent", 30, "a")
            members = students + teachers + parents
            sender = students[0]
            others = [u for u in members if u != sender]
            payload = json.dumps({"title": "B в чате", "channel": "class:1", "room": "5А", "sender_id": sender,
                                  "sender": "B U", "text": "т" * 80, "message_id": 1}, ensure_ascii=False)
            results: list[dict[str, object]] = []
            wanting = sorted(set(r["id"] for r in await conn.fetch(MAY_WANT, others)))
            assert wanting == parents, "parents want the digest, the rest nothing"
            for room, candidates in (("with parents", others), ("students only", students[1:])):
                prefiltered = [u for u in candidates if u in set(wanting)]
                results += await three_ways(conn, args.messages, room, candidates, prefiltered, payload)
            took = await timed(conn, args.messages, lambda i: conn.fetch(MAY_WANT, others))
            results.append({"room": "with parents", **summary("may_want (once per room per 5 s)", took, 0)})
        finally:
            await conn.close()
    finally:
        await drop_database(url)
    for row in results:
        print(json.dumps(row, ensure_ascii=False))
    print("\n| room | way | rows kept per message | mean ms | p50 ms | p99 ms |\n| --- | --- | --- | --- | --- | --- |")
    for row in results:
        per = row["rows_written"] / row["messages"]  # type: ignore[operator]
        print(f"| {row['room']} | {row['way']} | {per:g} | {row['mean_ms']} | {row['p50_ms']} | {row['p99_ms']} |")


if __name__ == "__main__":
    asyncio.run(main())
