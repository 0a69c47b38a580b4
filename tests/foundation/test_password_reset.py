"""Password reset end to end at the database level: request -> outbox row -> confirm."""

from __future__ import annotations

import asyncio
import re
import time

from sqlalchemy import text

from edutrack.context import AppContext
from tests.foundation.helpers import error_of, scalar

REQUEST = "/api/v1/password-reset/request"
CONFIRM = "/api/v1/password-reset/confirm"
LOGIN = "/api/v1/auth/login"


async def _outbox_rows(ctx: AppContext, recipient: str) -> list[dict[str, object]]:
    async with ctx.sessions() as session:
        result = await session.execute(
            text("SELECT * FROM email_outbox WHERE recipient = :r ORDER BY id"), {"r": recipient}
        )
        return [dict(row) for row in result.mappings()]


async def _wait_for_outbox(ctx: AppContext, recipient: str, count: int = 1, timeout: float = 5.0) -> list[dict]:
    # The work runs in a background task after the 202, so poll instead of expecting it at once.
    deadline = time.monotonic() + timeout
    while True:
        rows = await _outbox_rows(ctx, recipient)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.05)


def _token_from(body: str) -> str:
    match = re.search(r"reset-password\?token=([A-Za-z0-9_\-]+)", body)
    assert match, body
    return match.group(1)


async def test_reset_end_to_end(client, factory, ctx):
    actor = await factory.actor("parent", email="Mama@Example.test")
    other_device = await factory.login(actor.user)

    known = await client.post(REQUEST, json={"email": "MAMA@example.test"})
    unknown = await client.post(REQUEST, json={"email": "nobody@example.test"})
    assert known.status == unknown.status == 202
    assert await known.json() == await unknown.json()

    rows = await _wait_for_outbox(ctx, "mama@example.test")
    assert len(rows) == 1
    row = rows[0]
    assert row["kind"] == "password_reset"
    assert row["status"] == "pending"
    assert row["user_id"] == actor.id
    token = _token_from(str(row["body_text"]))
    assert token in str(row["body_html"])
    # Only the hash is stored.
    assert await scalar(ctx, "SELECT count(*) FROM password_reset_tokens WHERE token_hash = :t", t=token) == 0
    assert await scalar(ctx, "SELECT count(*) FROM password_reset_tokens WHERE user_id = :u", u=actor.id) == 1

    # Let the unknown address's background task finish too, then check it wrote nothing.
    await ctx.background.drain()
    assert await scalar(ctx, "SELECT count(*) FROM email_outbox") == 1
    assert await scalar(ctx, "SELECT count(*) FROM password_reset_tokens") == 1

    # The policy applies to the new password.
    error = await error_of(await client.post(CONFIRM, json={"token": token, "new_password": "short"}), 422)
    assert "new_password" in error["details"]
    await error_of(await client.post(CONFIRM, json={"token": token, "new_password": "mama@example.test"}), 422)
    common = await error_of(await client.post(CONFIRM, json={"token": token, "new_password": "password123"}), 422)
    assert common["code"] == "weak_password"

    resp = await client.post(CONFIRM, json={"token": token, "new_password": "brand-new-secret"})
    assert resp.status == 204, await resp.text()

    await error_of(await client.post(LOGIN, json={"email": actor.user.email, "password": actor.password}), 401)
    assert (await client.post(LOGIN, json={"email": actor.user.email, "password": "brand-new-secret"})).status == 200
    for old in (actor.refresh_token, other_device.refresh_token):
        await error_of(await client.post("/api/v1/auth/refresh", json={"refresh_token": old}), 401)
    # Access tokens too, at once (not when they expire): whoever knew the old password is out.
    for device in (actor, other_device):
        error = await error_of(await client.get("/api/v1/profile/me", headers=device.headers), 401)
        assert error["code"] == "token_revoked"

    # Single use.
    error = await error_of(await client.post(CONFIRM, json={"token": token, "new_password": "third-password-x"}),
                           400)
    assert error["code"] == "invalid_reset_token"
    assert (await client.post(LOGIN, json={"email": actor.user.email, "password": "brand-new-secret"})).status == 200


async def test_expired_and_unknown_tokens_are_refused(client, factory, ctx):
    user = await factory.user("student")
    assert (await client.post(REQUEST, json={"email": user.email})).status == 202
    rows = await _wait_for_outbox(ctx, user.email)
    token = _token_from(str(rows[0]["body_text"]))
    async with ctx.sessions.begin() as session:
        await session.execute(text("UPDATE password_reset_tokens SET expires_at = now() - interval '1 second'"))

    error = await error_of(await client.post(CONFIRM, json={"token": token, "new_password": "brand-new-secret"}),
                           400)
    assert error["code"] == "invalid_reset_token"
    error = await error_of(await client.post(CONFIRM, json={"token": "z" * 43, "new_password": "brand-new-secret"}),
                           400)
    assert error["code"] == "invalid_reset_token"
    # The old password still works: nothing was changed by the refused attempts.
    assert (await client.post(LOGIN, json={"email": user.email, "password": "correct-horse-42"})).status == 200


