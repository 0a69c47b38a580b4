"""Password hashing with Argon2 (passlib's API from the maintained `libpass` fork, argon2-cffi), off the event loop.

Hashes made under passlib 1.7.4 verify unchanged (tests/foundation/test_profile.py keeps one).

Argon2 is deliberately expensive (ARGON2_MEMORY_COST of memory and most of a core for a moment), and anyone can
ask for it: a login, a registration. So the work is admitted, not queued without end:
  * `workers` hashes run at once, each in a thread (argon2-cffi releases the GIL);
  * new hashes (registration, password change and reset, a rehash) may hold only `new_hash_slots` of them, so a
    flood of registrations leaves the other workers to logins, which check a password (`verify`) and go first;
  * at most `queue_limit` checks wait for a worker, and a quarter of that (at least one) new hashes; the next
    one is refused at once (`Busy`, answered 503 with Retry-After) instead of making every later login wait.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from passlib.context import CryptContext

from edutrack import errors
from edutrack.i18n import _

T = TypeVar("T")


class Busy(errors.ServiceUnavailable):
    """Every worker is taken and the queue of this kind of work is full: 503 with Retry-After."""

    code = "busy"

    def __init__(self, retry_after: int) -> None:
        super().__init__(_("The server is busy checking passwords. Try again in a few seconds."),
                         details={"retry_after": retry_after}, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class _Lane:
    """Admission for one kind of work: how many may run, how many may wait."""

    def __init__(self, running: int, queue_limit: int) -> None:
        self.slots = asyncio.Semaphore(running)
        self.queue_limit = queue_limit
        self.waiting = 0


class PasswordHasher:
    def __init__(self, time_cost: int, memory_cost: int, parallelism: int, workers: int = 2,
                 *, new_hash_slots: int | None = None, queue_limit: int = 32) -> None:
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__time_cost=time_cost,
            argon2__memory_cost=memory_cost,
            argon2__parallelism=parallelism,
        )
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        # Every call holds one of these while its hash runs; nothing waits inside the executor's own queue.
        self._all = _Lane(workers, queue_limit)
        self._new = _Lane(new_hash_slots or max(1, workers // 2), max(1, queue_limit // 4))
        self._seconds = 0.05  # moving average of one hash, for Retry-After
        # Verifying against this when an account does not exist keeps login time independent of existence.
        self._dummy_hash = self._context.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        """A new hash; Busy when the queue of new hashes is full."""
        async with self._admitted(self._new):
            return await self._run(self._context.hash, password)

    def refuse_if_full(self) -> None:
        """Busy now if a new hash would be refused now: lets a caller refuse before work of its own (a database
        read) that the refusal would waste. `hash` still decides; this only answers early."""
        lane = self._new
        if lane.slots.locked() and lane.waiting >= lane.queue_limit:
            raise Busy(self.retry_after(lane.waiting))

    async def hash_if_idle(self, password: str) -> str | None:
        """A new hash if a worker is free now, else None: for work that can wait (a rehash at the next login)."""
        if self._new.slots.locked() or self._all.slots.locked():
            return None
        return await self.hash(password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, bool]:
        """Return (valid, needs_rehash). A missing hash costs the same time as a real check."""
        ok = await self._run(self._context.verify, password, password_hash or self._dummy_hash)
        if password_hash is None:
            return False, False
        return ok, ok and self._context.needs_update(password_hash)

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        async with self._admitted(self._all):
            started = time.monotonic()
            try:
                return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
            finally:
                self._seconds = 0.8 * self._seconds + 0.2 * (time.monotonic() - started)

    def _admitted(self, lane: _Lane) -> _Admission:
        return _Admission(self, lane)

    def retry_after(self, lane_waiting: int) -> int:
        return max(1, math.ceil((lane_waiting + 1) * self._seconds / self.workers))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class _Admission:
    """`async with`: a place in `lane`, or Busy at once when its queue is full."""

    def __init__(self, hasher: PasswordHasher, lane: _Lane) -> None:
        self._hasher = hasher
        self._lane = lane

    async def __aenter__(self) -> None:
        lane = self._lane
        if lane.slots.locked():
            if lane.waiting >= lane.queue_limit:
                raise Busy(self._hasher.retry_after(lane.waiting))
            lane.waiting += 1
            try:
                await lane.slots.acquire()
            finally:
                lane.waiting -= 1
        else:
            await lane.slots.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self._lane.slots.release()
