"""SQL of chat moderation: mutes, slow mode, reports and the moderation log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.chat_rooms import ChatChannelSetting, ChatModerationAction, ChatReport
from edutrack.db.chat_rooms import ChatModerationMute as Mute
from edutrack.db.models import Role, User


async def mute(session: AsyncSession, channel: str, user_id: int, until: datetime, by: int,
               reason: str | None) -> None:
    stmt = insert(Mute).values(channel=channel, user_id=user_id, until=until, muted_by=by, reason=reason)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[Mute.channel, Mute.user_id],
        set_={"until": until, "muted_by": by, "reason": reason, "created_at": text("now()")}))


async def unmute(session: AsyncSession, channel: str, user_id: int) -> bool:
    result = await session.execute(delete(Mute).where(Mute.channel == channel, Mute.user_id == user_id,
                                                          Mute.until > text("now()")).returning(Mute.user_id))
    return result.first() is not None


async def active_mutes(session: AsyncSession, channel: str) -> list[Mute]:
    rows = await session.execute(select(Mute).where(Mute.channel == channel, Mute.until > text("now()"))
                                 .order_by(Mute.until))
    return list(rows.scalars())


async def set_slow_mode(session: AsyncSession, channel: str, seconds: int) -> None:
    stmt = insert(ChatChannelSetting).values(channel=channel, slow_mode_seconds=seconds)
    await session.execute(stmt.on_conflict_do_update(index_elements=[ChatChannelSetting.channel],
                                                     set_={"slow_mode_seconds": seconds,
                                                           "updated_at": text("now()")}))


_SPEAK = text("""
SELECT (SELECT until FROM chat_moderation_mutes
        WHERE channel = :channel AND user_id = :user AND until > now()) AS muted_until,
       coalesce((SELECT slow_mode_seconds FROM chat_channel_settings WHERE channel = :channel), 0) AS slow,
       (SELECT max(m.created_at) FROM chat_messages m
        WHERE m.channel = :channel AND m.sender_id = :user
          AND m.id > coalesce((SELECT last_message_id FROM chat_channels WHERE name = :channel), 0) - 500
       ) AS last_sent,
       now() AS now,
       (SELECT class_teacher_id FROM classes WHERE id = CAST(:class_id AS bigint)) AS lead,
       (SELECT concat_ws(' ', first_name, last_name) FROM profiles WHERE user_id = :user) AS sender_name
""")


async def speak_facts(session: AsyncSession, channel: str, user_id: int, class_id: int | None = None) -> Any:
    """Whether the user is muted here (until when), the channel's slow mode, and when the user last wrote in it
    (among its last 500 messages): what a send is checked against; and, in the same round trip, what the message
    is stored with: the class teacher of `class_id` (`lead`) and the sender's name."""
    return (await session.execute(_SPEAK, {"channel": channel, "user": user_id, "class_id": class_id})).one()


_STATES = text("""
SELECT c.name, coalesce(s.slow_mode_seconds, 0) AS slow, m.user_id, m.until
FROM unnest(CAST(:names AS text[])) AS c(name)
LEFT JOIN chat_channel_settings s ON s.channel = c.name
LEFT JOIN chat_moderation_mutes m ON m.channel = c.name AND m.until > now()
""")


async def channel_states(session: AsyncSession, channels: Sequence[str]) -> dict[str, tuple[int, dict[int, datetime]]]:
    """(slow mode seconds, {muted user: until}) of each channel, in one statement."""
    found: dict[str, tuple[int, dict[int, datetime]]] = {}
    for name, slow, user_id, until in (await session.execute(_STATES, {"names": list(channels)})).all():
        muted = found.setdefault(name, (int(slow), {}))[1]
        if user_id is not None:
            muted[int(user_id)] = until
    return found


async def log_action(session: AsyncSession, **values: Any) -> ChatModerationAction:
    row = ChatModerationAction(**values)
    session.add(row)
    await session.flush()
    await session.refresh(row, ["created_at"])
    return row


async def log_page(session: AsyncSession, channel: str, limit: int) -> list[ChatModerationAction]:
    rows = await session.execute(select(ChatModerationAction).where(ChatModerationAction.channel == channel)
                                 .order_by(ChatModerationAction.id.desc()).limit(limit))
    return list(rows.scalars())


async def add_report(session: AsyncSession, channel: str, message_id: int, reporter_id: int,
                     reason: str | None) -> ChatReport | None:
    """The new report, or None when this person already reported this message."""
    stmt = insert(ChatReport).values(channel=channel, message_id=message_id, reporter_id=reporter_id, reason=reason)
    found = await session.execute(stmt.on_conflict_do_nothing().returning(ChatReport.id))
    report_id = found.scalar()
    return None if report_id is None else await session.get(ChatReport, report_id)


