"""The relay's refresh-token sweep: every page view rotates the browser's token, so the rows that no check needs any
more (ended or expired logins, rotated tokens past the reuse window) are deleted, and nothing a check needs is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from edutrack.services.sessions import REUSE_WINDOW, sweep_refresh_tokens
from tests.foundation.helpers import scalar
from tests.support.factories import DEFAULT_PASSWORD, Factory

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


async def _login(client: TestClient, email: str) -> dict[str, str]:
    resp = await client.post(LOGIN, json={"email": email, "password": DEFAULT_PASSWORD})
    assert resp.status == 200, await resp.text()
    body: dict[str, str] = await resp.json()
    return body


async def _refresh(client: TestClient, token: str) -> str:
    resp = await client.post(REFRESH, json={"refresh_token": token})
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["refresh_token"])


async def test_sweep_keeps_live_logins_and_drops_what_no_check_needs(
        client: TestClient, ctx: AppContext, factory: Factory) -> None:
    user = await factory.user("parent")
    live = await _login(client, user.email)
    token = live["refresh_token"]
    for _page_view in range(3):
        token = await _refresh(client, token)
    ended = await _login(client, user.email)
    resp = await client.post(LOGOUT, json={"refresh_token": ended["refresh_token"]},
                             headers={"Authorization": f"Bearer {ended['access_token']}"})
    assert resp.status == 204, await resp.text()
    count = "SELECT count(*) FROM refresh_tokens WHERE user_id = :u"
    assert await scalar(ctx, count, u=user.id) == 5

    # Right now nothing is old enough: the ended login may still have access tokens the cut-off readers need.
    assert await sweep_refresh_tokens(ctx, datetime.now(UTC)) == 0
    assert await scalar(ctx, count, u=user.id) == 5

    later = datetime.now(UTC) + REUSE_WINDOW + timedelta(hours=2)
    assert await sweep_refresh_tokens(ctx, later) == 3  # the ended login and two middle rotations
    # Left: the live login's first row (it dates the session) and its current token.
    assert await scalar(ctx, count, u=user.id) == 2
    assert await scalar(ctx, "SELECT count(DISTINCT family_id) FROM refresh_tokens WHERE user_id = :u", u=user.id) == 1
    # The current token still works; an old rotated one whose row is gone is refused.
    assert await _refresh(client, token)
    resp = await client.post(REFRESH, json={"refresh_token": ended["refresh_token"]})
    assert resp.status == 401


async def test_sweep_drops_expired_logins(client: TestClient, ctx: AppContext, factory: Factory) -> None:
    user = await factory.user("student")
    await _login(client, user.email)
    far = datetime.now(UTC) + timedelta(seconds=ctx.settings.refresh_token_ttl) + timedelta(days=1)
    assert await sweep_refresh_tokens(ctx, far) == 1
    assert await scalar(ctx, "SELECT count(*) FROM refresh_tokens WHERE user_id = :u", u=user.id) == 0
