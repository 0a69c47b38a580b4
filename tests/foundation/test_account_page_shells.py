"""The account pages' shells: registration is offered only where the school allows it."""

from __future__ import annotations

from typing import Any


async def test_registration_is_offered_when_enabled(client: Any) -> None:
    login = await (await client.get("/login")).text()
    assert 'href="/register"' in login
    assert 'href="/forgot-password"' in login
    page = await (await client.get("/register")).text()
    assert 'id="register-form"' in page


async def test_registration_closed_says_who_creates_accounts(make_client: Any) -> None:
    closed = await make_client(allow_self_registration=False)
    login = await (await closed.get("/login")).text()
    assert 'href="/register"' not in login
    resp = await closed.get("/register")
    assert resp.status == 200
    page = await resp.text()
    assert 'id="register-form"' not in page
    assert "учётные записи создаёт администратор школы" in page


async def test_account_pages_are_served_to_anyone(client: Any) -> None:
    for path in ("/forgot-password", "/profile", "/reset-password"):
        resp = await client.get(path)
        assert resp.status == 200, path
        assert resp.headers["Cache-Control"] == "no-cache"
