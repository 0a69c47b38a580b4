"""Login throttling from the attacker's side: failed logins slow down the client that makes them (growing delays
per account and client, per address over all accounts, per account over all addresses), never the owner's own
device, and a burst cannot slip through; plus the per-address attempt limit, with Retry-After."""

from __future__ import annotations

import asyncio

from tests.foundation.helpers import error_of

LOGIN = "/api/v1/auth/login"


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def _login(client, email: str, password: str, address: str, device: str | None = None):
    body = {"email": email, "password": password, **({"device_token": device} if device else {})}
    return await client.post(LOGIN, json=body, headers=_from(address))


# The test client connects from 127.0.0.1, which plays the load balancer; X-Forwarded-For is the client.
PROXY = {"trusted_proxies": ("127.0.0.0/8",), "login_max_attempts_per_ip": 10_000}


async def test_failures_slow_that_client_down_with_growing_delays(make_client, factory):
    client = await make_client(**PROXY, login_free_failures=2, login_max_delay=300)
    user = await factory.user("teacher")
    for _ in range(3):  # two free failures, and a third that sets a 1 s delay
        await error_of(await _login(client, user.email, "wrong-password", "198.51.100.1"), 401)
    resp = await _login(client, user.email, "correct-horse-42", "198.51.100.1")
    error = await error_of(resp, 429)
    assert error["code"] == "rate_limited"
    assert resp.headers["Retry-After"] == "1"
    assert error["details"]["retry_after"] == 1
    assert error["message"] == "Слишком много неудачных попыток входа. Повторите через 1 секунду."
    await asyncio.sleep(1.1)
    await error_of(await _login(client, user.email, "wrong-password", "198.51.100.1"), 401)
    resp = await _login(client, user.email, "correct-horse-42", "198.51.100.1")
    assert (await error_of(resp, 429))["details"]["retry_after"] == 2
    # The delay is that client's: the same account from another address signs in.
    assert (await _login(client, user.email, "correct-horse-42", "198.51.100.2")).status == 200
    await asyncio.sleep(2.1)
    # A success forgets that client's failures.
    assert (await _login(client, user.email, "correct-horse-42", "198.51.100.1")).status == 200
    for _ in range(2):
        await error_of(await _login(client, user.email, "wrong-password", "198.51.100.1"), 401)


async def test_an_attacker_elsewhere_cannot_lock_the_owner_out(make_client, factory):
    client = await make_client(**PROXY, login_free_failures=3, login_account_free_failures=5,
                               login_ip_free_failures=100)
    parent = await factory.user("parent")
    resp = await _login(client, parent.email, "correct-horse-42", "203.0.113.10")
    assert resp.status == 200
    device = (await resp.json())["device_token"]

    # Someone guesses from one address, then from fifty: refused long before they are done.
    refused = 0
    for n in range(60):
        resp = await _login(client, parent.email, f"guess-{n}-x", "192.0.2.66" if n < 10 else f"192.0.2.{n}")
        refused += resp.status == 429
    assert refused >= 50

    # The owner's own device signs in at once, from home or from anywhere else, with the right password.
    for address in ("203.0.113.10", "198.51.100.200"):
        resp = await _login(client, parent.email, "correct-horse-42", address, device)
        assert resp.status == 200, await resp.text()
        device = (await resp.json())["device_token"]
    # ...and its own mistakes count against it alone.
    await error_of(await _login(client, parent.email, "typo", "203.0.113.10", device), 401)
    assert (await _login(client, parent.email, "correct-horse-42", "203.0.113.10", device)).status == 200

    # A device that never signed in to this account waits like everyone else (the price of keeping a
    # botnet slow): a device token of another account or a forged one changes nothing.
    other = await factory.user("parent")
    other_device = (await (await _login(client, other.email, "correct-horse-42", "203.0.113.10")).json())
    for token in (other_device["device_token"], device[:-4] + "AAAA", "not-a-token"):
        await error_of(await _login(client, parent.email, "correct-horse-42", "198.51.100.201", token), 429)


async def test_password_reset_clears_the_account_wide_slowdown(make_client, factory, ctx):
    client = await make_client(**PROXY, login_free_failures=1, login_account_free_failures=2)
    user = await factory.user("parent")
    for n in range(6):
        await _login(client, user.email, "wrong-password", f"192.0.2.{n}")
    await error_of(await _login(client, user.email, "correct-horse-42", "198.51.100.9"), 429)
    from edutrack.services import auth
    await auth.request_password_reset(ctx, user.email)
    token = await _reset_token(ctx, user.id)
    resp = await client.post("/api/v1/password-reset/confirm", json={"token": token, "new_password": "new-sea-lantern"})
    assert resp.status == 204, await resp.text()
    assert (await _login(client, user.email, "new-sea-lantern", "198.51.100.9")).status == 200


async def _reset_token(ctx, user_id: int) -> str:
    from sqlalchemy import text

    async with ctx.sessions() as session:
        body = (await session.execute(text("SELECT body_text FROM email_outbox WHERE user_id = :u"),
                                      {"u": user_id})).scalar_one()
    return str(body).split("token=", 1)[1].split()[0]


