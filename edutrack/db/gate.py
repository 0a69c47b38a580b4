"""Admission of API requests to PostgreSQL: a bounded queue, so overload is answered at once, not in seconds.

When every read is a cache miss (a term's first morning, a flushed cache, a school-wide change), requests pile up
on the connection pool and each waits behind all the others: the tail grows to seconds while the database works
as fast as it can. Instead, an API request takes one of DB_CONCURRENT_REQUESTS places the first time it needs a
connection and keeps it until its response is done (a request that waits between two transactions on other
work, a password hash, gives it back meanwhile: `step_out`); when all are taken it may wait in a queue of DB_QUEUE_SIZE
for at most DB_QUEUE_WAIT seconds, and beyond that it is answered 503 `overloaded` with Retry-After (in the
user's language). Requests the cache answers never take a place; nothing is half-written, because the refusal
comes before the request's first statement.

How: `db_admission` (api/middlewares.py) gives each /api/ request an `Admission` through a ContextVar, and the
engines' pool (`GatedPool`, db/engine.py) asks it for a place before it hands out a connection. Workers, the
websocket gateway and CLI commands have no admission and are never refused; work a request leaves behind
(after-commit effects, background tasks) runs unrefused once the request is done.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import time
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import await_only

from edutrack import errors
from edutrack.i18n import N_


class Overloaded(errors.ServiceUnavailable):
    """Every place at the database is taken and the queue is full, or waited in too long: 503 with Retry-After."""

    code = "overloaded"
    message = N_("The server is busy right now. Try again in a few seconds.")

    def __init__(self, retry_after: int) -> None:
        super().__init__(details={"retry_after": retry_after}, headers={"Retry-After": str(retry_after)})


class DbGate:
    """`slots` requests at PostgreSQL at once, `queue` more waiting for at most `wait` seconds.

    A request that would not get a place within `wait` anyway (the queue ahead of it, times how long a request
    holds a place lately, shared by the places) is refused at once rather than after waiting for nothing."""

    def __init__(self, slots: int, queue: int, wait: float) -> None:
        self._slots = asyncio.Semaphore(slots)
        self.slots = slots
        self.queue = queue
        self.wait = wait
        self.waiting = 0
        self.refused = 0  # since the process started, for logs and benchmarks
        self.hold_seconds = 0.01  # moving average of how long a request holds a place

    def expected_wait(self) -> float:
        return (self.waiting + 1) * self.hold_seconds / self.slots

    def _refuse(self) -> Overloaded:
        self.refused += 1
        return Overloaded(max(1, math.ceil(max(self.wait, self.expected_wait()))))

    async def acquire(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # a free place: taken without yielding to anyone
            return
        if self.waiting >= self.queue or self.expected_wait() > self.wait:
            raise self._refuse()
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wait):
                await self._slots.acquire()
        except TimeoutError:
            raise self._refuse() from None
        finally:
            self.waiting -= 1

    def release(self, held_for: float) -> None:
        self.hold_seconds = 0.9 * self.hold_seconds + 0.1 * held_for
        self._slots.release()


class Admission:
    """One request's place at the database: taken at its first connection, given back when the request ends."""

    __slots__ = ("_entering", "closed", "gate", "held", "since")

    def __init__(self, gate: DbGate) -> None:
        self.gate = gate
        self.held = False
        self.closed = False
        self.since = 0.0
        self._entering: asyncio.Lock | None = None

    async def enter(self) -> None:
        if self.held or self.closed:
            return
        if self._entering is None:  # two tasks of one request asking at once take one place
            self._entering = asyncio.Lock()
        async with self._entering:
            if self.held or self.closed:
                return
            await self.gate.acquire()
            if self.closed:  # the request ended while one of its tasks waited: nothing is left to hold it for
                self.gate.release(0.0)
                return
            self.held = True
            self.since = time.monotonic()

    def step_out(self) -> None:
        """The request holds no connection and waits on something else for a while: its place goes back, and its
        next connection asks for one again (and may be refused, before that connection's first statement)."""
        if self.held:
            self.held = False
            self.gate.release(time.monotonic() - self.since)

    def close(self) -> None:
        """The request is done; what it left running goes on without a place."""
        self.closed = True
        self.step_out()


current_admission: contextvars.ContextVar[Admission | None] = contextvars.ContextVar("db_admission", default=None)


def step_out() -> None:
    """Called where a request, between two transactions, waits on other work (a password hash: tens of ms, behind a
    queue of its own). Holding its place through that wait would let a registration flood fill every place with
    requests that do not use the database, and logins would be refused `overloaded` behind them."""
    admission = current_admission.get()
    if admission is not None:
        admission.step_out()


class GatedPool(AsyncAdaptedQueuePool):
    """The engines' pool: before a connection is handed to an API request, the request is admitted.

    `_do_get` runs inside SQLAlchemy's greenlet, in the calling task's context; `await_only` waits there on the
    event loop, as the pool's own queue does."""

    def _do_get(self) -> Any:
        admission = current_admission.get()
        if admission is not None and not admission.held and not admission.closed:
            await_only(admission.enter())
        return super()._do_get()
