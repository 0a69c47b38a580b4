"""SQL of replies: the messages that replies of a page quote, read as they are now (edited, deleted)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_QUOTED = """
SELECT m.id, m.sender_id, m.text, m.deleted_at IS NOT NULL AS deleted,
       concat_ws(' ', p.first_name, p.last_name) AS sender
FROM chat_messages m LEFT JOIN profiles p ON p.user_id = m.sender_id
WHERE m.channel = {channel} AND m.id = ANY({ids})
"""


async def quoted(session: AsyncSession, channel: str, ids: Iterable[int]) -> dict[int, Any]:
    """id -> (id, sender_id, text, deleted, sender) of the given messages of a channel."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(text(_QUOTED.format(channel=":channel", ids="CAST(:ids AS bigint[])")),
                                 {"channel": channel, "ids": wanted})
    return {int(r.id): r._mapping for r in rows}


async def quoted_raw(conn: asyncpg.Connection, channel: str, ids: Iterable[int]) -> dict[int, Any]:
    """The same on the driver connection of the resume path."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await conn.fetch(_QUOTED.format(channel="$1", ids="$2::bigint[]"), channel, wanted)
    return {int(r["id"]): r for r in rows}


async def set_reply_to(session: AsyncSession, channel: str, message_id: int, reply_to: int) -> None:
    """Mark a message just stored as a reply (its own statement: the hot insert of plain messages stays as is)."""
    await session.execute(text("UPDATE chat_messages SET reply_to = :reply_to WHERE channel = :channel AND id = :id"),
                          {"reply_to": reply_to, "channel": channel, "id": message_id})
