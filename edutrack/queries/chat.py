"""SQL of chats, read markers and the chat-specific membership questions (the notification feed: notifications.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import BigInteger, String, Text, and_, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.chat import ChatChannel, ChatMessage, ChatReadMarker
from edutrack.db.diary import ClassStudent, ParentChild, School, SchoolClass
from edutrack.db.models import Profile, User
from edutrack.queries.classes import full_name_sql
from edutrack.queries.driver import driver as driver

# --- channels and messages -------------------------------------------------------------------------


async def ensure_channel(session: AsyncSession, channel: str) -> None:
    await session.execute(insert(ChatChannel).values(name=channel).on_conflict_do_nothing())


async def last_message_id(session: AsyncSession, channel: str) -> int:
    found = await session.execute(select(ChatChannel.last_message_id).where(ChatChannel.name == channel))
    return int(found.scalar() or 0)


async def message_by_client_id(session: AsyncSession, sender_id: int, client_msg_id: str) -> ChatMessage | None:
    found = await session.execute(
        select(ChatMessage).where(ChatMessage.sender_id == sender_id, ChatMessage.client_msg_id == client_msg_id)
    )
    return found.scalar_one_or_none()


async def append_message(session: AsyncSession, channel: str, sender_id: int, client_msg_id: str | None,
                         text: str, sender_role: str | None = None,
                         attachments: list[dict[str, Any]] | None = None) -> tuple[int, datetime]:
    """Draw the channel's next id and insert the message, in one statement (one round trip).

    The channel row's lock taken by the upsert is held until commit, so ids of one channel commit strictly in
    order: no two senders of a channel are ever between drawing an id and committing it."""
    bump = (
        insert(ChatChannel)
        .values(name=channel, last_message_id=1, last_message_at=func.now())
        .on_conflict_do_update(
            index_elements=[ChatChannel.name],
            set_={"last_message_id": ChatChannel.last_message_id + 1, "last_message_at": func.now()},
        )
        .returning(ChatChannel.last_message_id)
        .cte("bump")
    )
    stmt = (
        insert(ChatMessage)
        .from_select(
            ["channel", "id", "sender_id", "client_msg_id", "text", "sender_role", "attachments"],
            select(literal(channel, String), bump.c.last_message_id, literal(sender_id, BigInteger),
                   literal(client_msg_id, String), literal(text, Text), literal(sender_role, String),
                   literal(attachments, JSONB(none_as_null=True))),
        )
        .returning(ChatMessage.id, ChatMessage.created_at)
    )
    # Core rows, not ORM objects: this is the hottest statement of the chat.
    message_id, created_at = (await session.execute(stmt)).one()
    return int(message_id), created_at


# --- group commit: many messages in one statement ---------------------------------------------------------
# The batched send path runs below SQLAlchemy, on the asyncpg connection of a pooled engine connection: one
# prepared statement per batch instead of Core compilation and result processing per message. These
# statements run outside any SQLAlchemy transaction, so each one commits on its own (atomically).


@dataclass(frozen=True, slots=True)
class NewMessage:
    channel: str
    sender_id: int
    client_msg_id: str | None
    text: str
    # The other member of a private chat: their feed gets a `message` notification in the same statement.
    notify_user_id: int | None = None
    notify_payload: dict[str, Any] | None = None
    sender_role: str | None = None
    # A room's message: the members who may want a `chat_message` row (services/chat_notify.py), and its payload
    # without message_id. Each gets the row only if its channels (notification_mask) are not empty.
    room_user_ids: Sequence[int] = ()
    room_payload: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RoomNote:
    """A `chat_message` row written with a message that the live channel consumes (to publish)."""

    id: int
    user_id: int
    created_at: datetime
    channels: int
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    created_at: datetime
    notification_id: int | None
    notification_created_at: datetime | None
    notification_channels: int | None = None
    live_room_notes: tuple[RoomNote, ...] = ()


@dataclass(frozen=True, slots=True)
class ExistingMessage:
    channel: str
    id: int
    text: str
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    sender_role: str | None = None


# Shared by both statements below: one upsert per channel draws all of its ids at once. Rows are locked in name order,
# so two batches sharing channels cannot deadlock; the locks are held until the statement commits, so ids of a
# channel still become visible strictly in order. `input` (ord, channel, sender_id, client_msg_id, text,
# sender_role, ...) comes before it.
_NUMBER_AND_STORE = """
counts AS (SELECT channel, count(*) AS n FROM input GROUP BY channel),
bump AS (
    INSERT INTO chat_channels AS c (name, last_message_id, last_message_at)
    SELECT channel, n, now() FROM counts ORDER BY channel
    ON CONFLICT (name) DO UPDATE
        SET last_message_id = c.last_message_id + excluded.last_message_id, last_message_at = now()
    RETURNING c.name, c.last_message_id
),
numbered AS (
    SELECT i.*, b.last_message_id - k.n + row_number() OVER (PARTITION BY i.channel ORDER BY i.ord) AS id
    FROM input i JOIN bump b ON b.name = i.channel JOIN counts k ON k.channel = i.channel
),
stored AS (
    INSERT INTO chat_messages (channel, id, sender_id, client_msg_id, text, sender_role)
    SELECT channel, id, sender_id, client_msg_id, text, sender_role FROM numbered ORDER BY channel, id
    RETURNING channel, id, created_at
)"""

_APPEND_MANY = """
WITH input AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::jsonb[],
                         $8::text[], $9::jsonb[])
        AS t(ord, channel, sender_id, client_msg_id, text, notify_user_id, notify_payload, sender_role,
             room_payload)
),""" + _NUMBER_AND_STORE + """,
notes AS (
    INSERT INTO notifications (user_id, kind, payload)
    SELECT notify_user_id, 'message', notify_payload || jsonb_build_object('message_id', id)
    FROM numbered WHERE notify_user_id IS NOT NULL ORDER BY ord
    RETURNING id, created_at, channels, payload ->> 'channel' AS channel,
              (payload ->> 'message_id')::bigint AS message_id
),
room_notes AS (
    -- Only the members whose channels for the kind are not empty (the trigger's rule, with the room's mute).
    INSERT INTO notifications (user_id, kind, payload, channels)
    SELECT w.user_id, 'chat_message', w.payload, w.mask FROM (
        SELECT r.user_id, n.ord, n.room_payload || jsonb_build_object('message_id', n.id) AS payload,
               notification_mask(r.user_id, 'chat_message', n.channel) AS mask
        FROM unnest($10::int[], $11::bigint[]) AS r(ord, user_id) JOIN numbered n ON n.ord = r.ord
    ) w
    WHERE w.mask <> 0 ORDER BY w.ord, w.user_id
    RETURNING id, user_id, created_at, channels, payload
)
SELECT n.ord, s.id, s.created_at, nt.id AS note_id, nt.created_at AS note_created_at,
       nt.channels AS note_channels,
       (SELECT json_agg(json_build_array(rn.id, rn.user_id, rn.created_at, rn.channels, rn.payload) ORDER BY rn.id)
          FROM room_notes rn
         WHERE rn.channels & 1 <> 0 AND rn.payload ->> 'channel' = n.channel
           AND (rn.payload ->> 'message_id')::bigint = n.id)::text AS live_room_notes
