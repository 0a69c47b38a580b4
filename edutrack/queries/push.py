"""SQL of web push: subscriptions, and the dispatcher's view of notification rows with the PUSH bit that it has
not handled yet (`pushed_at` null). Reading a row before it is pushed removes it from the query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import Notification
from edutrack.db.notify import PUSH, PushSubscription
from edutrack.queries.digest import DEFAULT_TIMEZONE

PUSH_KIND = "push"  # email_outbox.kind of a push; its recipient is "push:{subscription id}"
RECIPIENT_PREFIX = "push:"


async def subscriptions_of(session: AsyncSession, user_id: int) -> list[PushSubscription]:
    rows = await session.execute(select(PushSubscription).where(PushSubscription.user_id == user_id)
                                 .order_by(PushSubscription.id))
    return list(rows.scalars())


async def subscription_by_endpoint(session: AsyncSession, endpoint: str) -> PushSubscription | None:
    found = await session.execute(select(PushSubscription).where(PushSubscription.endpoint == endpoint)
                                  .with_for_update())
    return found.scalar_one_or_none()


async def count_of(session: AsyncSession, user_id: int) -> int:
    found = await session.execute(select(func.count()).select_from(PushSubscription)
                                  .where(PushSubscription.user_id == user_id))
    return int(found.scalar_one())


async def delete_own(session: AsyncSession, user_id: int, subscription_id: int) -> bool:
    result = await session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id,
                                                                  PushSubscription.user_id == user_id)
                                   .returning(PushSubscription.id))
    return result.first() is not None


async def delete_subscription(session: AsyncSession, subscription_id: int) -> None:
    await session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))


async def subscription(session: AsyncSession, subscription_id: int) -> PushSubscription | None:
    return await session.get(PushSubscription, subscription_id)


@dataclass(frozen=True, slots=True)
class Candidate:
    user_id: int
    urgent: bool  # a waiting row may pass quiet hours
    subscribed: bool
    timezone: str
    quiet_start: time | None
    quiet_end: time | None
    quiet_weekends: bool


_CANDIDATES = text("""
WITH waiting AS (
    SELECT n.user_id, bool_or(n.payload @> '{"urgent": true}') AS urgent
    FROM notifications n
    WHERE n.pushed_at IS NULL AND n.read_at IS NULL AND n.channels & :push <> 0 AND n.user_id > :after
    GROUP BY n.user_id
)
SELECT w.user_id, w.urgent,
       u.is_active AND EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.user_id = w.user_id) AS subscribed,
       coalesce(s.timezone, sc.timezone, :default_tz) AS timezone,
       s.quiet_start, s.quiet_end, coalesce(s.quiet_weekends, false) AS quiet_weekends
FROM waiting w
JOIN users u ON u.id = w.user_id
LEFT JOIN notification_settings s ON s.user_id = u.id
LEFT JOIN schools sc ON sc.id = u.school_id
ORDER BY w.user_id
LIMIT :limit
""")


async def candidates(session: AsyncSession, *, after: int, limit: int) -> list[Candidate]:
    """Users (id > `after`, ascending) with unread rows for push that were not handled yet."""
    rows = await session.execute(_CANDIDATES, {"push": PUSH, "after": after, "limit": limit,
                                               "default_tz": DEFAULT_TIMEZONE})
    return [Candidate(**r._mapping) for r in rows]


async def lock_waiting(session: AsyncSession, user_id: int) -> list[Notification]:
    """The user's waiting rows, locked until the commit that marks them (SKIP LOCKED: another dispatcher has
    them)."""
    rows = await session.execute(
        select(Notification)
        .where(Notification.user_id == user_id, Notification.pushed_at.is_(None), Notification.read_at.is_(None),
               Notification.channels.op("&")(PUSH) != 0)
        .order_by(Notification.id)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars())


async def mark_handled(session: AsyncSession, ids: Sequence[int]) -> None:
    await session.execute(update(Notification).where(Notification.id.in_(list(ids)))
                          .values(pushed_at=func.now()).execution_options(synchronize_session=False))


async def mark_user_handled(session: AsyncSession, user_id: int) -> None:
    """Every waiting row of a user with nowhere to push to: nothing is pushed later for them."""
    await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.pushed_at.is_(None), Notification.read_at.is_(None),
               Notification.channels.op("&")(PUSH) != 0)
        .values(pushed_at=func.now()).execution_options(synchronize_session=False)
    )
