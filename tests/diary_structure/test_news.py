"""News: audiences, drafts, scheduled publication (on one node or several), notifications."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from edutrack.context import AppContext
from edutrack.db.diary import News
from edutrack.db.models import Notification
from edutrack.digest.news_publisher import ScheduledNewsPublisher
from edutrack.keys import CTX
from edutrack.queries import news as news_queries
from edutrack.services.diary import news as news_service
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool, build_school


async def _news_notified(ctx: AppContext, news_id: int) -> list[int]:
    async with ctx.sessions() as session:
        rows = await session.execute(
            select(Notification.user_id).where(Notification.kind == "news",
                                               Notification.payload["news_id"].as_integer() == news_id)
            .order_by(Notification.user_id))
        return list(rows.scalars())


async def test_audiences_decide_who_reads_and_who_is_notified(client: TestClient, ctx: AppContext,
                                                              school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    c0, c1 = school.classes
    other = await build_school(ctx, classes=1, students_per_class=1)

    everyone = await body_of(await client.post("/api/v1/news", headers=admin, json={
        "title": "Каникулы", "body": "С 28 декабря.", "audience": "school", "status": "published"}), 201)
    class_news = await body_of(await client.post("/api/v1/news", headers=admin, json={
        "title": "Экскурсия", "body": "Класс едет в музей.", "audience": "class", "class_id": c0.id,
        "status": "published"}), 201)
    parents_news = await body_of(await client.post("/api/v1/news", headers=admin, json={
        "title": "Собрание", "body": "Родительское собрание в пятницу.", "audience": "role", "role": "parent",
        "status": "published"}), 201)
    draft = await body_of(await client.post("/api/v1/news", headers=admin, json={
        "title": "Черновик", "body": "...", "audience": "school"}), 201)
    assert draft["status"] == "draft"
    assert draft["published_at"] is None
    assert class_news["class_name"]
    assert everyone["author_name"]

    s0, s1 = school.users[c0.student_ids[0]], school.users[c1.student_ids[0]]
    p0 = school.parents(s0.id)[0]
    t0 = school.users[c0.teacher_by_subject[school.subject(0)]]
    t1 = school.users[c1.teacher_by_subject[school.subject(0)]]
    expected = {
        s0.id: {everyone["id"], class_news["id"]},
        s1.id: {everyone["id"]},
        p0.id: {everyone["id"], class_news["id"], parents_news["id"]},
        t0.id: {everyone["id"], class_news["id"]},
        t1.id: {everyone["id"]},
        other.admin.id: set(),
        other.classes[0].student_ids[0]: set(),
    }
    users = {**school.users, **other.users}
    for user_id, ids in expected.items():
        headers = auth(ctx, users[user_id])
        page = await body_of(await client.get("/api/v1/news", headers=headers), 200)
        assert {n["id"] for n in page["items"]} == ids, users[user_id].role
        for news_id in (everyone["id"], class_news["id"], parents_news["id"], draft["id"]):
            resp = await client.get(f"/api/v1/news/{news_id}", headers=headers)
            assert resp.status == (200 if news_id in ids else 404)
    listed = await body_of(await client.get("/api/v1/news?status=draft", headers=admin), 200)
    assert [n["id"] for n in listed["items"]] == [draft["id"]]
    await body_of(await client.get("/api/v1/news?status=draft", headers=auth(ctx, s0)), 403)

    # Notifications went to the same people who can read, never to the author.
    class_people = set(c0.student_ids) | {p for s in c0.student_ids for p in school.parents_of[s]}
    class_people |= set(c0.teacher_by_subject.values())
    assert set(await _news_notified(ctx, class_news["id"])) == class_people
    all_parents = {p for ps in school.parents_of.values() for p in ps}
    assert set(await _news_notified(ctx, parents_news["id"])) == all_parents
    school_people = set(school.users) - {school.admin.id}
    assert set(await _news_notified(ctx, everyone["id"])) == school_people
    assert await _news_notified(ctx, draft["id"]) == []


async def test_news_management_rules(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    other = await build_school(ctx, classes=1, students_per_class=1)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for bad in ({"title": "x", "body": "y", "audience": "class"},
                {"title": "x", "body": "y", "audience": "class", "class_id": other.classes[0].id},
                {"title": "x", "body": "y", "audience": "role"},
                {"title": "x", "body": "y", "audience": "role", "role": "janitor"},
                {"title": "x", "body": "y", "audience": "everyone"},
                {"title": "", "body": "y", "audience": "school"},
                {"title": "x", "body": "y", "audience": "school", "status": "scheduled"},
                {"title": "x", "body": "y", "audience": "school", "status": "scheduled", "publish_at": past},
                {"title": "x", "body": "y", "audience": "school", "status": "scheduled", "publish_at": "soon"}):
        await body_of(await client.post("/api/v1/news", headers=admin, json=bad), 422)
    for who in (school.teachers[0], school.student(), school.parents(school.student().id)[0]):
        await body_of(await client.post("/api/v1/news", headers=auth(ctx, who), json={
            "title": "x", "body": "y", "audience": "school"}), 403)

    item = await body_of(await client.post("/api/v1/news", headers=admin, json={
        "title": "Олимпиада", "body": "Скоро.", "audience": "school", "status": "scheduled",
        "publish_at": future}), 201)
    assert item["status"] == "scheduled"
    await body_of(await client.get(f"/api/v1/news/{item['id']}", headers=auth(ctx, school.student())), 404)
    await body_of(await client.patch(f"/api/v1/news/{item['id']}", headers=auth(ctx, other.admin),
                                     json={"title": "x"}), 404)
    published = await body_of(await client.post(f"/api/v1/news/{item['id']}/publish", headers=admin), 200)
    assert published["status"] == "published"
    assert published["published_at"]
    await body_of(await client.post(f"/api/v1/news/{item['id']}/publish", headers=admin), 409)
    # Readers can see it but not change it.
    student = auth(ctx, school.student())
    await body_of(await client.patch(f"/api/v1/news/{item['id']}", headers=student, json={"title": "x"}), 403)
    await body_of(await client.delete(f"/api/v1/news/{item['id']}", headers=student), 403)
    edited = await body_of(await client.patch(f"/api/v1/news/{item['id']}", headers=admin,
                                              json={"body": "Во вторник."}), 200)
    assert edited["body"] == "Во вторник."
    await body_of(await client.patch(f"/api/v1/news/{item['id']}", headers=admin, json={"audience": "role",
                                                                                          "role": "parent"}), 409)
    await body_of(await client.delete(f"/api/v1/news/{item['id']}", headers=admin), 204)
    await body_of(await client.get(f"/api/v1/news/{item['id']}", headers=admin), 404)


async def test_scheduled_news_published_once_across_nodes(client: TestClient, ctx: AppContext,
                                                          make_client: object, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    item = await body_of(await client.post("/api/v1/news", headers=admin, json={
        "title": "Линейка", "body": "1 сентября.", "audience": "role", "role": "student", "status": "scheduled",
        "publish_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}), 201)
    assert await news_service.publish_due(ctx) == 0  # not yet due
    second = await make_client()  # type: ignore[operator]
    ctx2: AppContext = second.app[CTX]
    async with ctx.sessions.begin() as session:
        await session.execute(update(News).where(News.id == item["id"])
                              .values(publish_at=datetime.now(UTC) - timedelta(seconds=1)))
    # Both nodes (and each node's own periodic task) race for it: it is published, and notified, once.
    results = await asyncio.gather(*(news_service.publish_due(c) for c in (ctx, ctx2, ctx, ctx2)))
    assert sum(results) <= 1
    students = sorted(s for c in school.classes for s in c.student_ids)
    assert await _news_notified(ctx, item["id"]) == students
    got = await body_of(await client.get(f"/api/v1/news/{item['id']}", headers=auth(ctx, school.student())), 200)
    assert got["status"] == "published"
    async with ctx.sessions() as session:
        count = (await session.execute(select(func.count()).select_from(Notification))).scalar_one()
    assert count == len(students)


async def test_the_relays_job_publishes_due_news(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    """The relay's scheduled-news job (not the API nodes) publishes an item once its time has come."""
    publisher = ScheduledNewsPublisher(ctx, interval=0.1)
    stop = asyncio.Event()
    job = asyncio.create_task(publisher.run(stop))
    try:
        item = await body_of(await client.post("/api/v1/news", headers=auth(ctx, school.admin), json={
            "title": "Скоро", "body": "Через секунду.", "audience": "school", "status": "scheduled",
            "publish_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}), 201)
        reader = auth(ctx, school.student())
        page = await body_of(await client.get("/api/v1/news", headers=reader), 200)
        assert page["items"] == []
        for _ in range(50):
            await asyncio.sleep(0.1)
            page = await body_of(await client.get("/api/v1/news", headers=reader), 200)
            if page["items"]:
                break
        assert [n["id"] for n in page["items"]] == [item["id"]]
        assert school.student().id in await _news_notified(ctx, item["id"])
    finally:
        stop.set()
        await asyncio.wait_for(job, 5)


async def test_one_publisher_at_a_time_across_nodes(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    """While one node's publisher holds the lock, another's tick does nothing (and does not wait)."""
    item = await body_of(await client.post("/api/v1/news", headers=auth(ctx, school.admin), json={
        "title": "Замок", "body": "Один публикатор.", "audience": "school", "status": "scheduled",
        "publish_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}), 201)
    async with ctx.sessions.begin() as session:
        await session.execute(update(News).where(News.id == item["id"])
                              .values(publish_at=datetime.now(UTC) - timedelta(seconds=1)))
    async with ctx.sessions.begin() as holder:
        assert await news_queries.try_lock_publisher(holder)
        assert await asyncio.wait_for(news_service.publish_due(ctx), 2) == 0  # skipped at once, not blocked
    assert await news_service.publish_due(ctx) == 1  # the lock went with the other transaction
    assert await news_service.publish_due(ctx) == 0


async def test_publish_time_without_offset_is_the_schools_wall_clock(client: TestClient, ctx: AppContext,
                                                                    school: BuiltSchool) -> None:
    """Like lesson times: "publish at 18:00" typed by a Moscow admin means 18:00 in Moscow (15:00 UTC)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Moscow")
    admin = auth(ctx, school.admin)
    local = (datetime.now(tz) + timedelta(days=2)).replace(hour=18, minute=0, second=0, microsecond=0)
    item = await body_of(await client.post("/api/v1/news", headers=admin, json={
        "title": "Собрание", "body": "В актовом зале.", "audience": "school", "status": "scheduled",
        "publish_at": local.replace(tzinfo=None).isoformat()}), 201)
    assert datetime.fromisoformat(item["publish_at"]) == local
    assert datetime.fromisoformat(item["publish_at"]).astimezone(UTC).hour == 15
    # An explicit offset is taken as given, and so is a rescheduling without one.
    utc_time = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    moved = await body_of(await client.patch(f"/api/v1/news/{item['id']}", headers=admin,
                                             json={"publish_at": utc_time.isoformat()}), 200)
    assert datetime.fromisoformat(moved["publish_at"]) == utc_time
    moved = await body_of(await client.patch(f"/api/v1/news/{item['id']}", headers=admin,
                                             json={"publish_at": local.replace(tzinfo=None).isoformat()}), 200)
    assert datetime.fromisoformat(moved["publish_at"]) == local