FROM numbered n
JOIN stored s ON s.channel = n.channel AND s.id = n.id
LEFT JOIN notes nt ON nt.channel = n.channel AND nt.message_id = n.id
"""  # noqa: S608 (built from constants of this module only)

# For a batch that writes no notification (no private message, no room member who may want a row): the common case
# of a busy room. Without the notification CTEs and their per-row subquery, and with fewer arguments to encode and
# columns to read, PostgreSQL and the node each spend less on it.
_APPEND_PLAIN = """
WITH input AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
        AS t(ord, channel, sender_id, client_msg_id, text, sender_role)
),""" + _NUMBER_AND_STORE + """
SELECT n.ord, s.id, s.created_at FROM numbered n JOIN stored s ON s.channel = n.channel AND s.id = n.id
"""  # noqa: S608 (built from constants of this module only)


async def append_messages(conn: asyncpg.Connection, items: Sequence[NewMessage]) -> list[StoredMessage]:
    """Store `items` in one statement (one round trip, one commit), in the order given: within a channel the
    ids follow the list order. Returns one result per item, in the same order. Any error stores nothing."""
    if not any(m.notify_user_id is not None or m.room_user_ids for m in items):
        plain = {int(r["ord"]): StoredMessage(int(r["id"]), r["created_at"], None, None) for r in await conn.fetch(
            _APPEND_PLAIN, list(range(len(items))), [m.channel for m in items], [m.sender_id for m in items],
            [m.client_msg_id for m in items], [m.text for m in items], [m.sender_role for m in items])}
        return [plain[i] for i in range(len(items))]
    rows = await conn.fetch(
        _APPEND_MANY,
        list(range(len(items))),
        [m.channel for m in items],
        [m.sender_id for m in items],
        [m.client_msg_id for m in items],
        [m.text for m in items],
        [m.notify_user_id for m in items],
        [None if m.notify_payload is None else json.dumps(m.notify_payload, ensure_ascii=False) for m in items],
        [m.sender_role for m in items],
        [None if m.room_payload is None else json.dumps(m.room_payload, ensure_ascii=False) for m in items],
        [i for i, m in enumerate(items) for _uid in m.room_user_ids],
        [uid for m in items for uid in m.room_user_ids],
    )
    by_ord = {int(r["ord"]): StoredMessage(int(r["id"]), r["created_at"], r["note_id"], r["note_created_at"],
                                           r["note_channels"], _room_notes(r["live_room_notes"]))
              for r in rows}
    return [by_ord[i] for i in range(len(items))]


def _room_notes(raw: str | None) -> tuple[RoomNote, ...]:
    if raw is None:
        return ()
    return tuple(RoomNote(int(i), int(uid), datetime.fromisoformat(at), int(channels), dict(payload))
                 for i, uid, at, channels, payload in json.loads(raw))


_BY_CLIENT_IDS = """
SELECT m.sender_id, m.client_msg_id, m.channel, m.id, m.text, m.created_at, m.edited_at, m.deleted_at,
       m.sender_role
