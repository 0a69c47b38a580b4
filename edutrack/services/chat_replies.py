"""Replies that quote: a message may answer an earlier message of its own channel (`reply_to`).

Only the id is stored with the reply; the quote (the quoted message's author, a short excerpt, whether it was
deleted) is read with the reply whenever it is read (history, resume, the live frame of the send), so a quote
shows the quoted message as it is now: edited text, or deleted. A reply to a message that is not in the channel,
or is deleted, is refused (`invalid_reply`): one cannot quote what one cannot read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.i18n import _
from edutrack.queries import chat_replies as rq

EXCERPT_CHARS = 120


def quote_view(row: Mapping[str, Any] | None, quoted_id: int | None) -> dict[str, Any] | None:
    """The `reply_to` of a message: None when it replies to nothing."""
    if quoted_id is None:
        return None
    deleted = row is None or bool(row["deleted"])
    excerpt = None if deleted or row is None else _excerpt(str(row["text"]))
    return {"id": quoted_id, "sender_id": None if row is None else row["sender_id"],
            "sender": None if row is None else row["sender"], "excerpt": excerpt, "deleted": deleted}


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[:EXCERPT_CHARS - 1].rstrip() + "…"


async def quotes(session: AsyncSession, channel: str, reply_ids: Iterable[int | None]) -> dict[int, Any]:
    """The messages the given replies quote (None entries are messages that reply to nothing): one query,
    none when nothing replies."""
    return await rq.quoted(session, channel, [i for i in reply_ids if i is not None])


async def quotes_raw(conn: asyncpg.Connection, channel: str, reply_ids: Iterable[int | None]) -> dict[int, Any]:
    return await rq.quoted_raw(conn, channel, [i for i in reply_ids if i is not None])


async def require_quotable(session: AsyncSession, channel: str, reply_to: int) -> dict[str, Any]:
    """The quote of a new reply, or 400 `invalid_reply` (no such message in this channel, or deleted)."""
    row = (await rq.quoted(session, channel, [reply_to])).get(reply_to)
    if row is None or row["deleted"]:
        raise errors.BadRequest(_("You can reply only to a message of this chat that is still there"),
                                code="invalid_reply", details={"reply_to": reply_to, "channel": channel})
    view = quote_view(row, reply_to)
    assert view is not None
    return view


async def store(session: AsyncSession, channel: str, message_id: int, reply_to: int) -> None:
    await rq.set_reply_to(session, channel, message_id, reply_to)
