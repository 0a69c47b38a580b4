"""Full-text search of chat messages: PostgreSQL's 'russian' configuration over the stored `chat_messages.search`
vector (GIN index ix_chat_messages_search), limited to the channels the caller may read.

Where the caller's chats hold few messages together (FEW_MESSAGES, by the channels' counters: a student, a
parent, a teacher), every match is ranked in one statement. Where they hold many (an administrator's 300 chats),
ranking every match made the cost grow with their number (~7,700 heap rows for a common word, 75 ms p99 on 1 M
messages, docs/benchmarks.md): there only the newest CANDIDATES matches (after every filter) are ranked, read in
date windows: the last 30 days first (btree ix_chat_messages_channel_created_at bounds the rows before the heap
is read), then one wider window sized from the matches per day it showed, then the whole history; older
matches are reached by narrowing the search by date, chat or author.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Marks around the matched words in a snippet: control characters that the service turns into <mark> after
# escaping the text (a message is the user's text, never HTML).
START, STOP = "\x02", "\x03"
_HEADLINE = f"StartSel={START}, StopSel={STOP}, MaxWords=35, MinWords=12, ShortWord=2, MaxFragments=2, " \
            "FragmentDelimiter=\" … \""

# The few-messages path: every match ranked, then only the page gets its snippet (ts_headline re-parses the text:
# the costly part).
_ALL = text(f"""
WITH query AS (SELECT websearch_to_tsquery('russian', :q) AS tsq),
hits AS (
    SELECT m.channel, m.id, m.sender_id, m.sender_role, m.text, m.created_at, m.edited_at,
           ts_rank_cd(m.search, query.tsq) AS rank
    FROM chat_messages m, query
    WHERE m.search @@ query.tsq AND m.channel = ANY(:channels) AND m.deleted_at IS NULL
      AND (CAST(:author AS bigint) IS NULL OR m.sender_id = :author)
      AND (CAST(:since AS timestamptz) IS NULL OR m.created_at >= :since)
      AND (CAST(:until AS timestamptz) IS NULL OR m.created_at < :until)
    ORDER BY rank DESC, m.created_at DESC, m.channel, m.id
    LIMIT :limit OFFSET :offset
)
SELECT h.channel, h.id, h.sender_id, h.sender_role, h.created_at, h.edited_at, h.rank,
       concat_ws(' ', p.first_name, p.last_name) AS sender,
       ts_headline('russian', h.text, query.tsq, '{_HEADLINE}') AS snippet
FROM hits h CROSS JOIN query LEFT JOIN profiles p ON p.user_id = h.sender_id
ORDER BY h.rank DESC, h.created_at DESC, h.channel, h.id
""")  # noqa: S608 (the f-string fills in this module's constants; every value is a bound parameter)


# How many of the newest matches are ranked (so also the deepest a page can reach).
CANDIDATES = 500
# Chats holding at most this many messages together are searched in one statement, whatever the dates.
FEW_MESSAGES = 30_000
FIRST_WINDOW = timedelta(days=30)
# The second window is sized to hold this many times the matches still wanted, at the rate the first one showed.
_MARGIN = 1.5
# A second window longer than this is not worth its index scans: the whole history is read instead.
_LONGEST_SECOND = timedelta(days=365)

_TSQ = "websearch_to_tsquery('russian', :q)"
# Written out in the condition (a constant once the parameter is bound), not a CTE's column: the planner sees how
# common the words are and picks the index scans to match (over many chats it intersects the word's bitmap with
# the dates' bitmap, btree, reading only the window's matches).

# One statement: the newest CANDIDATES matches in the window (newest first), ranked, the page of them with each
# row's sender and snippet (ts_headline re-parses the text: the costly part, so only for the page), and how many
# candidates there were (one row with only `found` when the page is empty).
_SEARCH = f"""
WITH q AS MATERIALIZED (SELECT {_TSQ} AS tsq),
cand AS MATERIALIZED (
    SELECT m.channel, m.id, m.sender_id, m.sender_role, m.text, m.created_at, m.edited_at,
           ts_rank_cd(m.search, {{tsq}}) AS rank
    FROM chat_messages m
    WHERE m.search @@ {{tsq}} AND m.channel = ANY(:channels) AND m.deleted_at IS NULL{{conditions}}
    ORDER BY m.created_at DESC, m.channel DESC, m.id DESC
    LIMIT :candidates
),
hits AS (SELECT * FROM cand ORDER BY rank DESC, created_at DESC, channel, id LIMIT :limit OFFSET :offset)
SELECT h.channel, h.id, h.sender_id, h.sender_role, h.created_at, h.edited_at, h.rank,
       concat_ws(' ', p.first_name, p.last_name) AS sender,
       ts_headline('russian', h.text, (SELECT tsq FROM q), '{_HEADLINE}') AS snippet, t.found