async def test_one_address_trying_many_accounts_is_slowed_down(make_client, factory):
    client = await make_client(**PROXY, login_ip_free_failures=4, login_free_failures=100,
                               login_account_free_failures=100)
    statuses = [(await _login(client, f"victim{n}@example.test", "Winter2024!", "192.0.2.5")).status
                for n in range(8)]
    assert statuses[:5] == [401] * 5, statuses
    assert set(statuses[6:]) == {429}, statuses
    # Someone else signs in meanwhile.
    user = await factory.user("student")
    assert (await _login(client, user.email, "correct-horse-42", "192.0.2.6")).status == 200


async def test_a_burst_cannot_get_past_the_free_failures(make_client, factory):
    client = await make_client(**PROXY, login_free_failures=3, login_max_delay=300)
    user = await factory.user("student")
    burst = await asyncio.gather(*(_login(client, user.email, f"guess-{n}", "192.0.2.9") for n in range(20)))
    statuses = sorted(r.status for r in burst)
    # Three free failures and the one that set the first delay; every other attempt was refused unchecked.
    assert statuses == [401] * 4 + [429] * 16, statuses


async def test_unknown_accounts_are_throttled_exactly_like_real_ones(make_client, factory):
    client = await make_client(**PROXY, login_free_failures=2)
    user = await factory.user("student")
    for email in (user.email, "ghost@example.test"):
        statuses = [(await _login(client, email, "whatever-1", "192.0.2.10")).status for _ in range(5)]
        assert statuses == [401, 401, 401, 429, 429], (email, statuses)


async def test_per_ip_limit_counts_every_attempt(make_client, factory):
    client = await make_client(login_max_attempts_per_ip=4, login_ip_window=60, login_free_failures=100,
                               login_ip_free_failures=100)
    user = await factory.user("student")
    for _ in range(4):
        assert (await client.post(LOGIN, json={"email": user.email, "password": "correct-horse-42"})).status == 200
    resp = await client.post(LOGIN, json={"email": user.email, "password": "correct-horse-42"})
    await error_of(resp, 429)
    assert 1 <= int(resp.headers["Retry-After"]) <= 60


async def test_limits_are_shared_across_api_nodes(make_client, factory):
    node_a = await make_client(login_free_failures=1, login_max_attempts_per_ip=1000)
    node_b = await make_client(login_free_failures=1, login_max_attempts_per_ip=1000)
    user = await factory.user("student")
    await error_of(await node_a.post(LOGIN, json={"email": user.email, "password": "wrong-password"}), 401)
    await error_of(await node_b.post(LOGIN, json={"email": user.email, "password": "wrong-password"}), 401)
    await error_of(await node_a.post(LOGIN, json={"email": user.email, "password": "correct-horse-42"}), 429)


async def test_login_still_works_when_redis_is_down(make_client, factory):
    from tests.support.services import free_port

    # Rate limiting fails open: losing it for a while is better than refusing every login.
    client = await make_client(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    user = await factory.user("student")
    assert (await client.post(LOGIN, json={"email": user.email, "password": "correct-horse-42"})).status == 200


async def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(make_client, factory):
    client = await make_client(login_max_attempts_per_ip=3, login_free_failures=100, login_ip_free_failures=100)
    user = await factory.user("student")
    body = {"email": user.email, "password": "correct-horse-42"}
    for i in range(3):
        resp = await client.post(LOGIN, json=body, headers={"X-Forwarded-For": f"203.0.113.{i}"})
        assert resp.status == 200
    # A client cannot escape the limit by inventing addresses.
    await error_of(await client.post(LOGIN, json=body, headers={"X-Forwarded-For": "203.0.113.99"}), 429)


async def test_behind_a_trusted_proxy_each_client_has_its_own_limit(make_client, factory):
    # The test client connects from 127.0.0.1, which plays the load balancer here.
    client = await make_client(login_max_attempts_per_ip=2, login_free_failures=100, login_ip_free_failures=100,
                               trusted_proxies=("127.0.0.0/8",))
    user = await factory.user("student")
    body = {"email": user.email, "password": "correct-horse-42"}
    for client_address in ("198.51.100.1", "198.51.100.2", "2001:db8::1"):
        for _ in range(2):
            resp = await client.post(LOGIN, json=body, headers={"X-Forwarded-For": client_address})
            assert resp.status == 200
    await error_of(await client.post(LOGIN, json=body, headers={"X-Forwarded-For": "198.51.100.1"}), 429)
    # Only the hop the proxy added counts: what the client wrote further left is ignored.
    spoofed = {"X-Forwarded-For": "192.0.2.77, 198.51.100.2"}
    await error_of(await client.post(LOGIN, json=body, headers=spoofed), 429)
    # Trusted hops (a chain of proxies) are skipped.
    chain = {"X-Forwarded-For": "198.51.100.9, 127.0.0.5"}
    assert (await client.post(LOGIN, json=body, headers=chain)).status == 200
    # Garbage in the header: fall back to the proxy's own address rather than trusting it.
    for _ in range(2):
        await client.post(LOGIN, json=body, headers={"X-Forwarded-For": "not-an-ip"})
    await error_of(await client.post(LOGIN, json=body, headers={"X-Forwarded-For": "also-not"}), 429)
