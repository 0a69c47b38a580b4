"""Announcements in chat rooms that ask for confirmation ("ознакомлен"): by REST and over /ws each person counts
once, the author sees each confirmation live and the table per class; reminders only to who has not, once per
ACK_REMIND_INTERVAL; who may confirm, read the table and ask (docs/notifications.md)."""

from __future__ import annotations

import urllib.parse

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.models import Notification, User
from edutrack.services import ack_links
from edutrack.settings import Settings
from tests.email.notify_helpers import email_link
from tests.realtime.helpers import connect, recv_until, send, subscribe
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool, build_school


def token_of(ctx: AppContext, user: User) -> str:
    return ctx.tokens.issue_access(user.id, user.role, user.school_id, user.is_superuser)[0]


def base(channel: str, message_id: int) -> str:
    return f"/api/v1/chats/{channel}/messages/{message_id}"


async def announce(client: TestClient, ctx: AppContext, author: User, channel: str, **extra: object) -> int:
    body = {"text": "Родительское собрание в пятницу в 18:00.", "ack": ["parent"], **extra}
    made = await body_of(await client.post(f"/api/v1/chats/{channel}/messages", headers=auth(ctx, author),
                                           json=body), 201)
    return int(made["id"])


async def kinds_of(ctx: AppContext, kind: str, channel: str, message_id: int) -> set[int]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(Notification.user_id).where(
            Notification.kind == kind, Notification.payload["channel"].as_string() == channel,
            Notification.payload["message_id"].as_integer() == message_id))
    return set(rows.scalars())


def parents_of_class(school: BuiltSchool, index: int) -> set[int]:
    return {p.id for s in school.classes[index].student_ids for p in school.parents(s)}


async def test_rest_and_socket_each_count_once_and_the_author_sees_them_live(
    client: TestClient, ctx: AppContext,
) -> None:
    school = await build_school(ctx, classes=2, students_per_class=2)
    room = f"announcements:{school.id}"
    author = await connect(client, token=token_of(ctx, school.admin))
    await subscribe(author, f"user:{school.admin.id}")
    message_id = await announce(client, ctx, school.admin, room)
    asked = parents_of_class(school, 0) | parents_of_class(school, 1)
    assert await kinds_of(ctx, "ack_request", room, message_id) == asked

    s0, s1 = school.classes[0].student_ids
    by_rest = school.parents(s0)[0]
    first = await body_of(await client.post(f"{base(room, message_id)}/ack", headers=auth(ctx, by_rest)), 200)
    again = await body_of(await client.post(f"{base(room, message_id)}/ack", headers=auth(ctx, by_rest)), 200)
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["acknowledged_at"] == first["acknowledged_at"]

    by_socket = school.parents(s1)[1]
    ws = await connect(client, token=token_of(ctx, by_socket))
    for req in ("a1", "a2"):
        await send(ws, {"type": "chat.ack", "channel": room, "message_id": message_id, "req": req})
    ok1, _ = await recv_until(ws, lambda f: f.get("req") == "a1")
    ok2, _ = await recv_until(ws, lambda f: f.get("req") == "a2")
    await ws.close()
    assert (ok1["type"], ok1["duplicate"], ok2["duplicate"]) == ("chat.ack.ok", False, True)

    seen: list[int] = []
    while len(seen) < 2:
        frame, _ = await recv_until(author, lambda f: f["type"] == "chat.ack")
        assert (frame["room"], frame["message_id"]) == (room, message_id)
        seen.append(frame["user_id"])
    await author.close()
    assert sorted(seen) == sorted([by_rest.id, by_socket.id])

    table = await body_of(await client.get(f"{base(room, message_id)}/acks", headers=auth(ctx, school.admin)), 200)
    assert (table["required"], table["acknowledged"]) == (8, 2)
    families = {s["id"]: s["family_acknowledged"] for c in table["classes"] for s in c["students"]}
    s2, s3 = school.classes[1].student_ids
    assert families == {s0: True, s1: True, s2: False, s3: False}
    mine = await body_of(await client.get(f"/api/v1/chats/{room}/ack-requests", headers=auth(ctx, by_rest)), 200)
    assert [(i["message_id"], i["asks_me"], i["manage"], i["acknowledged_at"] is not None)
            for i in mine["items"]] == [(message_id, True, False, True)]


