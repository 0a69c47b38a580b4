"""The browser's login in a cookie (opt-in with `X-EduTrack-Session: cookie`): its attributes, refresh and logout
through it, and what an attacker holding only the browser's cookie, or another user's session id, cannot do."""

from __future__ import annotations

from http.cookies import Morsel
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.foundation.helpers import error_of, scalar
from tests.support.factories import DEFAULT_PASSWORD, Factory

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
SESSIONS = "/api/v1/profile/sessions"
COOKIE_MODE = {"X-EduTrack-Session": "cookie"}


def _cookie(resp: ClientResponse) -> Morsel[str]:
    morsel = resp.cookies.get("edutrack_refresh")
    assert morsel is not None, resp.headers.getall("Set-Cookie", [])
    return morsel


def _with_cookie(token: str, *, header: bool = True) -> dict[str, str]:
    return {**(COOKIE_MODE if header else {}), "Cookie": f"edutrack_refresh={token}"}


async def _browser_login(client: TestClient, email: str) -> tuple[dict[str, Any], str]:
    """Log in as the web client does; the jar is emptied so that every later request says which cookie it sends."""
    resp = await client.post(LOGIN, headers=COOKIE_MODE, json={"email": email, "password": DEFAULT_PASSWORD})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    token = _cookie(resp).value
    client.session.cookie_jar.clear()
    return body, token


