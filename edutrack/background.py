"""Tasks that outlive the request that started them, owned by the app so shutdown can wait for them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception(), extra={"task": task.get_name()})

    async def drain(self, timeout: float = 10.0) -> None:
        """Let running tasks finish (graceful shutdown); cancel what is still running after `timeout`."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._tasks)


async def every(stop: asyncio.Event, seconds: Callable[[], float], one_round: Callable[[], Awaitable[object]], *,
                what: str, expected: tuple[type[BaseException], ...]) -> None:
    """Run `one_round` until `stop` is set, `seconds()` apart (read each time: tests change the settings). An
    `expected` failure (the database or the network away) is logged and the next round retries."""
    while not stop.is_set():
        try:
            await one_round()
        except expected as exc:
            log.warning("%s round failed; next round retries", what, extra={"error": repr(exc)})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds())


async def in_batches(items: Sequence[T], size: int, at_once: int, work: Callable[[list[T]], Awaitable[int]]) -> int:
    """`work` on `items` in slices of `size`, `at_once` at a time; the sum of what it returns. The first failure
    is raised once every slice has settled (the others' transactions are their own: committed or rolled back)."""
    gate = asyncio.Semaphore(at_once)

    async def one(batch: list[T]) -> int:
        async with gate:
            return await work(batch)

    results = await asyncio.gather(*(one(list(items[i:i + size])) for i in range(0, len(items), size)),
                                   return_exceptions=True)
    failure = next((r for r in results if isinstance(r, BaseException)), None)
    if failure is not None:
        raise failure
    return sum(r for r in results if isinstance(r, int))
