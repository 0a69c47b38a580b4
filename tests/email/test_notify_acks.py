"""Acknowledgement of news ("ознакомлен"): confirmed on the page, over /ws and by the email's signed link, each
counting once; the author's table per class (parents per child, any one parent or each) updated live; reminders
only to those who have not confirmed, at most once per ACK_REMIND_INTERVAL; who may do what."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.models import Notification, User
from edutrack.settings import Settings
from tests.email.notify_helpers import email_link
from tests.realtime.helpers import connect, recv_until, send, subscribe
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool, build_school

NEWS = "/api/v1/news"


def token_of(ctx: AppContext, user: User) -> str:
    return ctx.tokens.issue_access(user.id, user.role, user.school_id, user.is_superuser)[0]


async def post_news(client: TestClient, ctx: AppContext, school: BuiltSchool, **extra: object) -> int:
    body = {"title": "Собрание", "body": "В пятницу в 18:00.", "audience": "school", "status": "published",
            "ack": ["parent"], **extra}
    made = await body_of(await client.post(NEWS, headers=auth(ctx, school.admin), json=body), 201)
    assert made["ack"] == body["ack"]
    return int(made["id"])


async def test_page_socket_and_email_each_count_once_and_the_author_sees_them_live(
    client: TestClient, ctx: AppContext, mail_settings: Settings,
) -> None:
    school = await build_school(ctx, classes=2, students_per_class=2)
    s0, s1 = school.classes[0].student_ids
    s2, s3 = school.classes[1].student_ids
    news_id = await post_news(client, ctx, school)
    author = await connect(client, token=token_of(ctx, school.admin))
    await subscribe(author, f"user:{school.admin.id}")

    by_page = school.parents(s0)[0]
    first = await body_of(await client.post(f"{NEWS}/{news_id}/ack", headers=auth(ctx, by_page)), 200)
    again = await body_of(await client.post(f"{NEWS}/{news_id}/ack", headers=auth(ctx, by_page)), 200)
    assert first["duplicate"] is False
    assert again["duplicate"] is True
    assert again["acknowledged_at"] == first["acknowledged_at"]

    by_socket = school.parents(s1)[0]
    ws = await connect(client, token=token_of(ctx, by_socket))
    for req in ("a1", "a2"):
        await send(ws, {"type": "news.ack", "news_id": news_id, "req": req})
    ok1, _ = await recv_until(ws, lambda f: f.get("req") == "a1")
    ok2, _ = await recv_until(ws, lambda f: f.get("req") == "a2")
    await ws.close()
    assert (ok1["type"], ok1["duplicate"], ok2["duplicate"]) == ("news.ack.ok", False, True)

    by_email = school.parents(s2)[0]
    path = await email_link(ctx, mail_settings, by_email)
    opened = await client.get(path)  # what a mail scanner's visit does too: nothing but the page
    assert opened.status == 200
    assert f'action="{path}"' in await opened.text()
    confirmed = await client.post(path)
    assert confirmed.status == 200
    assert "Спасибо" in await confirmed.text()
    again_by_email = await client.post(path)
    assert "уже" in await again_by_email.text()

    seen: list[int] = []
    while len(seen) < 3:
        frame, _ = await recv_until(author, lambda f: f["type"] == "news.ack")
        seen.append(frame["user_id"])
    await author.close()
    assert sorted(seen) == sorted([by_page.id, by_socket.id, by_email.id])

    table = await body_of(await client.get(f"{NEWS}/{news_id}/acks", headers=auth(ctx, school.admin)), 200)
    assert (table["required"], table["acknowledged"]) == (8, 3)
    families = {s["id"]: s["family_acknowledged"] for c in table["classes"] for s in c["students"]}
    assert families == {s0: True, s1: True, s2: True, s3: False}
    assert [c["class_id"] for c in table["classes"]] == [c.id for c in school.classes]


async def test_who_may_confirm_and_who_may_see_the_table(client: TestClient, ctx: AppContext) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1)
    other = await build_school(ctx, classes=1, students_per_class=1)
    news_id = await post_news(client, ctx, school)
    student = school.user(school.classes[0].student_ids[0])
    refused = await body_of(await client.post(f"{NEWS}/{news_id}/ack", headers=auth(ctx, student)), 409)
    assert refused["error"]["code"] == "no_ack_asked"
    stranger = other.parents(other.classes[0].student_ids[0])[0]
    await body_of(await client.post(f"{NEWS}/{news_id}/ack", headers=auth(ctx, stranger)), 404)
    teacher = school.teachers[0]
    await body_of(await client.get(f"{NEWS}/{news_id}/acks", headers=auth(ctx, teacher)), 404)
    await body_of(await client.get(f"{NEWS}/{news_id}/acks", headers=auth(ctx, other.admin)), 404)
    await body_of(await client.post(f"{NEWS}/{news_id}/ack-reminders", headers=auth(ctx, other.admin)), 404)
    await body_of(await client.post("/api/v1/news-acks/1.1.AAAAAAAAAAAAAAAAAAAAAA"), 404)


async def reminded(ctx: AppContext, news_id: int) -> set[int]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(Notification.user_id).where(
            Notification.kind == "reminder", Notification.payload["news_id"].as_integer() == news_id))
    return set(rows.scalars())


async def test_reminders_reach_only_who_has_not_confirmed_once_per_interval(
    client: TestClient, ctx: AppContext,
) -> None:
    school = await build_school(ctx, classes=1, students_per_class=2)
    s0, s1 = school.classes[0].student_ids
    (a0, b0), (a1, b1) = school.parents(s0), school.parents(s1)
    admin = auth(ctx, school.admin)
    any_one = await post_news(client, ctx, school)
    each = await post_news(client, ctx, school, ack_each_parent=True)
    for news_id in (any_one, each):
        await body_of(await client.post(f"{NEWS}/{news_id}/ack", headers=auth(ctx, a0)), 200)

    done = await body_of(await client.post(f"{NEWS}/{any_one}/ack-reminders", headers=admin), 200)
    assert done["reminded"] == 2
    assert await reminded(ctx, any_one) == {a1.id, b1.id}  # a0's family has confirmed: b0 owes nothing
    done = await body_of(await client.post(f"{NEWS}/{each}/ack-reminders", headers=admin), 200)
    assert await reminded(ctx, each) == {b0.id, a1.id, b1.id}
    table = await body_of(await client.get(f"{NEWS}/{each}/acks", headers=admin), 200)
    assert {s["id"]: s["family_acknowledged"] for s in table["classes"][0]["students"]} == {s0: False, s1: False}

    late = await body_of(await client.post(f"{NEWS}/{any_one}/ack-reminders", headers=admin), 429)
    assert late["error"]["code"] == "rate_limited"
    assert await reminded(ctx, any_one) == {a1.id, b1.id}
