"""Mutes and slow mode as this node knows them, for its sockets' sends: each chat's state cached, dropped at once
when a `moderation.changed` event of the chat arrives (services/chat_moderation.py), and read again in the
background every few seconds in case such an event was lost."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

from edutrack.context import AppContext
from edutrack.security.tokens import Principal
from edutrack.services import chat_moderation
from edutrack.services.chat_channels import Channel

log = logging.getLogger(__name__)

STATE_TTL = 5.0  # seconds a chat's mutes and slow mode are reused (a change drops them at once)
# Seconds the background re-read waits for more chats to go stale, so that one statement reads them all.
REFRESH_DELAY = 0.25
MAX_CACHED = 10_000
MAX_ALONG = 1_000  # chats read along with a first read, at most


class ModerationCache:
    def __init__(self, ctx: AppContext, db_slots: asyncio.Semaphore,
                 serving: Callable[[], Iterable[str]] | None = None) -> None:
        """`serving`: the channels this node has subscribers in; a chat's first read takes the other chats of them
        that are not known yet along, in the same statement (at a node's start, one statement instead of one per
        chat)."""
        self.ctx = ctx
        self._db_slots = db_slots
        self.serving = serving
        self._cache: dict[str, tuple[float, int, dict[int, datetime]]] = {}  # (read at, slow, muted)
        self._version: dict[str, int] = {}
        self._loading: dict[str, tuple[int, asyncio.Task[tuple[int, dict[int, datetime]]]]] = {}
        self._stale: set[str] = set()  # chats past their time, for the background re-read
        self._refresher: asyncio.Task[None] | None = None
        self.refreshes = 0  # statements of the background re-read (tests, diagnostics)
        # When each user last passed slow mode on this node, per chat: sends of one batch are not stored yet
        # when the next one is checked.
        self._recent: dict[tuple[str, int], float] = {}

    def screen(self, who: Principal, channel: Channel) -> Awaitable[None] | None:
        """`check` for the group commit, without a task where the known state decides: a refusal is raised at
        once, None lets the send through, else what to await (the chat's first read, or slow mode's query).
        Every send of the realtime benchmark takes the first way, with no task of its own."""
        if not channel.is_chat:
            return None
        cached = self._cache.get(channel.name)
        if cached is None:
            return self.check(who, channel)
        self._touch(channel.name, cached[0])
        return self._decide(who, channel, cached[1], cached[2])

    async def check(self, who: Principal, channel: Channel) -> None:
        """Refuse a send of a muted member (error `muted`), or one that comes too soon in slow mode (`slow_mode`,
        staff exempt). No query unless the chat is in slow mode."""
        if not channel.is_chat:
            return
        slow, muted = await self._state(channel)
        pending = self._decide(who, channel, slow, muted)
        if pending is not None:
            await pending

    def _decide(self, who: Principal, channel: Channel, slow: int,
                muted: dict[int, datetime]) -> Awaitable[None] | None:
        if muted:
            chat_moderation.refuse_if_muted(channel, muted.get(who.user_id), datetime.now(UTC))
        if not slow or chat_moderation.exempt_from_slow_mode(who):
            return None
        return self._slow(who, channel, slow)

    async def _slow(self, who: Principal, channel: Channel, slow: int) -> None:
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
            self._touch(channel.name, cached[0])
            return cached[1], cached[2]
        return await asyncio.shield(self._reload(channel))

    def _touch(self, name: str, read_at: float) -> None:
        """Past its time, a chat is read again in the background and the sends go on with what is known. A change
        drops the entry at once (`changed`), so the re-read only catches a change event that was lost; making every
        send of a busy chat wait for it was a database round trip for one send in fifteen at 500 msg/s over 167
        chats, the realtime benchmark's p99, and reading each chat on its own took two statements per chat every
        few seconds (~2 % of a node's CPU there): one statement reads every stale chat now."""
        if time.monotonic() - read_at < STATE_TTL:
            return
        self._stale.add(name)
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh(), name="realtime-moderation-refresh")
            self._refresher.add_done_callback(self._refreshed)

    async def _refresh(self) -> None:
        await asyncio.sleep(REFRESH_DELAY)
        # With the stale ones, every chat read more than half its time ago: the chats' re-reads fall into step.
        early = time.monotonic() - STATE_TTL / 2
        names = sorted(self._stale | {name for name, entry in self._cache.items() if entry[0] <= early})
        self._stale.clear()
        if not names:
            return
        versions = {name: self._version.get(name, 0) for name in names}
        async with self._db_slots:
            states = await chat_moderation.channel_states(self.ctx, names)
        self.refreshes += 1
        read_at = time.monotonic()
        for name, version in versions.items():
            if self._version.get(name, 0) == version and name in self._cache:  # no change arrived meanwhile
                slow, muted = states.get(name, (0, {}))
                self._cache[name] = (read_at, slow, muted)

    def _refreshed(self, task: asyncio.Task[None]) -> None:
        self._refresher = None
        if not task.cancelled() and task.exception() is not None:
            # The entries stay as they were; the next send to a stale chat asks again.
            log.warning("realtime: moderation re-read failed", extra={"error": repr(task.exception())})

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
        versions = {name: self._version.get(name, 0) for name in self._along(channel.name)}
        versions[channel.name] = version
        async with self._db_slots:
            # The statement of the background re-read: one plain statement, where the ORM took two per chat.
            states = await chat_moderation.channel_states(self.ctx, sorted(versions))
        if len(self._cache) > MAX_CACHED:
            self._cache.clear()
        read_at = time.monotonic()
        for name, seen in versions.items():
            if self._version.get(name, 0) == seen and (name == channel.name or name not in self._cache):
                self._cache[name] = (read_at, *states.get(name, (0, {})))  # no change arrived during the read
        return states.get(channel.name, (0, {}))

    def _along(self, name: str) -> list[str]:
        """The other chats this node serves that it knows nothing of yet (not user feeds), at most MAX_ALONG."""
        if self.serving is None:
            return []
        return sorted(other for other in self.serving() if not other.startswith("user:") and other != name
                      and other not in self._cache and other not in self._loading)[:MAX_ALONG]

    def _loaded(self, name: str, task: asyncio.Task[tuple[int, dict[int, datetime]]]) -> None:
        in_flight = self._loading.get(name)
        if in_flight is not None and in_flight[1] is task:
            del self._loading[name]
        if not task.cancelled():
            task.exception()  # read here, so asyncio does not report it as never retrieved

    def changed(self, name: str) -> None:
        self._version[name] = self._version.get(name, 0) + 1
        self._cache.pop(name, None)
        self._stale.discard(name)
        for key in [k for k in self._recent if k[0] == name]:
            del self._recent[key]


def _ago(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
