"""Full-text search of chat messages: PostgreSQL's 'russian' configuration over the stored `chat_messages.search`
vector (GIN index ix_chat_messages_search), limited to the channels the caller may read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Marks around the matched words in a snippet: control characters that the service turns into <mark> after
# escaping the text (a message is the user's text, never HTML).
START, STOP = "\x02", "\x03"
_HEADLINE = f"StartSel={START}, StopSel={STOP}, MaxWords=35, MinWords=12, ShortWord=2, MaxFragments=2, " \
            "FragmentDelimiter=\" … \""

# Ranked first, then only the page gets its snippet (ts_headline re-parses the text: the costly part).
_SEARCH = text(f"""
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


async def search(session: AsyncSession, q: str, channels: Sequence[str], *, author: int | None,
                 since: datetime | None, until: datetime | None, limit: int, offset: int) -> list[Any]:
    if not channels:
        return []
    rows = await session.execute(_SEARCH, {"q": q, "channels": list(channels), "author": author, "since": since,
                                           "until": until, "limit": limit, "offset": offset})
    return list(rows)


async def is_empty_query(session: AsyncSession, q: str) -> bool:
    """True when nothing of `q` is searchable (only stop words or punctuation)."""
    found = await session.execute(text("SELECT numnode(websearch_to_tsquery('russian', :q)) = 0"), {"q": q})
    return bool(found.scalar())
