"""The Redis read-through cache: hits, invalidation on writes (empty lists too), races, Redis down."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from edutrack import cache
from edutrack.context import AppContext
from edutrack.db.diary import Subject
from edutrack.db.models import User
from edutrack.keys import CTX
from tests.support.diary import auth, body_of, count_sql
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, add_lessons
from tests.support.services import free_port


async def test_reference_list_hit_and_invalidation(client: TestClient, ctx: AppContext,
                                                   school: BuiltSchool) -> None:
    teacher, admin = auth(ctx, school.teachers[0]), auth(ctx, school.admin)
    first = await body_of(await client.get("/api/v1/subjects", headers=teacher), 200)
    math_id = school.subject_ids["Математика"]
    async with ctx.sessions.begin() as session:  # behind the cache's back
        await session.execute(update(Subject).where(Subject.id == math_id).values(name="Алгебра"))
    with count_sql(ctx) as statements:
        again = await body_of(await client.get("/api/v1/subjects", headers=teacher), 200)
    assert again == first
    assert statements == []  # served from Redis, no SQL at all
    # A write through the API invalidates every cached page of the school's reference lists.
    await body_of(await client.patch(f"/api/v1/subjects/{math_id}", headers=admin, json={"name": "Геометрия"}),
                  200)
    fresh = await body_of(await client.get("/api/v1/subjects", headers=teacher), 200)
    assert "Геометрия" in {s["name"] for s in fresh["items"]}


async def test_empty_list_is_cached_and_invalidated(client: TestClient, ctx: AppContext, factory: Factory,
                                                    superuser: User) -> None:
    new = await body_of(await client.post("/api/v1/schools", headers=auth(ctx, superuser),
                                          json={"name": "Пустая школа"}), 201)
    admin = auth(ctx, await factory.user("admin", school_id=new["id"]))
    empty = await body_of(await client.get("/api/v1/subjects", headers=admin), 200)
    assert empty["items"] == []
    assert empty["total"] == 0
    key = cache.bucket_key(ctx, cache.school_ref_bucket(new["id"]))
    fields = {f.decode() for f in await ctx.redis.hkeys(key)}
    assert any(f.startswith("subjects:") for f in fields)  # the empty answer is cached too
    made = await body_of(await client.post("/api/v1/subjects", headers=admin, json={"name": "Химия"}), 201)
    one = await body_of(await client.get("/api/v1/subjects", headers=admin), 200)
    assert [s["id"] for s in one["items"]] == [made["id"]]
    await body_of(await client.delete(f"/api/v1/subjects/{made['id']}", headers=admin), 204)
    again = await body_of(await client.get("/api/v1/subjects", headers=admin), 200)
    assert again["items"] == []
    # Classes: empty, then one, then empty again.
    assert (await body_of(await client.get("/api/v1/classes", headers=admin), 200))["items"] == []
    cls = await body_of(await client.post("/api/v1/classes", headers=admin, json={"name": "1А", "grade_level": 1}),
                        201)
    assert [c["id"] for c in (await body_of(await client.get("/api/v1/classes", headers=admin), 200))["items"]] \
        == [cls["id"]]
    await body_of(await client.delete(f"/api/v1/classes/{cls['id']}", headers=admin), 204)
    assert (await body_of(await client.get("/api/v1/classes", headers=admin), 200))["items"] == []


async def test_schedule_cache_invalidated_by_lesson_writes(client: TestClient, ctx: AppContext,
                                                           school: BuiltSchool) -> None:
    admin, c0 = auth(ctx, school.admin), school.classes[0]
    math = school.subject_ids["Математика"]
    url = f"/api/v1/lessons?class_id={c0.id}&from=2026-11-30&to=2026-12-06"
    assert (await body_of(await client.get(url, headers=admin), 200))["items"] == []
    await add_lessons(ctx, school, c0.id, math, [date(2026, 12, 1)])  # behind the cache's back
    assert (await body_of(await client.get(url, headers=admin), 200))["items"] == []  # still the cached week
    created = await body_of(await client.post("/api/v1/lessons", headers=admin, json={
        "class_id": c0.id, "subject_id": math, "teacher_id": c0.teacher_by_subject[math],
        "starts_at": "2026-12-02T10:00:00", "ends_at": "2026-12-02T10:45:00"}), 201)
    week = await body_of(await client.get(url, headers=admin), 200)
    assert len(week["items"]) == 2
    assert week["items"][1]["id"] == created["id"]
    # The student's own schedule reads the same cached class week, also refreshed.
    mine = await body_of(await client.get("/api/v1/schedule/me?from=2026-11-30",
                                          headers=auth(ctx, school.users[c0.student_ids[0]])), 200)
    assert [x["id"] for x in mine["items"]] == [x["id"] for x in week["items"]]
    # Renaming the subject changes what the cached week shows.
    await body_of(await client.patch(f"/api/v1/subjects/{math}", headers=admin, json={"name": "Алгебра"}), 200)
    week = await body_of(await client.get(url, headers=admin), 200)
    assert {x["subject_name"] for x in week["items"]} == {"Алгебра"}
    await body_of(await client.delete(f"/api/v1/lessons/{created['id']}", headers=admin), 204)
    assert len((await body_of(await client.get(url, headers=admin), 200))["items"]) == 1


async def test_invalidation_during_a_load_is_not_overwritten(ctx: AppContext) -> None:
    """A reader that loaded before a writer's invalidation must not store its stale value after it."""
    bucket = "race-test"

    async def load_while_someone_writes() -> list[str]:
        await cache.invalidate(ctx, bucket)  # the concurrent writer commits and invalidates meanwhile
        return ["stale"]

    assert await cache.cached(ctx, bucket, "field", load_while_someone_writes) == ["stale"]
    assert await ctx.redis.hget(cache.bucket_key(ctx, bucket), "field") is None

    async def load_fresh() -> list[str]:
        return ["fresh"]

    assert await cache.cached(ctx, bucket, "field", load_fresh) == ["fresh"]
    assert await cache.cached(ctx, bucket, "field", load_while_someone_writes) == ["fresh"]  # a hit
    assert 0 < await ctx.redis.ttl(cache.bucket_key(ctx, bucket)) <= cache.DEFAULT_TTL


