"""Per-channel delivery (edutrack/realtime/delivery.py) without sockets, Redis or PostgreSQL: ordering, holes that
close by themselves or are read, live events held during a gap read, resync, feed de-duplication."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

import pytest

from edutrack.realtime.delivery import SEEN_WINDOW, ChannelDelivery
from edutrack.realtime.protocol import Limits
from edutrack.services.chat import Channel, parse_channel
from tests.realtime.helpers import checked, message_event

CHAT = "class:7"
FEED = "user:5"
LIMITS = replace(Limits(), gap_grace=0.05, replay_limit=10)


class FakeSocket:
    """Sink and outlet at once: frames land in `sent`; the channel's stored history is `stored`."""

    user_id = 5

    def __init__(self, stored: list[dict[str, Any]] | None = None) -> None:
        self.closing = False
        self.sent: list[dict[str, Any]] = []
        self.stored = stored or []
        self.reads: list[int] = []  # cursors of the gap reads
        self.fail_reads = False
        self.read_gate: asyncio.Event | None = None  # set: a read waits for it
        self.tasks: list[asyncio.Task[None]] = []
        self.membership_changes: list[str] = []
        self.delivery: ChannelDelivery | None = None

    def send(self, text: str, *, ephemeral: bool = False) -> None:
        self.sent.append(checked(json.loads(text)))

    def current(self, delivery: ChannelDelivery) -> bool:
        return not self.closing and delivery is self.delivery

    async def read_missed(self, channel: Channel, cursor: int) -> list[dict[str, Any]]:
        self.reads.append(cursor)
        if self.read_gate is not None:
            await self.read_gate.wait()
        if self.fail_reads:
            raise ConnectionError("the database is away")
        return [e for e in self.stored if e["id"] > cursor][:LIMITS.replay_limit + 1]

    async def read_head(self, channel: Channel) -> int:
        return max((e["id"] for e in self.stored), default=0)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(work))

    def membership_changed(self, channel: str) -> None:
        self.membership_changes.append(channel)

    def ids(self, kind: str = "chat.message") -> list[int]:
        return [f["id"] for f in self.sent if f["type"] == kind]

    async def settle(self) -> None:
        while self.tasks:
            await self.tasks.pop(0)


def message(message_id: int) -> dict[str, Any]:
    return message_event(CHAT, message_id, f"m{message_id}")


def note(note_id: int) -> dict[str, Any]:
    return {"type": "notification", "channel": FEED, "id": note_id, "kind": "news", "about_user_id": None,
            "payload": {"title": "t"}, "created_at": None, "read": False}


async def live(socket: FakeSocket, name: str = CHAT, cursor: int = 0) -> ChannelDelivery:
    """A delivery whose first read is done: live from `cursor`."""
    delivery = ChannelDelivery(parse_channel(name), socket, socket, LIMITS)
    socket.delivery = delivery
    delivery.cursor = delivery.floor = cursor
    delivery.running = True
    await delivery.sync([])
    return delivery


def publish(delivery: ChannelDelivery, event: dict[str, Any]) -> None:
    delivery.on_event(event["channel"], event, json.dumps(event))


async def test_in_order_messages_go_out_at_once_and_repeats_are_dropped() -> None:
    socket = FakeSocket()
    delivery = await live(socket)
    for message_id in (1, 2, 2, 1, 3):
        publish(delivery, message(message_id))
    assert socket.ids() == [1, 2, 3]
    assert delivery.cursor == 3
    assert not socket.reads


async def test_a_hole_that_closes_by_itself_is_not_read() -> None:
    socket = FakeSocket()
    delivery = await live(socket)
    publish(delivery, message(2))
    publish(delivery, message(3))
    assert socket.ids() == []  # held behind the hole
    publish(delivery, message(1))
    assert socket.ids() == [1, 2, 3]
    assert delivery.gap_timer is None
    await asyncio.sleep(LIMITS.gap_grace * 2)
    assert socket.reads == []
    assert socket.ids() == [1, 2, 3]


async def test_a_hole_still_open_after_the_grace_is_read_from_the_database() -> None:
    socket = FakeSocket(stored=[message(n) for n in (1, 2, 3)])
    delivery = await live(socket)
    publish(delivery, message(3))  # 1 and 2 were published nowhere (lost)
    await asyncio.sleep(LIMITS.gap_grace * 2)
    await socket.settle()
    assert socket.reads == [0]
    assert socket.ids() == [1, 2, 3]  # 3 once: read with the gap, the held copy dropped as a repeat
    publish(delivery, message(4))
    assert socket.ids() == [1, 2, 3, 4]


async def test_live_events_wait_during_a_gap_read_and_follow_it_in_order_once() -> None:
    socket = FakeSocket(stored=[message(n) for n in (1, 2, 3)])
    delivery = ChannelDelivery(parse_channel(CHAT), socket, socket, LIMITS)
    socket.delivery = delivery
    delivery.running = True
    socket.read_gate = asyncio.Event()
    first = asyncio.create_task(delivery.sync())  # a resume from 0 whose read is slow
    await asyncio.sleep(0)
    for message_id in (5, 3, 4):  # committed meanwhile, published while the read runs (3 is in both)
        publish(delivery, message(message_id))
    socket.stored += [message(4), message(5)]
    assert socket.sent == []
    socket.read_gate.set()
    await first
    assert socket.ids() == [1, 2, 3, 4, 5]


