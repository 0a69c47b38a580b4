"""Readers that miss the same whole-response entry at once (right after a write invalidated it) share one load
(`cache.authorized_body`), but only as they would share a stored hit: the same bucket tokens seen, the same
facts check passed. A write between the lookups, a refused or failed load, or facts that refuse the waiter
make the waiter load its own."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from edutrack import cache
from edutrack.context import AppContext


class Loader:
    """A load that waits until released, counting its calls."""

    def __init__(self, body: bytes, facts: dict[str, Any] | None, fail: bool = False) -> None:
        self.body, self.facts, self.fail = body, facts, fail
        self.calls = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self) -> tuple[bytes, dict[str, Any] | None]:
        self.calls += 1
        self.started.set()
        await self.release.wait()
        if self.fail:
            raise LookupError("refused")
        return self.body, self.facts


def _buckets() -> tuple[str, str]:
    tag = uuid.uuid4().hex
    return f"test:{tag}:marks", f"test:{tag}:ref"


def _read(ctx: AppContext, buckets: tuple[str, str], load: Loader, school: int = 1) -> asyncio.Task[bytes]:
    return asyncio.create_task(cache.authorized_body(ctx, buckets, "sheet", lambda f: f["school_id"] == school,
                                                     load))


async def _waiting(ctx: AppContext) -> None:
    """Until the second reader has looked up and waits (its lookup is one Redis round trip)."""
    for _ in range(200):
        await asyncio.sleep(0.005)


async def test_concurrent_misses_share_one_load(ctx: AppContext) -> None:
    buckets = _buckets()
    leader, follower = Loader(b'{"a":1}', {"school_id": 1}), Loader(b'{"b":2}', {"school_id": 1})
    first = _read(ctx, buckets, leader)
    await leader.started.wait()
    second = _read(ctx, buckets, follower)
    await _waiting(ctx)
    leader.release.set()
    follower.release.set()
    assert await first == await second == b'{"a":1}'
    assert (leader.calls, follower.calls) == (1, 0)
    assert ctx.cache_loads == {}
    # And it was stored: the next reader hits it.
    third = Loader(b"{}", {"school_id": 1})
    third.release.set()
    assert await _read(ctx, buckets, third) == b'{"a":1}'
    assert third.calls == 0


async def test_a_write_between_the_lookups_makes_the_waiter_load_its_own(ctx: AppContext) -> None:
    buckets = _buckets()
    leader, follower = Loader(b'{"old":1}', {"school_id": 1}), Loader(b'{"new":1}', {"school_id": 1})
    first = _read(ctx, buckets, leader)
    await leader.started.wait()
    await cache.invalidate(ctx, buckets[0])  # a write committed after the leader's lookup
    second = _read(ctx, buckets, follower)
    await follower.started.wait()
    leader.release.set()
    follower.release.set()
    assert (await first, await second) == (b'{"old":1}', b'{"new":1}')
    # The leader's answer predates the write: only the follower's is kept.
    last = Loader(b"{}", {"school_id": 1})
    last.release.set()
    assert await _read(ctx, buckets, last) == b'{"new":1}'


@pytest.mark.parametrize("case", ["refused facts", "failed load", "unstorable load"])
async def test_the_waiter_loads_its_own_unless_it_may_take_the_answer(ctx: AppContext, case: str) -> None:
    buckets = _buckets()
    leader = Loader(b'{"a":1}', None if case == "unstorable load" else {"school_id": 1},
                    fail=case == "failed load")
    follower = Loader(b'{"b":2}', {"school_id": 2})
    first = _read(ctx, buckets, leader)
    await leader.started.wait()
    second = _read(ctx, buckets, follower, school=2 if case == "refused facts" else 1)
    await _waiting(ctx)
    follower.release.set()
    leader.release.set()
    if case == "failed load":
        with pytest.raises(LookupError):
            await first
    else:
        assert await first == b'{"a":1}'
    assert await second == b'{"b":2}'
    assert (leader.calls, follower.calls) == (1, 1)
    assert ctx.cache_loads == {}
