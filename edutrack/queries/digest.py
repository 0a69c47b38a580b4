"""SQL of the email consumers of notification rows: who may be due an email, and the rows that go into it.

A row is for email when its `channels` has EMAIL (sent once unread past the delay) or DIGEST (the daily digest)
(edutrack/db/notify.py). The delay compares against the database clock (now()), the same clock that stamped
created_at, so a relay on a machine with a skewed clock cannot send early; the local-time decisions (quiet
hours, the digest hour) are the scheduler's (digest/timing.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


@dataclass(frozen=True, slots=True)
class Recipient:
    user: User
    digest_sent_at: datetime | None  # when their last daily digest went out


async def lock_recipients(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, Recipient]:
    """Lock the users' profiles (SKIP LOCKED: another relay is already on those users) and re-check that email
    is still wanted now that we hold the locks. The users left out are not for this time."""
    locked = await session.execute(
        select(Profile.user_id)
        .where(Profile.user_id.in_(list(user_ids)), Profile.email_notifications != EmailPreference.OFF.value)
        .with_for_update(skip_locked=True, key_share=True)
    )
    ids = list(locked.scalars())
    if not ids:
        return {}
    users = await session.execute(select(User).where(User.id.in_(ids), User.is_active.is_(True)))
    sent_rows = await session.execute(select(NotificationSettings.user_id, NotificationSettings.digest_sent_at)
                                      .where(NotificationSettings.user_id.in_(ids)))
    sent = {int(u): at for u, at in sent_rows}
    return {u.id: Recipient(u, sent.get(u.id)) for u in users.unique().scalars()}


def _email_due(delay_seconds: int) -> ColumnElement[bool]:
    cutoff = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, delay_seconds)
    return and_(Notification.channels.op("&")(EMAIL) != 0, Notification.created_at <= cutoff)


async def pending_notifications(session: AsyncSession, digest_until: Mapping[int, datetime | None], *,
                                delay_seconds: int) -> dict[int, list[Notification]]:
    """Per user of `digest_until`, the rows of their email: EMAIL rows past the delay and, where the user's
    daily digest is due (a moment, not None), the DIGEST rows written until that moment.

    Not locked here: the caller holds the users' profile locks, which keep other schedulers off these users,
    and the marking UPDATE locks the rows only from then to the commit. Locking them while the emails render
    made the push dispatcher (which skips locked rows) leave those users' pushes to its next round."""
    digest_rows = [and_(Notification.user_id == user_id, Notification.created_at <= until)
                   for user_id, until in digest_until.items() if until is not None]
    wanted = _email_due(delay_seconds)
    if digest_rows:
        wanted = or_(wanted, and_(Notification.channels.op("&")(DIGEST) != 0, or_(*digest_rows)))
    rows = await session.execute(
        select(Notification)
        .where(Notification.user_id.in_(list(digest_until)), Notification.read_at.is_(None),
               Notification.emailed_at.is_(None), wanted)
        .order_by(Notification.user_id, Notification.id)
    )
    found: dict[int, list[Notification]] = {}
    for row in rows.scalars():
        found.setdefault(row.user_id, []).append(row)
    return found


async def mark_emailed(session: AsyncSession, ids: Sequence[int], at: datetime | None = None) -> None:
    if not ids:
        return
    await session.execute(
        update(Notification)
        .where(Notification.id.in_(list(ids)))
        .values(emailed_at=at if at is not None else func.now())
        .execution_options(synchronize_session=False)
    )


async def mark_digests_sent(session: AsyncSession, user_ids: Sequence[int], at: datetime) -> None:
    if not user_ids:
        return
    statement = insert(NotificationSettings).values([{"user_id": u, "digest_sent_at": at} for u in user_ids])
    await session.execute(statement.on_conflict_do_update(index_elements=[NotificationSettings.user_id],
                                                          set_={"digest_sent_at": statement.excluded.digest_sent_at}))
