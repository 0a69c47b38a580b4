"""Chat search benchmark: 1,000,000 stored messages, the typical searches of a student, a parent, a teacher and an
administrator, p50/p99 of each.

    .venv/bin/python scripts/bench/search.py [--messages 1000000] [--channels 2000] [--queries 200]

A scratch database (removed at the end) migrated to head; the messages are generated inside PostgreSQL
(generate_series; 4 to 16 words a message, each one of 20,000 made-up words or, one time in seven, a
school-chat word in one of its forms, so that "контрольная" (4 forms) is in about 5% of the messages and
"олимпиада" in about 1%), with the search indexes dropped during the fill and built after them, then ANALYZE.
Each search is what the API runs (edutrack/queries/chat_search.py: every match ranked, or over many chats
the newest 500; the page's snippets highlighted, 20 per page) over the channels such a user reads: a student 4,
a parent of two 8, a teacher 24, an administrator of a big school 300 (chosen at random for each query), for
words that are common, rare, a phrase, two words, and a common word filtered by author or by date.
"""

from __future__ import annotations

import sys
from pathlib import Path

# scripts/bench/email.py would shadow the standard library's `email` package: take this folder off sys.path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
ROOT = _HERE.parents[1]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402

from edutrack.cli import migrate  # noqa: E402
from edutrack.db.engine import drop_database, ensure_database  # noqa: E402
from edutrack.queries import chat_search  # noqa: E402
from edutrack.settings import load_settings  # noqa: E402

PG = os.environ.get("BENCH_PG_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432")


def _words(line: str) -> list[str]:
    return line.split()


# Common words (in many forms) and rare ones: what people write in a school chat.
COMMON = _words("контрольная контрольной контрольную контрольные завтра сегодня урок урока уроки уроке "
          "домашнее задание "
          "задания заданий собрание собрания родители родителей родительское учитель учителя класс класса классе "
          "оценка оценки оценку четверть четверти экскурсия экскурсию экскурсии спасибо пожалуйста вопрос вопросы "
          "тетрадь тетради учебник учебники математика математике русский русскому литература литературе "
          "пятница пятницу понедельник понедельника расписание расписании перенесли перенесут принести принесите "
          "будет будут нужно надо можно кто когда где почему форма форму физкультура физкультуры")
RARE = _words("олимпиада олимпиаду олимпиады театр театра музей музея субботник субботника фотограф фотографа "
        "прививка прививку медосмотр медосмотра выпускной выпускного гербарий гербария")
FILLER = _words("и в на не что с по к у за о из от до это мы вы он она они я а но же ли бы так там тут")
PROFILES = {"student": 4, "parent": 8, "teacher": 24, "admin": 300}
SEARCHES = {"common word": "контрольная", "rare word": "олимпиада", "phrase": '"домашнее задание"',
            "two words": "собрание родителей"}


