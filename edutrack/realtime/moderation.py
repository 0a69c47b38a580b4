"""Mutes and slow mode as this node knows them, for its sockets' sends: each chat's state cached, dropped at once
when a `moderation.changed` event of the chat arrives (services/chat_moderation.py), and read again in the
background every few seconds in case such an event was lost."""

from __future__ import annotations

import asyncio
import functools
import time
from datetime import UTC, datetime, timedelta

from edutrack.context import AppContext
from edutrack.security.tokens import Principal
from edutrack.services import chat_moderation
from edutrack.services.chat_channels import Channel

STATE_TTL = 5.0  # seconds a chat's mutes and slow mode are reused (a change drops them at once)
MAX_CACHED = 10_000


class ModerationCache:
    def __init__(self, ctx: AppContext, db_slots: asyncio.Semaphore) -> None:
        self.ctx = ctx
        self._db_slots = db_slots
        self._cache: dict[str, tuple[float, int, dict[int, datetime]]] = {}
        self._version: dict[str, int] = {}
        self._loading: dict[str, tuple[int, asyncio.Task[tuple[int, dict[int, datetime]]]]] = {}
        # When each user last passed slow mode on this node, per chat: sends of one batch are not stored yet
        # when the next one is checked.
        self._recent: dict[tuple[str, int], float] = {}

    async def check(self, who: Principal, channel: Channel) -> None:
        """Refuse a send of a muted member (error `muted`), or one that comes too soon in slow mode (`slow_mode`,
        staff exempt). No query unless the chat is in slow mode."""
        if not channel.is_chat:
            return
        slow, muted = await self._state(channel)
        chat_moderation.refuse_if_muted(channel, muted.get(who.user_id), datetime.now(UTC))
        if not slow or chat_moderation.exempt_from_slow_mode(who):
            return
        key = (channel.name, who.user_id)
        now = time.monotonic()
        passed = self._recent.get(key)
        if passed is not None and now - passed < slow:
            chat_moderation.refuse_if_slow(channel, slow, datetime.now(UTC) - _ago(now - passed), datetime.now(UTC))
        async with self._db_slots:
            last_sent, db_now = await chat_moderation.last_sent(self.ctx, channel, who.user_id)
        chat_moderation.refuse_if_slow(channel, slow, last_sent, db_now)
        if len(self._recent) > MAX_CACHED:
            self._recent.clear()
        self._recent[key] = now

    async def _state(self, channel: Channel) -> tuple[int, dict[int, datetime]]:
        cached = self._cache.get(channel.name)
        if cached is not None:
            if cached[0] <= time.monotonic():
                # Past its time: read again, but the sends go on with what is known. A change drops the entry at
                # once (`changed`), so the re-read only catches a change event that was lost; making every send
                # of a busy chat wait for it was a database round trip for one send in fifteen at 500 msg/s over
                # 167 chats, the realtime benchmark's p99.
                self._reload(channel)
            return cached[1], cached[2]
        return await asyncio.shield(self._reload(channel))

    def _reload(self, channel: Channel) -> asyncio.Task[tuple[int, dict[int, datetime]]]:
        version = self._version.get(channel.name, 0)
        in_flight = self._loading.get(channel.name)
        if in_flight is None or in_flight[0] != version:
            # One read for every send that arrives meanwhile: they resume together, in arrival order, and so still
            # reach the group commit in one batch. A task of its own, so a sender going away cannot cancel it.
            task = asyncio.create_task(self._load(channel, version), name="realtime-moderation")
            task.add_done_callback(functools.partial(self._loaded, channel.name))
            in_flight = (version, task)
            self._loading[channel.name] = in_flight
        return in_flight[1]

    async def _load(self, channel: Channel, version: int) -> tuple[int, dict[int, datetime]]:
        async with self._db_slots:
            slow, muted = await chat_moderation.channel_state(self.ctx, channel)
        if len(self._cache) > MAX_CACHED:
            self._cache.clear()
        if self._version.get(channel.name, 0) == version:  # no change arrived during the read
            self._cache[channel.name] = (time.monotonic() + STATE_TTL, slow, muted)
        return slow, muted

    def _loaded(self, name: str, task: asyncio.Task[tuple[int, dict[int, datetime]]]) -> None:
        in_flight = self._loading.get(name)
        if in_flight is not None and in_flight[1] is task:
            del self._loading[name]
        if not task.cancelled():
            task.exception()  # read here, so asyncio does not report it as never retrieved

    def changed(self, name: str) -> None:
        self._version[name] = self._version.get(name, 0) + 1
        self._cache.pop(name, None)
        for key in [k for k in self._recent if k[0] == name]:
            del self._recent[key]


def _ago(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
