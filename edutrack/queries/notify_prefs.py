"""SQL of notification preferences: the user's settings row, their role's defaults, chat mutes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import School
from edutrack.db.models import Profile, User
from edutrack.db.notify import ChatMute, NotificationSettings


async def settings_of(session: AsyncSession, user_id: int, *, for_update: bool = False) -> NotificationSettings | None:
    return await session.get(NotificationSettings, user_id, with_for_update=for_update)


async def role_of(session: AsyncSession, user_id: int) -> str | None:
    found = await session.execute(select(User.role).where(User.id == user_id, User.is_active.is_(True)))
    return found.scalar()


async def role_defaults(session: AsyncSession, role: str, kinds: Sequence[str]) -> dict[str, int]:
    """kind -> the role's channel mask (the SQL function the trigger uses: one source)."""
    rows = await session.execute(text("SELECT k, notification_default(:role, k) FROM unnest(CAST(:kinds AS text[])) k"),
                                 {"role": role, "kinds": list(kinds)})
    return {str(k): int(m) for k, m in rows}


async def email_mode(session: AsyncSession, user_id: int) -> str:
    found = await session.execute(select(Profile.email_notifications).where(Profile.user_id == user_id))
    return str(found.scalar_one())


async def set_email_mode(session: AsyncSession, user_id: int, mode: str) -> None:
    await session.execute(update(Profile).where(Profile.user_id == user_id).values(email_notifications=mode))


async def school_timezone(session: AsyncSession, user_id: int) -> str | None:
    found = await session.execute(select(School.timezone).join(User, User.school_id == School.id)
                                  .where(User.id == user_id))
    return found.scalar()


async def save_settings(session: AsyncSession, user_id: int, values: dict[str, Any]) -> None:
    """Create the row or change the given columns."""
    if not values:
        return
    await session.execute(
        insert(NotificationSettings).values(user_id=user_id, **values)
        .on_conflict_do_update(index_elements=[NotificationSettings.user_id], set_=values)
    )


async def mutes_of(session: AsyncSession, user_id: int, now: datetime) -> list[ChatMute]:
    rows = await session.execute(
        select(ChatMute).where(ChatMute.user_id == user_id, or_(ChatMute.until.is_(None), ChatMute.until > now))
        .order_by(ChatMute.channel)
    )
    return list(rows.scalars())


async def save_mute(session: AsyncSession, user_id: int, channel: str, until: datetime | None) -> None:
    await session.execute(
        insert(ChatMute).values(user_id=user_id, channel=channel, until=until)
        .on_conflict_do_update(index_elements=[ChatMute.user_id, ChatMute.channel], set_={"until": until})
    )


async def delete_mute(session: AsyncSession, user_id: int, channel: str) -> bool:
    result = await session.execute(delete(ChatMute).where(ChatMute.user_id == user_id, ChatMute.channel == channel)
                                   .returning(ChatMute.channel))
    return result.first() is not None
