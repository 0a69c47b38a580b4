"""Push subscriptions over REST: each person sees and removes only their own; a bad endpoint or key is a 422 in
Russian and stores nothing; the number of browsers per person is capped; the same endpoint again refreshes it."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from edutrack.context import AppContext
from edutrack.db.notify import PushSubscription
from edutrack.push.vapid import b64url_decode
from tests.email.push_service import Browser, b64
from tests.support.environment import AppFactory
from tests.support.factories import Factory

SUBS = "/api/v1/push/subscriptions"
ENDPOINT = "https://push.example.test/send/"


def body(endpoint: str, browser: Browser | None = None, **keys: str) -> dict[str, object]:
    return {"endpoint": endpoint, "keys": {**(browser or Browser()).keys(), **keys}}


async def stored(ctx: AppContext) -> int:
    async with ctx.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(PushSubscription))).scalar_one())


async def test_only_the_owner_sees_and_removes_a_subscription(client: TestClient, factory: Factory) -> None:
    mine = await factory.actor("parent")
    other = await factory.actor("parent")
    resp = await client.post(SUBS, json=body(ENDPOINT + "a"), headers=mine.headers)
    assert resp.status == 201, await resp.text()
    sub = await resp.json()
    assert (await (await client.get(SUBS, headers=other.headers)).json())["items"] == []
    listed = (await (await client.get(SUBS, headers=mine.headers)).json())["items"]
    assert [s["id"] for s in listed] == [sub["id"]]
    refused = await client.delete(f"{SUBS}/{sub['id']}", headers=other.headers)
    assert refused.status == 404
    assert (await refused.json())["error"]["message"] == "Такой подписки на push-уведомления нет."
    assert (await client.get(SUBS)).status == 401
    assert (await client.delete(f"{SUBS}/{sub['id']}", headers=mine.headers)).status == 204
    assert (await (await client.get(SUBS, headers=mine.headers)).json())["items"] == []


async def test_bad_endpoints_and_keys_are_refused_in_russian(client: TestClient, ctx: AppContext,
                                                             factory: Factory) -> None:
    me = await factory.actor("student")
    browser = Browser()
    cases = {
        "http://push.example.test/x": ("endpoint", "Адрес push-сервиса (endpoint) должен начинаться с https."),
        # Local http is for tests only, and this app does not allow it.
        "http://127.0.0.1:9/x": ("endpoint", "Адрес push-сервиса (endpoint) должен начинаться с https."),
        "https:///nohost": ("endpoint", "Адрес push-сервиса (endpoint) некорректен."),
        "https://user:pw@push.example.test/x": ("endpoint", "Адрес push-сервиса (endpoint) некорректен."),
    }
    for endpoint, (field, message) in cases.items():
        resp = await client.post(SUBS, json=body(endpoint, browser), headers=me.headers)
        assert resp.status == 422, endpoint
        error = (await resp.json())["error"]
        assert error["details"][field] == [message], endpoint
    not_a_point = b64(b"\x04" + bytes(64))
    bad_keys = [
        ({"p256dh": not_a_point}, "p256dh"),
        ({"p256dh": b64(b"\x04" + bytes(10))}, "p256dh"),
        ({"p256dh": "не base64"}, "p256dh"),
        ({"auth": b64(bytes(15))}, "auth"),
        ({"auth": "++++"}, "auth"),
    ]
    for keys, field in bad_keys:
        resp = await client.post(SUBS, json=body(ENDPOINT + "k", browser, **keys), headers=me.headers)
        assert resp.status == 422, keys
        assert field in (await resp.json())["error"]["details"], keys
    missing = await client.post(SUBS, json={"endpoint": ENDPOINT}, headers=me.headers)
    assert missing.status == 422
    assert (await missing.json())["error"]["details"]["keys"] == ["Обязательное поле не заполнено."]
    assert await stored(ctx) == 0


async def test_local_http_endpoints_only_when_the_setting_allows(make_client: AppFactory, factory: Factory) -> None:
    local = await make_client(push_allow_local_http=True)
    me = await factory.actor("parent")
    ok = await local.post(SUBS, json=body("http://127.0.0.1:9/push/x"), headers=me.headers)
    assert ok.status == 201, await ok.text()
    elsewhere = await local.post(SUBS, json=body("http://10.0.0.1/push/x"), headers=me.headers)
    assert elsewhere.status == 422


async def test_the_same_endpoint_refreshes_and_moves_and_browsers_are_capped(
    client: TestClient, ctx: AppContext, factory: Factory,
) -> None:
    first = await factory.actor("parent")
    second = await factory.actor("parent")
    made = await client.post(SUBS, json=body(ENDPOINT + "same"), headers=first.headers)
    assert made.status == 201
    again = await client.post(SUBS, json=body(ENDPOINT + "same"), headers=first.headers)
    assert again.status == 200
    assert (await again.json())["id"] == (await made.json())["id"]
    # Another person signs in on that browser and turns push on: the browser is theirs now.
    moved = await client.post(SUBS, json=body(ENDPOINT + "same"), headers=second.headers)
    assert moved.status == 201
    assert (await (await client.get(SUBS, headers=first.headers)).json())["items"] == []
    cap = ctx.settings.push_max_subscriptions
    for n in range(cap - 1):
        assert (await client.post(SUBS, json=body(f"{ENDPOINT}{n}"), headers=second.headers)).status == 201
    over = await client.post(SUBS, json=body(ENDPOINT + "over"), headers=second.headers)
    assert over.status == 409
    assert (await over.json())["error"]["code"] == "too_many_subscriptions"
    assert await stored(ctx) == cap


async def test_the_key_is_one_p256_point_shared_by_every_node(client: TestClient, make_client: AppFactory,
                                                              factory: Factory) -> None:
    me = await factory.actor("teacher")
    other_node = await make_client()
    keys = {(await (await c.get("/api/v1/push/key", headers=me.headers)).json())["public_key"]
            for c in (client, other_node)}
    assert len(keys) == 1
    point = b64url_decode(keys.pop())
    assert len(point) == 65
    assert point[0] == 4
    assert (await client.get("/api/v1/push/key")).status == 401


async def test_subscription_changes_are_rate_limited(client: TestClient, factory: Factory) -> None:
    me = await factory.actor("parent")
    browser = Browser()
    for _ in range(60):
        assert (await client.post(SUBS, json=body(ENDPOINT + "same", browser), headers=me.headers)).status in (200, 201)
    resp = await client.post(SUBS, json=body(ENDPOINT + "same", browser), headers=me.headers)
    assert resp.status == 429
    error = (await resp.json())["error"]
    assert error["message"] == "Слишком много изменений подписок на push-уведомления; попробуйте позже."