async def test_a_socket_send_asks_too_and_a_class_board_asks_only_its_class(
    client: TestClient, ctx: AppContext,
) -> None:
    school = await build_school(ctx, classes=2, students_per_class=1)
    board = f"class-announcements:{school.classes[0].id}"
    teacher = school.user(school.classes[0].class_teacher_id or school.teachers[0].id)
    ws = await connect(client, token=token_of(ctx, teacher))
    await send(ws, {"type": "chat.send", "channel": board, "text": "Экскурсия: нужна подпись.", "req": "m1",
                    "client_msg_id": "c1", "ack": ["parent", "student"], "ack_each_parent": True})
    ack, _ = await recv_until(ws, lambda f: f.get("req") == "m1")
    await ws.close()
    assert ack["type"] == "ack"
    student = school.classes[0].student_ids[0]
    assert await kinds_of(ctx, "ack_request", board, ack["id"]) == parents_of_class(school, 0) | {student}
    table = await body_of(await client.get(f"{base(board, ack['id'])}/acks", headers=auth(ctx, teacher)), 200)
    assert (table["required"], table["each_parent"], [c["class_id"] for c in table["classes"]]) == (
        3, True, [school.classes[0].id])


async def test_who_may_ask_confirm_and_see_the_table(client: TestClient, ctx: AppContext) -> None:
    school = await build_school(ctx, classes=2, students_per_class=1)
    other = await build_school(ctx, classes=1, students_per_class=1)
    board = f"class-announcements:{school.classes[0].id}"
    message_id = await announce(client, ctx, school.admin, board)
    url = base(board, message_id)
    outsider = school.parents(school.classes[1].student_ids[0])[0]  # a parent of the other class
    await body_of(await client.post(f"{url}/ack", headers=auth(ctx, outsider)), 404)
    await body_of(await client.get(f"{url}/acks", headers=auth(ctx, outsider)), 404)
    insider = school.parents(school.classes[0].student_ids[0])[0]
    await body_of(await client.get(f"{url}/acks", headers=auth(ctx, insider)), 404)
    await body_of(await client.post(f"{url}/ack-reminders", headers=auth(ctx, insider)), 404)
    await body_of(await client.get(f"{url}/acks", headers=auth(ctx, school.teachers[0])), 404)
    await body_of(await client.get(f"{url}/acks", headers=auth(ctx, other.admin)), 404)
    pupil = school.user(school.classes[0].student_ids[0])
    refused = await body_of(await client.post(f"{url}/ack", headers=auth(ctx, pupil)), 409)
    assert refused["error"]["code"] == "no_ack_asked"
    await body_of(await client.post(f"{url}/ack", headers=auth(ctx, insider)), 200)
    await body_of(await client.post(f"{base(board, message_id + 1)}/ack", headers=auth(ctx, insider)), 404)
    # Asking is for announcements, by those who may post there; nothing is stored otherwise.
    chat = f"class:{school.classes[0].id}"
    refused = await body_of(await client.post(f"/api/v1/chats/{chat}/messages", headers=auth(ctx, school.admin),
                                              json={"text": "Привет", "ack": ["parent"]}), 422)
    assert "ack" in refused["error"]["details"]
    history = await body_of(await client.get(f"/api/v1/chats/{chat}/messages", headers=auth(ctx, school.admin)), 200)
    assert history["items"] == []
    await body_of(await client.post(f"/api/v1/chats/{board}/messages", headers=auth(ctx, insider),
                                    json={"text": "Я тоже", "ack": ["parent"]}), 403)
    await body_of(await client.post(f"/api/v1/chats/{board}/messages", headers=auth(ctx, school.admin),
                                    json={"text": "x", "ack": ["everyone"]}), 422)


