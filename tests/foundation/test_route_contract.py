"""What every documented route declares is enforced before its handler runs: authentication first (an anonymous
caller learns nothing about the body it sent), and one rule for query parameters a route does not document."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from tests.foundation.helpers import error_of

BAD_BODY = {"avatar_url": "x", "name": 5, "email": [], "up_to": 2.5, "unknown": {"nested": True}}


def concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: "class:1" if m.group(1) == "channel" else "1", path)


async def operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    spec = await resp.json()
    return [(method.upper(), path, operation) for path, item in spec["paths"].items()
            for method, operation in item.items()]


async def test_every_protected_route_answers_401_to_an_anonymous_caller_whatever_the_body(client: TestClient) -> None:
    protected = 0
    for method, path, operation in await operations(client):
        if "security" not in operation:
            continue
        protected += 1
        url = concrete(path) + "?limit=abc&bogus=1"
        for body in (BAD_BODY, b"{not json"):
            kwargs: dict[str, Any] = {"json": body} if isinstance(body, dict) else {
                "data": body, "headers": {"Content-Type": "application/json"}}
            resp = await client.request(method, url, **kwargs)
            assert resp.status == 401, (method, path, resp.status, await resp.text())
            error = await error_of(resp, 401)
            assert error["code"] == "unauthorized", (method, path, error)
            assert resp.headers["WWW-Authenticate"] == "Bearer", (method, path)
    assert protected > 60  # the whole API, not a handful


async def test_a_bad_token_is_refused_before_the_body_too(client: TestClient) -> None:
    resp = await client.put("/api/v1/profile/me", json={"avatar_url": "x"},
                            headers={"Authorization": "Bearer not-a-token"})
    error = await error_of(resp, 401)
    assert error["code"] == "invalid_token"


async def test_the_anonymous_profile_update_of_the_report_is_a_401(client: TestClient) -> None:
    resp = await client.put("/api/v1/profile/me", json={"avatar_url": "x"})
    await error_of(resp, 401)
    for method, url, body in (("POST", "/api/v1/schools", {"name": 1}), ("PATCH", "/api/v1/schools/1", {"x": 1})):
        resp = await client.request(method, url, json=body)
        await error_of(resp, 401)


async def test_public_routes_still_check_their_body(client: TestClient) -> None:
    public = [(m, p) for m, p, op in await operations(client) if "security" not in op and "requestBody" in op]
    assert ("POST", "/api/v1/auth/register") in public
    for method, path in public:
        resp = await client.request(method, concrete(path), json=BAD_BODY)
        assert resp.status == 422, (method, path, resp.status, await resp.text())