async def fill(url: str, messages: int, channels: int) -> float:
    engine = create_async_engine(url)
    started = time.perf_counter()
    words = COMMON * 3 + RARE + FILLER * 4
    async with engine.begin() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("DROP INDEX ix_chat_messages_search")
        await raw.execute("DROP INDEX ix_chat_messages_channel_created_at")
        await raw.execute(
            "INSERT INTO users (email, password_hash, role) SELECT 'u' || g || '@bench.test', 'x', 'student' "
            "FROM generate_series(1, 2000) g")
        await raw.execute("INSERT INTO profiles (user_id, first_name, last_name) "
                          "SELECT id, 'Имя' || id, 'Фамилия' || id FROM users")
        await raw.execute("INSERT INTO chat_channels (name, last_message_id) SELECT 'class:' || g, 0 "
                          "FROM generate_series(1, $1::int) g", channels)
        await raw.execute("""
            INSERT INTO chat_messages (channel, id, sender_id, text, created_at)
            SELECT 'class:' || (g % $2 + 1), g / $2 + 1, (SELECT min(id) FROM users) + g % 2000,
                   (SELECT string_agg(CASE WHEN random() < 0.15
                                           THEN ($3::text[])[1 + floor(random() * array_length($3::text[], 1))::int]
                                           ELSE translate(substr(md5(floor(random() * 20000)::text), 1, 7),
                                                          '0123456789abcdef', 'абвгдежзиклмнопр') END, ' ')
                    FROM generate_series(1, 4 + (g % 13)) AS w(n) WHERE g >= 0),
                   now() - make_interval(secs => ($1 - g) * 30)
            FROM generate_series(0, $1 - 1) g""", messages, channels, words)
        await raw.execute("UPDATE chat_channels c SET last_message_id = (SELECT max(id) FROM chat_messages m "
                          "WHERE m.channel = c.name)")
    fill_s = time.perf_counter() - started
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for label, q in SEARCHES.items():
            found = await raw.fetchval("SELECT count(*) FROM chat_messages "
                                       "WHERE search @@ websearch_to_tsquery('russian', $1)", q)
            print(f"{label} ({q}): in {found:,} messages")
    async with engine.begin() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        started = time.perf_counter()
        await raw.execute("SET maintenance_work_mem = '256MB'")
        await raw.execute("CREATE INDEX ix_chat_messages_search ON chat_messages USING gin (channel, search) "
                          "WITH (fastupdate = off)")
        await raw.execute("CREATE INDEX ix_chat_messages_channel_created_at ON chat_messages (channel, created_at)")
        await raw.execute("ANALYZE")
        print(f"index built in {time.perf_counter() - started:.1f} s")
    await engine.dispose()
    return fill_s


async def measure(url: str, channels: int, queries: int, only: str | None = None) -> None:
    engine = create_async_engine(url, pool_size=2)
    rnd = random.Random(15)
    print("| who (channels read) | search | p50 ms | p99 ms | hits on page |")
    print("|---|---|---|---|---|")
    async with engine.connect() as conn:
        session = AsyncSession(bind=conn)
        cases = [(who, label, q, {}) for who in PROFILES for label, q in SEARCHES.items()]
        cases += [("teacher", "common word, one author", "контрольная", {"author": "pick"}),
                  ("teacher", "common word, last 7 days", "контрольная",
                   {"since": datetime.now(UTC) - timedelta(days=7)})]
        for who, label, q, extra in cases:
            if only is not None and only != who:
                continue
            times, hits = [], 0
            for _ in range(queries):
                picked = [f"class:{rnd.randint(1, channels)}" for _ in range(PROFILES[who])]
                author = None
                if extra.get("author"):
                    author = (await session.execute(text(
                        "SELECT min(id) FROM users"))).scalar_one() + rnd.randint(0, 1999)
                started = time.perf_counter()
                rows = await chat_search.search(session, q, picked, author=author, since=extra.get("since"),
                                                until=None, limit=21, offset=0)
                times.append((time.perf_counter() - started) * 1000)
                hits += len(rows[:20])
            times.sort()
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(f"| {who} ({PROFILES[who]}) | {label} | {statistics.median(times):.1f} | {p99:.1f} | "
                  f"{hits / queries:.1f} |")
        await session.close()
    await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    if args.reuse:  # a database an earlier --keep run filled
        await measure(args.reuse, args.channels, args.queries, args.only)
        return
    url = f"{PG}/edutrack_bench_search_{uuid.uuid4().hex[:8]}"
    await ensure_database(url)
    try:
        settings = load_settings({"DATABASE_URL": url, "JWT_SECRET": "bench-" + "s" * 40, "LOG_LEVEL": "WARNING",
                                  "ENVIRONMENT": "production", "DEV_MAIL_CATCHER": "false"}, env_file=None)
        await asyncio.to_thread(migrate, settings)
        fill_s = await fill(url, args.messages, args.channels)
        print(f"{args.messages:,} messages in {args.channels:,} channels stored in {fill_s:.1f} s")
        await measure(url, args.channels, args.queries)
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            await drop_database(url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (to explain the plans)")
    parser.add_argument("--only", choices=sorted(PROFILES), help="with --reuse: only this kind of user's rows")
    parser.add_argument("--reuse", help="measure only, on the database URL that a --keep run printed")
    asyncio.run(main(parser.parse_args()))
