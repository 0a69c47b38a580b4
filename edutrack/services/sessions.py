"""A person's own login sessions (one per sign-in: a refresh-token family): list them, end one, end them all."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from edutrack import errors
from edutrack.context import AppContext
from edutrack.i18n import _
from edutrack.queries import accounts as q
from edutrack.security.tokens import Principal
from edutrack.services import token_cutoffs
from edutrack.uow import unit_of_work

# Ending sessions is a write: a script that loops on it gets 429 instead of a flood of broadcasts.
REVOKES_PER_MINUTE = 30


@dataclass(frozen=True, slots=True)
class LoginSession:
    id: str
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    current: bool


async def list_sessions(ctx: AppContext, actor: Principal) -> list[LoginSession]:
    async with ctx.reads() as session:
        rows = await q.live_sessions(session, actor.user_id)
    return [LoginSession(str(r.family_id), r.created_at, r.last_used_at, r.user_agent,
                         str(r.family_id) == actor.session_id) for r in rows]


async def _admit(ctx: AppContext, actor: Principal) -> None:
    count, ttl = await ctx.limiter.hit(f"sessions:revoke:{actor.user_id}", 60)
    if count > REVOKES_PER_MINUTE:
        raise errors.TooManyRequests(ttl)


async def end_session(ctx: AppContext, actor: Principal, session_id: str) -> bool:
    """End one of the actor's own sessions; True when it was the one this request came from. Another person's
    session, an ended one and a malformed id all answer 404 alike."""
    await _admit(ctx, actor)
    missing = errors.NotFound(_("No such session"))
    try:
        family = uuid.UUID(session_id)
    except ValueError as exc:
        raise missing from exc
    async with unit_of_work(ctx) as uow:
        # The account first, as logout does: a refresh in flight commits the token it rotates to before this
        # revocation reads the family.
        await q.lock_user(uow.session, actor.user_id)
        if not await q.session_is_live(uow.session, actor.user_id, family):
            raise missing
        await q.revoke_refresh_family(uow.session, family)
        token_cutoffs.announce_session_end(uow, actor.user_id, str(family))
    return str(family) == actor.session_id


async def end_all(ctx: AppContext, actor: Principal) -> None:
    """Every session of the actor, this one included (like logout-all)."""
    await _admit(ctx, actor)
    async with unit_of_work(ctx) as uow:
        cutoff = await token_cutoffs.end_sessions(uow.session, actor.user_id)
        token_cutoffs.announce(uow, actor.user_id, cutoff, relogin=True)


# A rotated refresh token presented again within this window ends its whole login (reuse detection); after it,
# the row is gone and the token is simply unknown, so it is refused all the same, only without ending the login.
REUSE_WINDOW = timedelta(days=7)
SWEEP_BATCH = 5000


async def sweep_refresh_tokens(ctx: AppContext, now: datetime) -> int:
    """Delete what no check needs any more: logins expired or ended (after every access token they issued and the
    cut-off readers have seen them) and rotated tokens past the reuse window. Each page view rotates the browser's
    token, so without this the table grows by one row per page view."""
    margin = timedelta(seconds=ctx.settings.access_token_ttl) + timedelta(hours=1)
    total = 0
    while True:
        async with unit_of_work(ctx) as uow:
            deleted = await q.sweep_refresh_tokens(
                uow.session, expired_before=now - margin, revoked_before=now - margin,
                rotated_before=now - REUSE_WINDOW, limit=SWEEP_BATCH)
        total += deleted
        if deleted < SWEEP_BATCH:
            return total
