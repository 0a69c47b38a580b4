"""The newest id of chat channels for subscribes without `since`, read for many sockets in one statement.

A socket that subscribes without a cursor needs only its channel's head (its cursor starts there). When thousands
connect at once (a node restart, a morning), one statement per subscribe was a tenth of the node's CPU
(docs/benchmarks.md, "Memory per socket and connect time"); the heads asked for within one turn of the event loop
are read together instead.

Still exact: a subscribe asks only after Redis confirmed its subscription (handlers.subscribe), and the statement
that answers it starts later, so every message committed after the head it reads reaches the socket live.
"""

from __future__ import annotations

import asyncio
import logging

from edutrack.context import AppContext
from edutrack.services import chat

log = logging.getLogger(__name__)

MAX_PER_READ = 500  # channels per statement


class HeadReads:
    """One per gateway. `reads` counts statements (diagnostics and tests)."""

    def __init__(self, ctx: AppContext, db_slots: asyncio.Semaphore) -> None:
        self._ctx = ctx
        self._db_slots = db_slots
        self._wanted: dict[str, list[asyncio.Future[int]]] = {}
        self._reading: set[asyncio.Task[None]] = set()
        self.reads = 0

    async def head(self, channel: str) -> int:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[int] = loop.create_future()
        if not self._wanted:
            # After every callback already due in this turn: the subscribes that arrived together join.
            loop.call_soon(self._flush)
        self._wanted.setdefault(channel, []).append(answer)
        return await answer

    def _flush(self) -> None:
        wanted, self._wanted = self._wanted, {}
        names = list(wanted)
        for start in range(0, len(names), MAX_PER_READ):
            part = {name: wanted[name] for name in names[start:start + MAX_PER_READ]}
            task = asyncio.create_task(self._read(part), name="realtime-heads")
            self._reading.add(task)
            task.add_done_callback(self._reading.discard)

    async def _read(self, wanted: dict[str, list[asyncio.Future[int]]]) -> None:
        try:
            async with self._db_slots:
                self.reads += 1
                heads = await chat.chat_heads(self._ctx, list(wanted))
        except BaseException as exc:
            for answers in wanted.values():
                for answer in answers:
                    if not answer.done():
                        answer.set_exception(exc if isinstance(exc, Exception) else ConnectionError("stopped"))
            if not isinstance(exc, Exception):
                raise
            return
        for name, answers in wanted.items():
            for answer in answers:
                if not answer.done():  # its subscriber went away meanwhile
                    answer.set_result(heads[name])

    async def close(self) -> None:
        for task in list(self._reading):
            task.cancel()
        if self._reading:
            await asyncio.gather(*self._reading, return_exceptions=True)
