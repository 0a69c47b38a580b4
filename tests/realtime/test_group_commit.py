"""Group commit of chat sends (edutrack/services/chat_batch.py): sends that arrive together are stored in one
statement, and each sender still gets exactly its own answer: its id, idempotency on client_msg_id, its own
error, ids in arrival order."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis.asyncio import Redis

from edutrack import errors
from edutrack.security.tokens import Principal
from edutrack.services import chat as chat_service
from tests.realtime.helpers import (
    collect_messages,
    connect,
    gateway_of,
    make_class_world,
    notifications_of,
    recv,
    send,
    stored_messages,
    subscribe,
)
from tests.support.services import private_redis


async def _ack_and_messages(ws, req: str, count: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ack of `req` and the first `count` chat messages, in whatever order they arrive."""
    ack: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = []
    while ack is None or len(messages) < count:
        frame = await recv(ws)
        if frame.get("req") == req:
            ack = frame
        elif frame["type"] == "chat.message":
            messages.append(frame)
    return ack, messages


def _principal(actor) -> Principal:
    return Principal(actor.id, actor.user.role, actor.user.school_id, actor.user.is_superuser)


async def test_sockets_sending_at_once_each_get_their_own_ack_and_readers_see_every_message_in_order(
        client, ctx, factory):
    world = await make_class_world(ctx, factory, students=6)
    sockets = [await connect(client, student) for student in world.students]
    for ws in sockets:
        await subscribe(ws, world.channel)
    await asyncio.gather(*(send(ws, {"type": "chat.send", "channel": world.channel, "text": f"от {i}",
                                     "client_msg_id": f"g-{i}", "req": f"r{i}"}) for i, ws in enumerate(sockets)))
    frames = await asyncio.gather(*(_ack_and_messages(ws, f"r{i}", 6) for i, ws in enumerate(sockets)))
    acks = [ack for ack, _ in frames]
    assert sorted(a["id"] for a in acks) == [1, 2, 3, 4, 5, 6]
    assert [a["client_msg_id"] for a in acks] == [f"g-{i}" for i in range(6)]
    assert not any(a["duplicate"] for a in acks)
    for _, got in frames:
        assert [m["id"] for m in got] == [1, 2, 3, 4, 5, 6]
        # Each message carries the text and sender its ack promised.
        by_id = {m["id"]: m for m in got}
        for i, ack in enumerate(acks):
            assert by_id[ack["id"]]["text"] == f"от {i}"
            assert by_id[ack["id"]]["sender_id"] == world.students[i].id
    assert await stored_messages(ctx, world.channel) == 6
    for ws in sockets:
        await ws.close()


async def test_sends_that_arrive_together_share_one_statement_and_keep_arrival_order(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=3)
    sends = gateway_of(client).sends
    reader = await connect(client, world.teacher)
    await subscribe(reader, world.channel)
    senders = [_principal(s) for s in world.students]
    before = sends.batches
    results = await asyncio.gather(*(sends.send(senders[i % 3], world.channel, f"m{i}", None, known_member=True)
                                     for i in range(20)))
    assert sends.batches == before + 1  # queued in one loop turn: one INSERT, one commit
    assert [r.message["id"] for r in results] == list(range(1, 21))  # ids follow arrival order
    assert [r.message["text"] for r in results] == [f"m{i}" for i in range(20)]
    got = await collect_messages(reader, world.channel, 20)
    assert [(m["id"], m["text"]) for m in got] == [(i + 1, f"m{i}") for i in range(20)]
    await reader.close()