FROM (SELECT count(*) AS found FROM cand) t
LEFT JOIN hits h ON true LEFT JOIN profiles p ON p.user_id = h.sender_id
ORDER BY h.rank DESC, h.created_at DESC, h.channel, h.id
"""  # noqa: S608 (the f-string fills in this module's constants; every value is a bound parameter)

# Each optional condition is in the statement only when it is used: a generic plan of `(:x IS NULL OR ...)` could
# not bound an index scan by the date.
_CONDITIONS = {"author": "m.sender_id = :author", "since": "m.created_at >= :since",
               "until": "m.created_at < :until", "newer": "m.created_at >= :newer"}

# How many messages the caller's chats hold together (the channels' counters): it decides how matches are read.
_MESSAGES = text("SELECT coalesce(sum(last_message_id), 0) FROM chat_channels WHERE name = ANY(:channels)")
# For the windows' statements, a plan for the words searched each time: the generic plan of a cached prepared
# statement (the sixth run on) does not know how common the words are and read an administrator's rare phrase
# through 300 index scans (40-55 ms instead of 15). set_config(..., true) is SET LOCAL: the caller's transaction
# ends it. Not for the few-messages path, whose cached plan is good and whose searches re-planning slowed.
_CUSTOM_PLANS = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")


async def search(session: AsyncSession, q: str, channels: Sequence[str], *, author: int | None,
                 since: datetime | None, until: datetime | None, limit: int, offset: int) -> list[Any]:
    """The page at `offset`, best first (then newest first). Call it inside a transaction (the windows' plan
    setting lasts until it ends)."""
    if not channels:
        return []
    params: dict[str, Any] = {"q": q, "channels": list(channels), "author": author, "since": since,
                              "until": until, "limit": limit, "offset": offset, "candidates": CANDIDATES}
    messages = (await session.execute(_MESSAGES, {"channels": params["channels"]})).scalar_one()
    if messages <= FEW_MESSAGES:
        return list(await session.execute(_ALL, {k: v for k, v in params.items() if k != "candidates"}))
    await session.execute(_CUSTOM_PLANS)
    return await _newest(session, params)


async def _newest(session: AsyncSession, params: dict[str, Any]) -> list[Any]:
    """The page of the newest CANDIDATES matches, read in date windows."""
    until, since = params["until"], params["since"]
    # The first window has no upper end (the clocks of the app and the database may differ).
    top = until or datetime.now(UTC)
    newer = top - FIRST_WINDOW
    if since is None or newer > since:
        rows = await _window(session, params, newer=newer)
        found = rows[0].found
        if found >= CANDIDATES:
            return _page(rows)
        # Wider, to hold the matches still wanted at the rate the first window showed; where that rate is low
        # (or nil), the whole history holds few matches for its age: it is read at once.
        days = _MARGIN * (CANDIDATES - found) * FIRST_WINDOW.days / max(found, 1)
        newer -= timedelta(days=math.ceil(days))
        if found and days <= _LONGEST_SECOND.days and (since is None or newer > since):
            rows = await _window(session, params, newer=newer)
            if rows[0].found >= CANDIDATES:
                return _page(rows)
    return _page(await _window(session, params, newer=None))


async def _window(session: AsyncSession, params: dict[str, Any], *, newer: datetime | None) -> list[Any]:
    """The page of the newest CANDIDATES matches sent at or after `newer` (any time when None)."""
    values = {**params, "newer": newer}
    used = [cond for name, cond in _CONDITIONS.items() if values[name] is not None]
    statement = _SEARCH.format(conditions="".join(f"\n      AND {cond}" for cond in used), tsq=_TSQ)
    bound = {name: value for name, value in values.items() if name not in _CONDITIONS or value is not None}
    return list(await session.execute(text(statement), bound))


def _page(rows: list[Any]) -> list[Any]:
    return [row for row in rows if row.id is not None]


async def is_empty_query(session: AsyncSession, q: str) -> bool:
    """True when nothing of `q` is searchable (only stop words or punctuation)."""
    found = await session.execute(text("SELECT numnode(websearch_to_tsquery('russian', :q)) = 0"), {"q": q})
    return bool(found.scalar())
