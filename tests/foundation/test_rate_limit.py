"""Login rate limits: per account (failures) and per client address (attempts), with Retry-After."""

from __future__ import annotations

from tests.foundation.helpers import error_of

LOGIN = "/api/v1/auth/login"


async def test_account_locked_after_failures_then_reset_by_success(make_client, factory):
    client = await make_client(login_max_failures_per_account=3, login_account_window=120,
                               login_max_attempts_per_ip=1000)
    user = await factory.user("teacher")
    other = await factory.user("teacher")

    # Two failures, then a success resets the counter.
    for _ in range(2):
        await error_of(await client.post(LOGIN, json={"email": user.email, "password": "wrong-password"}), 401)
    assert (await client.post(LOGIN, json={"email": user.email, "password": "correct-horse-42"})).status == 200

    for _ in range(3):
        await error_of(await client.post(LOGIN, json={"email": user.email, "password": "wrong-password"}), 401)
    resp = await client.post(LOGIN, json={"email": user.email.upper(), "password": "correct-horse-42"})
    error = await error_of(resp, 429)
    assert error["code"] == "rate_limited"
    retry_after = int(resp.headers["Retry-After"])
    assert 1 <= retry_after <= 120
    assert error["details"]["retry_after"] == retry_after

    # Another account from the same address is unaffected.
    assert (await client.post(LOGIN, json={"email": other.email, "password": "correct-horse-42"})).status == 200


async def test_unknown_accounts_are_limited_too(make_client):
    client = await make_client(login_max_failures_per_account=2, login_max_attempts_per_ip=1000)
    for _ in range(2):
        await error_of(await client.post(LOGIN, json={"email": "ghost@example.test", "password": "whatever1"}), 401)
    await error_of(await client.post(LOGIN, json={"email": "ghost@example.test", "password": "whatever1"}), 429)


async def test_per_ip_limit_counts_every_attempt(make_client, factory):
    client = await make_client(login_max_attempts_per_ip=4, login_ip_window=60, login_max_failures_per_account=100)
    user = await factory.user("student")
    for _ in range(4):
        assert (await client.post(LOGIN, json={"email": user.email, "password": "correct-horse-42"})).status == 200
    resp = await client.post(LOGIN, json={"email": user.email, "password": "correct-horse-42"})
    await error_of(resp, 429)
    assert 1 <= int(resp.headers["Retry-After"]) <= 60


async def test_limits_are_shared_across_api_nodes(make_client, factory):
    node_a = await make_client(login_max_failures_per_account=2, login_max_attempts_per_ip=1000)
    node_b = await make_client(login_max_failures_per_account=2, login_max_attempts_per_ip=1000)
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
    client = await make_client(login_max_attempts_per_ip=3, login_max_failures_per_account=100)
    user = await factory.user("student")
    body = {"email": user.email, "password": "correct-horse-42"}
    for i in range(3):
        resp = await client.post(LOGIN, json=body, headers={"X-Forwarded-For": f"203.0.113.{i}"})
        assert resp.status == 200
    # A client cannot escape the limit by inventing addresses.
    await error_of(await client.post(LOGIN, json=body, headers={"X-Forwarded-For": "203.0.113.99"}), 429)


async def test_behind_a_trusted_proxy_each_client_has_its_own_limit(make_client, factory):
    # The test client connects from 127.0.0.1, which plays the load balancer here.
    client = await make_client(login_max_attempts_per_ip=2, login_max_failures_per_account=100,
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
