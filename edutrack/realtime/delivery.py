"""Delivery of one channel to one socket: order, gap fill and resume (docs/websocket.md, "Resume").

  * chat ids are contiguous per channel, so the delivery keeps a cursor and accepts only cursor + 1; a hole means
    an event is still in flight or was lost, and the gap is read from PostgreSQL (never skipped);
  * while a gap read runs, live events of the channel wait in a pending list and are replayed after it,
    de-duplicated by id, so the client sees every message once, in order;
  * feed notifications have global ids: de-duplicated by id, delivered in arrival order.

A ChannelDelivery is the hub's subscriber for its channel on its socket. It knows nothing of sockets: it writes
frames through a `Sink` and reads gaps through an `Outlet`, so it is tested without either (tests/realtime/
test_delivery.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Coroutine
from typing import Any, Protocol

from edutrack import events
from edutrack.realtime import frames
from edutrack.realtime.frames import EPHEMERAL
from edutrack.realtime.protocol import Limits, dumps
from edutrack.services.chat import Channel

log = logging.getLogger(__name__)

SEEN_WINDOW = 1024  # feed ids remembered for de-duplication; older ones are covered by `floor`

Item = tuple[dict[str, Any], str | None]  # an event, and its text as published (None: read from the database)


class Sink(Protocol):
    """Where frames go (transport.SocketWriter)."""

    closing: bool

    def send(self, text: str, *, ephemeral: bool = False) -> None: ...


class Outlet(Protocol):
    """What a delivery needs from its socket (connection.Connection)."""

    @property
    def user_id(self) -> int: ...

    def current(self, delivery: ChannelDelivery) -> bool:
        """Still this socket's subscription of its channel, and the socket still open."""

    async def read_missed(self, channel: Channel, cursor: int) -> list[dict[str, Any]]:
        """The channel's events after `cursor` in id order, up to replay_limit + 1."""

    async def read_head(self, channel: Channel) -> int:
        """The channel's newest id."""

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as a task of the socket (cancelled at its teardown)."""

    def membership_changed(self, channel: str) -> None: ...

    def moderation_changed(self, channel: str) -> None: ...


class ChannelDelivery:
    __slots__ = ("channel", "cursor", "dirty", "floor", "gap_timer", "held", "last_typing", "limits", "outlet",
                 "pending", "running", "seen", "seen_order", "sink", "syncing")

    def __init__(self, channel: Channel, outlet: Outlet, sink: Sink, limits: Limits) -> None:
        self.channel = channel
        self.outlet = outlet
        self.sink = sink
        self.limits = limits
        self.cursor = 0  # last id delivered (chat: contiguous; feed: highest)
        self.floor = 0  # feed: ids at or below were covered by the resume read
        self.syncing = True  # a gap read is due or running: live events wait in `pending`
        self.running = False
        self.dirty = False  # another gap read is needed after the running one
        self.pending: list[Item] = []
        # Chat messages that arrived ahead of a hole, waiting a moment for the missing one: two nodes publish
        # consecutive messages of a channel in either order, so most holes close by themselves within ms.
        self.held: dict[int, Item] = {}
        self.gap_timer: asyncio.TimerHandle | None = None
        # Feed ids delivered (de-duplication), made by the first notification: a chat subscription never needs
        # them, and an empty set and deque are ~850 bytes on each of thousands of subscriptions.
        self.seen: set[int] | None = None
        self.seen_order: deque[int] | None = None
        self.last_typing = 0.0

    # --- live events (the hub calls these) ----------------------------------------------------------------

    def on_event(self, channel: str, event: dict[str, Any], text: str | None) -> None:
        if self.sink.closing:
            return
        kind = event.get("type")
        if kind == events.MEMBERSHIP_CHANGED:
            # For the node, not the client; every local socket on the channel gets it, the gateway acts once.
            self.outlet.membership_changed(channel)
            return
        if kind == events.MODERATION_CHANGED:
            self.outlet.moderation_changed(channel)
            return
        if kind in EPHEMERAL:
            if self.syncing or event.get("user_id") == self.outlet.user_id:
                return
            self.sink.send(text or dumps(event), ephemeral=True)
            return
        if self.syncing:
            if len(self.pending) > self.limits.replay_limit:
                # The gap read that follows covers them; do not hold an unbounded list.
                self.pending.clear()
                self.dirty = True
            self.pending.append((event, text))
            return
        if kind == "chat.message":
            self._on_message(event, text)
            return
        self._deliver(event, text)

    def _on_message(self, event: dict[str, Any], text: str | None) -> None:
        message_id = event.get("id")
        if not isinstance(message_id, int) or message_id <= self.cursor:
            return
        if message_id > self.cursor + 1:
            # A hole: an earlier message is still on its way, or was lost. Hold this one briefly; if the
            # hole does not close by itself, read it from the database.
            self.held[message_id] = (event, text)
            if len(self.held) > self.limits.replay_limit:
                self.request_sync()
            elif self.gap_timer is None:
                self.gap_timer = asyncio.get_running_loop().call_later(self.limits.gap_grace, self._gap_timeout)
            return
        self._deliver(event, text)
        while self.cursor + 1 in self.held:
            self._deliver(*self.held.pop(self.cursor + 1))
        if not self.held and self.gap_timer is not None:
            self.gap_timer.cancel()
            self.gap_timer = None

    def on_redis_recovered(self, channels: set[str]) -> None:
        self.request_sync()
        if self.channel.derived:
            # A membership change published during the outage was lost with it.
            self.outlet.membership_changed(self.channel.name)

    def _gap_timeout(self) -> None:
        self.gap_timer = None
        if self.held and self.outlet.current(self):
            self.request_sync()

    def _deliver(self, event: dict[str, Any], text: str | None) -> None:
        kind = event.get("type")
        if kind == "chat.message":
            message_id = event["id"]
            if message_id <= self.cursor:
                return
            self.cursor = message_id
        elif kind == "notification":
            note_id = event.get("id")
            if not isinstance(note_id, int) or note_id <= self.floor:
                return
            seen, order = self.seen, self.seen_order
            if seen is None or order is None:
                seen, order = self.seen, self.seen_order = set(), deque()
            elif note_id in seen:
                return
            seen.add(note_id)
            order.append(note_id)
            if len(order) > SEEN_WINDOW:
                oldest = order.popleft()
                seen.discard(oldest)
                self.floor = max(self.floor, oldest)
            self.cursor = max(self.cursor, note_id)
        self.sink.send(text or dumps(event))

    # --- gap reads ---------------------------------------------------------------------------------------------

    def request_sync(self) -> None:
        self.syncing = True
        if self.held:
            self.pending.extend(self.held.values())
            self.held.clear()
        self.stop_timer()
        if self.running:
            self.dirty = True
            return
        self.running = True
        self.outlet.spawn(self.sync())

    async def sync(self, first: list[dict[str, Any]] | None = None) -> None:
        """Read what the channel has after the cursor, deliver it, then release the pending live events.
        The caller has set `running`. `first`: the first read, already done by the caller."""
        try:
            if first is not None:
                await self._apply_gap(first)
            else:
                self.dirty = True
            while self.dirty:
                self.dirty = False
                await self._apply_gap(await self.outlet.read_missed(self.channel, self.cursor))
        except Exception as exc:
            log.warning("realtime: gap read failed; asking the client to resync", extra={"error": repr(exc)})
            self.sink.send(frames.resync(self.channel.name, self.cursor, None, "unavailable"))
        finally:
            self.running = False
            self.syncing = False
        if not self.outlet.current(self):
            return
        pending, self.pending = self.pending, []
        pending.sort(key=_event_id)
        for event, text in pending:
            self.on_event(self.channel.name, event, text)

    async def _apply_gap(self, missed: list[dict[str, Any]]) -> None:
        if len(missed) > self.limits.replay_limit:
            # Too much to replay over the socket: the client pages (from, to] over REST.
            head = await self.outlet.read_head(self.channel)
            self.sink.send(frames.resync(self.channel.name, self.cursor, head, "gap_too_large"))
            self.cursor = head
            self.floor = max(self.floor, head)
            return
        for event in missed:
            self._deliver(event, None)

    def stop_timer(self) -> None:
        if self.gap_timer is not None:
            self.gap_timer.cancel()
            self.gap_timer = None


def _event_id(item: Item) -> int:
    value = item[0].get("id")
    return value if isinstance(value, int) else 0
