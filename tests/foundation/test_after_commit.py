"""The unit of work: effects registered in a transaction run after its commit, in order, and never after a
rollback (edutrack/uow.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio.client import PubSub
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from edutrack import cache, events
from edutrack.context import AppContext
from edutrack.queries import schools as school_q
from edutrack.uow import AfterCommit, unit_of_work

CHANNEL = "user:987654"


@pytest.fixture
async def listener(ctx: AppContext) -> AsyncIterator[PubSub]:
    pubsub = ctx.redis.pubsub()
    await pubsub.subscribe(events.redis_channel(ctx.settings.namespace, CHANNEL))
    await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
    try:
        yield pubsub
    finally:
        await pubsub.aclose()


async def received(pubsub: PubSub, wait: float = 0.5) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + wait
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
        if message is not None:
            got.append(json.loads(message["data"]))
    return got


async def cached_value(ctx: AppContext, bucket: str) -> Any:
    async def load() -> str:
        return "fresh"

    return await cache.cached(ctx, bucket, "probe", load)


async def test_a_rolled_back_transaction_publishes_and_invalidates_nothing(ctx: AppContext, listener: PubSub) -> None:
    bucket = "probe:rollback"
    await cache.cached(ctx, bucket, "probe", _constant("cached before"))
    ran: list[str] = []

    async def effect() -> None:
        ran.append("effect")

    with pytest.raises(RuntimeError, match="changed my mind"):
        async with unit_of_work(ctx) as uow:
            school = await school_q.insert_school(uow.session, {"name": "Rolled back"})
            uow.publish(CHANNEL, {"type": "probe", "n": 1})
            uow.invalidate(bucket)
            uow.after_commit(effect)
            raise RuntimeError("changed my mind")

    assert await received(listener) == []
    assert ran == []
    assert await cached_value(ctx, bucket) == "cached before"  # the entry was not dropped
    async with ctx.reads() as session:
        assert await school_q.school_by_id(session, school.id) is None


async def test_a_failed_commit_runs_no_effect(ctx: AppContext, listener: PubSub) -> None:
    """The commit itself fails (a deferred check at COMMIT): nothing registered runs."""
    bucket = "probe:failed-commit"
    await cache.cached(ctx, bucket, "probe", _constant("cached before"))
    with pytest.raises(IntegrityError, match="commit_probe_pkey"):
        async with unit_of_work(ctx) as uow:
            # A deferred constraint is checked at COMMIT: the statements succeed and the commit fails.
            await uow.session.execute(text("CREATE TEMP TABLE commit_probe (id int PRIMARY KEY "
                                           "DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP"))
            await uow.session.execute(text("INSERT INTO commit_probe VALUES (1), (1)"))
            uow.publish(CHANNEL, {"type": "probe", "n": 2})
            uow.invalidate(bucket)
    assert await received(listener) == []
    assert await cached_value(ctx, bucket) == "cached before"


async def test_effects_run_in_order_after_the_commit_is_visible(ctx: AppContext, listener: PubSub) -> None:
    bucket = "probe:commit"
    await cache.cached(ctx, bucket, "probe", _constant("cached before"))
    seen: list[Any] = []

    async with unit_of_work(ctx) as uow:
        school = await school_q.insert_school(uow.session, {"name": "Committed"})

        async def look_from_another_connection() -> None:
            async with ctx.reads() as session:  # another connection sees only what is committed
                seen.append((await school_q.school_by_id(session, school.id)) is not None)

        uow.after_commit(look_from_another_connection)
        uow.publish(CHANNEL, {"type": "probe", "n": 1})
        uow.publish(CHANNEL, {"type": "probe", "n": 2})
        uow.invalidate(bucket)
        assert seen == []  # nothing runs before the commit
        assert len(uow) == 4

    assert seen == [True]
    assert [e["n"] for e in await received(listener)] == [1, 2]
    assert await cached_value(ctx, bucket) == "fresh"  # the old entry was dropped


async def test_a_failing_effect_is_logged_and_does_not_hide_the_others(
        ctx: AppContext, listener: PubSub, caplog: pytest.LogCaptureFixture) -> None:
    effects = AfterCommit(ctx)
    ran: list[str] = []

    async def broken() -> None:
        raise ValueError("boom")

    async def after() -> None:
        ran.append("after")

    effects.publish(CHANNEL, {"type": "probe", "n": 1})
    effects.after_commit(broken, "broken")
    effects.publish(CHANNEL, {"type": "probe", "n": 2})
    effects.after_commit(after)
    with caplog.at_level(logging.ERROR, logger="edutrack.uow"):
        await effects.run()
    assert [e["n"] for e in await received(listener)] == [1, 2]
    assert ran == ["after"]
    failures = [r for r in caplog.records if r.getMessage() == "an after-commit effect failed"]
    assert [getattr(r, "effect", None) for r in failures] == ["broken"]
    assert len(effects) == 0  # run once: a second run does nothing
    await effects.run()
    assert await received(listener, wait=0.2) == []


def _constant(value: str) -> Any:
    async def load() -> str:
        return value

    return load

