"""Preferences per kind and channel: each kind reaches exactly the chosen channels (live frame and feed,
email once past the delay, the daily digest); role defaults; the master email switch; chat mutes; bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.models import Notification
from edutrack.settings import Settings
from tests.email.notify_helpers import PREFS, days_ago, emailed_kinds, put_prefs, scheduler, write_kinds
from tests.foundation.helpers import error_of
from tests.realtime.helpers import connect, make_class_world, recv, subscribe
from tests.support.factories import Factory

CHOICE = {"grade": ["live", "email"], "grade_changed": ["live"], "grade_deleted": [], "homework": ["digest"],
          "attendance": ["email"], "news": ["live", "digest"], "message": ["email"], "reminder": ["live", "email"],
          "absence_note": ["live"], "lesson_changed": ["digest"], "final_mark": [], "moderation": ["live", "email"],
          "mention": ["digest"], "homework_submitted": ["live"], "homework_returned": ["email"],
          "ack_request": ["email"], "chat_message": ["live", "digest"]}


def wanting(channel: str) -> set[str]:
    return {kind for kind, channels in CHOICE.items() if channel in channels}


async def notification_kinds(ws: ClientWebSocketResponse) -> list[str]:
    """The kinds of the notification frames that arrive until a second passes without one; closes the socket."""
    got: list[str] = []
    while True:
        try:
            frame = await recv(ws, timeout=1.0)
        except TimeoutError:
            break
        if frame["type"] == "notification":
            got.append(frame["kind"])
    await ws.close()
    return got


async def test_defaults_per_role_and_the_available_channels(client: TestClient, factory: Factory) -> None:
    parent = await factory.actor("parent")
    teacher = await factory.actor("teacher")
    mine = await (await client.get(PREFS, headers=parent.headers)).json()
    theirs = await (await client.get(PREFS, headers=teacher.headers)).json()
    assert mine["channels"] == ["live", "email", "digest", "push"]
    assert {k["kind"]: k["channels"] for k in mine["kinds"]}["grade"] == ["live", "email", "push"]
    assert {k["kind"]: k["channels"] for k in mine["kinds"]}["grade_deleted"] == ["live", "email"]
    assert {k["kind"]: k["channels"] for k in theirs["kinds"]}["news"] == ["live", "digest"]
    assert {k["kind"]: k["channels"] for k in theirs["kinds"]}["grade"] == ["live"]
    assert mine["digest_time"] == "19:00"
    assert mine["effective_timezone"] == "Europe/Moscow"
    assert mine["email"] == "immediate"


async def test_each_kind_goes_live_only_where_chosen(client: TestClient, ctx: AppContext, factory: Factory) -> None:
    parent = await factory.actor("parent")
    body = await put_prefs(client, parent, {"kinds": CHOICE})
    assert {k["kind"]: k["channels"] for k in body["kinds"]} == CHOICE
    ws = await connect(client, parent)
    await subscribe(ws, f"user:{parent.id}")
    await write_kinds(ctx, parent.id)
    got = await notification_kinds(ws)
    assert set(got) == wanting("live")
    assert len(got) == len(wanting("live"))
    feed = await (await client.get("/api/v1/notifications", headers=parent.headers)).json()
    assert {n["kind"] for n in feed["items"]} == wanting("live")
    resumed = await connect(client, parent)
    await subscribe(resumed, f"user:{parent.id}", since=0)
    assert sorted(await notification_kinds(resumed)) == sorted(wanting("live"))


async def test_email_and_digest_take_exactly_their_kinds(
    client: TestClient, ctx: AppContext, factory: Factory, mail_settings: Settings,
) -> None:
    parent = await factory.actor("parent")
    await put_prefs(client, parent, {"kinds": CHOICE})
    await write_kinds(ctx, parent.id, created=days_ago(3))
    late = datetime.now(UTC) - timedelta(hours=1)
    # The day's digest already went out: only the kinds sent by email at once go now.
    await put_prefs(client, parent, {"digest_time": "00:00"})
    async with ctx.sessions.begin() as session:
        from edutrack.queries.digest import mark_digests_sent
        await mark_digests_sent(session, [parent.id], datetime.now(UTC))
    assert await scheduler(ctx, mail_settings).run_once() == 1
    assert await emailed_kinds(ctx, parent.id) == wanting("email")
    # The next day's digest moment: the digest kinds follow, the rest never.
    tomorrow = scheduler(ctx, mail_settings, clock=lambda: late + timedelta(days=1, hours=2))
    assert await tomorrow.run_once() == 1
    assert await emailed_kinds(ctx, parent.id) == wanting("email") | wanting("digest")
    assert await tomorrow.run_once() == 0


async def test_master_switch_off_and_daily(client: TestClient, ctx: AppContext, factory: Factory) -> None:
    off = await factory.actor("parent")
    daily = await factory.actor("parent")
    await put_prefs(client, off, {"email": "off"})
    await put_prefs(client, daily, {"email": "daily", "kinds": {"grade": ["live", "email"]}})
    written = {**{f"off-{k}": v for k, v in (await write_kinds(ctx, off.id)).items()},
               **{f"daily-{k}": v for k, v in (await write_kinds(ctx, daily.id)).items()}}
    async with ctx.sessions() as session:
        masks = dict((await session.execute(select(Notification.id, Notification.channels)
                                            .where(Notification.id.in_(list(written.values()))))).all())
    by_name = {name: masks[i] for name, i in written.items()}
    assert {n for n, m in by_name.items() if n.startswith("off-") and m & 6} == set()
    # Live stays for every kind whose role default has it; a parent's chat_message is the digest only: nothing.
    assert {n for n, m in by_name.items() if n.startswith("off-") and m & 1} == {
        f"off-{k}" for k in CHOICE if k != "chat_message"}
    assert by_name["off-chat_message"] == 0
    assert by_name["daily-grade"] == 3  # chosen: stays email
    assert by_name["daily-homework"] == 13  # role default email -> the digest; push stays
    reset = await put_prefs(client, daily, {"kinds": {"grade": None}})
    assert {k["kind"]: k["chosen"] for k in reset["kinds"]}["grade"] is False


async def test_a_muted_chat_makes_no_notification_until_unmuted(
    client: TestClient, ctx: AppContext, factory: Factory,
) -> None:
    world = await make_class_world(ctx, factory)
    teacher, parent = world.teacher, world.parent
    dm = f"dm:{min(teacher.id, parent.id)}:{max(teacher.id, parent.id)}"
    resp = await client.put(f"{PREFS}/mutes/{dm}", json={}, headers=parent.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["until"] is None

    async def send(text: str) -> Notification:
        sent = await client.post(f"/api/v1/chats/{dm}/messages", json={"text": text}, headers=teacher.headers)
        assert sent.status == 201, await sent.text()
        async with ctx.sessions() as session:
            return (await session.execute(select(Notification).where(Notification.user_id == parent.id)
                                          .order_by(Notification.id.desc()).limit(1))).scalar_one()

    assert (await send("тихо")).channels == 0
    listed = await (await client.get(PREFS, headers=parent.headers)).json()
    assert [m["channel"] for m in listed["mutes"]] == [dm]
    assert (await client.delete(f"{PREFS}/mutes/{dm}", headers=parent.headers)).status == 204
    assert (await send("громко")).channels == 11  # live, email, push
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    assert (await client.put(f"{PREFS}/mutes/{dm}", json={"until": soon}, headers=parent.headers)).status == 200
    await asyncio.sleep(1.2)
    assert (await send("снова громко")).channels == 11


async def test_mutes_only_of_your_own_chats(client: TestClient, ctx: AppContext, factory: Factory) -> None:
    world = await make_class_world(ctx, factory)
    other = await make_class_world(ctx, factory)
    resp = await client.put(f"{PREFS}/mutes/class:{other.class_id}", json={}, headers=world.parent.headers)
    await error_of(resp, 403)
    a, b = sorted((other.teacher.id, other.parent.id))
    await error_of(await client.put(f"{PREFS}/mutes/dm:{a}:{b}", json={}, headers=world.parent.headers), 403)
    await error_of(await client.put(f"{PREFS}/mutes/user:{world.parent.id}", json={},
                                    headers=world.parent.headers), 400)
    await error_of(await client.delete(f"{PREFS}/mutes/class:{world.class_id}", headers=world.parent.headers), 404)
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    await error_of(await client.put(f"{PREFS}/mutes/class:{world.class_id}", json={"until": past},
                                    headers=world.parent.headers), 422)


async def test_bad_preferences_are_refused_and_nothing_is_written(client: TestClient, factory: Factory) -> None:
    parent = await factory.actor("parent")
    for body, code in (
        ({"kinds": {"grade": ["email", "digest"]}}, "email_and_digest"),
        ({"kinds": {"grade": ["pigeon"]}}, "validation_error"),
        ({"kinds": {"gossip": ["live"]}}, "validation_error"),
        ({"timezone": "Mars/Olympus"}, "invalid_timezone"),
        ({"quiet_start": "22:00"}, "quiet_hours"),
        ({"digest_time": "25:00"}, "validation_error"),
        ({}, "validation_error"),
    ):
        error = await error_of(await client.put(PREFS, json=body, headers=parent.headers), 422)
        assert error["code"] == code, (body, error)
    unchanged = await (await client.get(PREFS, headers=parent.headers)).json()
    assert all(not k["chosen"] for k in unchanged["kinds"])
    assert unchanged["timezone"] is None
    await error_of(await client.get(PREFS), 401)
