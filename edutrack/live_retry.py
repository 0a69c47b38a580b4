"""Live events whose publish to Redis failed, published again once Redis answers.

A node that loses its Redis subscription re-reads every socket's gap when it is back, so nothing is missed there.
But a publish can fail while every subscription stays up: a stall of a second or two (the client gives up after
its 1 s socket timeout), a Cluster master failing over, a connection reset on the publishing side only. Before,
such an event was dropped: a chat closed the hole at its next message, a feed event waited for the client's next
`subscribe`. Now the publishing process holds it and publishes it again, in the order it was first meant to go.
Subscribers drop ids they have already sent and chats fill any hole from PostgreSQL, so an event that arrives
late, or after a newer one, is harmless. Ephemeral events (typing, presence) are not held: late, they would lie.

Bounded: at most `limit` events (the oldest dropped first) and none older than `max_age` seconds; beyond that a
client has them at its next `subscribe` with `since`, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Batch = list[tuple[str, str]]  # (Redis channel, serialised event)
Send = Callable[[Batch], Awaitable[None]]

FIRST_RETRY = 0.2
LAST_RETRY = 5.0
MAX_AT_ONCE = 1_000


class HeldPublishes:
    def __init__(self, limit: int = 10_000, max_age: float = 60.0) -> None:
        self.limit = limit
        self.max_age = max_age
        self._held: deque[tuple[int, float, str, str]] = deque()  # (sequence, held since, channel, event)
        self._next = 0
        self._task: asyncio.Task[None] | None = None
        self.republished = 0  # since the process started: logs, tests
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, batch: Batch, send: Send) -> None:
        now = time.monotonic()
        for target, text in batch:
            self._held.append((self._next, now, target, text))
            self._next += 1
        while len(self._held) > self.limit:
            self._held.popleft()
            self.dropped += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._retry(send), name="live-publish-retry")

    async def _retry(self, send: Send) -> None:
        pause = FIRST_RETRY
        while self._held:
            await asyncio.sleep(pause)
            self._forget_old()
            head = list(self._held)[:MAX_AT_ONCE]
            if not head:
                return
            chunk = [(target, text) for _seq, _at, target, text in head]
            try:
                await send(chunk)
            except (RedisError, OSError) as exc:
                pause = min(LAST_RETRY, pause * 2)
                log.warning("live publish retry failed; held for later",
                            extra={"held": len(self._held), "error": str(exc)})
                continue
            last = head[-1][0]  # `hold` may have dropped some of them meanwhile: go by sequence, not by count
            while self._held and self._held[0][0] <= last:
                self._held.popleft()
            self.republished += len(chunk)
            pause = FIRST_RETRY

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - self.max_age
        while self._held and self._held[0][1] < cutoff:
            self._held.popleft()
            self.dropped += 1

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
