"""The web-push service worker (static/web/sw.js) in Chromium with a real push arriving.

Headless Chromium has no push service, so the push is delivered the way DevTools does it: the Chrome DevTools
Protocol's `ServiceWorker.deliverPushMessage` dispatches a trusted `push` event to the registered worker. What
it delivers is what EduTrack's push path produced for a real news item that asks parents to confirm: the
dispatcher's outbox row, sent by the notifier's PushSender (encrypted, VAPID-signed) to a push service inside
the test, and decrypted there with the subscription's keys, as the browser's push service would hand it over.

Chromium cannot click a notification from a test (no CDP command; a synthetic NotificationEvent is untrusted and
cannot extend its lifetime), so the click runs what the `notificationclick` listener runs, `edutrackClick`,
inside the worker with the real notification from `getNotifications()`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import http_ece
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import CDPSession, Worker, expect
from sqlalchemy import select

from edutrack.app import create_app
from edutrack.context import AppContext
from edutrack.db.models import EmailOutbox
from edutrack.db.notify import NewsAck
from edutrack.push.dispatcher import PushDispatcher
from edutrack.push.sender import PushSender
from edutrack.queries import outbox as outbox_q
from edutrack.settings import Settings
from tests.e2e.conftest import WAIT_MS, Browsers, Tab
from tests.email.push_service import Browser as PushKeys
from tests.email.push_service import PushService, running_push_service
from tests.support.contract import check_responses
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool
from tests.support.services import free_port

NO_PUSH_SERVICE = "Браузеру не удалось подписаться на push-уведомления: его push-сервис недоступен."
NEWS = "/api/v1/news"


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings) -> TestClient:
    # A push's links are absolute (PUBLIC_URL): the app listens where its PUBLIC_URL says, as in production, so
    # the worker's POST of the acknowledgement link reaches this app.
    port = free_port()
    app: web.Application = check_responses(create_app(settings.replace(
        public_url=f"http://127.0.0.1:{port}", push_allow_local_http=True)))
    return await aiohttp_client(app, server_kwargs={"port": port})


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    async with running_push_service() as service:
        yield service


@dataclass
class Pushed:
    news_id: int
    text: str  # what the browser's push service hands the worker: the decrypted body

    @property
    def payload(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.text)
        return found


async def push_news_to_parent(client: TestClient, ctx: AppContext, school: BuiltSchool,
                              push_service: PushService) -> Pushed:
    """A news item asking parents to confirm, pushed to the first parent through the dispatcher and the sender."""
    parent = school.parents(school.student(0, 0).id)[0]
    made = await body_of(await client.post(NEWS, headers=auth(ctx, school.admin), json={
        "title": "Родительское собрание", "body": "В пятницу в 18:00, кабинет 12.", "audience": "role",
        "role": "parent", "status": "published", "ack": ["parent"]}), 201)
    keys = PushKeys()
    await body_of(await client.post("/api/v1/push/subscriptions", headers=auth(ctx, parent), json={
        "endpoint": push_service.endpoint("chromium"), "keys": keys.keys(), "expirationTime": None}), 201)
    # Before the parent signs in: with a socket open the rows are live and no push is written.
    assert await PushDispatcher(ctx).run_once() == 1
    async with ctx.sessions() as session:
        outbox_id = (await session.execute(select(EmailOutbox.id).where(
            EmailOutbox.user_id == parent.id, EmailOutbox.kind == "push"))).scalar_one()
    sender = PushSender(ctx)
    try:
        async with ctx.sessions.begin() as session:  # what the notifier does with the job
            row = await outbox_q.lock_for_delivery(session, outbox_id)
            assert row is not None
            assert await sender.send(session, row) is None
            await outbox_q.mark_sent(session, outbox_id)
    finally:
        await sender.close()
    arrival = push_service.arrivals[-1]
    clear = http_ece.decrypt(arrival.body, private_key=keys.key, auth_secret=keys.auth, version="aes128gcm")
    assert clear.decode() == row.body_text  # the dispatcher's JSON, byte for byte
    return Pushed(int(made["id"]), clear.decode())


async def registration_id(cdp: CDPSession, scope: str) -> str:
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_update(event: dict[str, Any]) -> None:
        for reg in event["registrations"]:
            if reg["scopeURL"] == scope and not reg["isDeleted"] and not found.done():
                found.set_result(reg["registrationId"])

    cdp.on("ServiceWorker.workerRegistrationUpdated", on_update)
    await cdp.send("ServiceWorker.enable")
    return await asyncio.wait_for(found, WAIT_MS / 1000)


# What the worker shows, as plain objects (a Notification does not survive the trip to Python).
SHOWN = """() => self.registration.getNotifications().then(ns => ns.map(n => ({
  title: n.title, body: n.body, tag: n.tag, lang: n.lang, data: n.data,
  actions: n.actions.map(a => ({action: a.action, title: a.title}))})))"""
# A click on the notification: what the `notificationclick` listener runs, with the notification the push showed.
CLICK = """action => self.registration.getNotifications()
  .then(ns => { if (ns.length !== 1) throw new Error(ns.length + " notifications"); return ns[0]; })
  .then(n => self.edutrackClick(n, action)).then(() => null)"""


@dataclass
class PushWorker:
    """The parent's tab, a DevTools session on it and the worker it registered. Pushes are delivered while the
    tab is not navigating: in trials one delivered during a navigation of the tab never showed."""

    tab: Tab
    cdp: CDPSession
    registration: str
    worker: Worker
    origin: str

    async def push(self, text: str) -> list[dict[str, Any]]:
        """A trusted push event with `text` as its data; what the worker showed."""
        await self.cdp.send("ServiceWorker.deliverPushMessage",
                            {"origin": self.origin, "registrationId": self.registration, "data": text})
        for _ in range(WAIT_MS // 100):
            shown: list[dict[str, Any]] = await self.worker.evaluate(SHOWN)
            if shown:
                return shown
            await asyncio.sleep(0.1)
        raise AssertionError("the push showed no notification")

    async def click(self, action: str = "") -> None:
        await self.worker.evaluate(CLICK, action)
        assert await self.worker.evaluate(SHOWN) == []  # a click closes it


async def ready(browsers: Browsers, school: BuiltSchool) -> PushWorker:
    """The parent signed in, notifications allowed, the worker registered by the settings page's own button."""
    parent = school.parents(school.student(0, 0).id)[0]
    tab = await browsers.login(parent.email, expect_path="/diary")
    await tab.context.grant_permissions(["notifications"], origin=browsers.base_url)
    await tab.page.goto("/settings/notifications")
    await tab.page.get_by_role("button", name="Включить в этом браузере").click()
    await expect(tab.page.locator("#push-state")).to_have_text(NO_PUSH_SERVICE, timeout=30_000)
    cdp = await tab.context.new_cdp_session(tab.page)
    registration = await registration_id(cdp, browsers.base_url + "/")
    workers = tab.context.service_workers
    assert [w.url for w in workers] == [browsers.base_url + "/sw.js"]
    return PushWorker(tab, cdp, registration, workers[0], browsers.base_url)


