"""Who in a room may want a `chat_message` row, as the group commit keeps it (services/chat_notify.AudienceCache):
read once, reused, and past its time read again in the background while the sends go on with the one known."""

from __future__ import annotations

import asyncio

from edutrack.services import chat_notify
from edutrack.services.chat_channels import parse_channel
from edutrack.services.chat_notify import AudienceCache
from tests.realtime.helpers import make_class_world


async def test_a_room_past_its_time_is_answered_at_once_and_read_again_in_the_background(ctx, factory, monkeypatch):
    monkeypatch.setattr(chat_notify, "AUDIENCE_TTL", 0.1)
    world = await make_class_world(ctx, factory)
    room = parse_channel(f"class:{world.class_id}")
    cache = AudienceCache(ctx)
    first = (await cache.of({room}))[room.name]
    assert world.parent.id in first.user_ids
    assert (await cache.of({room}))[room.name] == first
    assert cache.loads == 1
    await asyncio.sleep(0.15)
    # Past its time: the batch is not held up by the read (the known audience comes back), the read follows.
    assert (await cache.of({room}))[room.name] == first
    assert cache.loads == 1
    for _ in range(100):
        if cache.loads == 2:
            break
        await asyncio.sleep(0.01)
    assert cache.loads == 2
    assert (await cache.of({room}))[room.name] == first
    assert cache.loads == 2


async def test_a_forgotten_room_is_read_before_the_next_batch_and_a_reread_in_flight_is_not_kept(
        ctx, factory, monkeypatch):
    monkeypatch.setattr(chat_notify, "AUDIENCE_TTL", 0.05)
    world = await make_class_world(ctx, factory)
    room = parse_channel(f"class:{world.class_id}")
    cache = AudienceCache(ctx)
    await cache.of({room})
    await asyncio.sleep(0.1)
    await cache.of({room})  # starts the background read...
    cache.forget(room.name)  # ...and the membership changes before it answers
    await asyncio.sleep(0.1)
    loads = cache.loads
    await cache.of({room})  # not cached from the read that raced the change: read now
    assert cache.loads == loads + 1


async def test_a_first_read_takes_the_nodes_other_class_chats_along_with_the_same_answers(ctx, factory):
    worlds = [await make_class_world(ctx, factory), await make_class_world(ctx, factory, parents_in_chat=False),
              await make_class_world(ctx, factory)]
    rooms = [parse_channel(f"class:{world.class_id}") for world in worlds]
    served = [room.name for room in rooms] + [f"user:{worlds[0].parent.id}", "dm:1:2"]
    cache = AudienceCache(ctx, serving=lambda: served)
    first = await cache.of({rooms[0]})
    assert list(first) == [rooms[0].name]
    assert cache.loads == 3  # the other class chats came along
    async with ctx.reads() as session:
        one_by_one = [await chat_notify.audience(session, room) for room in rooms]
    for room, expected in zip(rooms, one_by_one, strict=True):
        assert (await cache.of({room}))[room.name] == expected
    assert cache.loads == 3
    assert worlds[0].parent.id in one_by_one[0].user_ids
    assert one_by_one[0].title
    assert worlds[1].parent.id not in one_by_one[1].user_ids  # that school keeps parents out of class chats
