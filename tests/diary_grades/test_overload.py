"""Overload at the database is answered at once: API requests beyond DB_CONCURRENT_REQUESTS wait in a queue of
DB_QUEUE_SIZE for at most DB_QUEUE_WAIT, and the rest get 503 `overloaded` with Retry-After, in the user's language,
instead of queueing for seconds (edutrack/db/gate.py). Cache hits never take a place; normal load never sees it."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from edutrack.context import AppContext
from edutrack.keys import CTX
from tests.support.diary import auth, body_of
from tests.support.environment import AppFactory
from tests.support.school import BuiltSchool, build_school


@pytest.fixture
async def school(ctx: AppContext) -> BuiltSchool:
    return await build_school(ctx, classes=2, students_per_class=6, parents_per_student=1)


def _reads(ctx: AppContext, school: BuiltSchool) -> list[tuple[str, dict[str, str]]]:
    """A parent's read of their child's grades for each student: a cache entry each, so all of them miss."""
    return [(f"/api/v1/students/{student}/grades?term_id={school.term_ids[0]}", auth(ctx, school.parents(student)[0]))
            for cls in school.classes for student in cls.student_ids]


async def _timed(client: TestClient, url: str, headers: dict[str, str]) -> tuple[ClientResponse, dict, float]:
    started = time.monotonic()
    resp = await client.get(url, headers=headers)
    return resp, await resp.json(), time.monotonic() - started


async def test_requests_beyond_the_queue_are_refused_at_once_and_hits_still_served(
        make_client: AppFactory, ctx: AppContext, school: BuiltSchool) -> None:
    gated = await make_client(db_concurrent_requests=1, db_queue_size=2, db_queue_wait=0.3)
    reads = _reads(ctx, school)
    assert len(reads) == 12
    warm_url, warm_headers = reads[0]
    await body_of(await gated.get(warm_url, headers=warm_headers), 200)  # cached from now on
    misses = reads[1:]
    async with ctx.sessions.begin() as session:
        # The one request let in waits at PostgreSQL until the lock goes, holding the only place.
        await session.execute(text("LOCK TABLE grades IN ACCESS EXCLUSIVE MODE"))
        tasks = [asyncio.create_task(_timed(gated, url, headers)) for url, headers in misses]
        done, pending = await asyncio.wait(tasks, timeout=5)
        # A hit needs no place: answered while the database is taken.
        hit = await asyncio.wait_for(gated.get(warm_url, headers=warm_headers), 2)
        assert hit.status == 200
    refused = [task.result() for task in done]
    assert len(pending) == 1
    assert len(refused) == len(misses) - 1
    for resp, body, seconds in refused:
        assert resp.status == 503, body
        assert int(resp.headers["Retry-After"]) >= 1
        assert body["error"]["code"] == "overloaded"
        assert body["error"]["message"] == "Сервер сейчас перегружен. Повторите попытку через несколько секунд."
        assert body["error"]["details"] == {"retry_after": int(resp.headers["Retry-After"])}
        assert seconds < 2.0, seconds  # the queue's wait is 0.3 s; the rest at once (a loaded machine adds some)
    # Once the lock goes, the one let in is answered; nothing was left waiting.
    resp, body, _ = await asyncio.wait_for(pending.pop(), 10)
    assert resp.status == 200, body
    gate = gated.app[CTX].db_gate
    assert gate.refused == len(misses) - 1
    assert gate.waiting == 0
    # Every place is free again: the refused reads now succeed.
    for url, headers in misses:
        await body_of(await gated.get(url, headers=headers), 200)


async def test_the_refusal_is_in_the_users_language(make_client: AppFactory, ctx: AppContext,
                                                     school: BuiltSchool) -> None:
    gated = await make_client(db_concurrent_requests=1, db_queue_size=0, db_queue_wait=0.3)
    (first_url, first_headers), (url, headers) = _reads(ctx, school)[:2]
    async with ctx.sessions.begin() as session:
        await session.execute(text("LOCK TABLE grades IN ACCESS EXCLUSIVE MODE"))
        holder = asyncio.create_task(gated.get(first_url, headers=first_headers))
        await asyncio.sleep(1)  # let in, and waiting at the lock
        resp = await gated.get(url, headers={**headers, "Accept-Language": "en"})
        body = await resp.json()
    assert resp.status == 503
    assert body["error"]["message"] == "The server is busy right now. Try again in a few seconds."
    assert (await holder).status == 200


async def test_normal_load_is_not_refused(client: TestClient, make_client: AppFactory, ctx: AppContext,
                                          school: BuiltSchool) -> None:
    """Up to DB_CONCURRENT_REQUESTS at once nothing waits, so nothing is refused, however slow the machine; a burst
    larger than that waits its turn in the queue and is served when the wait allows it."""
    slots = ctx.settings.db_concurrent_requests
    reads = _reads(ctx, school)
    for _ in range(3):
        burst = [reads[i % len(reads)] for i in range(slots)]
        answers = await asyncio.gather(*(_timed(client, url, headers) for url, headers in burst))
        assert [resp.status for resp, _, _ in answers] == [200] * slots
    assert client.app[CTX].db_gate.refused == 0
    patient = await make_client(db_queue_wait=60.0)
    burst = [reads[i % len(reads)] for i in range(3 * slots)]
    answers = await asyncio.gather(*(_timed(patient, url, headers) for url, headers in burst))
    assert [resp.status for resp, _, _ in answers] == [200] * 3 * slots
    assert patient.app[CTX].db_gate.refused == 0