async def test_reminders_reach_only_who_has_not_confirmed_once_per_interval(
    client: TestClient, ctx: AppContext,
) -> None:
    school = await build_school(ctx, classes=1, students_per_class=2)
    room = f"announcements:{school.id}"
    s0, s1 = school.classes[0].student_ids
    (a0, b0), (a1, b1) = school.parents(s0), school.parents(s1)
    admin = auth(ctx, school.admin)
    any_one = await announce(client, ctx, school.admin, room)
    each = await announce(client, ctx, school.admin, room, ack_each_parent=True)
    for message_id in (any_one, each):
        await body_of(await client.post(f"{base(room, message_id)}/ack", headers=auth(ctx, a0)), 200)

    done = await body_of(await client.post(f"{base(room, any_one)}/ack-reminders", headers=admin), 200)
    assert done["reminded"] == 2
    assert await kinds_of(ctx, "reminder", room, any_one) == {a1.id, b1.id}  # a0's family has confirmed
    await body_of(await client.post(f"{base(room, each)}/ack-reminders", headers=admin), 200)
    assert await kinds_of(ctx, "reminder", room, each) == {b0.id, a1.id, b1.id}

    late = await body_of(await client.post(f"{base(room, any_one)}/ack-reminders", headers=admin), 429)
    assert late["error"]["code"] == "rate_limited"
    assert await kinds_of(ctx, "reminder", room, any_one) == {a1.id, b1.id}


async def test_the_email_page_and_the_push_link_confirm_an_announcement_once(
    client: TestClient, ctx: AppContext, settings: Settings,
) -> None:
    school = await build_school(ctx, classes=1, students_per_class=2)
    room = f"announcements:{school.id}"
    author = await connect(client, token=token_of(ctx, school.admin))
    await subscribe(author, f"user:{school.admin.id}")
    message_id = await announce(client, ctx, school.admin, room)
    s0, s1 = school.classes[0].student_ids

    by_email = school.parents(s0)[0]
    path = await email_link(ctx, settings, by_email)
    opened = await client.get(path)  # a mail scanner's visit too: it only shows the page
    assert opened.status == 200
    assert f'action="{path}"' in await opened.text()
    table = await body_of(await client.get(f"{base(room, message_id)}/acks", headers=auth(ctx, school.admin)), 200)
    assert table["acknowledged"] == 0
    confirmed = await client.post(path)
    assert confirmed.status == 200
    assert "Спасибо" in await confirmed.text()
    assert "уже" in await (await client.post(path)).text()

    by_push = school.parents(s1)[0]
    async with ctx.sessions() as session:
        row = (await session.execute(select(Notification).where(
            Notification.user_id == by_push.id, Notification.kind == "ack_request"))).scalar_one()
    link = ack_links.api_url(ctx.settings, by_push.id, row.payload)
    assert link is not None
    push_path = urllib.parse.urlsplit(link).path
    assert push_path.startswith("/api/v1/chat-acks/")
    first = await body_of(await client.post(push_path), 200)
    assert (first["channel"], first["message_id"], first["duplicate"]) == (room, message_id, False)
    assert (await body_of(await client.post(push_path), 200))["duplicate"] is True

    # Forged, or signed for another purpose (a news link on the chat endpoint): not a link of ours.
    token = push_path.rsplit("/", 1)[1]
    await body_of(await client.post(push_path[:-3] + "AAA"), 404)
    await body_of(await client.post(f"/api/v1/news-acks/{token}"), 404)
    assert (await client.get(f"/ack/{token[:-3]}AAA")).status == 404

    seen = set()
    while len(seen) < 2:
        frame, _ = await recv_until(author, lambda f: f["type"] == "chat.ack")
        seen.add(frame["user_id"])
    await author.close()
    assert seen == {by_email.id, by_push.id}
    table = await body_of(await client.get(f"{base(room, message_id)}/acks", headers=auth(ctx, school.admin)), 200)
    assert table["acknowledged"] == 2
