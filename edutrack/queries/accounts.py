from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import EmailOutbox, PasswordResetToken, Profile, RefreshToken, User


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == email.lower()))
    return result.scalar_one_or_none()


async def user_by_id(session: AsyncSession, user_id: int, *, for_update: bool = False,
                     for_share: bool = False) -> User | None:
    stmt = select(User).where(User.id == user_id)
    if for_update or for_share:
        # The row as it is once the lock is granted, not as this session first loaded it.
        stmt = stmt.with_for_update(of=User, read=not for_update).execution_options(populate_existing=True)
    result = await session.execute(stmt)
    return result.scalar_one_or_none()


_ACCOUNT = """
SELECT u.id, u.email, u.role, u.is_superuser, u.is_active, u.school_id, u.created_at, p.first_name, p.last_name,
       p.middle_name, p.birthday, p.show_birthday, p.avatar_url, p.email_notifications
FROM users u JOIN profiles p ON p.user_id = u.id
WHERE u.id = $1
"""


async def account_raw(db: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    """A user's columns and their profile's, by name, on the driver connection (`services.accounts.account_view`)."""
    return await db.fetchrow(_ACCOUNT, user_id)


async def school_exists(session: AsyncSession, school_id: int) -> bool:
    result = await session.execute(text("SELECT EXISTS (SELECT 1 FROM schools WHERE id = :id)"), {"id": school_id})
    return bool(result.scalar_one())


async def email_taken(session: AsyncSession, email: str) -> bool:
    result = await session.execute(select(func.count()).select_from(User).where(User.email == email.lower()))
    return bool(result.scalar_one())


async def insert_user(session: AsyncSession, user_fields: dict[str, Any], profile_fields: dict[str, Any]) -> User:
    user = User(**user_fields)
    user.profile = Profile(**profile_fields)
    session.add(user)
    await session.flush()
    return user


async def list_users(
    session: AsyncSession,
    *,
    school_id: int | None,
    role: str | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[list[User], int]:
    conditions = []
    if school_id is not None:
        conditions.append(User.school_id == school_id)
    if role:
        conditions.append(User.role == role)
    if q:
        # The search text is literal: "%" or "_" typed by a user must not act as wildcards.
        literal = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{literal}%"
        conditions.append(
            or_(
                User.email.like(pattern, escape="\\"),
                func.lower(Profile.first_name).like(pattern, escape="\\"),
                func.lower(Profile.last_name).like(pattern, escape="\\"),
            )
        )
    base = select(User).join(Profile, Profile.user_id == User.id).where(*conditions)
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    rows = await session.execute(base.order_by(User.id).limit(limit).offset(offset))
    return list(rows.scalars().unique()), int(total)


async def insert_refresh_token(
    session: AsyncSession,
    *,
    user_id: int,
    token_hash: str,
    family_id: uuid.UUID,
    expires_at: datetime,
    user_agent: str | None,
) -> None:
    session.add(
        RefreshToken(
            user_id=user_id,
            token_hash=token_hash,
            family_id=family_id,
            expires_at=expires_at,
            user_agent=user_agent,
        )
    )
    await session.flush()


async def refresh_token_owner(session: AsyncSession, token_hash: str) -> int | None:
    result = await session.execute(select(RefreshToken.user_id).where(RefreshToken.token_hash == token_hash))
    return result.scalar_one_or_none()


async def refresh_token_for_update(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    result = await session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def family_has_revoked(session: AsyncSession, family_id: uuid.UUID) -> bool:
    result = await session.execute(
        select(RefreshToken.id).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_not(None))
        .limit(1)
    )
    return result.first() is not None


async def revoke_refresh_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def revoke_user_refresh_tokens(session: AsyncSession, user_id: int) -> int:
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def lock_user(session: AsyncSession, user_id: int) -> None:
    """Hold the user row FOR UPDATE to the end of the transaction, without loading the ORM object."""
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())


async def cut_access(session: AsyncSession, user_id: int, at: datetime) -> None:
    await session.execute(update(User).where(User.id == user_id).values(access_valid_after=at))


async def ended_sessions_since(session: AsyncSession, since: datetime) -> dict[str, int]:
    """Login session (refresh-token family) id -> user id, for the families revoked after `since`."""
    result = await session.execute(
        select(RefreshToken.family_id, RefreshToken.user_id).where(RefreshToken.revoked_at > since).distinct()
    )
    return {str(family): user_id for family, user_id in result.all()}


async def access_cutoffs_since(session: AsyncSession, since: datetime) -> dict[int, datetime]:
    """user id -> access_valid_after, for the cut-offs after `since` (older ones outlived every token)."""
    result = await session.execute(
        select(User.id, User.access_valid_after).where(User.access_valid_after > since)
    )
    return {user_id: at for user_id, at in result.all() if at is not None}


async def insert_reset_token(session: AsyncSession, *, user_id: int, token_hash: str, expires_at: datetime) -> None:
    session.add(PasswordResetToken(user_id=user_id, token_hash=token_hash, expires_at=expires_at))
    await session.flush()


async def reset_token_for_update(session: AsyncSession, token_hash: str) -> PasswordResetToken | None:
    result = await session.execute(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash).with_for_update()
    )
    return result.scalar_one_or_none()