async def test_duplicate_client_msg_id_in_one_batch_and_across_batches_stores_one_message(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    sends = gateway_of(client).sends
    student = _principal(world.students[0])
    other = _principal(world.students[1])
    first, again, same_id_other_sender = await asyncio.gather(
        sends.send(student, world.channel, "Привет", "dup-1", known_member=True),
        sends.send(student, world.channel, "Привет", "dup-1", known_member=True),
        sends.send(other, world.channel, "Тоже привет", "dup-1", known_member=True),  # ids are per sender
    )
    assert first.duplicate is False
    assert again.duplicate is True
    assert first.message["id"] == again.message["id"] == 1
    assert same_id_other_sender.duplicate is False
    assert same_id_other_sender.message["id"] == 2
    later = await sends.send(student, world.channel, "Привет", "dup-1", known_member=True)
    assert later.duplicate is True
    assert later.message["id"] == 1
    assert later.message["text"] == "Привет"
    # The REST path sees the batched message as the stored one, and the other way round.
    resp = await client.post(f"/api/v1/chats/{world.channel}/messages", json={"text": "x", "client_msg_id": "dup-1"},
                             headers=world.students[0].headers)
    assert resp.status == 200
    assert (await resp.json())["id"] == 1
    # A resend racing the first send on the other path (REST vs socket) still stores one message.
    raced = await asyncio.gather(
        chat_service.send_message(ctx, student, world.channel, "гонка", "dup-2"),
        sends.send(student, world.channel, "гонка", "dup-2", known_member=True),
        sends.send(student, world.channel, "гонка", "dup-2", known_member=True),
    )
    assert len({r.message["id"] for r in raced}) == 1
    assert sum(not r.duplicate for r in raced) == 1
    assert await stored_messages(ctx, world.channel) == 3


async def test_client_msg_id_reused_in_another_channel_fails_only_that_send(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    sends = gateway_of(client).sends
    student = _principal(world.students[0])
    dm = chat_service.dm_channel(world.students[0].id, world.teacher.id)
    results = await asyncio.gather(
        sends.send(student, world.channel, "в класс", "same", known_member=True),
        sends.send(student, dm, "лично", "same"),
        sends.send(student, world.channel, "ещё", None, known_member=True),
        return_exceptions=True,
    )
    assert isinstance(results[1], errors.Conflict)
    assert results[1].code == "client_msg_id_reused"
    assert [r.message["id"] for r in (results[0], results[2])] == [1, 2]
    with pytest.raises(errors.Conflict):
        await sends.send(student, dm, "лично", "same")
    assert await stored_messages(ctx, dm) == 0


async def test_a_failing_message_does_not_fail_the_others_in_its_batch(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    sends = gateway_of(client).sends
    good = _principal(world.students[0])
    # Passes every check before the database (a socket's subscription vouches for it) but cannot be stored:
    # its sender does not exist (a foreign key violation), so the batch's statement fails as a whole.
    ghost = Principal(10**12, "student", world.school_id, False)
    results = await asyncio.gather(
        sends.send(good, world.channel, "раз", "ok-1", known_member=True),
        sends.send(ghost, world.channel, "призрак", "ghost-1", known_member=True),
        sends.send(good, world.channel, "два", "ok-2", known_member=True),
        sends.send(good, world.channel, "   ", None, known_member=True),  # bad payload: refused before the batch
        sends.send(_principal(world.outsider), world.channel, "чужой", None),  # not a member
        return_exceptions=True,
    )
    ok_1, ghost_result, ok_2, blank, outsider = results
    assert not isinstance(ok_1, BaseException)
    assert not isinstance(ok_2, BaseException)
    assert (ok_1.message["id"], ok_2.message["id"]) == (1, 2)  # no hole where the failed one was
    assert isinstance(ghost_result, Exception)
    assert not isinstance(ghost_result, errors.ApiError)
    assert isinstance(blank, errors.ValidationFailed)
    assert isinstance(outsider, errors.Forbidden)
    assert outsider.code == "not_a_member"
    assert await stored_messages(ctx, world.channel) == 2
    nxt = await sends.send(good, world.channel, "три", None, known_member=True)
    assert nxt.message["id"] == 3


async def test_private_messages_in_a_batch_reach_the_recipients_feed(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    sends = gateway_of(client).sends
    teacher = world.teacher
    feed = await connect(client, teacher)
    await subscribe(feed, f"user:{teacher.id}")
    students = world.students
    results = await asyncio.gather(*(
        sends.send(_principal(s), chat_service.dm_channel(s.id, teacher.id), f"вопрос {i}", f"q{i}")
        for i, s in enumerate(students)))
    assert [r.message["id"] for r in results] == [1, 1]  # each private chat counts on its own
    notes = await notifications_of(ctx, teacher.id)
    assert sorted((n.payload["channel"], n.payload["message_id"], n.payload["text"]) for n in notes) == sorted(
        (chat_service.dm_channel(s.id, teacher.id), 1, f"вопрос {i}") for i, s in enumerate(students))
    live = []
    while len(live) < 2:
        frame = await feed.receive_json(timeout=5)
        if frame["type"] == "notification":
            live.append(frame)
    assert sorted(f["id"] for f in live) == sorted(n.id for n in notes)
    assert all(f["kind"] == "message" and f["payload"]["sender"] for f in live)
    await feed.close()


async def test_members_joining_at_once_share_one_member_query_and_outsiders_are_still_refused(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=5)
    members = [*world.students, world.teacher, world.parent]
    sockets = [await connect(client, actor) for actor in members]
    outsider = await connect(client, world.outsider)
    stranger = await connect(client, world.stranger)
    await chat_service.send_message(ctx, _principal(world.teacher), world.channel, "до переподключения", None)
    replies = await asyncio.gather(*(subscribe(ws, world.channel, since=0) for ws in [*sockets, outsider, stranger]))
    assert [r["type"] for r in replies] == ["subscribed"] * len(members) + ["error", "error"]
    assert replies[-1]["code"] == replies[-2]["code"] == "not_a_member"
    assert all(r["last_id"] == 1 and r["missed"] == 1 for r in replies[:-2])
    for ws in sockets:  # the missed message follows `subscribed`, read in the same statement as the head
        [missed] = await collect_messages(ws, world.channel, 1)
        assert missed["id"] == 1
        assert missed["text"] == "до переподключения"
        assert missed["sender"]
    for ws in [*sockets, outsider, stranger]:
        await ws.close()


async def test_a_joiner_that_goes_away_does_not_cancel_the_member_list_the_others_wait_for(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    gateway = gateway_of(client)
    channel = chat_service.parse_channel(world.channel)
    first = asyncio.create_task(gateway.join(_principal(world.students[0]), channel))
    await asyncio.sleep(0)  # the first joiner starts the one query
    second = asyncio.create_task(gateway.join(_principal(world.students[1]), channel))
    outsider = asyncio.create_task(gateway.join(_principal(world.outsider), channel))
    await asyncio.sleep(0)
    first.cancel()
    assert world.students[1].id in await second
    with pytest.raises(errors.Forbidden):
        await outsider
    assert first.cancelled()


async def test_a_stored_message_is_acknowledged_while_its_publish_waits_on_redis(make_client, ctx, factory) -> None:
    """The ack follows the commit, not the publish: a Redis that does not answer for a moment (a Cluster master
    that died, until its replica takes over) holds up the live event, not the sender's answer."""
    world = await make_class_world(ctx, factory)
    with private_redis("--enable-debug-command", "yes") as server:
        node = await make_client(redis_url=server.url)
        sender = await connect(node, world.students[0])
        await subscribe(sender, world.channel)
        probe = Redis.from_url(server.url)
        try:
            stall = asyncio.create_task(probe.execute_command("DEBUG", "SLEEP", "1.5"))
            await asyncio.sleep(0.1)
            started = time.monotonic()
            await send(sender, {"type": "chat.send", "channel": world.channel, "text": "Пока Redis молчит",
                                "client_msg_id": "stall-1", "req": "s1"})
            ack, _messages = await _ack_and_messages(sender, "s1", 0)
            acked_after = time.monotonic() - started
            assert ack["type"] == "ack", ack
            assert acked_after < 1.0, acked_after
            assert not stall.done()  # Redis was still asleep when the ack came
            [message] = await collect_messages(sender, world.channel, 1)
            assert message["text"] == "Пока Redis молчит"
            await stall
        finally:
            await probe.aclose()
        await sender.close()
