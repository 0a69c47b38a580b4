"""Cutting a user's access tokens short.

An access token is a signed JWT, checked by signature, not looked up per request, so on its own it stays
valid until it expires (ACCESS_TOKEN_TTL). When an account is deactivated, changes role or school, changes
its password or logs out everywhere, the tokens issued until then must stop working at once, on every node:

  * the service writes `users.access_valid_after` in the transaction that makes the change (`cut`),
  * after the commit, `announce` records the cut-off on this node and broadcasts it to the others
    (events.ACCESS_REVOKED on the `_nodes` channel); each node's TokenService then refuses those tokens
    (401 token_revoked) and its gateway closes the user's sockets,
  * every node also reads the cut-offs of the last token lifetime from the column (`load`): at start-up, at
    once when its Redis subscription comes back, and every ACCESS_CUTOFF_POLL seconds, which catches a
    broadcast that was lost while the subscriptions stayed up (a failed publish, a node that died between its
    commit and its announce);
  * a socket checks its token against the cut-offs on every frame it receives, so one that a close missed
    cannot act on its old token.

`cut` and `end_sessions` lock the user row FOR UPDATE before they read the clock, and tokens are issued under a
share lock of that row (auth._issue): a token is issued either before the change's cut-off or after its commit,
from the changed account.

Clocks: the cut-off is the cutting node's clock, `iat` the issuing node's. Nodes must keep their clocks in sync
(NTP); a node whose clock is behind issues tokens that a cut-off made by a node ahead of it refuses (the client
refreshes and gets one that is accepted once the clocks have passed the cut-off).

A client refreshes (its refresh token is still valid after a role change) or, when the refresh is refused
too (deactivation, logout everywhere, another device after a password change), logs in again.

One login session (a refresh-token family, the `sid` of its access tokens) ends alone: at logout, and when a
rotated refresh token is presented again (reuse revokes the family). Its `revoked_at` rows are the record,
`announce_session_end` the broadcast (access.revoked with a `session`), and `load` reads the families ended within
a token lifetime as it reads the cut-offs; TokenService.is_cut_off refuses both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import events
from edutrack.context import AppContext
from edutrack.queries import accounts as q
from edutrack.uow import AfterCommit


async def cut(session: AsyncSession, user_id: int) -> float:
    """Refuse the user's access tokens issued until now; returns the cut-off (Unix time) for `announce`.
    Tokens issued after this call, in the same transaction or later, are not affected."""
    await q.lock_user(session, user_id)
    return await _cut_locked(session, user_id)


async def end_sessions(session: AsyncSession, user_id: int) -> float:
    """Sign the user out everywhere: revoke every refresh token and cut the access tokens; returns the cut-off.
    The row lock comes first, so a refresh in flight commits the token it rotates to before the revocation reads
    which tokens there are (auth.refresh takes the same row, shared, before its token)."""
    await q.lock_user(session, user_id)
    await q.revoke_user_refresh_tokens(session, user_id)
    return await _cut_locked(session, user_id)


async def _cut_locked(session: AsyncSession, user_id: int) -> float:
    # The clock is read only once the row is held: a token issued under the share lock (auth._issue) is then
    # either earlier than this cut-off or issued after this transaction commits, from the changed account.
    now = time.time()
    await q.cut_access(session, user_id, datetime.fromtimestamp(now, UTC))
    return now


def announce(uow: AfterCommit, user_id: int, before: float, *, relogin: bool) -> None:
    """After the commit: this node at once (even with Redis down), every other node through Redis."""
    tokens = uow.ctx.tokens

    async def record() -> None:
        tokens.revoke_before(user_id, before)

    uow.after_commit(record, "access.record_cutoff")
    uow.publish(events.NODES_CHANNEL, events.access_revoked_event(user_id, before, relogin=relogin))


def announce_session_end(uow: AfterCommit, user_id: int, session_id: str) -> None:
    """After the commit that revoked the family: refuse that login's access tokens here at once and on every other
    node through Redis; its sockets close (4001, log in again)."""
    tokens = uow.ctx.tokens

    async def record() -> None:
        tokens.end_session(session_id, time.time())

    uow.after_commit(record, "access.record_session_end")
    uow.publish(events.NODES_CHANNEL, events.session_ended_event(user_id, session_id))


@dataclass(frozen=True, slots=True)
class Revoked:
    user_id: int
    relogin: bool


def apply_broadcast(ctx: AppContext, event: dict[str, Any]) -> Revoked | None:
    """Record another node's access.revoked event on this node; whose sockets to check, or None if the event is
    not one (or is malformed)."""
    if event.get("type") != events.ACCESS_REVOKED:
        return None
    user_id, before, session_id = event.get("user_id"), event.get("before"), event.get("session")
    if not isinstance(user_id, int):
        return None
    if isinstance(session_id, str) and 0 < len(session_id) <= 64:
        ctx.tokens.end_session(session_id, time.time())
    elif isinstance(before, int | float):
        try:
            ctx.tokens.revoke_before(user_id, float(before))
        except (ValueError, OverflowError):
            return None
    else:
        return None
    return Revoked(user_id, bool(event.get("relogin")))


async def load(ctx: AppContext) -> set[int]:
    """Record on this node every cut-off and every ended login session younger than an access token's lifetime;
    returns those users' ids. All of them every time, not those since the last read: a cut-off committed late
    with an early timestamp would fall behind a watermark."""
    since = datetime.now(UTC) - timedelta(seconds=ctx.tokens.access_ttl + 60)
    async with ctx.reads() as session:
        cutoffs = await q.access_cutoffs_since(session, since)
        ended = await q.ended_sessions_since(session, since)
    for user_id, at in cutoffs.items():
        ctx.tokens.revoke_before(user_id, at.timestamp())
    now = time.time()
    for session_id in ended:
        ctx.tokens.end_session(session_id, now)
    return set(cutoffs) | set(ended.values())
