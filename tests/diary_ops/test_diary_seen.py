"""A parent marks a week of a child's diary as seen; opening the diary is recorded at most once an hour per person
and child (a Redis key, the database the record); the class teacher lists the parents who have not opened it for
N days, with the last week each marked seen; who may do what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import delete, select, update

from edutrack.context import AppContext
from edutrack.db.acks import DiaryOpen
from tests.support.diary import auth, body_of
from tests.support.school import build_school

SEEN = "/api/v1/diary/seen-weeks"


def this_monday() -> date:
    today = datetime.now(UTC).date()
    return today - timedelta(days=today.weekday())


async def opens(ctx: AppContext, user_id: int) -> list[datetime]:
    async with ctx.sessions() as session:
        return list((await session.execute(select(DiaryOpen.at).where(DiaryOpen.user_id == user_id))).scalars())


async def test_a_parent_marks_a_week_seen_once_and_only_their_own_childs(client: TestClient, ctx: AppContext) -> None:
    school = await build_school(ctx, classes=2, students_per_class=1)
    child = school.classes[0].student_ids[0]
    parent = school.parents(child)[0]
    week = {"child_id": child, "week_start": (this_monday() - timedelta(days=7)).isoformat()}
    first = await body_of(await client.post(SEEN, headers=auth(ctx, parent), json=week), 200)
    again = await body_of(await client.post(SEEN, headers=auth(ctx, parent), json=week), 200)
    assert (first["duplicate"], again["duplicate"], again["seen_at"]) == (False, True, first["seen_at"])
    query = f"?child_id={child}&week_start={week['week_start']}"
    assert (await body_of(await client.get(SEEN + query, headers=auth(ctx, parent)), 200))["seen_at"] == \
        first["seen_at"]
    other_parent = school.parents(child)[1]
    assert (await body_of(await client.get(SEEN + query, headers=auth(ctx, other_parent)), 200))["seen_at"] is None

    tuesday = {"child_id": child, "week_start": (this_monday() + timedelta(days=1)).isoformat()}
    assert "week_start" in (await body_of(await client.post(SEEN, headers=auth(ctx, parent), json=tuesday),
                                          422))["error"]["details"]
    ahead = {"child_id": child, "week_start": (this_monday() + timedelta(days=14)).isoformat()}
    await body_of(await client.post(SEEN, headers=auth(ctx, parent), json=ahead), 422)
    stranger = school.parents(school.classes[1].student_ids[0])[0]
    await body_of(await client.post(SEEN, headers=auth(ctx, stranger), json=week), 404)
    await body_of(await client.post(SEEN, headers=auth(ctx, school.user(child)), json=week), 403)
    await body_of(await client.post(SEEN, headers=auth(ctx, school.teachers[0]), json=week), 403)


async def test_opening_the_diary_writes_at_most_once_an_hour(client: TestClient, ctx: AppContext) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1)
    child = school.classes[0].student_ids[0]
    parent = school.parents(child)[0]
    diary = f"/api/v1/schedule/me?child_id={child}"
    await body_of(await client.get(diary, headers=auth(ctx, parent)), 200)
    assert len(await opens(ctx, parent.id)) == 1
    async with ctx.sessions.begin() as session:
        await session.execute(delete(DiaryOpen).where(DiaryOpen.user_id == parent.id))
    await body_of(await client.get(diary, headers=auth(ctx, parent)), 200)
    assert await opens(ctx, parent.id) == []  # within the hour: Redis says it was written, no second write
    await ctx.redis.delete(f"{ctx.settings.namespace}:diary-open:{parent.id}:{child}")
    await body_of(await client.get(diary, headers=auth(ctx, parent)), 200)
    assert len(await opens(ctx, parent.id)) == 1
    await body_of(await client.get("/api/v1/schedule/me", headers=auth(ctx, school.user(child))), 200)
    assert len(await opens(ctx, child)) == 1


async def test_the_class_teacher_sees_who_has_not_opened_the_diary(client: TestClient, ctx: AppContext) -> None:
    school = await build_school(ctx, classes=2, students_per_class=1)
    cls = school.classes[0]
    child = cls.student_ids[0]
    reader, absent = school.parents(child)
    await body_of(await client.get(f"/api/v1/schedule/me?child_id={child}", headers=auth(ctx, reader)), 200)
    week = (this_monday() - timedelta(days=7)).isoformat()
    await body_of(await client.post(SEEN, headers=auth(ctx, reader), json={"child_id": child, "week_start": week}),
                  200)
    assert cls.class_teacher_id is not None
    lead = auth(ctx, school.user(cls.class_teacher_id))
    url = f"/api/v1/classes/{cls.id}/diary-activity"
    found = await body_of(await client.get(url, headers=lead), 200)
    rows = {p["id"]: p for p in found["parents"]}
    assert (found["days"], found["stale"]) == (7, 1)
    assert (rows[reader.id]["stale"], rows[absent.id]["stale"]) == (False, True)
    assert rows[reader.id]["children"][0]["last_week_seen"] == week
    assert rows[absent.id]["children"][0]["last_opened_at"] is None

    async with ctx.sessions.begin() as session:
        await session.execute(update(DiaryOpen).where(DiaryOpen.user_id == reader.id)
                              .values(at=datetime.now(UTC) - timedelta(days=10)))
    assert (await body_of(await client.get(url, headers=lead), 200))["stale"] == 2
    assert (await body_of(await client.get(url + "?days=30", headers=lead), 200))["stale"] == 1
    await body_of(await client.get(url, headers=auth(ctx, school.admin)), 200)
    await body_of(await client.get(url + "?days=0", headers=lead), 422)
    await body_of(await client.get(url, headers=auth(ctx, reader)), 403)
    other = await build_school(ctx, classes=1, students_per_class=1)
    await body_of(await client.get(url, headers=auth(ctx, other.admin)), 404)
    other_lead = school.classes[1].class_teacher_id
    assert other_lead not in (None, cls.class_teacher_id)
    assert (await client.get(url, headers=auth(ctx, school.user(other_lead or 0)))).status in (403, 404)
