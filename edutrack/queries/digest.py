"""SQL of the digest scheduler: who is due a digest, and the rows that go into it.

Times compare against the database clock (now()), the same clock that stamped created_at,
so a relay on a machine with a skewed clock cannot send early or late.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Exists, and_, exists, func, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import EmailOutbox, EmailPreference, Notification, Profile, User

DIGEST_KIND = "digest"


def _cutoff(delay_seconds: int) -> ColumnElement[datetime]:
    return func.now() - func.make_interval(0, 0, 0, 0, 0, 0, delay_seconds)


def _daily_already_sent() -> Exists:
    # A 'daily' user who got a digest in the last 24 hours waits for the next day.
    return exists(
        select(EmailOutbox.id).where(
            EmailOutbox.user_id == Profile.user_id,
            EmailOutbox.kind == DIGEST_KIND,
            EmailOutbox.created_at > func.now() - func.make_interval(0, 0, 0, 1),
        )
    )


async def users_due(session: AsyncSession, *, delay_seconds: int, limit: int) -> list[int]:
    """Users with unread, not-yet-emailed notifications older than the delay whose preference allows email."""
    rows = await session.execute(
        select(Notification.user_id)
        .join(User, and_(User.id == Notification.user_id, User.is_active.is_(True)))
        .join(Profile, Profile.user_id == User.id)
        .where(
            Notification.read_at.is_(None),
            Notification.emailed_at.is_(None),
            Notification.created_at <= _cutoff(delay_seconds),
            Profile.email_notifications != EmailPreference.OFF.value,
            not_(and_(Profile.email_notifications == EmailPreference.DAILY.value, _daily_already_sent())),
        )
        .group_by(Notification.user_id)
        .order_by(Notification.user_id)
        .limit(limit)
    )
    return list(rows.scalars())


async def lock_recipient(session: AsyncSession, user_id: int, *, delay_seconds: int) -> User | None:
    """Lock the user's profile (SKIP LOCKED: another relay is already on this user) and re-check that
    email is still wanted now that we hold the lock. None means: not this time."""
    profile = (
        await session.execute(
            select(Profile).where(Profile.user_id == user_id).with_for_update(skip_locked=True, key_share=True)
        )
    ).scalar_one_or_none()
    if profile is None or profile.email_notifications == EmailPreference.OFF.value:
        return None
    if profile.email_notifications == EmailPreference.DAILY.value:
        sent_today = (await session.execute(
            select(_daily_already_sent()).select_from(Profile).where(Profile.user_id == user_id)
        )).scalar()
        if sent_today:
            return None
    user = await session.get(User, user_id)
    return user if user is not None and user.is_active else None


async def pending_notifications(session: AsyncSession, user_id: int, *, delay_seconds: int) -> list[Notification]:
    rows = await session.execute(
        select(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
            Notification.emailed_at.is_(None),
            Notification.created_at <= _cutoff(delay_seconds),
        )
        .order_by(Notification.id)
        .with_for_update()
    )
    return list(rows.scalars())


async def mark_emailed(session: AsyncSession, ids: Sequence[int], at: datetime | None = None) -> None:
    await session.execute(
        update(Notification)
        .where(Notification.id.in_(list(ids)))
        .values(emailed_at=at if at is not None else func.now())
        .execution_options(synchronize_session=False)
    )