FROM chat_messages m
JOIN unnest($1::bigint[], $2::text[]) AS k(sender_id, client_msg_id)
  ON m.sender_id = k.sender_id AND m.client_msg_id = k.client_msg_id
"""


async def messages_by_client_ids(conn: asyncpg.Connection,
                                 keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], ExistingMessage]:
    """Stored messages by (sender_id, client_msg_id): what a resend should be answered with."""
    if not keys:
        return {}
    rows = await conn.fetch(_BY_CLIENT_IDS, [k[0] for k in keys], [k[1] for k in keys])
    return {(int(r["sender_id"]), str(r["client_msg_id"])): ExistingMessage(
        r["channel"], int(r["id"]), r["text"], r["created_at"], r["edited_at"], r["deleted_at"], r["sender_role"])
        for r in rows}


async def user_names_raw(conn: asyncpg.Connection, user_ids: Sequence[int]) -> dict[int, str]:
    rows = await conn.fetch(
        "SELECT user_id, concat_ws(' ', first_name, last_name) AS name FROM profiles WHERE user_id = ANY($1::bigint[])",
        list(user_ids))
    return {int(r["user_id"]): str(r["name"]) for r in rows}


async def class_teachers_raw(conn: asyncpg.Connection, class_ids: Sequence[int]) -> dict[int, int]:
    rows = await conn.fetch("SELECT id, class_teacher_id FROM classes WHERE id = ANY($1::bigint[]) "
                            "AND class_teacher_id IS NOT NULL", list(class_ids))
    return {int(r["id"]): int(r["class_teacher_id"]) for r in rows}


async def message_by_id(session: AsyncSession, channel: str, message_id: int, *,
                        for_update: bool = False) -> ChatMessage | None:
    stmt = select(ChatMessage).where(ChatMessage.channel == channel, ChatMessage.id == message_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_message(session: AsyncSession, message: ChatMessage, **values: Any) -> ChatMessage:
    for key, value in values.items():
        setattr(message, key, value)
    await session.flush()
    return message


def _with_sender_name() -> Any:
    return select(ChatMessage, func.concat_ws(" ", Profile.first_name, Profile.last_name)).outerjoin(
        Profile, Profile.user_id == ChatMessage.sender_id
    )


async def messages_page(session: AsyncSession, channel: str, *, before: int | None, after: int | None,
                        limit: int) -> list[tuple[ChatMessage, str]]:
    """Up to `limit` messages in ascending id order: the newest before `before`, or the oldest after `after`
    (both given: a window between them, oldest first), or the newest of the channel."""
    stmt = _with_sender_name().where(ChatMessage.channel == channel)
    if before is not None:
        stmt = stmt.where(ChatMessage.id < before)
    if after is not None:
        stmt = stmt.where(ChatMessage.id > after)
    if after is not None:
        rows = await session.execute(stmt.order_by(ChatMessage.id).limit(limit))
        return [(m, n) for m, n in rows]
    rows = await session.execute(stmt.order_by(ChatMessage.id.desc()).limit(limit))
    return [(m, n) for m, n in reversed(rows.all())]


async def sender_name(session: AsyncSession, user_id: int) -> str:
    found = await session.execute(
        select(func.concat_ws(" ", Profile.first_name, Profile.last_name)).where(Profile.user_id == user_id)
    )
    return str(found.scalar() or "")


# --- read markers and unread counts ----------------------------------------------------------------


async def advance_read_marker(session: AsyncSession, user_id: int, channel: str, up_to: int) -> int:
    """Move the marker forward (never back); returns the marker after the update."""
    await ensure_channel(session, channel)
    stmt = (
        insert(ChatReadMarker)
        .values(user_id=user_id, channel=channel, last_read_id=up_to)
        .on_conflict_do_update(
            index_elements=[ChatReadMarker.user_id, ChatReadMarker.channel],
            set_={"last_read_id": func.greatest(ChatReadMarker.last_read_id, up_to), "updated_at": func.now()},
        )
        .returning(ChatReadMarker.last_read_id)
    )
    return int((await session.execute(stmt)).scalar_one())


async def channel_summaries(session: AsyncSession, user_id: int, names: Sequence[str],
                            dm_of_user: bool) -> list[dict[str, Any]]:
    """Last id, last activity, my read marker and unread count (others' live messages after my marker)
    for the named channels, plus (dm_of_user) every existing private chat the user is part of."""
    marker = ChatReadMarker
    read_upto = func.coalesce(marker.last_read_id, 0)
    unread = (
        select(func.count())
        .where(ChatMessage.channel == ChatChannel.name, ChatMessage.id > read_upto,
               ChatMessage.sender_id != user_id, ChatMessage.deleted_at.is_(None))
        .scalar_subquery()
    )
    conditions = [ChatChannel.name.in_(list(names))] if names else []
    if dm_of_user:
        conditions += [ChatChannel.name.like(f"dm:{user_id}:%"), ChatChannel.name.like(f"dm:%:{user_id}")]
    if not conditions:
        return []
    rows = await session.execute(
        select(ChatChannel.name, ChatChannel.last_message_id, ChatChannel.last_message_at, read_upto, unread)
        .outerjoin(marker, and_(marker.channel == ChatChannel.name, marker.user_id == user_id))
        .where(or_(*conditions))
    )
    return [
        {"channel": name, "last_message_id": int(last), "last_message_at": at, "last_read_id": int(read),
         "unread": int(count)}
        for name, last, at, read, count in rows
    ]


async def class_names(session: AsyncSession, class_ids: Sequence[int] | None) -> dict[int, str]:
    """Names of the given classes (None: every class)."""
    stmt = select(SchoolClass.id, SchoolClass.name)
    if class_ids is not None:
        if not class_ids:
            return {}
        stmt = stmt.where(SchoolClass.id.in_(list(class_ids)))
    return {int(i): str(n) for i, n in await session.execute(stmt)}


async def class_exists(session: AsyncSession, class_id: int) -> bool:
    return (await session.execute(select(SchoolClass.id).where(SchoolClass.id == class_id))).first() is not None


async def user_facts(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, tuple[int | None, bool, bool]]:
    """user id -> (school_id, is_superuser, is_active)."""
    rows = await session.execute(
        select(User.id, User.school_id, User.is_superuser, User.is_active).where(User.id.in_(list(user_ids)))
    )
    return {int(i): (s, bool(su), bool(a)) for i, s, su, a in rows}


async def parent_chat_class_ids(session: AsyncSession, parent_id: int) -> set[int]:
    """Classes whose chat a parent is in: their children's classes, where the school lets parents in."""
    rows = await session.execute(
        select(ClassStudent.class_id)
        .join(ParentChild, ParentChild.child_id == ClassStudent.student_id)
        .join(SchoolClass, SchoolClass.id == ClassStudent.class_id)
        .join(School, School.id == SchoolClass.school_id)
        .where(ParentChild.parent_id == parent_id, School.parents_in_class_chat.is_(True))
    )
    return {int(i) for i in rows.scalars()}


async def user_names(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Profile.user_id, func.concat_ws(" ", Profile.first_name, Profile.last_name))
        .where(Profile.user_id.in_(list(user_ids)))
    )
    return {int(i): str(n) for i, n in rows}


async def member_cards(session: AsyncSession, user_ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(id, full name as in class lists: last, first, middle; role) of the given users, by last then first name."""
    if not user_ids:
        return []
    rows = await session.execute(
        select(User.id, full_name_sql(), User.role)
        .join(Profile, Profile.user_id == User.id)
        .where(User.id.in_(list(user_ids)))
        .order_by(Profile.last_name, Profile.first_name, User.id)
    )
    return [(int(i), str(n), str(r)) for i, n, r in rows]
