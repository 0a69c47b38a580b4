"""SQL of the email outbox: the relay's claims, the notifier's per-row lock, and the admin views."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, Table, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import EmailOutbox, OutboxStatus, Profile, User


async def claim_batch(session: AsyncSession, *, limit: int, lease_seconds: float,
                      republish_after: float | None = None) -> list[int]:
    """Mark up to `limit` rows 'publishing' with a lease and return their ids, oldest first.

    Pending rows and rows whose lease ran out (their relay died between claim and mark) are both claimable;
    SKIP LOCKED lets several relays claim disjoint batches at the same moment. With `republish_after`,
    rows published that long ago and still not sent or dead are claimed again: their message was lost
    (a broker that lost its disk, a purged queue). The notifier's idempotency absorbs a needless copy.
    """
    now = func.now()
    claimable = [
        EmailOutbox.status == OutboxStatus.PENDING.value,
        (EmailOutbox.status == OutboxStatus.PUBLISHING.value) & (EmailOutbox.lease_until < now),
    ]
    if republish_after is not None:
        claimable.append(
            (EmailOutbox.status == OutboxStatus.PUBLISHED.value)
            & (EmailOutbox.published_at < now - func.make_interval(0, 0, 0, 0, 0, 0, republish_after))
        )
    candidates = (
        select(EmailOutbox.id)
        .where(or_(*claimable))
        .order_by(EmailOutbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        update(EmailOutbox)
        .where(EmailOutbox.id.in_(candidates))
        .values(status=OutboxStatus.PUBLISHING.value,
                lease_until=now + func.make_interval(0, 0, 0, 0, 0, 0, lease_seconds))
        .returning(EmailOutbox.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars())


async def mark_published(session: AsyncSession, ids: Sequence[int]) -> None:
    # Only rows still 'publishing': a fast notifier may already have marked one 'sent'.
    await session.execute(
        update(EmailOutbox)
        .where(EmailOutbox.id.in_(list(ids)), EmailOutbox.status == OutboxStatus.PUBLISHING.value)
        .values(status=OutboxStatus.PUBLISHED.value, published_at=func.now(), lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def release(session: AsyncSession, ids: Sequence[int]) -> None:
    """Give claimed rows back after a failed publish so the next attempt does not wait for the lease."""
    await session.execute(
        update(EmailOutbox)
        .where(EmailOutbox.id.in_(list(ids)), EmailOutbox.status == OutboxStatus.PUBLISHING.value)
        .values(status=OutboxStatus.PENDING.value, lease_until=None)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class OutboxMail:
    """What the notifier needs of a row. Plain Core rows, not ORM objects: this runs once per email and the
    ORM's identity map and unit of work were a measurable share of a notifier's CPU."""

    id: int
    recipient: str
    subject: str
    body_text: str
    body_html: str | None
    kind: str
    status: str
    attempts: int
    headers: dict[str, str] | None = None


OUTBOX = cast(Table, EmailOutbox.__table__)


async def lock_for_delivery(session: AsyncSession, outbox_id: int) -> OutboxMail | None:
    """The row under a row lock: a second copy of the same job (a republish) waits here and then sees 'sent'."""
    c = OUTBOX.c
    conn = await session.connection()
    found = (await conn.execute(
        select(c.id, c.recipient, c.subject, c.body_text, c.body_html, c.kind, c.status, c.attempts, c.headers)
        .where(c.id == outbox_id)
        .with_for_update()
    )).first()
    return OutboxMail(*found) if found is not None else None


async def mark_sent(session: AsyncSession, outbox_id: int) -> None:
    conn = await session.connection()
    await conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == outbox_id)
        .values(status=OutboxStatus.SENT.value, sent_at=func.now(), lease_until=None,
                attempts=OUTBOX.c.attempts + 1, last_error=None)
    )


async def record_failure(session: AsyncSession, outbox_id: int, error: str, *, dead: bool) -> int:
    """Count a failed attempt; returns the attempts so far."""
    values: dict[str, object] = {"attempts": OUTBOX.c.attempts + 1, "last_error": error[:2000]}
    if dead:
        values.update(status=OutboxStatus.DEAD.value, lease_until=None)
    conn = await session.connection()
    result = await conn.execute(
        update(OUTBOX).where(OUTBOX.c.id == outbox_id).values(**values).returning(OUTBOX.c.attempts)
    )
    return int(result.scalar_one())


def _visible(school_id: int | None, all_schools: bool) -> ColumnElement[bool] | None:
    if all_schools:
        return None
    # Rows of users of the admin's school; rows of deleted users (user_id NULL) only superusers see.
    return EmailOutbox.user_id.in_(select(User.id).where(User.school_id == school_id))


async def list_rows(session: AsyncSession, *, status: str | None, limit: int, offset: int,
                    school_id: int | None, all_schools: bool) -> tuple[list[EmailOutbox], int]:
    conditions = []
    scope = _visible(school_id, all_schools)
    if scope is not None:
        conditions.append(scope)
    if status is not None:
        conditions.append(EmailOutbox.status == status)
    total = (await session.execute(select(func.count()).select_from(EmailOutbox).where(*conditions))).scalar_one()
    rows = await session.execute(
        select(EmailOutbox).where(*conditions).order_by(EmailOutbox.id.desc()).limit(limit).offset(offset)
    )
    return list(rows.scalars()), int(total)


async def row_for_update(session: AsyncSession, outbox_id: int, *, school_id: int | None,
                         all_schools: bool) -> EmailOutbox | None:
    query = select(EmailOutbox).where(EmailOutbox.id == outbox_id)
    scope = _visible(school_id, all_schools)
    if scope is not None:
        query = query.where(scope)
    return (await session.execute(query.with_for_update())).scalar_one_or_none()


async def requeue(session: AsyncSession, row: EmailOutbox) -> None:
    # A fresh start: the admin fixed the cause (address, mailbox), so the retry budget starts over.
    row.status = OutboxStatus.PENDING.value
    row.attempts = 0
    row.lease_until = None
    row.published_at = None
    await session.flush()


async def insert_many(session: AsyncSession, rows: Sequence[dict[str, object]]) -> list[int]:
    """Insert several outbox rows in the caller's transaction (explicit sends, digests, benchmarks)."""
    if not rows:
        return []
    result = await session.execute(insert(EmailOutbox).values(list(rows)).returning(EmailOutbox.id))
    return list(result.scalars())


async def insert_new(session: AsyncSession, rows: Sequence[dict[str, object]]) -> list[tuple[int, str]]:
    """Insert the rows whose `dedupe_key` is not in the outbox yet; (id, dedupe_key) of those inserted."""
    if not rows:
        return []
    statement = (pg_insert(EmailOutbox).values(list(rows))
                 .on_conflict_do_nothing(index_elements=[EmailOutbox.dedupe_key])
                 .returning(EmailOutbox.id, EmailOutbox.dedupe_key))
    return [(int(i), str(k)) for i, k in await session.execute(statement)]


async def email_recipients(session: AsyncSession, user_ids: Sequence[int]) -> list[tuple[int, str, str, str]]:
    """(user id, email, first name, email preference) of the active users among `user_ids`, by id."""
    if not user_ids:
        return []
    rows = await session.execute(
        select(User.id, User.email, Profile.first_name, Profile.email_notifications)
        .join(Profile, Profile.user_id == User.id)
        .where(User.id.in_(list(user_ids)), User.is_active.is_(True))
        .order_by(User.id)
    )
    return [(int(i), str(e), str(f), str(p)) for i, e, f, p in rows]
