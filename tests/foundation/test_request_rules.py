"""One set of rules for what a request may carry, the same on every route: whole numbers where the schema says
integer, documented bounds that hold at their ends, query parameters a route does not know refused, and every
error a route can give listed in /openapi.json."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from tests.foundation.helpers import error_of
from tests.realtime.helpers import make_class_world
from tests.support.factories import Factory


async def test_a_fraction_is_not_an_integer(client: TestClient, ctx: AppContext, factory: Factory) -> None:
    world = await make_class_world(ctx, factory)
    reader = world.students[0]
    for path in (f"/api/v1/chats/{world.channel}/read", "/api/v1/notifications/read"):
        resp = await client.post(path, json={"up_to": 2.5}, headers=reader.headers)
        error = await error_of(resp, 422)
        assert error["details"] == {"up_to": ["Нужно целое число."]}, path
        resp = await client.post(path, json={"up_to": 2.0}, headers=reader.headers)
        assert resp.status == 200, (path, await resp.text())  # a whole number written with a point is one
    # Lists follow the same rule.
    admin = await factory.actor("admin", school_id=world.school_id)
    resp = await client.post(f"/api/v1/classes/{world.class_id}/students", json={"student_ids": [reader.id + 0.5]},
                             headers=admin.headers)
    error = await error_of(resp, 422)
    assert error["details"] == {"student_ids": ["Нужно целое число."]}


async def test_rounding_threshold_bounds_are_inclusive(client: TestClient, factory: Factory) -> None:
    root = await factory.actor("admin", is_superuser=True)
    resp = await client.post("/api/v1/schools", json={"name": "Пороги"}, headers=root.headers)
    assert resp.status == 201
    school = await resp.json()
    for value in (0.01, 0.99, 0.5):
        resp = await client.patch(f"/api/v1/schools/{school['id']}", json={"rounding_threshold": value},
                                  headers=root.headers)
        assert resp.status == 200, (value, await resp.text())
        assert (await resp.json())["rounding_threshold"] == value
    for value in (0.0, 0.004, 0.996, 1.0):  # two places: 0.004 is 0.00, 0.996 is 1.00
        resp = await client.patch(f"/api/v1/schools/{school['id']}", json={"rounding_threshold": value},
                                  headers=root.headers)
        await error_of(resp, 422)
    spec = await (await client.get("/openapi.json")).json()
    bounds = spec["components"]["schemas"]["SchoolCreate"]["properties"]["rounding_threshold"]
    assert (bounds["minimum"], bounds["maximum"]) == (0.01, 0.99)


async def test_unknown_query_parameters_are_refused_on_every_api_route(
        client: TestClient, ctx: AppContext, factory: Factory) -> None:
    world = await make_class_world(ctx, factory)
    member = world.students[0]
    resp = await client.get(f"/api/v1/chats/{world.channel}/members?limit=1", headers=member.headers)
    error = await error_of(resp, 422)
    assert error["details"] == {"limit": ["Неизвестное поле."]}
    resp = await client.get(f"/api/v1/chats/{world.channel}/messages?bogus=1", headers=member.headers)
    error = await error_of(resp, 422)
    assert error["details"] == {"bogus": ["Неизвестное поле."]}
    resp = await client.get(f"/api/v1/chats/{world.channel}/members", headers=member.headers)
    assert resp.status == 200
    resp = await client.get("/login?next=/diary")  # web pages are not the API: their links carry parameters
    assert resp.status == 200


async def test_invalid_text_is_documented_wherever_a_route_takes_a_query(client: TestClient, factory: Factory) -> None:
    root = await factory.actor("admin", is_superuser=True)
    resp = await client.get("/api/v1/schools?q=a%00b", headers=root.headers)
    error = await error_of(resp, 400)
    assert error["code"] == "invalid_text"
    spec = await (await client.get("/openapi.json")).json()
    missing = [(method, path) for path, item in spec["paths"].items() for method, op in item.items()
               if any(p.get("in") == "query" for p in op.get("parameters", [])) and "400" not in op["responses"]]
    assert missing == []