async def acks(ctx: AppContext, news_id: int) -> list[tuple[int, str]]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(NewsAck.user_id, NewsAck.via).where(NewsAck.news_id == news_id))
    return [(r.user_id, r.via) for r in rows]


async def test_a_real_push_is_shown_and_its_ack_action_confirms_once(
    client: TestClient, ctx: AppContext, browsers: Browsers, school: BuiltSchool, push_service: PushService,
) -> None:
    pushed = await push_news_to_parent(client, ctx, school, push_service)
    parent = school.parents(school.student(0, 0).id)[0]
    sw = await ready(browsers, school)
    shown = await sw.push(pushed.text)
    ack = pushed.payload["ack"]
    assert ack["url"].startswith(f"{browsers.base_url}/api/v1/news-acks/{parent.id}.")
    assert shown == [{
        "title": "Подтвердите ознакомление", "body": "Родительское собрание — В пятницу в 18:00, кабинет 12.",
        "tag": f"n{pushed.payload['id']}", "lang": "ru",
        "data": {"url": browsers.base_url + "/news", "ack": ack},
        "actions": [{"action": "ack", "title": "Подтверждаю"}]}]

    await sw.click("ack")
    assert await acks(ctx, pushed.news_id) == [(parent.id, "push")]
    table = await body_of(await client.get(f"{NEWS}/{pushed.news_id}/acks", headers=auth(ctx, school.admin)), 200)
    assert table["acknowledged"] == 1
    family = next(s for s in table["classes"][0]["students"] if s["id"] == school.student(0, 0).id)
    assert family["family_acknowledged"] is True
    assert sw.tab.page.url == browsers.base_url + "/settings/notifications"  # confirmed: no page to open

    # The same link again, from another browser of theirs: counted once. (Not this browser again: a notification
    # closed by the click and one shown with its tag right after share Chromium's id, and the close, which the
    # page cannot wait for, can land after the new one is shown and close it too.)
    other = await ready(browsers, school)
    await other.push(pushed.text)
    await other.click("ack")
    assert await acks(ctx, pushed.news_id) == [(parent.id, "push")]
    table = await body_of(await client.get(f"{NEWS}/{pushed.news_id}/acks", headers=auth(ctx, school.admin)), 200)
    assert table["acknowledged"] == 1
    sw.tab.assert_clean()


async def test_a_click_brings_the_open_tab_to_the_notifications_page(
    client: TestClient, ctx: AppContext, browsers: Browsers, school: BuiltSchool, push_service: PushService,
) -> None:
    pushed = await push_news_to_parent(client, ctx, school, push_service)
    sw = await ready(browsers, school)
    # The tab that turned push on loaded before the worker existed: the worker claims it.
    assert await sw.tab.page.evaluate("navigator.serviceWorker.controller !== null")
    await sw.push(pushed.text)
    await sw.click()
    await expect(sw.tab.page).to_have_url(browsers.base_url + "/news")
    assert [p.url for p in sw.tab.context.pages] == [browsers.base_url + "/news"]  # that tab, not a new one
    assert await acks(ctx, pushed.news_id) == []  # a plain click confirms nothing
    sw.tab.assert_clean()


async def test_a_forged_link_stores_nothing_and_opens_the_page_instead(
    client: TestClient, ctx: AppContext, browsers: Browsers, school: BuiltSchool, push_service: PushService,
) -> None:
    pushed = await push_news_to_parent(client, ctx, school, push_service)
    parent = school.parents(school.student(0, 0).id)[0]
    other = school.parents(school.student(0, 1).id)[0]
    sw = await ready(browsers, school)
    # The real link with another parent's id in it: its signature no longer matches.
    real = pushed.payload["ack"]["url"]
    forged = real.replace(f"/news-acks/{parent.id}.", f"/news-acks/{other.id}.")
    assert forged != real
    await sw.push(pushed.text.replace(real, forged))
    await sw.click("ack")
    await expect(sw.tab.page).to_have_url(browsers.base_url + "/news")
    assert await acks(ctx, pushed.news_id) == []
    sw.tab.assert_clean()
