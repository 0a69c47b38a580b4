"""Live events whose publish to Redis failed, published again once Redis answers.

A node that loses its Redis subscription re-reads every socket's gap when it is back, so nothing is missed there.
But a publish can fail while every subscription stays up: a stall of a second or two (the client gives up after
its 1 s socket timeout), a Cluster master failing over, a connection reset on the publishing side only. Before,
such an event was dropped: a chat closed the hole at its next message, a feed event waited for the client's next
`subscribe`. Now the publishing process holds it and publishes it again, in the order it was first meant to go.
Subscribers drop ids they have already sent and chats fill any hole from PostgreSQL, so an event that arrives
late, or twice, is harmless. Ephemeral events (typing, presence) are not held: late, they would lie.

Order per channel: while a channel has events held, its newer events are held behind them (`split`) instead of
being published past them, so a channel's events reach Redis in the order they were published. And a publish
waits for the one before it on any of its channels that is still waiting for Redis (`in_order`): else, if that
one failed after the newer one went out, the older event would be held and published after the newer one (for a
chat the hole is filled from PostgreSQL, but an edit or a reaction published late would undo a newer one).
Channels without held events are published at once: on a Redis Cluster (edutrack/live_shards.py) the events of
the masters that answer go out while a failed master's wait here, and a retry may publish some channels and keep
the others.

Bounded: at most `limit` events (the oldest dropped first) and none older than `max_age` seconds; beyond that a
client has them at its next `subscribe` with `since`, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Batch = list[tuple[str, str]]  # (Redis channel, serialised event)
# Publishes a batch in its order; returns the positions in it that were not published (empty: all were), or
# raises when none was.
Send = Callable[[Batch], Awaitable[set[int]]]

FIRST_RETRY = 0.2
LAST_RETRY = 5.0
MAX_AT_ONCE = 1_000


class HeldPublishes:
    def __init__(self, limit: int = 10_000, max_age: float = 60.0, last_retry: float = LAST_RETRY) -> None:
        self.limit = limit
        self.max_age = max_age
        self.last_retry = last_retry  # the longest pause between two retries
        self._held: deque[tuple[int, float, str, str]] = deque()  # (sequence, held since, channel, event)
        self._channels: Counter[str] = Counter()  # how many events each channel has held
        self._next = 0
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None  # set by `nudge`: Redis took a publish, retry now
        # channel -> the latest publish of it still waiting for Redis: done once published, or held
        self._in_flight: dict[str, asyncio.Future[None]] = {}
        self.republished = 0  # since the process started: logs, tests
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._held)

    def split(self, batch: Batch) -> tuple[Batch, Batch]:
        """(what may be published now, what has to wait behind its channel's held events), each in its order."""
        if not self._channels:
            return batch, []
        now: Batch = []
        behind: Batch = []
        for pair in batch:
            (behind if pair[0] in self._channels else now).append(pair)
        return now, behind

    @contextlib.asynccontextmanager
    async def in_order(self, batch: Batch) -> AsyncIterator[None]:
        """Wait for the publishes before this one on its channels that still wait for Redis, then let it go; the
        next publish of those channels waits for this one to be published or held. Entered in call order (nothing
        awaits before the registration), so the waits follow that order and cannot form a cycle."""
        channels = {target for target, _text in batch}
        before = {f for target in channels if (f := self._in_flight.get(target)) is not None}
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for target in channels:
            self._in_flight[target] = mine
        try:
            if before:
                await asyncio.wait(before)  # not gather: a cancelled caller must not cancel the others' futures
            yield
        finally:
            mine.set_result(None)
            for target in channels:
                if self._in_flight.get(target) is mine:
                    del self._in_flight[target]

    def nudge(self) -> None:
        """Redis took a publish: retry at once instead of at the end of the current pause (up to `last_retry`),
        so the channels waiting behind held events are not held seconds longer than Redis was away."""
        if self._wake is not None and self._held:
            self._wake.set()

    def hold(self, batch: Batch, send: Send) -> None:
        now = time.monotonic()
        for target, text in batch:
            self._held.append((self._next, now, target, text))
            self._channels[target] += 1
            self._next += 1
        while len(self._held) > self.limit:
            self._drop_oldest()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._retry(send), name="live-publish-retry")

    async def _retry(self, send: Send) -> None:
        pause = FIRST_RETRY
        wake = self._wake = asyncio.Event()
        while self._held:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), pause)
            wake.clear()
            self._forget_old()
            head = list(itertools.islice(self._held, MAX_AT_ONCE))
            if not head:
                return
            chunk = [(target, text) for _seq, _at, target, text in head]
            try:
                unsent = await send(chunk)
            except (RedisError, OSError) as exc:
                unsent = set(range(len(chunk)))
                log.warning("live publish retry failed; held for later",
                            extra={"held": len(self._held), "error": str(exc)})
            # `hold` may have dropped some of them meanwhile: go by sequence, not by position
            self._release({head[i][0] for i in range(len(head)) if i not in unsent})
            self.republished += len(chunk) - len(unsent)
            pause = FIRST_RETRY if not unsent else min(self.last_retry, pause * 2)

    def _release(self, published: set[int]) -> None:
        if not published:
            return
        kept: deque[tuple[int, float, str, str]] = deque()
        for entry in self._held:
            if entry[0] in published:
                self._forget_channel(entry[2])
            else:
                kept.append(entry)
        self._held = kept

    def _drop_oldest(self) -> None:
        self._forget_channel(self._held.popleft()[2])
        self.dropped += 1

    def _forget_channel(self, target: str) -> None:
        self._channels[target] -= 1
        if not self._channels[target]:
            del self._channels[target]

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - self.max_age
        while self._held and self._held[0][1] < cutoff:
            self._drop_oldest()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
