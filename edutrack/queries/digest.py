"""SQL of the email consumers of notification rows: who may be due an email, and the rows that go into it.

A row is for email when its `channels` has EMAIL (sent once unread past the delay) or DIGEST (the daily digest)
(edutrack/db/notify.py). The delay compares against the database clock (now()), the same clock that stamped
created_at, so a relay on a machine with a skewed clock cannot send early; the local-time decisions (quiet
hours, the digest hour) are the scheduler's (digest/timing.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import ColumnElement, and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import EmailPreference, Notification, Profile, User
from edutrack.db.notify import DIGEST, EMAIL, NotificationSettings

DIGEST_KIND = "digest"
DEFAULT_TIMEZONE = "Europe/Moscow"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A user with rows waiting for email, and what the scheduler needs to decide whether to send now."""

    user_id: int
    email_due: bool  # an EMAIL row is past the delay
    urgent_due: bool  # ... and one of them may pass quiet hours
    first_digest_row: datetime | None  # the oldest waiting DIGEST row
    timezone: str
    quiet_start: time | None
    quiet_end: time | None
    quiet_weekends: bool
    digest_time: time
    digest_sent_at: datetime | None


_CANDIDATES = text("""
WITH waiting AS (
    SELECT n.user_id,
           bool_or(n.channels & :email <> 0 AND n.created_at <= now() - make_interval(secs => :delay)) AS email_due,
           bool_or(n.channels & :email <> 0 AND n.created_at <= now() - make_interval(secs => :delay)
                   AND n.payload @> '{"urgent": true}') AS urgent_due,
           min(n.created_at) FILTER (WHERE n.channels & :digest <> 0) AS first_digest_row
    FROM notifications n
    WHERE n.read_at IS NULL AND n.emailed_at IS NULL AND n.channels & :any <> 0 AND n.user_id > :after
    GROUP BY n.user_id
)
SELECT w.user_id, w.email_due, w.urgent_due, w.first_digest_row,
       coalesce(s.timezone, sc.timezone, :default_tz) AS timezone,
       s.quiet_start, s.quiet_end, coalesce(s.quiet_weekends, false) AS quiet_weekends,
       coalesce(s.digest_time, time '19:00') AS digest_time, s.digest_sent_at
FROM waiting w
JOIN users u ON u.id = w.user_id AND u.is_active
JOIN profiles p ON p.user_id = u.id AND p.email_notifications <> 'off'
LEFT JOIN notification_settings s ON s.user_id = u.id
LEFT JOIN schools sc ON sc.id = u.school_id
WHERE w.email_due OR w.first_digest_row IS NOT NULL
ORDER BY w.user_id
LIMIT :limit
""")


async def candidates(session: AsyncSession, *, delay_seconds: int, after: int, limit: int) -> list[Candidate]:
    """Users (id > `after`, ascending) with unread, not yet emailed rows meant for email."""
    rows = await session.execute(_CANDIDATES, {
        "email": EMAIL, "digest": DIGEST, "any": EMAIL | DIGEST, "delay": delay_seconds, "after": after,
        "limit": limit, "default_tz": DEFAULT_TIMEZONE,
    })
    return [Candidate(**r._mapping) for r in rows]


async def lock_recipient(session: AsyncSession, user_id: int) -> tuple[User, datetime | None] | None:
    """Lock the user's profile (SKIP LOCKED: another relay is already on this user) and re-check that email is
    still wanted now that we hold the lock. Returns the user and when their last daily digest went out; None
    means: not this time."""
    profile = (
        await session.execute(
            select(Profile).where(Profile.user_id == user_id).with_for_update(skip_locked=True, key_share=True)
        )
    ).scalar_one_or_none()
    if profile is None or profile.email_notifications == EmailPreference.OFF.value:
        return None
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    sent = await session.execute(select(NotificationSettings.digest_sent_at)
                                 .where(NotificationSettings.user_id == user_id))
    return user, sent.scalar()


def _email_due(delay_seconds: int) -> ColumnElement[bool]:
    cutoff = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, delay_seconds)
    return and_(Notification.channels.op("&")(EMAIL) != 0, Notification.created_at <= cutoff)


async def pending_notifications(session: AsyncSession, user_id: int, *, delay_seconds: int,
                                digest_until: datetime | None) -> list[Notification]:
    """The rows of one email: EMAIL rows past the delay and, when the daily digest is due, the DIGEST rows
    written until its moment. Locked until the commit that marks them emailed."""
    wanted = _email_due(delay_seconds)
    if digest_until is not None:
        wanted = or_(wanted, and_(Notification.channels.op("&")(DIGEST) != 0,
                                  Notification.created_at <= digest_until))
    rows = await session.execute(
        select(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None), Notification.emailed_at.is_(None),
               wanted)
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


async def mark_digest_sent(session: AsyncSession, user_id: int, at: datetime) -> None:
    await session.execute(
        insert(NotificationSettings).values(user_id=user_id, digest_sent_at=at)
        .on_conflict_do_update(index_elements=[NotificationSettings.user_id], set_={"digest_sent_at": at})
    )
