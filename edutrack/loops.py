"""The event loop the long-running roles (`edutrack api`, `run`, `relay`, `notifier`) run on.

EVENT_LOOP=uvloop (the default) runs them on uvloop, libuv's loop for asyncio: the same program with cheaper
sockets, timers and callbacks (docs/benchmarks.md measures it here). Where uvloop does not install (Windows, PyPy)
or EVENT_LOOP=asyncio, they run on asyncio's own loop; nothing else in EduTrack depends on which one it is.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from edutrack.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(settings: Settings) -> LoopFactory:
    """What makes the loop: uvloop's when asked for and installed, else asyncio's."""
    if settings.event_loop == "uvloop":
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            log.warning("EVENT_LOOP=uvloop but uvloop is not installed: running on asyncio's loop")
        else:
            factory: LoopFactory = uvloop.new_event_loop
            return factory
    return asyncio.new_event_loop


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def announce() -> None:
    """Log which loop is running: called from the loop itself, so the line says what really runs."""
    log.info("event loop", extra={"event_loop": loop_name(asyncio.get_running_loop())})


def run(settings: Settings, main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on the loop the settings choose."""

    async def announced() -> T:
        announce()
        return await main

    with asyncio.Runner(loop_factory=loop_factory(settings)) as runner:
        return runner.run(announced())
