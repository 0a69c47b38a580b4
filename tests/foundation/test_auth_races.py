"""Token issuing racing a change to the account. Every change that cuts tokens (deactivation, role, school,
password, logout-all) holds the user row FOR UPDATE until it commits, and tokens are issued under a share lock of
that row: these tests hold the row the way such a change does and show the request waits for it and then obeys it."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from edutrack.context import AppContext
from edutrack.security.tokens import hash_token
from tests.foundation.helpers import error_of

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"


async def _still_waiting(task: asyncio.Task[Any]) -> None:
    await asyncio.sleep(0.3)
    assert not task.done(), "the request did not wait for the account row"


async def _lock(session: Any, user_id: int, mode: str = "UPDATE") -> None:
    await session.execute(text(f"SELECT 1 FROM users WHERE id = :id FOR {mode}"), {"id": user_id})


async def test_a_refresh_during_a_role_change_gets_the_new_role(client, factory, ctx: AppContext):
    actor = await factory.actor("teacher")
    async with ctx.sessions.begin() as session:  # an administrator's role change, not yet committed
        await _lock(session, actor.id)
        await session.execute(text("UPDATE users SET role = 'parent', access_valid_after = now() WHERE id = :id"),
                              {"id": actor.id})
        refreshing = asyncio.create_task(client.post(REFRESH, json={"refresh_token": actor.refresh_token}))
        await _still_waiting(refreshing)
    resp = await refreshing
    assert resp.status == 200, await resp.text()
    fresh = (await resp.json())["access_token"]
    # The token's own claim (profile/me would read the row): issued after the change, so not cut off either.
    assert ctx.tokens.decode_access(fresh).role == "parent"


async def test_a_login_with_the_old_password_during_a_reset_is_refused(client, factory, ctx: AppContext):
    actor = await factory.actor("parent")
    other_hash = await ctx.passwords.hash("a-completely-new-password")
    async with ctx.sessions.begin() as session:  # a reset: new hash, cut-off, not yet committed
        await _lock(session, actor.id)
        await session.execute(text("UPDATE users SET password_hash = :h, access_valid_after = now() WHERE id = :id"),
                              {"h": other_hash, "id": actor.id})
        # The login checks the old password against the committed row, then waits to issue.
        logging_in = asyncio.create_task(client.post(LOGIN, json={"email": actor.user.email,
                                                                  "password": actor.password}))
        await _still_waiting(logging_in)
    error = await error_of(await logging_in, 401)
    assert error["code"] == "invalid_credentials"


async def test_logout_everywhere_revokes_the_token_a_refresh_in_flight_creates(client, factory, ctx: AppContext):
    actor = await factory.actor("student")
    async with ctx.sessions.begin() as session:  # a refresh in flight: it holds the account row, as refresh does
        await _lock(session, actor.id, "SHARE")
        await session.execute(text(
            "INSERT INTO refresh_tokens (user_id, token_hash, family_id, expires_at) "
            "VALUES (:id, 'in-flight', gen_random_uuid(), now() + interval '1 day')"), {"id": actor.id})
        logout = asyncio.create_task(client.post("/api/v1/auth/logout-all", headers=actor.headers))
        await _still_waiting(logout)
    assert (await logout).status == 204
    async with ctx.sessions() as session:
        revoked = (await session.execute(text(
            "SELECT revoked_at IS NOT NULL FROM refresh_tokens WHERE token_hash = 'in-flight'"))).scalar_one()
    assert revoked, "the refresh token created while logout-all waited survived it"
    await error_of(await client.post(REFRESH, json={"refresh_token": actor.refresh_token}), 401)


async def test_a_token_that_outlived_its_familys_revocation_is_refused(client, factory, ctx: AppContext):
    """Two refreshes of one login racing, one of them detecting reuse and revoking the family: the other's new
    token may be inserted after that revocation read the family. It is refused when presented, and revoked."""
    actor = await factory.actor("student")
    raw = "sibling-created-by-a-racing-refresh"
    async with ctx.sessions.begin() as session:
        family = (await session.execute(text("SELECT family_id FROM refresh_tokens WHERE token_hash = :h"),
                                        {"h": hash_token(actor.refresh_token)})).scalar_one()
        await session.execute(text("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = :f"), {"f": family})
        await session.execute(text(
            "INSERT INTO refresh_tokens (user_id, token_hash, family_id, expires_at) "
            "VALUES (:id, :h, :f, now() + interval '1 day')"), {"id": actor.id, "h": hash_token(raw), "f": family})
    error = await error_of(await client.post(REFRESH, json={"refresh_token": raw}), 401)
    assert error["code"] == "invalid_refresh_token"
    async with ctx.sessions() as session:
        live = (await session.execute(text("SELECT count(*) FROM refresh_tokens WHERE family_id = :f "
                                           "AND revoked_at IS NULL"), {"f": family})).scalar_one()
    assert live == 0