async def test_a_gap_too_large_to_replay_becomes_a_resync_to_the_head() -> None:
    socket = FakeSocket(stored=[message(n) for n in range(1, LIMITS.replay_limit + 6)])
    delivery = await live(socket)
    publish(delivery, message(LIMITS.replay_limit + 5))
    await asyncio.sleep(LIMITS.gap_grace * 2)
    await socket.settle()
    [resync] = [f for f in socket.sent if f["type"] == "resync"]
    assert resync == {"type": "resync", "channel": CHAT, "from": 0, "to": LIMITS.replay_limit + 5,
                      "reason": "gap_too_large"}
    assert socket.ids() == []  # the client pages (from, to] over REST; live continues after `to`
    publish(delivery, message(LIMITS.replay_limit + 6))
    assert socket.ids() == [LIMITS.replay_limit + 6]


async def test_a_failed_gap_read_asks_the_client_to_resync_from_its_cursor() -> None:
    socket = FakeSocket()
    delivery = await live(socket, cursor=4)
    socket.fail_reads = True
    publish(delivery, message(6))
    await asyncio.sleep(LIMITS.gap_grace * 2)
    await socket.settle()
    assert {"type": "resync", "channel": CHAT, "from": 4, "to": None, "reason": "unavailable"} in socket.sent


async def test_more_held_messages_than_can_be_replayed_start_the_read_at_once() -> None:
    head = LIMITS.replay_limit + 3
    socket = FakeSocket(stored=[message(n) for n in range(1, head + 1)])
    delivery = await live(socket)
    for message_id in range(3, head + 1):  # 1 and 2 missing, more held than can be replayed
        publish(delivery, message(message_id))
    assert delivery.gap_timer is None
    assert len(socket.tasks) == 1  # not after the grace: now
    assert not delivery.held  # handed to the read, not kept
    await socket.settle()
    assert [f for f in socket.sent if f["type"] == "resync"] == [
        {"type": "resync", "channel": CHAT, "from": 0, "to": head, "reason": "gap_too_large"}]
    publish(delivery, message(head + 1))
    assert socket.ids() == [head + 1]


async def test_ephemeral_events_are_never_held_and_never_echoed() -> None:
    socket = FakeSocket()
    delivery = ChannelDelivery(parse_channel(CHAT), socket, socket, LIMITS)
    socket.delivery = delivery
    typing = {"type": "typing", "channel": CHAT, "user_id": 9}
    publish(delivery, typing)  # during the first read: dropped, not replayed after it
    delivery.running = True
    await delivery.sync([])
    publish(delivery, {"type": "typing", "channel": CHAT, "user_id": socket.user_id})  # our own: not echoed
    publish(delivery, {"type": "presence", "channel": CHAT, "user_id": 9, "status": "online"})
    assert [f["type"] for f in socket.sent] == ["presence"]


async def test_feed_notifications_are_deduplicated_by_id_in_arrival_order() -> None:
    socket = FakeSocket()
    delivery = await live(socket, FEED, cursor=10)
    for note_id in (12, 11, 12, 9, 13):  # global ids: no holes to detect; 9 was covered by the resume
        publish(delivery, note(note_id))
    assert socket.ids("notification") == [12, 11, 13]
    assert delivery.cursor == 13


async def test_the_feed_remembers_a_bounded_window_of_ids() -> None:
    socket = FakeSocket()
    delivery = await live(socket, FEED)
    for note_id in range(1, SEEN_WINDOW + 11):
        publish(delivery, note(note_id))
    assert len(delivery.seen) == SEEN_WINDOW
    assert delivery.floor == 10  # forgotten ids are below the floor: a repeat of one is still dropped
    publish(delivery, note(3))
    assert socket.ids("notification")[-1] == SEEN_WINDOW + 10


async def test_membership_events_go_to_the_node_and_redis_recovery_rereads_the_gap() -> None:
    socket = FakeSocket(stored=[message(1), message(2)])
    delivery = await live(socket)
    delivery.on_event(CHAT, {"type": "membership.changed", "channel": CHAT}, None)
    assert socket.membership_changes == [CHAT]
    assert socket.sent == []
    delivery.on_redis_recovered({CHAT})  # events published while the subscription was away
    await socket.settle()
    assert socket.ids() == [1, 2]
    assert socket.membership_changes == [CHAT, CHAT]  # one published during the outage was lost with it


@pytest.mark.parametrize("closing", [True, False])
async def test_nothing_is_delivered_once_the_socket_closes(closing: bool) -> None:
    socket = FakeSocket()
    delivery = await live(socket)
    socket.closing = closing
    publish(delivery, message(1))
    assert socket.ids() == ([] if closing else [1])
