"""The kinds `ack_request` (someone asks you to confirm) and `chat_message` (a message in one of your rooms): who
gets a row and over which channels, the links and texts their digest and push carry, rows written before
`ack_request` existed, and reading a room marking its rows read (both send paths)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, text, update

from edutrack.context import AppContext
from edutrack.db.models import Notification
from edutrack.digest.content import build_digest
from edutrack.push import payload as push_payload
from edutrack.services import ack_links
from edutrack.settings import Settings
from tests.email.notify_helpers import days_ago, outbox_of, put_prefs, scheduler
from tests.realtime.helpers import (
    ClassWorld,
    chat_send,
    connect,
    gateway_of,
    make_class_world,
    notifications_of,
    recv_until,
    send,
    subscribe,
)
from tests.support.diary import auth, body_of
from tests.support.factories import Factory
from tests.support.school import build_school

DIGEST, PUSH = 4, 8
NEWS = "/api/v1/news"


async def rows_of(ctx: AppContext, user_id: int, kind: str) -> list[Notification]:
    return [n for n in await notifications_of(ctx, user_id) if n.kind == kind]


async def post(client: TestClient, world: ClassWorld, sender: Any, channel: str, words: str) -> int:
    resp = await client.post(f"/api/v1/chats/{channel}/messages", json={"text": words}, headers=sender.headers)
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


# --- ack_request -------------------------------------------------------------------------------------------------


async def test_a_news_item_asking_parents_gives_them_ack_request_and_others_news(
    client: TestClient, ctx: AppContext,
) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1)
    student = school.classes[0].student_ids[0]
    parent = school.parents(student)[0]
    made = await body_of(await client.post(NEWS, headers=auth(ctx, school.admin), json={
        "title": "Собрание", "body": "В пятницу.", "audience": "school", "status": "published",
        "ack": ["parent"]}), 201)
    asked = await rows_of(ctx, parent.id, "ack_request")
    assert [r.payload["news_id"] for r in asked] == [made["id"]]
    assert asked[0].payload["ack"] is True
    assert await rows_of(ctx, parent.id, "news") == []
    assert [r.payload["news_id"] for r in await rows_of(ctx, student, "news")] == [made["id"]]
    assert asked[0].channels == 1 | 2 | PUSH  # the parents' default, the same as for news


async def test_confirmations_by_push_while_news_goes_to_the_digest(client: TestClient, ctx: AppContext) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1)
    parent = school.parents(school.classes[0].student_ids[0])[0]
    chosen = await body_of(await client.put("/api/v1/profile/notifications", headers=auth(ctx, parent), json={
        "kinds": {"ack_request": ["push"], "news": ["digest"]}}), 200)
    assert {k["kind"]: k["channels"] for k in chosen["kinds"]}["ack_request"] == ["push"]
    for ack in ([], ["parent"]):
        await body_of(await client.post(NEWS, headers=auth(ctx, school.admin), json={
            "title": "Новость", "body": "Текст.", "audience": "school", "status": "published", "ack": ack}), 201)
    masks = {n.kind: n.channels for n in await notifications_of(ctx, parent.id)}
    assert masks == {"news": DIGEST, "ack_request": PUSH}


async def test_the_digest_and_the_push_carry_the_ack_link_of_new_and_old_rows(
    client: TestClient, ctx: AppContext, mail_settings: Settings,
) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1)
    parent = school.parents(school.classes[0].student_ids[0])[0]
    made = await body_of(await client.post(NEWS, headers=auth(ctx, school.admin), json={
        "title": "Собрание", "body": "В пятницу.", "audience": "school", "status": "published",
        "ack": ["parent"]}), 201)
    [row] = await rows_of(ctx, parent.id, "ack_request")
    old = Notification(id=1, user_id=parent.id, kind="news", payload=dict(row.payload), about_user_id=None,
                       created_at=row.created_at, read_at=None, channels=row.channels)
    for stored in (row, old):  # a `news` row with `ack` (written before the kind existed) still asks
        pushed = push_payload.build(ctx.settings, [stored], "parent", {})
        assert pushed["ack"]["url"] == ack_links.api_url(ctx.settings, parent.id, row.payload)
        digest = build_digest([stored], parent.id, {},
                              ack_link=lambda p: ack_links.page_url(ctx.settings, parent.id, p))
        assert digest.news[0]["ack_link"] == ack_links.page_url(ctx.settings, parent.id, {"ack": True,
                                                                                          "news_id": made["id"]})
    async with ctx.sessions.begin() as session:
        await session.execute(update(Notification).where(Notification.id == row.id).values(created_at=days_ago(1)))
    assert await scheduler(ctx, mail_settings).run_once() == 1
    assert "/ack/" in (await outbox_of(ctx, parent.id))[0].body_text


# --- chat_message ------------------------------------------------------------------------------------------------


async def test_a_parents_room_message_reaches_the_offline_parent_by_digest_only(
    client: TestClient, ctx: AppContext, factory: Factory,
) -> None:
    world = await make_class_world(ctx, factory)
    room = f"parents:{world.class_id}"
    message_id = await post(client, world, world.teacher, room, "Собираем на подарок")
    [row] = await rows_of(ctx, world.parent.id, "chat_message")
    assert row.channels == DIGEST
    assert (row.payload["channel"], row.payload["message_id"]) == (room, message_id)
    assert row.payload["room"] == "Родители 7Б"
    assert await rows_of(ctx, world.teacher.id, "chat_message") == []  # the sender


async def test_students_and_teachers_get_no_chat_rows_by_default(
    client: TestClient, ctx: AppContext, factory: Factory,
) -> None:
    world = await make_class_world(ctx, factory)
    room = f"class:{world.class_id}"
    await post(client, world, world.parent, room, "Здравствуйте")
    await post(client, world, world.students[1], room, "Привет")
    async with ctx.sessions() as session:
        found = (await session.execute(select(Notification.user_id).where(Notification.kind == "chat_message")))
        recipients = sorted(found.scalars())
    assert recipients == [world.parent.id]  # the pupil's message, to the one parent; none to pupils or teacher


async def test_a_muted_room_gives_no_row(client: TestClient, ctx: AppContext, factory: Factory) -> None:
    world = await make_class_world(ctx, factory)
    room = f"parents:{world.class_id}"
    resp = await client.put(f"/api/v1/profile/notifications/mutes/{room}", json={}, headers=world.parent.headers)
    assert resp.status == 200, await resp.text()
    await post(client, world, world.teacher, room, "Тише")
    assert await rows_of(ctx, world.parent.id, "chat_message") == []


async def test_a_chosen_live_channel_gets_a_frame_and_reading_the_room_reads_it(
    client: TestClient, ctx: AppContext, factory: Factory,
) -> None:
    world = await make_class_world(ctx, factory)
    room = f"parents:{world.class_id}"
    await put_prefs(client, world.parent, {"kinds": {"chat_message": ["live", "email"]}})
    ws = await connect(client, world.parent)
    await subscribe(ws, f"user:{world.parent.id}")
    first = await post(client, world, world.teacher, room, "Первое")
    frame, _ = await recv_until(ws, lambda f: f["type"] == "notification")
    await ws.close()
    assert (frame["kind"], frame["payload"]["message_id"]) == ("chat_message", first)
    second = await post(client, world, world.teacher, room, "Второе")
    resp = await client.post(f"/api/v1/chats/{room}/read", json={"up_to": first}, headers=world.parent.headers)
    assert resp.status == 200, await resp.text()
    unread = [r.payload["message_id"] for r in await rows_of(ctx, world.parent.id, "chat_message") if r.read_at is None]
    assert unread == [second]


async def test_reading_the_room_keeps_it_out_of_the_digest(
    client: TestClient, ctx: AppContext, factory: Factory, mail_settings: Settings,
) -> None:
    world = await make_class_world(ctx, factory)
    room = f"parents:{world.class_id}"
    read_id = await post(client, world, world.teacher, room, "Уже прочитано")
    await post(client, world, world.teacher, room, "Ещё не прочитано")
    resp = await client.post(f"/api/v1/chats/{room}/read", json={"up_to": read_id}, headers=world.parent.headers)
    assert resp.status == 200, await resp.text()
    async with ctx.sessions.begin() as session:
        await session.execute(update(Notification).where(Notification.user_id == world.parent.id)
                              .values(created_at=days_ago(3)))
    assert await scheduler(ctx, mail_settings).run_once() == 1
    body = (await outbox_of(ctx, world.parent.id))[0].body_text
    assert "Ещё не прочитано" in body
    assert "Уже прочитано" not in body
    assert "(Родители 7Б)" in body


async def test_the_group_commit_writes_the_rows_and_a_socket_read_reads_them(
    client: TestClient, ctx: AppContext, factory: Factory,
) -> None:
    world = await make_class_world(ctx, factory)
    room = f"parents:{world.class_id}"
    teacher = await connect(client, world.teacher)
    await subscribe(teacher, room)
    acks = [await chat_send(teacher, room, f"сообщение {i}") for i in range(3)]
    await teacher.close()
    assert [a["type"] for a in acks] == ["ack"] * 3
    rows = await rows_of(ctx, world.parent.id, "chat_message")
    assert [r.payload["message_id"] for r in rows] == [a["id"] for a in acks]
    assert {r.channels for r in rows} == {DIGEST}
    assert rows[0].payload["room"] == "Родители 7Б"
    assert await rows_of(ctx, world.teacher.id, "chat_message") == []
    parent = await connect(client, world.parent)
    await send(parent, {"type": "read", "channel": room, "up_to": acks[1]["id"], "req": "r"})
    await recv_until(parent, lambda f: f.get("req") == "r")
    await parent.close()
    unread = [r.payload["message_id"] for r in await rows_of(ctx, world.parent.id, "chat_message") if r.read_at is None]
    assert unread == [acks[2]["id"]]


async def test_a_room_where_nobody_wants_the_kind_writes_no_row_in_the_group_commit(
    client: TestClient, ctx: AppContext, factory: Factory,
) -> None:
    world = await make_class_world(ctx, factory, parents_in_chat=False)
    room = f"class:{world.class_id}"
    pupil = await connect(client, world.students[0])
    await subscribe(pupil, room)
    for i in range(3):
        await chat_send(pupil, room, f"привет {i}")
    await pupil.close()
    async with ctx.sessions() as session:
        count = (await session.execute(text("SELECT count(*) FROM notifications WHERE kind = 'chat_message'")))
        assert count.scalar_one() == 0
    # Who might want a row was asked once for the room, not once per send.
    assert gateway_of(client).sends.audiences.loads == 1


async def test_the_push_of_a_room_message_names_the_room_and_opens_it(
    client: TestClient, ctx: AppContext, factory: Factory,
) -> None:
    world = await make_class_world(ctx, factory)
    room = f"parents:{world.class_id}"
    await put_prefs(client, world.parent, {"kinds": {"chat_message": ["push"]}})
    await post(client, world, world.teacher, room, "Завтра субботник")
    [row] = await rows_of(ctx, world.parent.id, "chat_message")
    pushed = push_payload.build(ctx.settings, [row], "parent", {})
    assert pushed["body"].endswith("(Родители 7Б): Завтра субботник")
    assert pushed["url"].endswith(f"/chat?channel=parents%3A{world.class_id}")


async def test_a_deleted_message_takes_its_rows_with_it(client: TestClient, ctx: AppContext, factory: Factory) -> None:
    world = await make_class_world(ctx, factory)
    room = f"parents:{world.class_id}"
    kept = await post(client, world, world.teacher, room, "Остаётся")
    gone = await post(client, world, world.teacher, room, "Ошибся чатом")
    resp = await client.delete(f"/api/v1/chats/{room}/messages/{gone}", headers=world.teacher.headers)
    assert resp.status == 204, await resp.text()
    assert [r.payload["message_id"] for r in await rows_of(ctx, world.parent.id, "chat_message")] == [kept]


async def test_an_edited_message_is_quoted_as_edited_and_a_deleted_one_takes_its_mentions(
    client: TestClient, ctx: AppContext, factory: Factory,
) -> None:
    world = await make_class_world(ctx, factory)
    room = f"parents:{world.class_id}"
    url = f"/api/v1/chats/{room}/messages"
    resp = await client.post(url, json={"text": "Собрание в 18:00", "mentions": [world.parent.id]},
                             headers=world.teacher.headers)
    message_id = int((await body_of(resp, 201))["id"])
    resp = await client.patch(f"{url}/{message_id}", json={"text": "Собрание в 19:00"}, headers=world.teacher.headers)
    await body_of(resp, 200)
    [room_row] = await rows_of(ctx, world.parent.id, "chat_message")
    [mention] = await rows_of(ctx, world.parent.id, "mention")
    assert room_row.payload["text"] == "Собрание в 19:00"
    assert mention.payload["text"] == "Собрание в 19:00"
    resp = await client.delete(f"{url}/{message_id}", headers=world.teacher.headers)
    assert resp.status == 204, await resp.text()
    assert await rows_of(ctx, world.parent.id, "mention") == []


async def test_the_rows_of_a_message_are_found_by_their_index(ctx: AppContext) -> None:
    """The edit's and the deletion's statements match the partial index's predicate, or every edit of a chat message
    would read the whole notifications table."""
    from edutrack.queries import notifications as nq

    plans = []
    async with ctx.sessions.begin() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        for statement in (nq.DELETE_ABOUT_MESSAGE, nq.REVISE_ABOUT_MESSAGE):
            plan = await session.execute(text("EXPLAIN " + statement.text),
                                         {"channel": "parents:1", "message_id": 1, "quoted": "x"})
            plans.append("\n".join(plan.scalars().all()))
    assert ["ix_notifications_about_message" in plan for plan in plans] == [True, True], plans