async def test_login_in_cookie_mode_puts_the_refresh_token_in_a_strict_httponly_cookie(
        client: TestClient, factory: Factory) -> None:
    user = await factory.user("parent")
    resp = await client.post(LOGIN, headers=COOKIE_MODE, json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert resp.status == 200
    body = await resp.json()
    cookie = _cookie(resp)
    assert "refresh_token" not in body  # the page's scripts never see it
    assert body["access_token"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth"
    assert int(cookie["max-age"]) > 86400
    # Served over plain http here (PUBLIC_URL is http://...): no Secure, or the browser would never send it back.
    assert not cookie["secure"]


async def test_the_json_token_api_is_unchanged_without_the_header(client: TestClient, factory: Factory) -> None:
    user = await factory.user("student")
    resp = await client.post(LOGIN, json={"email": user.email, "password": DEFAULT_PASSWORD})
    body = await resp.json()
    assert body["refresh_token"]
    assert "edutrack_refresh" not in resp.cookies
    again = await client.post(REFRESH, json={"refresh_token": body["refresh_token"]})
    assert again.status == 200
    pair = await again.json()
    assert pair["refresh_token"]
    assert "user" not in pair


async def test_refresh_with_the_cookie_rotates_it(client: TestClient, factory: Factory) -> None:
    user = await factory.user("student")
    _, token = await _browser_login(client, user.email)
    resp = await client.post(REFRESH, headers=_with_cookie(token))
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert "refresh_token" not in body
    assert body["user"]["id"] == user.id  # a page that opens learns whose login it is in the same call
    me = await client.get("/api/v1/profile/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert (await me.json())["id"] == user.id
    assert _cookie(resp).value != token


async def test_the_cookie_without_the_header_is_not_read(client: TestClient, factory: Factory) -> None:
    """A forged cross-site request carries the cookie (were SameSite ignored) but cannot add the header: a custom
    header makes the browser ask CORS first, and the API allows it to no origin."""
    user = await factory.user("student")
    _, token = await _browser_login(client, user.email)
    resp = await client.post(REFRESH, headers=_with_cookie(token, header=False), json={})
    error = await error_of(resp, 422)  # the body's refresh token is required; the cookie is ignored
    assert "refresh_token" in error["details"]
    assert "edutrack_refresh" not in resp.cookies
    logout = await client.post(LOGOUT, headers=_with_cookie(token, header=False), json={})
    await error_of(logout, 422)
    still = await client.post(REFRESH, headers=_with_cookie(token))
    assert still.status == 200  # the cookie-only logout ended nothing


async def test_the_header_without_a_cookie_is_refused(client: TestClient) -> None:
    error = await error_of(await client.post(REFRESH, headers=COOKIE_MODE), 401)
    assert error["code"] == "no_session"


async def test_the_custom_header_is_not_allowed_cross_origin(client: TestClient) -> None:
    resp = await client.options(REFRESH, headers={"Origin": "http://127.0.0.1:8000",
                                                  "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "x-edutrack-session"})
    assert "x-edutrack-session" not in resp.headers.get("Access-Control-Allow-Headers", "").lower()


async def test_logout_clears_the_cookie_and_revokes_its_login(client: TestClient, factory: Factory) -> None:
    user = await factory.user("teacher")
    body, token = await _browser_login(client, user.email)
    resp = await client.post(LOGOUT, headers=_with_cookie(token))
    assert resp.status == 204
    cleared = _cookie(resp)
    assert cleared.value == ""
    assert cleared["max-age"] == "0"
    assert cleared["path"] == "/api/v1/auth"
    error = await error_of(await client.post(REFRESH, headers=_with_cookie(token)), 401)
    assert error["code"] == "invalid_refresh_token"
    me = await client.get("/api/v1/profile/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status == 401  # that login's access token ended with it


async def test_sessions_list_and_end_one(client: TestClient, factory: Factory) -> None:
    user = await factory.user("parent")
    laptop, _ = await _browser_login(client, user.email)
    phone = await factory.login(user)
    auth = {"Authorization": f"Bearer {laptop['access_token']}"}
    resp = await client.get(SESSIONS, headers=auth)
    assert resp.status == 200
    items = (await resp.json())["items"]
    assert len(items) == 2
    assert [s["current"] for s in items].count(True) == 1
    other = next(s for s in items if not s["current"])
    assert (await client.delete(f"{SESSIONS}/{other['id']}", headers=auth)).status == 204
    refused = await client.post(REFRESH, json={"refresh_token": phone.refresh_token})
    assert refused.status == 401
    left = (await (await client.get(SESSIONS, headers=auth)).json())["items"]
    assert [s["current"] for s in left] == [True]


async def test_another_users_session_cannot_be_ended(client: TestClient, factory: Factory) -> None:
    victim = await factory.actor("student")
    attacker = await factory.actor("student")
    theirs = (await (await client.get(SESSIONS, headers=victim.headers)).json())["items"][0]["id"]
    error = await error_of(await client.delete(f"{SESSIONS}/{theirs}", headers=attacker.headers), 404)
    assert error["code"] == "not_found"
    await error_of(await client.delete(f"{SESSIONS}/not-a-uuid", headers=attacker.headers), 404)
    still = await client.post(REFRESH, json={"refresh_token": victim.refresh_token})
    assert still.status == 200
    mine = (await (await client.get(SESSIONS, headers=attacker.headers)).json())["items"]
    assert theirs not in [s["id"] for s in mine]


async def test_sign_out_everywhere_ends_every_session(client: TestClient, factory: Factory, ctx: Any) -> None:
    user = await factory.user("student")
    browser, token = await _browser_login(client, user.email)
    phone = await factory.login(user)
    resp = await client.delete(SESSIONS, headers={"Authorization": f"Bearer {browser['access_token']}"})
    assert resp.status == 204
    assert _cookie(resp).value == ""
    assert (await client.post(REFRESH, headers=_with_cookie(token))).status == 401
    assert (await client.post(REFRESH, json={"refresh_token": phone.refresh_token})).status == 401
    live = await scalar(ctx, "SELECT count(*) FROM refresh_tokens WHERE user_id = :u AND revoked_at IS NULL",
                        u=user.id)
    assert live == 0


async def test_sessions_need_a_login(client: TestClient) -> None:
    await error_of(await client.get(SESSIONS), 401)
    await error_of(await client.delete(SESSIONS), 401)


async def test_the_cookie_is_secure_when_the_site_is_served_over_https(make_client: Any, factory: Factory) -> None:
    client = await make_client(public_url="https://diary.example.org")
    user = await factory.user("student")
    resp = await client.post(LOGIN, headers=COOKIE_MODE, json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert resp.status == 200
    assert _cookie(resp)["secure"] is True
