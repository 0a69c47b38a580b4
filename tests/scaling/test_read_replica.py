"""DATABASE_READ_URL against a real streaming replica: a private primary and a hot standby made with
pg_basebackup (the machine's shared PostgreSQL allows no replication connections). Term sheets and analytics
read from the replica once it has replayed what the primary had committed when the read began; a lagging,
unreachable or non-standby replica sends them to the primary; nothing stale is shown or cached."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from edutrack.app import create_app
from edutrack.cli import migrate
from edutrack.context import AppContext
from edutrack.db.engine import ensure_database
from edutrack.keys import CTX
from edutrack.settings import Settings
from tests.support.environment import base_test_settings, drop_namespace, truncate_all
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, build_school
from tests.support.services import StreamingPair, free_port, streaming_replica

DATABASE = "edutrack_replica_test"
WAIT = 0.5


@pytest.fixture(scope="module")
def pair(services: None) -> Iterator[StreamingPair]:
    with streaming_replica() as started:
        asyncio.run(ensure_database(started.primary.url(DATABASE)))
        migrate(base_test_settings(started.primary.url(DATABASE)))
        yield started


async def _standby(pair: StreamingPair) -> asyncpg.Connection:
    return await asyncpg.connect(host="127.0.0.1", port=pair.standby.port, user="postgres", database=DATABASE)


async def _replayed_everything(pair: StreamingPair) -> None:
    primary = await asyncpg.connect(host="127.0.0.1", port=pair.primary.port, user="postgres", database=DATABASE)
    try:
        target = await primary.fetchval("SELECT pg_current_wal_insert_lsn()")
    finally:
        await primary.close()
    standby = await _standby(pair)
    try:
        for _ in range(1000):
            if await standby.fetchval("SELECT pg_last_wal_replay_lsn() >= $1", target):
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the standby did not catch up")
    finally:
        await standby.close()


Build = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def build(pair: StreamingPair, aiohttp_client: Callable[..., Awaitable[TestClient]]) -> AsyncIterator[Build]:
    """An API node on the private primary with DATABASE_READ_URL set to the standby (or `read_url`)."""
    await truncate_all(pair.primary.url(DATABASE))
    namespace = f"t{uuid.uuid4().hex[:12]}"

    async def make(read_url: str | None = None) -> TestClient:
        settings: Settings = base_test_settings(
            pair.primary.url(DATABASE), namespace=namespace, database_read_wait=WAIT,
            database_read_url=pair.standby.url(DATABASE) if read_url is None else read_url)
        return await aiohttp_client(create_app(settings))

    yield make
    await drop_namespace(base_test_settings(pair.primary.url(DATABASE)).redis_url, namespace)


async def _post_grade(client: TestClient, teacher: Any, school: BuiltSchool, value: int) -> int:
    cls = school.classes[0]
    resp = await client.post("/api/v1/grades", headers=teacher.headers, json={
        "student_id": cls.student_ids[0], "subject_id": school.subject(0),
        "work_type_id": school.work_type_ids["Контрольная работа"], "date": date(2026, 10, 5).isoformat(),
        "value": value})
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


def _first_cell(sheet: dict[str, Any], school: BuiltSchool) -> dict[str, Any]:
    row = next(r for r in sheet["students"] if r["student_id"] == school.classes[0].student_ids[0])
    return next(c for c in row["cells"] if c["subject_id"] == school.subject(0))


async def _sheet(client: TestClient, who: Any, school: BuiltSchool) -> dict[str, Any]:
    url = f"/api/v1/classes/{school.classes[0].id}/term-sheet?term_id={school.term_ids[0]}"
    resp = await client.get(url, headers=who.headers)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def _setup(client: TestClient) -> tuple[AppContext, BuiltSchool, Any]:
    ctx = client.app[CTX]
    school = await build_school(ctx, classes=1, students_per_class=3, parents_per_student=1)
    teacher = await Factory(client, ctx).login(school.teacher_of(school.classes[0].id, school.subject(0)))
    return ctx, school, teacher


async def test_the_callers_own_write_is_read_back_from_the_replica(pair: StreamingPair, build: Build) -> None:
    client = await build()
    ctx, school, teacher = await _setup(client)
    await _post_grade(client, teacher, school, 5)
    # At once, with no pause: the read waits (briefly) for the replica to replay the grade, then reads there.
    assert _first_cell(await _sheet(client, teacher, school), school)["average"] == 5.0
    resp = await client.get(f"/api/v1/students/{school.classes[0].student_ids[0]}/performance"
                            f"?term_id={school.term_ids[0]}", headers=teacher.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["overall_weighted_average"] == 5.0
    assert ctx.heavy_reads.served == {"replica": 2}


async def test_a_lagging_replica_is_not_read_and_nothing_stale_is_cached(pair: StreamingPair, build: Build) -> None:
    client = await build()
    ctx, school, teacher = await _setup(client)
    await _replayed_everything(pair)
    standby = await _standby(pair)
    try:
        await standby.execute("SELECT pg_wal_replay_pause()")
        grade_id = await _post_grade(client, teacher, school, 4)
        started = time.monotonic()
        sheet = await _sheet(client, teacher, school)  # the grade invalidated the cached sheet: a heavy read
        took = time.monotonic() - started
        assert _first_cell(sheet, school)["average"] == 4.0
        assert ctx.heavy_reads.served == {"primary:replica-lagging": 1}
        assert took >= WAIT
        # The replica really was behind: reading it would have shown (and cached) a sheet without the grade.
        assert await standby.fetchval("SELECT count(*) FROM grades WHERE id = $1", grade_id) == 0

        await standby.execute("SELECT pg_wal_replay_resume()")
        await _replayed_everything(pair)
    finally:
        await standby.close()
    # The cached sheet is the primary's, and the replica serves the next heavy read.
    assert _first_cell(await _sheet(client, teacher, school), school)["average"] == 4.0
    resp = await client.get(f"/api/v1/classes/{school.classes[0].id}/performance?term_id={school.term_ids[0]}",
                            headers=teacher.headers)
    assert resp.status == 200, await resp.text()
    assert ctx.heavy_reads.served == {"primary:replica-lagging": 1, "replica": 1}


async def test_an_unreachable_replica_costs_one_short_wait_then_none(pair: StreamingPair, build: Build) -> None:
    closed = free_port()
    client = await build(read_url=f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/{DATABASE}")
    ctx, school, teacher = await _setup(client)
    await _post_grade(client, teacher, school, 3)
    started = time.monotonic()
    assert _first_cell(await _sheet(client, teacher, school), school)["average"] == 3.0
    assert time.monotonic() - started < 3
    await _post_grade(client, teacher, school, 5)
    started = time.monotonic()
    assert _first_cell(await _sheet(client, teacher, school), school)["average"] == 4.0
    assert time.monotonic() - started < 1  # skipped while it is down, not tried again per read
    assert ctx.heavy_reads.served == {"primary:replica-unreachable": 2}


async def test_a_read_url_that_is_not_a_standby_is_not_trusted(pair: StreamingPair, build: Build) -> None:
    # A promoted former replica (or a mistake): its data may have diverged, so heavy reads stay on the primary.
    client = await build(read_url=pair.primary.url(DATABASE))
    ctx, school, teacher = await _setup(client)
    await _post_grade(client, teacher, school, 5)
    assert _first_cell(await _sheet(client, teacher, school), school)["average"] == 5.0
    assert ctx.heavy_reads.served == {"primary:not-a-standby": 1}
