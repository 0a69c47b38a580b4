"""A node's moderation state for its sockets' sends (edutrack/realtime/moderation.py): a known state decides a
send without a task or a query, and chats past their time are read again in the background, all in one statement,
so a mute whose `moderation.changed` event was lost still takes effect."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from edutrack import errors
from edutrack.db.chat_rooms import ChatChannelSetting, ChatModerationMute
from edutrack.realtime import moderation
from edutrack.realtime.moderation import ModerationCache
from edutrack.security.tokens import Principal
from edutrack.services.chat_channels import parse_channel
from tests.realtime.helpers import make_class_world


def _principal(actor) -> Principal:
    return Principal(actor.id, actor.user.role, actor.user.school_id, actor.user.is_superuser)


async def _refreshed(cache: ModerationCache, count: int) -> None:
    for _ in range(200):
        if cache.refreshes >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{cache.refreshes} background re-reads, expected {count}")


async def test_known_state_decides_at_once_and_stale_chats_are_read_again_together(ctx, factory, monkeypatch):
    monkeypatch.setattr(moderation, "STATE_TTL", 0.2)
    monkeypatch.setattr(moderation, "REFRESH_DELAY", 0.05)
    world = await make_class_world(ctx, factory)
    other = await make_class_world(ctx, factory)
    pupil, peer = _principal(world.students[0]), _principal(other.students[0])
    chat, other_chat = parse_channel(world.channel), parse_channel(other.channel)
    cache = ModerationCache(ctx, asyncio.Semaphore(2))
    # Unknown chats: the first send waits for the read; then the known state lets sends through with nothing
    # to await (no task, no query).
    for who, channel in ((pupil, chat), (peer, other_chat)):
        first = cache.screen(who, channel)
        assert first is not None
        await first
        assert cache.screen(who, channel) is None
    # A mute and slow mode whose moderation.changed events were lost (written straight to the database).
    async with ctx.sessions.begin() as session:
        session.add(ChatModerationMute(channel=chat.name, user_id=pupil.user_id,
                                       until=datetime.now(UTC) + timedelta(minutes=5)))
        session.add(ChatChannelSetting(channel=other_chat.name, slow_mode_seconds=30))
    await asyncio.sleep(0.25)
    # Past its time each chat goes on with what is known, and is read again in the background: both in one
    # statement.
    assert cache.screen(pupil, chat) is None
    assert cache.screen(peer, other_chat) is None
    await _refreshed(cache, 1)
    await asyncio.sleep(0.02)
    assert cache.refreshes == 1
    with pytest.raises(errors.ApiError) as refused:
        cache.screen(pupil, chat)
    assert refused.value.code == "muted"
    slow = cache.screen(peer, other_chat)  # slow mode asks the database when this user last wrote
    assert slow is not None
    await slow


async def test_a_change_drops_the_state_and_a_reread_does_not_bring_it_back(ctx, factory, monkeypatch):
    monkeypatch.setattr(moderation, "STATE_TTL", 0.1)
    monkeypatch.setattr(moderation, "REFRESH_DELAY", 0.05)
    world = await make_class_world(ctx, factory)
    pupil, chat = _principal(world.students[0]), parse_channel(world.channel)
    cache = ModerationCache(ctx, asyncio.Semaphore(2))
    await cache.check(pupil, chat)
    await asyncio.sleep(0.15)
    assert cache.screen(pupil, chat) is None  # stale: a re-read is on its way
    cache.changed(chat.name)  # ...and a change event arrives before it answers
    await asyncio.sleep(0.1)
    assert cache.refreshes == 0  # the changed chat was not read with the stale ones
    async with ctx.sessions.begin() as session:
        session.add(ChatModerationMute(channel=chat.name, user_id=pupil.user_id,
                                       until=datetime.now(UTC) + timedelta(minutes=5)))
    refused = cache.screen(pupil, chat)  # dropped: read again before the send goes on
    assert refused is not None
    with pytest.raises(errors.ApiError):
        await refused


async def test_a_first_read_takes_the_nodes_other_chats_along(ctx, factory):
    worlds = [await make_class_world(ctx, factory) for _ in range(3)]
    chats = [parse_channel(world.channel) for world in worlds]
    async with ctx.sessions.begin() as session:  # the third chat has a mute already
        session.add(ChatModerationMute(channel=chats[2].name, user_id=worlds[2].students[0].id,
                                       until=datetime.now(UTC) + timedelta(minutes=5)))
    served = [chat.name for chat in chats] + [f"user:{worlds[0].students[0].id}"]
    cache = ModerationCache(ctx, asyncio.Semaphore(2), serving=lambda: served)
    first = cache.screen(_principal(worlds[0].students[0]), chats[0])
    assert first is not None
    await first
    # The other chats are known now: their sends are decided at once, the mute included.
    assert cache.screen(_principal(worlds[1].students[0]), chats[1]) is None
    with pytest.raises(errors.ApiError) as refused:
        cache.screen(_principal(worlds[2].students[0]), chats[2])
    assert refused.value.code == "muted"