async def test_a_newer_reset_does_not_revive_older_after_use(client, factory, ctx):
    user = await factory.user("student")
    for _ in range(2):
        assert (await client.post(REQUEST, json={"email": user.email})).status == 202
    rows = await _wait_for_outbox(ctx, user.email, count=2)
    assert len(rows) == 2
    first, second = (_token_from(str(r["body_text"])) for r in rows)
    assert first != second
    assert (await client.post(CONFIRM, json={"token": second, "new_password": "brand-new-secret"})).status == 204
    # Using one link invalidates every other outstanding link of that account.
    await error_of(await client.post(CONFIRM, json={"token": first, "new_password": "another-secret-1"}), 400)


async def test_reset_requests_are_throttled_per_address(client, factory, ctx):
    user = await factory.user("student")
    for _ in range(5):
        resp = await client.post(REQUEST, json={"email": user.email})
        # Throttling is silent: the caller cannot tell it apart from success.
        assert resp.status == 202
    await ctx.background.drain()
    assert len(await _outbox_rows(ctx, user.email)) == 3


async def test_reset_request_validation(client):
    await error_of(await client.post(REQUEST, json={"email": "not-an-email"}), 422)
    await error_of(await client.post(REQUEST, json={}), 422)
    await error_of(await client.post(CONFIRM, json={"token": "abcdefghijkl"}), 422)


async def test_the_link_in_the_email_opens_the_reset_page(client, factory, ctx):
    import urllib.parse

    user = await factory.user("student")
    assert (await client.post(REQUEST, json={"email": user.email})).status == 202
    rows = await _wait_for_outbox(ctx, user.email)
    link = re.search(r"https?://\S+/reset-password\?token=[A-Za-z0-9_\-]+", str(rows[0]["body_text"]))
    assert link, rows[0]["body_text"]
    parts = urllib.parse.urlsplit(link.group(0))
    assert f"{parts.scheme}://{parts.netloc}" == ctx.settings.public_url
    resp = await client.get(f"{parts.path}?{parts.query}")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    html = await resp.text()
    assert 'type="password"' in html
    # The token must not leak to other sites through the Referer header, and no inline script may run.
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src" not in resp.headers["Content-Security-Policy"]  # falls back to default-src 'self'
    scripts = [src.split("?")[0] for src in re.findall(r'<script src="([^"]+)"', html)]
    assert scripts == ["/static/web/core.js", "/static/web/account.js", "/static/web/reset-password.js"]
    script = await client.get(scripts[-1])
    assert script.status == 200
    assert "/api/v1/password-reset/confirm" in await script.text()


async def test_answer_does_not_wait_for_the_account_lookup(client, factory, ctx):
    """'Same time whether or not the email exists', made deterministic: while the users table is locked, so the
    lookup cannot run, both a known and an unknown address are answered at once with the same body; the known one
    gets its email once the lock goes."""
    user = await factory.user("parent", email="known@example.test")
    answers = {}
    async with ctx.sessions.begin() as session:
        await session.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
        for address in (user.email, "nobody-here@example.test"):
            started = time.monotonic()
            resp = await asyncio.wait_for(client.post(REQUEST, json={"email": address}), 2.0)
            answers[address] = (resp.status, await resp.json(), time.monotonic() - started)
        # Nothing could be looked up or written while the table was locked.
        assert await _outbox_rows(ctx, user.email) == []
    (known_status, known_body, known_s), (unknown_status, unknown_body, unknown_s) = answers.values()
    assert known_status == unknown_status == 202
    assert known_body == unknown_body
    assert known_s < 1.0, answers
    assert unknown_s < 1.0, answers
    rows = await _wait_for_outbox(ctx, user.email)
    assert len(rows) == 1
    assert await _outbox_rows(ctx, "nobody-here@example.test") == []


async def test_the_code_in_the_email_can_be_typed_by_hand(client, factory, ctx):
    """16 characters of Crockford's base32 in groups of four; typed in any case, with spaces or none, O for 0."""
    actor = await factory.actor("student")
    assert (await client.post(REQUEST, json={"email": actor.user.email})).status == 202
    rows = await _wait_for_outbox(ctx, actor.user.email)
    code = _token_from(str(rows[0]["body_text"]))
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}", code), code
    assert f"<code>{code}</code>" in str(rows[0]["body_html"])  # "or enter this code"
    typed = code.replace("-", " ").replace("0", "o").lower()
    resp = await client.post(CONFIRM, json={"token": typed, "new_password": "typed-by-hand-2026"})
    assert resp.status == 204, await resp.text()
    again = await client.post(CONFIRM, json={"token": code, "new_password": "typed-by-hand-2027"})
    await error_of(again, 400)  # used once
