"""The node's heartbeat: one task pings every socket of the node and closes those that sent nothing since.

aiohttp's own heartbeat keeps a timer per socket (a uvloop TimerHandle is ~540 bytes, with the callbacks that
reset it on every chunk received): a thirtieth of an idle socket (docs/benchmarks.md, "an idle socket under
16 KiB"). Here the sockets are marked by their reader instead (`Connection.heard`), and one task does the rest:

* every `heartbeat` seconds it pings every socket of the node (a 2-byte control frame, written at once);
* half of `heartbeat` later it closes every socket that sent nothing since that ping: no pong, no frame.

A client whose network died is therefore cut off between half an interval and an interval and a half after it
last spoke (12.5 s to 37.5 s); a client that answers pings, as every websocket library does by itself, is never
closed. A frame still being handled counts as heard (`BUSY`): a handler waiting on the database longer than the
pong timeout does not close the socket whose frame it handles.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from edutrack.realtime.protocol import Limits

if TYPE_CHECKING:
    from edutrack.realtime.connection import Connection

log = logging.getLogger(__name__)

QUIET = 0  # pinged, and nothing heard since
HEARD = 1  # a frame or a pong came since the last ping
BUSY = 2  # the reader is handling a frame of this socket


class Node(Protocol):
    """What the heartbeat needs of the gateway: its sockets and its limits (tests swap the limits)."""

    @property
    def connections(self) -> Iterable[Connection]: ...

    @property
    def limits(self) -> Limits: ...


class Heartbeat:
    """One per gateway; started by the first socket, stopped with the gateway."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="realtime-heartbeat")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._node.limits.heartbeat / 2)
            self.ping_all()
            # Read again: tests shorten the heartbeat of a running gateway.
            timeout = self._node.limits.heartbeat / 2
            await asyncio.sleep(timeout)
            self.close_silent(timeout)

    def ping_all(self) -> None:
        for conn in self._node.connections:  # no await in here: the set cannot change under the loop
            if conn.heard == HEARD:
                conn.heard = QUIET
            try:
                conn.writer.ping()
            except Exception:  # one socket's broken transport must not cost the others their ping
                log.exception("realtime: a heartbeat ping failed", extra={"user_id": conn.user_id})

    def close_silent(self, timeout: float) -> None:
        """Every socket still QUIET was pinged `timeout` seconds ago (one added since is HEARD) and sent nothing."""
        for conn in [c for c in self._node.connections if c.heard == QUIET]:
            log.debug("realtime: no pong, closing", extra={"user_id": conn.user_id})
            try:
                conn.writer.give_up(timeout)
            except Exception:  # the task must outlive one socket's failure: it is every socket's heartbeat
                log.exception("realtime: closing a silent socket failed", extra={"user_id": conn.user_id})
