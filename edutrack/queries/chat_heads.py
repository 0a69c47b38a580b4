"""SQL of chat heads on the driver connection: what a subscribe needs (the newest id, and the messages after the
client's `since`), in one statement each; the hot path of connect waves and reconnect storms."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

_HEAD_AND_AFTER = """
SELECT h.head, m.id, m.sender_id, m.client_msg_id, m.text, m.created_at, m.edited_at, m.deleted_at,
       m.sender_role, m.attachments::text AS attachments, m.reply_to,
       concat_ws(' ', p.first_name, p.last_name) AS sender
FROM (SELECT coalesce((SELECT last_message_id FROM chat_channels WHERE name = $1), 0) AS head) h
LEFT JOIN LATERAL (
    SELECT id, sender_id, client_msg_id, text, created_at, edited_at, deleted_at, sender_role, attachments, reply_to
    FROM chat_messages WHERE channel = $1 AND id > $2 ORDER BY id LIMIT $3
) m ON true
LEFT JOIN profiles p ON p.user_id = m.sender_id
ORDER BY m.id
"""


async def heads_raw(conn: asyncpg.Connection, channels: Sequence[str]) -> dict[str, int]:
    """The newest message id of each channel (0 for one without messages), in one statement."""
    rows = await conn.fetch("SELECT name, last_message_id FROM chat_channels WHERE name = ANY($1::text[])",
                            list(channels))
    found = {r["name"]: int(r["last_message_id"] or 0) for r in rows}
    return {name: found.get(name, 0) for name in channels}


async def head_and_after(conn: asyncpg.Connection, channel: str, after: int | None,
                         limit: int) -> tuple[int, list[asyncpg.Record]]:
    """The channel's newest id and up to `limit` messages after `after` (none when `after` is None), oldest
    first, with the sender's name: what a subscribe needs, in one statement (one snapshot, one round trip)."""
    rows = await conn.fetch(_HEAD_AND_AFTER, channel, after, limit)
    return int(rows[0]["head"]), [r for r in rows if r["id"] is not None]