async def test_redis_down_serves_from_postgresql(make_client: object, ctx: AppContext, school: BuiltSchool,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """`ctx` is a healthy node on the same database; `down` is a node whose Redis is a closed port."""
    down: TestClient = await make_client(redis_url=f"redis://127.0.0.1:{free_port()}/0")  # type: ignore[operator]
    dctx: AppContext = down.app[CTX]
    admin, c0 = auth(dctx, school.admin), school.classes[0]
    caplog.set_level(logging.WARNING, logger="edutrack.cache")
    subjects = await body_of(await down.get("/api/v1/subjects", headers=admin), 200)
    assert {s["name"] for s in subjects["items"]} == set(school.subject_ids)
    classes = await body_of(await down.get("/api/v1/classes", headers=admin), 200)
    assert {c["id"] for c in classes["items"]} == {c.id for c in school.classes}
    await body_of(await down.get(f"/api/v1/schools/{school.id}/terms", headers=admin), 200)
    await body_of(await down.get("/api/v1/schools", headers=admin), 200)
    # Writes still work (the invalidation that cannot happen is logged) and reads see them.
    math = school.subject_ids["Математика"]
    made = await body_of(await down.post("/api/v1/lessons", headers=admin, json={
        "class_id": c0.id, "subject_id": math, "teacher_id": c0.teacher_by_subject[math],
        "starts_at": "2026-12-02T10:00:00", "ends_at": "2026-12-02T10:45:00", "homework": "§3"}), 201)
    week = await body_of(await down.get(f"/api/v1/lessons?class_id={c0.id}&from=2026-11-30", headers=admin), 200)
    assert [x["id"] for x in week["items"]] == [made["id"]]
    assert any("cache unavailable" in r.getMessage() for r in caplog.records)
    assert any("invalidation failed" in r.getMessage() for r in caplog.records)
