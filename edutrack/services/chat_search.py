"""Search across every chat the user may read now (rooms they belong to, their private chats): ranked, filtered
by channel, author and date, paged, with the matched words highlighted."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from edutrack.context import AppContext
from edutrack.queries import chat_search as sq
from edutrack.security.tokens import Principal
from edutrack.services import chat_channels as cc
from edutrack.services import chat_rooms

MAX_OFFSET = 1000


def snippet_html(raw: str) -> str:
    """The snippet as safe HTML: ts_headline's fragment (which drops tag-like text) escaped, matches in <mark>."""
    escaped = html.escape(raw.replace(sq.START + sq.STOP, ""), quote=False)
    return escaped.replace(sq.START, "<mark>").replace(sq.STOP, "</mark>")


async def search(ctx: AppContext, who: Principal, q: str, *, channel: str | None, author_id: int | None,
                 since: datetime | None, until: datetime | None, limit: int, offset: int) -> dict[str, Any]:
    # A transaction, not an autocommit read: the search may set its plan mode for it (queries/chat_search.py).
    async with ctx.sessions.begin() as session:
        if channel is not None:
            wanted = cc.parse_channel(channel)
            await cc.require_member(session, who, wanted)
            channels = [wanted.name]
        else:
            channels = await chat_rooms.readable_channels(session, who)
        if await sq.is_empty_query(session, q):
            rows = []
        else:
            rows = await sq.search(session, q, channels, author=author_id, since=since, until=until,
                                   limit=limit + 1, offset=offset)
    items = [{"channel": r.channel, "id": r.id, "sender_id": r.sender_id, "sender": r.sender,
              "sender_role": r.sender_role, "created_at": r.created_at, "edited_at": r.edited_at,
              "rank": float(r.rank), "snippet": snippet_html(r.snippet)} for r in rows[:limit]]
    return {"items": items, "has_more": len(rows) > limit, "offset": offset}
