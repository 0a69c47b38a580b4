"""SQL of web push: subscriptions, and the dispatcher's view of notification rows with the PUSH bit that it has
not handled yet (`pushed_at` null). Reading a row before it is pushed removes it from the query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import Notification, User
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


async def lock_waiting(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, list[Notification]]:
    """The users' waiting rows by user, locked until the commit that marks them (SKIP LOCKED: another dispatcher
    has them)."""
    rows = await session.execute(
        select(Notification)
        .where(Notification.user_id.in_(list(user_ids)), Notification.pushed_at.is_(None),
               Notification.read_at.is_(None), Notification.channels.op("&")(PUSH) != 0)
        .order_by(Notification.user_id, Notification.id)
        .with_for_update(skip_locked=True)
    )
    found: dict[int, list[Notification]] = {}
    for row in rows.scalars():
        found.setdefault(row.user_id, []).append(row)
    return found


async def subscriptions_by_user(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, list[PushSubscription]]:
    rows = await session.execute(select(PushSubscription).where(PushSubscription.user_id.in_(list(user_ids)))
                                 .order_by(PushSubscription.user_id, PushSubscription.id))
    found: dict[int, list[PushSubscription]] = {}
    for s in rows.scalars():
        found.setdefault(s.user_id, []).append(s)
    return found


async def active_roles(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, str]:
    rows = await session.execute(select(User.id, User.role)
                                 .where(User.id.in_(list(user_ids)), User.is_active.is_(True)))
    return {int(i): str(r) for i, r in rows}


async def mark_handled(session: AsyncSession, ids: Sequence[int]) -> None:
    if not ids:
        return
    await session.execute(update(Notification).where(Notification.id.in_(list(ids)))
                          .values(pushed_at=func.now()).execution_options(synchronize_session=False))


async def mark_users_handled(session: AsyncSession, user_ids: Sequence[int]) -> None:
    """Every waiting row of users with nowhere to push to (or who have it live): nothing is pushed later for
    them."""
    if not user_ids:
        return
    await session.execute(
        update(Notification)
        .where(Notification.user_id.in_(list(user_ids)), Notification.pushed_at.is_(None),
               Notification.read_at.is_(None), Notification.channels.op("&")(PUSH) != 0)
        .values(pushed_at=func.now()).execution_options(synchronize_session=False)
    )
