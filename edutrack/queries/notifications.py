from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import Notification
from edutrack.db.notify import LIVE


async def insert_notifications(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[Notification]:
    """Insert many feed rows in one statement; returns them with ids and timestamps (for publishing)."""
    if not rows:
        return []
    result = await session.scalars(insert(Notification).returning(Notification), list(rows))
    return list(result.all())


def in_app() -> ColumnElement[bool]:
    """The rows the live (in-app) channel consumes: the feed, its unread count and read markers show only
    these; a row meant only for email stays unread for its email (edutrack/db/notify.py)."""
    return Notification.channels.op("&")(LIVE) != 0


async def insert_notification(session: AsyncSession, user_id: int, kind: str, payload: dict[str, Any],
                              about_user_id: int | None = None) -> Notification:
    row = Notification(user_id=user_id, kind=kind, payload=payload, about_user_id=about_user_id)
    session.add(row)
    await session.flush()
    await session.refresh(row, ["created_at", "read_at", "channels"])
    return row


async def notifications_page(session: AsyncSession, user_id: int, *, before: int | None, after: int | None,
                             limit: int, unread_only: bool) -> list[Notification]:
    """Ascending by id after `after`; otherwise the newest first (descending), before `before` if given."""
    stmt = select(Notification).where(Notification.user_id == user_id, in_app())
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    if before is not None:
        stmt = stmt.where(Notification.id < before)
    if after is not None:
        stmt = stmt.where(Notification.id > after)
        return list((await session.execute(stmt.order_by(Notification.id).limit(limit))).scalars())
    return list((await session.execute(stmt.order_by(Notification.id.desc()).limit(limit))).scalars())


async def notifications_after_many(session: AsyncSession, cursors: dict[int, int],
                                   limit: int) -> dict[int, list[Notification]]:
    result: dict[int, list[Notification]] = {uid: [] for uid in cursors}
    if not cursors:
        return result
    ranked = (
        select(Notification.id,
               func.row_number().over(partition_by=Notification.user_id, order_by=Notification.id).label("rn"))
        .where(or_(*(and_(Notification.user_id == uid, Notification.id > since) for uid, since in cursors.items())),
               in_app())
        .subquery()
    )
    rows = await session.execute(
        select(Notification).join(ranked, ranked.c.id == Notification.id).where(ranked.c.rn <= limit + 1)
        .order_by(Notification.user_id, Notification.id)
    )
    for row in rows.scalars():
        result[row.user_id].append(row)
    return result


async def last_notification_id(session: AsyncSession, user_id: int) -> int:
    found = await session.execute(select(func.max(Notification.id)).where(Notification.user_id == user_id))
    return int(found.scalar() or 0)


async def unread_notifications(session: AsyncSession, user_id: int) -> int:
    found = await session.execute(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None), in_app())
    )
    return int(found.scalar_one())


async def mark_notifications_read(session: AsyncSession, user_id: int, up_to: int, at: datetime | None = None) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.id <= up_to, Notification.read_at.is_(None), in_app())
        .values(read_at=at if at is not None else func.now())
        .returning(literal(1))
    )
    return len(result.all())


_MAY_WANT = text("""
SELECT u.id FROM users u LEFT JOIN notification_settings s ON s.user_id = u.id
WHERE u.id = ANY(CAST(:ids AS bigint[])) AND u.is_active
  AND CASE WHEN jsonb_typeof(s.kinds -> :kind) = 'number' THEN (s.kinds ->> :kind)::integer
           ELSE notification_default(u.role, :kind) END <> 0
""")


async def may_want(session: AsyncSession, user_ids: Sequence[int], kind: str) -> set[int]:
    """Of `user_ids`, the active ones whose choice for `kind`, else their role's default, is not off: the only
    people a row of that kind could reach. The master email switch and mutes are left to `notification_mask`
    when the row is written (they can only take channels away)."""
    if not user_ids:
        return set()
    rows = await session.execute(_MAY_WANT, {"ids": list(user_ids), "kind": kind})
    return {int(i) for i in rows.scalars()}


_INSERT_WANTED = text("""
INSERT INTO notifications (user_id, kind, payload, channels)
SELECT w.uid, :kind, CAST(:payload AS jsonb), w.mask
FROM (SELECT uid, notification_mask(uid, :kind, :chat) AS mask FROM unnest(CAST(:ids AS bigint[])) AS uid) w
WHERE w.mask <> 0
ORDER BY w.uid
RETURNING notifications.*
""")


async def insert_wanted(session: AsyncSession, user_ids: Sequence[int], kind: str, payload: dict[str, Any],
                        chat: str | None) -> list[Notification]:
    """One row of `kind` for each of `user_ids` whose channels for it (the trigger's rule, `notification_mask`,
    with the mute of chat `chat`) are not empty; nothing for the others: a row no channel consumes is not
    written."""
    if not user_ids:
        return []
    stmt = select(Notification).from_statement(_INSERT_WANTED.columns(*Notification.__table__.c))
    rows = await session.scalars(stmt, {"ids": sorted(user_ids), "kind": kind, "chat": chat,
                                        "payload": json.dumps(payload, ensure_ascii=False)})
    return list(rows.all())


# Both with the predicate of ix_notifications_about_message (migration 0031), written out so the planner matches it.
DELETE_ABOUT_MESSAGE = text(
    "DELETE FROM notifications WHERE kind IN ('chat_message', 'mention') AND payload ->> 'channel' = :channel "
    "AND (payload ->> 'message_id')::bigint = :message_id RETURNING 1")
REVISE_ABOUT_MESSAGE = text(
    "UPDATE notifications SET payload = jsonb_set(payload, '{text}', to_jsonb(CAST(:quoted AS text))) "
    "WHERE kind IN ('chat_message', 'mention') AND payload ->> 'channel' = :channel "
    "AND (payload ->> 'message_id')::bigint = :message_id RETURNING 1")


async def delete_room_rows(session: AsyncSession, channel: str, message_id: int) -> int:
    """Every `chat_message` and `mention` row about one message (it was deleted: no digest, push or feed may still
    carry its text)."""
    result = await session.execute(DELETE_ABOUT_MESSAGE, {"channel": channel, "message_id": message_id})
    return len(result.all())


async def revise_room_rows(session: AsyncSession, channel: str, message_id: int, quoted: str) -> int:
    """The rows about one message quote its edited text (a digest or push still to go out says what the author
    says now; one already sent cannot be recalled)."""
    result = await session.execute(REVISE_ABOUT_MESSAGE,
                                   {"channel": channel, "message_id": message_id, "quoted": quoted})
    return len(result.all())


async def mark_room_read(session: AsyncSession, user_id: int, channel: str, up_to: int) -> int:
    """The user's unread `chat_message` rows about messages of `channel` up to `up_to`: read (the user read the
    chat, so no digest or push repeats them). Every read marker of every user runs this: the kind is a literal so
    that the partial index of unread room rows (ix_notifications_chat_unread) answers it, usually with nothing."""
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, text("notifications.kind = 'chat_message'"),
               Notification.read_at.is_(None),
               Notification.payload["channel"].astext == channel,
               Notification.payload["message_id"].as_integer() <= up_to)
        .values(read_at=func.now())
        .returning(literal(1))
    )
    return len(result.all())
