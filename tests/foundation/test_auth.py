"""Register, login, refresh rotation, logout, and what happens to forged, expired or malformed tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt

from edutrack.security.tokens import ISSUER
from tests.foundation.helpers import error_of, scalar
from tests.support.environment import TEST_JWT_SECRET

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/profile/me"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _register(client, email="Anna.Petrova@Example.TEST", password="long-enough-pw", **extra):  # noqa: S107
    body = {"email": email, "password": password, "first_name": "Анна", "last_name": "Петрова", **extra}
    return await client.post(REGISTER, json=body)


async def test_register_then_login_then_me(client, ctx):
    resp = await _register(client)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["user"]["email"] == "anna.petrova@example.test"
    assert body["user"]["role"] == "student"
    assert body["token_type"] == "Bearer"
    assert body["access_expires_at"] > time.time()
    me = await client.get(ME, headers=_bearer(body["access_token"]))
    assert me.status == 200
    assert (await me.json())["id"] == body["user"]["id"]

    # Login is case-insensitive on the email and returns a new pair.
    resp = await client.post(LOGIN, json={"email": "ANNA.PETROVA@example.test", "password": "long-enough-pw"})
    assert resp.status == 200, await resp.text()
    login = await resp.json()
    assert login["refresh_token"] != body["refresh_token"]
    # Refresh tokens are stored hashed: the clear token is nowhere in the table.
    stored = await scalar(ctx, "SELECT count(*) FROM refresh_tokens WHERE token_hash = :t", t=login["refresh_token"])
    assert stored == 0
    assert await scalar(ctx, "SELECT count(*) FROM refresh_tokens") == 2


async def test_register_as_parent_allowed_but_not_as_teacher_or_admin(client):
    assert (await _register(client, email="p@example.test", role="parent")).status == 201
    for role in ("teacher", "admin"):
        error = await error_of(await _register(client, email=f"{role}@example.test", role=role), 422)
        assert "role" in error["details"]


async def test_register_refused_when_self_registration_is_off(make_client):
    closed = await make_client(allow_self_registration=False)
    error = await error_of(await _register(closed), 403)
    assert error["code"] == "registration_disabled"


async def test_wrong_password_and_unknown_email_look_the_same(client, factory):
    user = await factory.user("teacher")
    wrong = await error_of(await client.post(LOGIN, json={"email": user.email, "password": "not-it-at-all"}), 401)
    unknown = await error_of(await client.post(LOGIN, json={"email": "ghost@example.test", "password": "x" * 9}),
                             401)
    assert wrong == unknown
    assert wrong["code"] == "invalid_credentials"


async def test_deactivated_user_cannot_log_in(client, factory, ctx):
    user = await factory.user("teacher")
    async with ctx.sessions.begin() as session:
        from sqlalchemy import text

        await session.execute(text("UPDATE users SET is_active = false WHERE id = :i"), {"i": user.id})
    await error_of(await client.post(LOGIN, json={"email": user.email, "password": "correct-horse-42"}), 401)


async def _rotated_long_ago(ctx, token: str) -> None:
    from sqlalchemy import text

    from edutrack.security.tokens import hash_token

    async with ctx.sessions.begin() as session:
        await session.execute(text("UPDATE refresh_tokens SET rotated_at = now() - interval '1 minute' "
                                   "WHERE token_hash = :h"), {"h": hash_token(token)})


async def test_refresh_rotates_and_reuse_revokes_the_family(client, factory, ctx):
    actor = await factory.actor("student")
    first = actor.refresh_token

    resp = await client.post(REFRESH, json={"refresh_token": first})
    assert resp.status == 200, await resp.text()
    second = (await resp.json())["refresh_token"]
    assert second != first
    access = (await resp.json())["access_token"]
    assert (await client.get(ME, headers=_bearer(access))).status == 200

    # The rotated token presented again, past the grace period = it leaked: refused, and the whole family dies.
    await _rotated_long_ago(ctx, first)
    error = await error_of(await client.post(REFRESH, json={"refresh_token": first}), 401)
    assert error["code"] == "invalid_refresh_token"
    await error_of(await client.post(REFRESH, json={"refresh_token": second}), 401)


async def test_reuse_within_the_grace_period_gets_a_sibling_not_a_logout(client, factory, ctx):
    """A retry whose answer was lost, or two tabs refreshing at once, present the same token twice in a moment."""
    actor = await factory.actor("parent")
    first = actor.refresh_token
    tab_a = (await (await client.post(REFRESH, json={"refresh_token": first})).json())["refresh_token"]
    resp = await client.post(REFRESH, json={"refresh_token": first})
    assert resp.status == 200, await resp.text()
    tab_b = (await resp.json())["refresh_token"]
    assert len({first, tab_a, tab_b}) == 3
    # Both tabs go on working.
    for token in (tab_a, tab_b):
        resp = await client.post(REFRESH, json={"refresh_token": token})
        assert resp.status == 200, await resp.text()
        assert (await client.get(ME, headers=_bearer((await resp.json())["access_token"]))).status == 200
    # The grace is about moments: the same token a minute later still revokes the whole login.
    await _rotated_long_ago(ctx, first)
    await error_of(await client.post(REFRESH, json={"refresh_token": first}), 401)
    await error_of(await client.post(REFRESH, json={"refresh_token": tab_a}), 401)


async def test_reuse_grace_zero_revokes_at_once(make_client, factory):
    strict = await make_client(refresh_reuse_grace=0)
    user = await factory.user("student")
    resp = await strict.post(LOGIN, json={"email": user.email, "password": "correct-horse-42"})
    first = (await resp.json())["refresh_token"]
    second = (await (await strict.post(REFRESH, json={"refresh_token": first})).json())["refresh_token"]
    await error_of(await strict.post(REFRESH, json={"refresh_token": first}), 401)
    await error_of(await strict.post(REFRESH, json={"refresh_token": second}), 401)


async def test_separate_logins_are_separate_families(client, factory, ctx):
    actor = await factory.actor("student")
    other = await factory.login(actor.user)
    resp = await client.post(REFRESH, json={"refresh_token": actor.refresh_token})
    assert resp.status == 200
    await _rotated_long_ago(ctx, actor.refresh_token)
    await error_of(await client.post(REFRESH, json={"refresh_token": actor.refresh_token}), 401)
    # The second device's login is untouched by the first device's family being revoked.
    assert (await client.post(REFRESH, json={"refresh_token": other.refresh_token})).status == 200


async def test_unknown_and_malformed_refresh_tokens(client):
    error = await error_of(await client.post(REFRESH, json={"refresh_token": "x" * 43}), 401)
    assert error["code"] == "invalid_refresh_token"
    await error_of(await client.post(REFRESH, json={"refresh_token": "short"}), 422)
    await error_of(await client.post(REFRESH, json={}), 422)


async def test_expired_refresh_token_is_refused(client, factory, ctx):
    actor = await factory.actor("student")
    async with ctx.sessions.begin() as session:
        from sqlalchemy import text

        await session.execute(text("UPDATE refresh_tokens SET expires_at = now() - interval '1 minute'"))
    error = await error_of(await client.post(REFRESH, json={"refresh_token": actor.refresh_token}), 401)
    assert error["code"] == "refresh_token_expired"


async def test_logout_revokes_that_login_only(client, factory):
    actor = await factory.actor("student")
    other = await factory.login(actor.user)
    resp = await client.post(LOGOUT, json={"refresh_token": actor.refresh_token})
    assert resp.status == 204
    await error_of(await client.post(REFRESH, json={"refresh_token": actor.refresh_token}), 401)
    assert (await client.post(REFRESH, json={"refresh_token": other.refresh_token})).status == 200
    # Logging out with an unknown token is not an error (nothing to reveal).
    assert (await client.post(LOGOUT, json={"refresh_token": "y" * 43})).status == 204


async def test_logout_all_revokes_every_device(client, factory, ctx):
    actor = await factory.actor("teacher")
    other = await factory.login(actor.user)
    bystander = await factory.actor("teacher")
    await error_of(await client.post("/api/v1/auth/logout-all"), 401)
    resp = await client.post("/api/v1/auth/logout-all", headers=actor.headers)
    assert resp.status == 204
    for token in (actor.refresh_token, other.refresh_token):
        await error_of(await client.post(REFRESH, json={"refresh_token": token}), 401)
    assert (await client.post(REFRESH, json={"refresh_token": bystander.refresh_token})).status == 200
    revoked = await scalar(ctx, "SELECT count(*) FROM refresh_tokens WHERE user_id = :u AND revoked_at IS NOT NULL",
                           u=actor.id)
    assert revoked == 2


# --- access tokens --------------------------------------------------------------------------------------------


def _claims(user_id: int, **changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {"iss": ISSUER, "sub": str(user_id), "iat": now, "exp": now + 300,
                                 "jti": uuid.uuid4().hex, "typ": "access", "role": "teacher", "sch": None,
                                 "su": False}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None or k == "sch"}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _refused(client, token: str, code: str = "invalid_token") -> None:
    error = await error_of(await client.get(ME, headers=_bearer(token)), 401)
    assert error["code"] == code, error


async def test_well_formed_token_is_accepted(client, factory):
    user = await factory.user("teacher")
    token = jwt.encode(_claims(user.id), TEST_JWT_SECRET, algorithm="HS256")
    assert (await client.get(ME, headers=_bearer(token))).status == 200


async def test_tampered_tokens_are_refused(client, factory):
    actor = await factory.actor("student")
    uid = actor.id
    # Signed with another key.
    await _refused(client, jwt.encode(_claims(uid), "another-secret-" + "z" * 40, algorithm="HS256"))
    # alg: none, no signature.
    unsigned = _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims(uid)) + "."
    await _refused(client, unsigned)
    # A payload edited after signing (student -> admin) keeps the old signature.
    header, _payload, signature = actor.access_token.split(".")
    await _refused(client, f"{header}.{_b64(_claims(uid, role='admin', su=True))}.{signature}")
    # Another HMAC algorithm than the pinned one, even with the right key.
    signing_input = _b64({"alg": "HS512", "typ": "JWT"}) + "." + _b64(_claims(uid))
    mac = hmac.new(TEST_JWT_SECRET.encode(), signing_input.encode(), hashlib.sha512).digest()
    await _refused(client, signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode())
    # Garbage.
    await _refused(client, "not.a.jwt")
    await _refused(client, "x")


async def test_expired_token_is_refused(client, factory):
    user = await factory.user("student")
    past = int(time.time()) - 3600
    token = jwt.encode(_claims(user.id, iat=past - 60, exp=past), TEST_JWT_SECRET, algorithm="HS256")
    await _refused(client, token, code="token_expired")


async def test_expired_token_from_short_ttl_app(make_client, factory):
    # 4 s, not 1: login (argon2) plus the first request must fit inside the lifetime on a loaded CI machine.
    quick = await make_client(access_token_ttl=4)
    user = await factory.user("student")
    resp = await quick.post(LOGIN, json={"email": user.email, "password": "correct-horse-42"})
    token = (await resp.json())["access_token"]
    assert (await quick.get(ME, headers=_bearer(token))).status == 200
    # PyJWT compares exp with whole seconds: wait until exp is strictly in the past.
    await _sleep_until(jwt.decode(token, options={"verify_signature": False})["exp"] + 1.05)
    await _refused(quick, token, code="token_expired")


async def _sleep_until(unix_time: float) -> None:
    import asyncio

    await asyncio.sleep(max(unix_time - time.time(), 0))


async def test_tokens_missing_claims_are_refused(client, factory):
    user = await factory.user("student")
    for claim in ("exp", "iat", "sub", "jti", "typ", "role"):
        claims = _claims(user.id)
        del claims[claim]
        await _refused(client, jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256"))


async def test_wrong_typ_issuer_or_subject_is_refused(client, factory):
    user = await factory.user("student")
    for changes in ({"typ": "refresh"}, {"iss": "someone-else"}, {"sub": "not-a-number"}):
        await _refused(client, jwt.encode(_claims(user.id, **changes), TEST_JWT_SECRET, algorithm="HS256"))


async def test_missing_or_malformed_authorization_header(client):
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwdw=="},
                    {"Authorization": "Bearer   "}):
        resp = await client.get(ME, headers=headers)
        await error_of(resp, 401)
        assert resp.headers.get("WWW-Authenticate") == "Bearer"


async def test_token_of_deleted_user_is_refused(client, factory, ctx):
    actor = await factory.actor("student")
    async with ctx.sessions.begin() as session:
        from sqlalchemy import text

        await session.execute(text("DELETE FROM users WHERE id = :i"), {"i": actor.id})
    error = await error_of(await client.get(ME, headers=actor.headers), 401)
    assert error["code"] == "account_disabled"
