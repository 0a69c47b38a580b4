"""Web push end to end with the real services: preferences decide which rows go to push, the dispatcher writes
one outbox row per subscription, the relay and notifier deliver it with pywebpush to a real push service in the
test, which checks the VAPID signature and whose browser decrypts the payload. 404/410 remove the subscription,
429 is retried through the delay queues, quiet hours hold pushes and release one merged push."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.models import EmailOutbox, Notification
from edutrack.db.notify import PushSubscription
from edutrack.events import presence_key
from edutrack.keys import CTX
from edutrack.notifier.worker import notifier_worker
from edutrack.outbox.relay import relay_worker
from edutrack.push.dispatcher import PushDispatcher
from edutrack.settings import Settings
from tests.email.conftest import Workers, wait_for
from tests.email.notify_helpers import put_prefs, write_kinds
from tests.email.push_service import Browser, PushService, running_push_service
from tests.support.diary import auth
from tests.support.environment import AppFactory
from tests.support.factories import Actor, Factory
from tests.support.school import build_school

SUBS = "/api/v1/push/subscriptions"


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    async with running_push_service() as service:
        yield service


@pytest.fixture
def push_settings(mail_settings: Settings) -> Settings:
    return mail_settings.replace(push_allow_local_http=True, push_interval=0.1)


@pytest.fixture
async def api(make_client: AppFactory, push_settings: Settings) -> TestClient:
    return await make_client(push_allow_local_http=True, push_interval=0.1)


@pytest.fixture
def pctx(api: TestClient) -> AppContext:
    return api.app[CTX]


@pytest.fixture
def people(api: TestClient, pctx: AppContext) -> Factory:
    return Factory(api, pctx)


async def subscribe(api: TestClient, actor: Actor, service: PushService, token: str,
                    browser: Browser | None = None) -> tuple[Browser, int]:
    browser = browser or Browser()
    resp = await api.post(SUBS, json={"endpoint": service.endpoint(token), "keys": browser.keys(),
                                      "expirationTime": None}, headers=actor.headers)
    assert resp.status == 201, await resp.text()
    return browser, int((await resp.json())["id"])


async def push_rows(ctx: AppContext, user_id: int) -> list[EmailOutbox]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(EmailOutbox).where(EmailOutbox.user_id == user_id,
                                                               EmailOutbox.kind == "push").order_by(EmailOutbox.id))
    return list(rows.scalars())


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def dispatcher(ctx: AppContext, settings: Settings, clock: Clock | None = None) -> PushDispatcher:
    made = PushDispatcher(ctx, clock=clock) if clock is not None else PushDispatcher(ctx)
    made.settings = settings
    return made


async def test_preferences_route_a_grade_to_push_only_when_chosen(
    api: TestClient, pctx: AppContext, people: Factory, push_service: PushService, push_settings: Settings,
) -> None:
    parent = await people.actor("parent")
    teacher = await people.actor("teacher")
    prefs = await (await api.get("/api/v1/profile/notifications", headers=parent.headers)).json()
    assert "push" in prefs["channels"]
    grade = next(k for k in prefs["kinds"] if k["kind"] == "grade")
    assert grade["default"] == ["live", "email", "push"]  # a parent: grades by push
    staff = await (await api.get("/api/v1/profile/notifications", headers=teacher.headers)).json()
    assert "push" not in next(k for k in staff["kinds"] if k["kind"] == "grade")["default"]
    await subscribe(api, parent, push_service, "p1")
    run = dispatcher(pctx, push_settings)

    await put_prefs(api, parent, {"kinds": {"grade": ["live", "email"], "attendance": ["push"]}})
    await write_kinds(pctx, parent.id, ("grade",))
    assert await run.run_once() == 0
    assert await push_rows(pctx, parent.id) == []

    await write_kinds(pctx, parent.id, ("attendance",))
    assert await run.run_once() == 1
    await put_prefs(api, parent, {"kinds": {"grade": ["push"]}})
    await write_kinds(pctx, parent.id, ("grade",))
    assert await run.run_once() == 1
    sent = await push_rows(pctx, parent.id)
    assert [json.loads(r.body_text)["title"] for r in sent] == ["Посещаемость", "Новая оценка"]
    assert await run.run_once() == 0  # each row once


async def test_a_push_reaches_the_push_service_encrypted_and_signed(
    api: TestClient, pctx: AppContext, people: Factory, push_service: PushService, push_settings: Settings,
    workers: Workers,
) -> None:
    parent = await people.actor("parent")
    browser, _ = await subscribe(api, parent, push_service, "mine")
    key = (await (await api.get("/api/v1/push/key", headers=parent.headers)).json())["public_key"]
    workers.start(relay_worker, push_settings)
    workers.start(notifier_worker, push_settings)
    ids = await write_kinds(pctx, parent.id, ("grade",), extra={"value": "5", "subject": "Алгебра"})

    async def arrived() -> bool:
        return len(push_service.arrivals) == 1

    await wait_for(arrived)
    assert push_service.refused == []
    arrival = push_service.arrivals[0]
    assert arrival.vapid_key == key  # signed with the key browsers subscribe with
    assert arrival.body[:1] != b"{"  # not clear text
    payload = browser.decrypt(arrival.body)
    assert payload["title"] == "Новая оценка"
    assert payload["body"].startswith("Алгебра: 5")
    assert payload["url"] == push_settings.public_url + "/diary"
    assert payload["id"] == ids["grade"]
    assert int(arrival.headers["ttl"]) == push_settings.push_ttl

    async def sent() -> bool:
        return [r.status for r in await push_rows(pctx, parent.id)] == ["sent"]

    await wait_for(sent)


async def test_gone_removes_the_subscription(
    api: TestClient, pctx: AppContext, people: Factory, push_service: PushService, push_settings: Settings,
    workers: Workers,
) -> None:
    student = await people.actor("student")
    push_service.script["old"] = [410]
    _, old_id = await subscribe(api, student, push_service, "old")
    fresh, _ = await subscribe(api, student, push_service, "fresh")
    workers.start(relay_worker, push_settings)
    workers.start(notifier_worker, push_settings)
    await write_kinds(pctx, student.id, ("homework",), extra={"text": "№ 12"})

    async def settled() -> bool:
        return sorted(r.status for r in await push_rows(pctx, student.id)) == ["dead", "sent"]

    await wait_for(settled)
    async with pctx.sessions() as session:
        left = (await session.execute(select(PushSubscription.endpoint)
                                      .where(PushSubscription.user_id == student.id))).scalars().all()
    assert left == [push_service.endpoint("fresh")]
    assert old_id not in [r["id"] for r in (await (await api.get(SUBS, headers=student.headers)).json())["items"]]
    dead = next(r for r in await push_rows(pctx, student.id) if r.status == "dead")
    assert "410" in (dead.last_error or "")
    assert fresh.decrypt(push_service.arrivals[0].body)["title"] == "Домашнее задание"


async def test_too_many_requests_is_retried_and_then_delivered(
    api: TestClient, pctx: AppContext, people: Factory, push_service: PushService, push_settings: Settings,
    workers: Workers,
) -> None:
    parent = await people.actor("parent")
    push_service.script["busy"] = [429, 503]
    browser, _ = await subscribe(api, parent, push_service, "busy")
    workers.start(relay_worker, push_settings)
    workers.start(notifier_worker, push_settings)
    await write_kinds(pctx, parent.id, ("attendance",), extra={"status": "absent", "date": "2026-11-20"})

    async def delivered() -> bool:
        return [r.status for r in await push_rows(pctx, parent.id)] == ["sent"]

    await wait_for(delivered)
    assert push_service.answered == [("busy", 429), ("busy", 503), ("busy", 201)]
    row = (await push_rows(pctx, parent.id))[0]
    assert row.attempts == 3
    assert browser.decrypt(push_service.arrivals[0].body)["body"] == "20 ноября: отсутствие"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_quiet_hours_hold_pushes_and_release_one_merged_push(
    api: TestClient, pctx: AppContext, people: Factory, push_service: PushService, push_settings: Settings,
) -> None:
    parent = await people.actor("parent")
    await put_prefs(api, parent, {"timezone": "Europe/Moscow", "quiet_start": "21:00", "quiet_end": "07:30"})
    await subscribe(api, parent, push_service, "night")
    clock = Clock(utc(2026, 11, 20, 19, 0))  # 22:00 in Moscow
    run = dispatcher(pctx, push_settings, clock)
    await write_kinds(pctx, parent.id, ("grade",))
    await write_kinds(pctx, parent.id, ("attendance",))
    assert await run.run_once() == 0
    clock.now = utc(2026, 11, 21, 4, 29)  # 07:29
    assert await run.run_once() == 0
    clock.now = utc(2026, 11, 21, 4, 30)  # 07:30: the end
    assert await run.run_once() == 1
    rows = await push_rows(pctx, parent.id)
    assert len(rows) == 1
    merged = json.loads(rows[0].body_text)
    assert merged["count"] == 2
    assert merged["title"] == "EduTrack: 2 новых уведомления"
    assert merged["url"] == push_settings.public_url + "/diary"
    async with pctx.sessions() as session:
        waiting = (await session.execute(select(Notification.id).where(Notification.user_id == parent.id,
                                                                       Notification.pushed_at.is_(None)))).all()
    assert waiting == []
    assert await run.run_once() == 0


async def test_urgent_news_passes_quiet_hours(
    api: TestClient, pctx: AppContext, people: Factory, push_service: PushService, push_settings: Settings,
) -> None:
    parent = await people.actor("parent")
    await put_prefs(api, parent, {"timezone": "Europe/Moscow", "quiet_start": "21:00", "quiet_end": "07:30"})
    await subscribe(api, parent, push_service, "urgent")
    run = dispatcher(pctx, push_settings, Clock(utc(2026, 11, 20, 19, 0)))
    await write_kinds(pctx, parent.id, ("news",), extra={"title": "Школа закрыта", "urgent": True})
    assert await run.run_once() == 1
    assert json.loads((await push_rows(pctx, parent.id))[0].body_text)["body"] == "Школа закрыта"


async def test_no_push_without_subscription_or_while_online(
    api: TestClient, pctx: AppContext, people: Factory, push_service: PushService, push_settings: Settings,
) -> None:
    lonely = await people.actor("parent")
    online = await people.actor("parent")
    await subscribe(api, online, push_service, "tab")
    run = dispatcher(pctx, push_settings)
    key = presence_key(push_settings.namespace, online.id)
    await pctx.redis.set(key, "1", ex=60)
    await write_kinds(pctx, lonely.id, ("grade",))
    await write_kinds(pctx, online.id, ("grade",))
    assert await run.run_once() == 0
    # Both handled: subscribing later, or closing the page, does not push these rows afterwards.
    await pctx.redis.delete(key)
    await subscribe(api, lonely, push_service, "later")
    assert await run.run_once() == 0
    assert await push_rows(pctx, lonely.id) == []
    assert await push_rows(pctx, online.id) == []


async def test_news_that_asks_to_confirm_carries_the_one_click_link(
    api: TestClient, pctx: AppContext, people: Factory, push_service: PushService, push_settings: Settings,
) -> None:
    school = await build_school(pctx, classes=1, students_per_class=1)
    parent = school.parents(school.classes[0].student_ids[0])[0]
    resp = await api.post("/api/v1/news", headers=auth(pctx, school.admin), json={
        "title": "Собрание", "body": "В пятницу.", "audience": "role", "role": "parent", "status": "published",
        "ack": ["parent"]})
    assert resp.status == 201, await resp.text()
    news_id = (await resp.json())["id"]
    async with pctx.sessions.begin() as session:
        session.add(PushSubscription(user_id=parent.id, endpoint=push_service.endpoint("ack"),
                                     **Browser().keys()))
    assert await dispatcher(pctx, push_settings).run_once() == 1
    payload = json.loads((await push_rows(pctx, parent.id))[0].body_text)
    assert payload["ack"]["title"] == "Подтверждаю"
    assert payload["url"] == push_settings.public_url + "/news"
    link = payload["ack"]["url"].removeprefix(push_settings.public_url)
    first = await api.post(link)
    assert first.status == 200, await first.text()
    assert (await first.json())["news_id"] == news_id
    assert (await (await api.post(link)).json())["duplicate"] is True


async def test_another_refusal_is_dead_lettered_and_keeps_the_subscription(
    api: TestClient, pctx: AppContext, people: Factory, push_service: PushService, push_settings: Settings,
    workers: Workers,
) -> None:
    parent = await people.actor("parent")
    push_service.script["wrong"] = [403]
    await subscribe(api, parent, push_service, "wrong")
    workers.start(relay_worker, push_settings)
    workers.start(notifier_worker, push_settings)
    await write_kinds(pctx, parent.id, ("grade",))

    async def dead() -> bool:
        return [r.status for r in await push_rows(pctx, parent.id)] == ["dead"]

    await wait_for(dead)
    row = (await push_rows(pctx, parent.id))[0]
    assert row.attempts == 1
    assert "403" in (row.last_error or "")
    assert len((await (await api.get(SUBS, headers=parent.headers)).json())["items"]) == 1


async def test_users_pushed_in_one_batch_each_get_their_own_push_per_subscription(
    api: TestClient, pctx: AppContext, people: Factory, push_service: PushService, push_settings: Settings,
) -> None:
    two_browsers = await people.actor("parent")
    graded, absent = await people.actor("parent"), await people.actor("parent")
    await subscribe(api, two_browsers, push_service, "laptop")
    await subscribe(api, two_browsers, push_service, "phone")
    await subscribe(api, graded, push_service, "g")
    await subscribe(api, absent, push_service, "a")
    await write_kinds(pctx, two_browsers.id, ("grade",))
    await write_kinds(pctx, graded.id, ("grade",))
    await write_kinds(pctx, absent.id, ("attendance",))
    assert await dispatcher(pctx, push_settings).run_once() == 4
    titles = {p.id: [json.loads(r.body_text)["title"] for r in await push_rows(pctx, p.id)]
              for p in (two_browsers, graded, absent)}
    assert titles == {two_browsers.id: ["Новая оценка"] * 2, graded.id: ["Новая оценка"],
                      absent.id: ["Посещаемость"]}
