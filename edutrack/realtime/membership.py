"""Who may join a chat, as this node knows it: class members cached for a few seconds, dropped at once when a
`membership.changed` event of the class arrives, and the sockets of people who left unsubscribed at once."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from edutrack import errors
from edutrack.context import AppContext
from edutrack.i18n import _
from edutrack.security.tokens import Principal
from edutrack.services import chat

log = logging.getLogger(__name__)

MEMBERS_TTL = 5.0  # seconds a class's member list is reused for joins (a membership change drops it at once)
MAX_CACHED = 10_000  # classes; beyond it the cache starts over


class MemberCache:
    """One per gateway. `revoke_outsiders(channel, members)` unsubscribes this node's sockets of people who are
    not in `members` any more; `has_local_sockets(channel)` says whether any socket of this node is on it."""

    def __init__(self, ctx: AppContext, db_slots: asyncio.Semaphore,
                 revoke_outsiders: Callable[[str, set[int]], Awaitable[None]],
                 has_local_sockets: Callable[[str], bool]) -> None:
        self.ctx = ctx
        self._db_slots = db_slots
        self._revoke_outsiders = revoke_outsiders
        self._has_local_sockets = has_local_sockets
        self._cache: dict[str, tuple[float, set[int]]] = {}
        self._loading: dict[str, tuple[int, asyncio.Task[set[int]]]] = {}  # with the version it read at
        # Bumped by every membership change of a channel: a member list read before the change is not cached.
        self._version: dict[str, int] = {}
        self._rechecks: dict[str, asyncio.Task[None]] = {}
        self._recheck_again: set[str] = set()
        self.stopping = False

    async def join(self, who: Principal, channel: chat.Channel) -> set[int]:
        """Authorize a subscription; the members of a class chat are cached for a few seconds, because a
        reconnect storm asks the same question for every member of every class at once."""
        if not channel.derived or who.is_superuser:
            async with self._db_slots:
                return await chat.join(self.ctx, who, channel)
        cached = self._cache.get(channel.name)
        if cached is not None and cached[0] > time.monotonic():
            return _require_member(who, channel, cached[1])
        version = self._version.get(channel.name, 0)
        in_flight = self._loading.get(channel.name)
        # A read that started before a membership change may predate it: never share it past the change.
        loading = in_flight[1] if in_flight is not None and in_flight[0] == version else None
        if loading is None:
            # The members of a class reconnect together: one query answers all of them, instead of each sending
            # it before the first answer is cached. A task of its own, so a caller that goes away cannot cancel
            # the answer under the others.
            loading = asyncio.create_task(self._load(channel), name="realtime-members")
            loading.add_done_callback(functools.partial(self._loaded, channel.name))
            self._loading[channel.name] = (version, loading)
        return _require_member(who, channel, await asyncio.shield(loading))

    def _loaded(self, name: str, task: asyncio.Task[set[int]]) -> None:
        in_flight = self._loading.get(name)
        if in_flight is not None and in_flight[1] is task:
            del self._loading[name]
        consume_error(task)

    async def _load(self, channel: chat.Channel) -> set[int]:
        version = self._version.get(channel.name, 0)
        async with self._db_slots:
            members = await chat.member_ids(self.ctx, channel)
        if len(self._cache) > MAX_CACHED:
            self._cache.clear()
        if self._version.get(channel.name, 0) == version:
            self._cache[channel.name] = (time.monotonic() + MEMBERS_TTL, members)
        return members

    def channel_idle(self, name: str) -> None:
        """No local socket on the channel any more: its events stop reaching this node, so a cached member list
        could miss a change."""
        if not self._has_local_sockets(name):
            self._version[name] = self._version.get(name, 0) + 1
            self._cache.pop(name, None)

    def changed(self, name: str) -> None:
        """A `membership.changed` event for a class chat: re-read its members and unsubscribe the sockets of
        people who left, at once (not at their next reconnect). One re-read at a time per channel; a change
        that arrives during one gets another."""
        self._version[name] = self._version.get(name, 0) + 1
        self._cache.pop(name, None)
        if name in self._rechecks:
            self._recheck_again.add(name)
            return
        task = asyncio.create_task(self._recheck(name), name="realtime-membership")
        self._rechecks[name] = task
        task.add_done_callback(functools.partial(self._recheck_done, name))

    def _recheck_done(self, name: str, task: asyncio.Task[None]) -> None:
        self._rechecks.pop(name, None)
        consume_error(task)
        if name in self._recheck_again and not self.stopping:
            self._recheck_again.discard(name)
            self.changed(name)

    async def _recheck(self, name: str) -> None:
        try:
            channel = chat.parse_channel(name)
            members = await self._load(channel)
        except Exception:  # a failed re-read must not kill the node; the next change retries
            log.warning("membership re-read failed", extra={"channel": name}, exc_info=True)
            return
        await self._revoke_outsiders(name, members)

    def stop(self) -> None:
        self.stopping = True
        for task in self._rechecks.values():
            task.cancel()


def _require_member(who: Principal, channel: chat.Channel, members: set[int]) -> set[int]:
    if who.user_id not in members:
        raise errors.Forbidden(_("You are not a member of this channel"), code="not_a_member",
                               details={"channel": channel.name})
    return members


def consume_error(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