async def invalidate_reset_tokens(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=func.now())
    )


async def insert_outbox_email(
    session: AsyncSession,
    *,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str | None,
    kind: str,
    user_id: int | None,
) -> EmailOutbox:
    row = EmailOutbox(
        recipient=recipient, subject=subject, body_text=body_text, body_html=body_html, kind=kind, user_id=user_id
    )
    session.add(row)
    await session.flush()
    return row


async def live_sessions(session: AsyncSession, user_id: int, limit: int = 100) -> list[Any]:
    """The user's login sessions (refresh-token families) that can still refresh, most recently used first: when
    each began, when it last got a token, and the user agent that asked for that one."""
    newest_agent = func.array_agg(aggregate_order_by(RefreshToken.user_agent, RefreshToken.created_at.desc()))[1]
    result = await session.execute(
        select(RefreshToken.family_id, func.min(RefreshToken.created_at).label("created_at"),
               func.max(RefreshToken.created_at).label("last_used_at"), newest_agent.label("user_agent"))
        .where(RefreshToken.user_id == user_id)
        .group_by(RefreshToken.family_id)
        .having(func.bool_and(RefreshToken.revoked_at.is_(None)), func.max(RefreshToken.expires_at) > func.now())
        .order_by(func.max(RefreshToken.created_at).desc())
        .limit(limit)
    )
    return list(result.all())


async def session_is_live(session: AsyncSession, user_id: int, family_id: uuid.UUID) -> bool:
    """Whether this login session is the user's and can still refresh (another user's reads as not live)."""
    result = await session.execute(
        select(RefreshToken.id).where(RefreshToken.user_id == user_id, RefreshToken.family_id == family_id,
                                      RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > func.now())
        .limit(1)
    )
    return result.first() is not None


_DEAD_FAMILIES = text("""
    DELETE FROM refresh_tokens WHERE family_id IN (
        SELECT family_id FROM refresh_tokens GROUP BY family_id
        HAVING max(expires_at) < :expired_before
            OR (bool_and(revoked_at IS NOT NULL) AND max(revoked_at) < :revoked_before)
        LIMIT :limit)
""")
# A family's first row stays: it dates the session in the sessions list.
_OLD_ROTATED = text("""
    DELETE FROM refresh_tokens WHERE id IN (
        SELECT t.id FROM refresh_tokens t
        WHERE t.rotated_at < :rotated_before AND t.revoked_at IS NULL
          AND t.created_at > (SELECT min(f.created_at) FROM refresh_tokens f WHERE f.family_id = t.family_id)
        LIMIT :limit)
""")


async def sweep_refresh_tokens(session: AsyncSession, *, expired_before: datetime, revoked_before: datetime,
                               rotated_before: datetime, limit: int) -> int:
    """Delete up to `limit` families that are over and up to `limit` rotated rows past the reuse window."""
    dead = await session.execute(_DEAD_FAMILIES, {"expired_before": expired_before,
                                                  "revoked_before": revoked_before, "limit": limit})
    rotated = await session.execute(_OLD_ROTATED, {"rotated_before": rotated_before, "limit": limit})
    return int(dead.rowcount or 0) + int(rotated.rowcount or 0)  # type: ignore[attr-defined]
