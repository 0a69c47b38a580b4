"""Long-running roles besides the API (`edutrack relay`, `edutrack notifier`) and how `edutrack run`
puts them all in one process.

A worker is `async def worker(settings, stop: asyncio.Event) -> None`: it runs until `stop` is set,
then finishes its work in flight and returns. Features register theirs in `WORKERS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from edutrack.settings import Settings

log = logging.getLogger(__name__)

Worker = Callable[[Settings, asyncio.Event], Coroutine[Any, Any, None]]


def available_workers() -> dict[str, Worker]:
    """Workers that exist in this version, by role name, in start order."""
    from edutrack.mailcatcher import mail_catcher_worker
    from edutrack.notifier.worker import notifier_worker
    from edutrack.outbox.relay import relay_worker

    # The mail catcher first, so that in `edutrack run` the notifier finds it listening; it idles unless
    # DEV_MAIL_CATCHER is on.
    return {"mailcatcher": mail_catcher_worker, "relay": relay_worker, "notifier": notifier_worker}


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


async def run_workers(settings: Settings, roles: list[str]) -> None:
    workers = available_workers()
    stop = asyncio.Event()
    _stop_on_signals(stop)
    tasks = [asyncio.create_task(workers[role](settings, stop), name=role) for role in roles]
    await _supervise(tasks, stop)


async def _supervise(tasks: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
    # If one role dies, stop the others rather than limp along half-alive.
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    stopper.cancel()
    for task, result in zip(tasks, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            log.error("role failed", exc_info=result, extra={"role": task.get_name()})
            raise result


async def run_all(settings: Settings, app: web.Application, host: str, port: int, roles: list[str]) -> None:
    """The API plus the given worker roles in one event loop; SIGTERM stops them all gracefully."""
    workers = available_workers()
    stop = asyncio.Event()
    _stop_on_signals(stop)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=10.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("EduTrack is running", extra={"url": f"http://{host}:{port}", "roles": ["api", *roles]})
        tasks = [asyncio.create_task(workers[role](settings, stop), name=role) for role in roles]
        await _supervise(tasks, stop)
    finally:
        await runner.cleanup()