async def reports(session: AsyncSession, channel: str, *, open_only: bool, limit: int) -> list[Any]:
    stmt = text(f"""
        SELECT r.id, r.channel, r.message_id, r.reporter_id, r.reason, r.created_at, r.resolved_at, r.resolved_by,
               m.sender_id, CASE WHEN m.deleted_at IS NULL THEN m.text END AS text, m.deleted_at IS NOT NULL AS deleted
        FROM chat_reports r LEFT JOIN chat_messages m ON m.channel = r.channel AND m.id = r.message_id
        WHERE r.channel = :channel {"AND r.resolved_at IS NULL" if open_only else ""}
        ORDER BY r.id DESC LIMIT :limit""")  # noqa: S608 (a constant fragment; values are bound)
    return list(await session.execute(stmt, {"channel": channel, "limit": limit}))


async def resolve_report(session: AsyncSession, channel: str, report_id: int, by: int) -> ChatReport | None:
    found = await session.execute(
        update(ChatReport).where(ChatReport.id == report_id, ChatReport.channel == channel,
                                 ChatReport.resolved_at.is_(None))
        .values(resolved_at=text("now()"), resolved_by=by).returning(ChatReport.id))
    report_id_done = found.scalar()
    return None if report_id_done is None else await session.get(ChatReport, report_id_done)


async def open_report_counts(session: AsyncSession, channels: Sequence[str]) -> dict[str, int]:
    if not channels:
        return {}
    rows = await session.execute(select(ChatReport.channel, text("count(*)")).where(
        ChatReport.channel.in_(list(channels)), ChatReport.resolved_at.is_(None)).group_by(ChatReport.channel))
    return {str(c): int(n) for c, n in rows}


# --- the moderators' report inbox -------------------------------------------------------------------------------

_INBOX = """
SELECT r.id, r.channel, r.message_id, r.reporter_id, concat_ws(' ', rp.first_name, rp.last_name) AS reporter,
       r.reason, r.created_at, r.resolved_at, r.resolved_by, r.resolution,
       m.sender_id, concat_ws(' ', sp.first_name, sp.last_name) AS sender,
       CASE WHEN m.deleted_at IS NULL THEN m.text END AS text, m.deleted_at IS NOT NULL AS deleted
FROM chat_reports r
LEFT JOIN chat_messages m ON m.channel = r.channel AND m.id = r.message_id
LEFT JOIN profiles rp ON rp.user_id = r.reporter_id
LEFT JOIN profiles sp ON sp.user_id = m.sender_id
WHERE (CAST(:every AS boolean) OR r.channel = ANY(CAST(:channels AS text[])))
  AND (NOT CAST(:open_only AS boolean) OR r.resolved_at IS NULL)
ORDER BY r.id DESC LIMIT :limit
"""


async def inbox(session: AsyncSession, channels: Sequence[str] | None, *, open_only: bool, limit: int) -> list[Any]:
    """Reports of messages in these chats (None: every chat), newest first, with the reporter's and the author's
    names and the message's text (null once deleted)."""
    rows = await session.execute(text(_INBOX), {"every": channels is None, "channels": list(channels or []),
                                                "open_only": open_only, "limit": limit})
    return list(rows)


async def report_by_id(session: AsyncSession, report_id: int) -> ChatReport | None:
    found = await session.execute(select(ChatReport).where(ChatReport.id == report_id).with_for_update())
    return found.scalar_one_or_none()


async def resolve_message_reports(session: AsyncSession, channel: str, message_id: int, by: int,
                                  resolution: str) -> list[tuple[int, int]]:
    """Close every open report of one message: (report id, reporter) of each."""
    found = await session.execute(
        update(ChatReport).where(ChatReport.channel == channel, ChatReport.message_id == message_id,
                                 ChatReport.resolved_at.is_(None))
        .values(resolved_at=text("now()"), resolved_by=by, resolution=resolution)
        .returning(ChatReport.id, ChatReport.reporter_id))
    return sorted((int(i), int(r)) for i, r in found)


async def led_class_ids(session: AsyncSession, teacher_id: int) -> list[int]:
    rows = await session.execute(text("SELECT id FROM classes WHERE class_teacher_id = :t ORDER BY id"),
                                 {"t": teacher_id})
    return [int(i) for i in rows.scalars()]


async def groups_created_by(session: AsyncSession, user_id: int) -> list[int]:
    rows = await session.execute(text("SELECT id FROM chat_groups WHERE created_by = :u ORDER BY id"),
                                 {"u": user_id})
    return [int(i) for i in rows.scalars()]


async def admin_ids(session: AsyncSession, school_id: int) -> list[int]:
    """The school's active administrators."""
    rows = await session.execute(select(User.id).where(User.school_id == school_id, User.role == Role.ADMIN.value,
                                                       User.is_active.is_(True)).order_by(User.id))
    return list(rows.scalars())
