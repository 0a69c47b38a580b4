"""`chat_message` notifications: a message in a chat room (class chat, parents' room, staff room, groups,
announcements; never a private `dm:` chat, whose rows are `message`) for the members who want them.

Rows are written in the send's transaction, for members other than the sender whose channels for the kind are not
empty (`notification_mask`, the trigger's rule, with the room's mute): by default only parents (the daily digest);
students, teachers and admins read the chat itself. Nobody else gets a row, so a room where nobody wants the kind
costs its sends nothing but knowing that (`RoomAudience`, cached per node by the group commit). Reading the room
(its read marker, over /ws or REST) marks the reader's rows of it read, so the digest does not repeat them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.context import AppContext
from edutrack.db.models import Notification
from edutrack.i18n import _, use_locale
from edutrack.queries import chat as q
from edutrack.queries import chat_rooms as rq
from edutrack.queries import membership as membership_q
from edutrack.queries import notifications as nq
from edutrack.services import chat_channels as cc

log = logging.getLogger(__name__)

KIND = "chat_message"
TEXT_LIMIT = 500
# Seconds the group commit reuses a room's audience (a membership change drops it at once). At 5 s, reloading the
# 167 class chats of the realtime benchmark took half of the group commit's time (py-spy, docs/benchmarks.md).
AUDIENCE_TTL = 60.0
MAX_CACHED = 10_000
MAX_ALONG = 1_000  # class chats read along with a first read, at most


@dataclass(frozen=True, slots=True)
class RoomAudience:
    """Who in a room could get a row at all (their choice or role default for the kind is not off), and the
    room's title for the rows' payload (empty when nobody could)."""

    user_ids: frozenset[int]
    title: str


def class_room_title(kind: str, name: str) -> str:
    """A class-bound room's title from its class's name, in the default language."""
    with use_locale(None):
        if kind == "parents":
            return _("Parents of %(class_name)s", class_name=name)
        if kind == "class-announcements":
            return _("Announcements of %(class_name)s", class_name=name)
        return _("Class %(name)s", name=name)


async def room_title(session: AsyncSession, channel: cc.Channel) -> str:
    """The room's name as the chat page lists it, in the default language (as every row's `title`)."""
    with use_locale(None):
        kind = channel.kind
        if kind in cc.CLASS_BOUND:
            return class_room_title(kind, (await q.class_names(session, [channel.ids[0]])).get(channel.ids[0], ""))
        if kind == "grade-announcements":
            return _("Announcements of grade %(grade)s", grade=channel.ids[1])
        if kind == "announcements":
            return _("School announcements")
        if kind == "staff":
            return _("Staff room")
        if kind == "group":
            return (await rq.group_titles(session, [channel.ids[0]])).get(channel.ids[0], "")
        return channel.name


async def audience(session: AsyncSession, channel: cc.Channel) -> RoomAudience:
    if channel.kind in ("dm", "user"):
        return RoomAudience(frozenset(), "")
    wanting = await nq.may_want(session, sorted(await cc.member_ids(session, channel)), KIND)
    return RoomAudience(frozenset(wanting), await room_title(session, channel) if wanting else "")


def payload(channel: str, room: str, sender_id: int, sender: str, text: str) -> dict[str, Any]:
    """A row's payload without `message_id` (the group commit adds it in SQL)."""
    with use_locale(None):
        title = _("%(name)s in %(room)s", name=sender, room=room)
    return {"title": title, "channel": channel, "room": room, "sender_id": sender_id, "sender": sender,
            "text": text[:TEXT_LIMIT]}


async def notify_room(session: AsyncSession, channel: cc.Channel, message_id: int, sender_id: int, sender: str,
                      text: str, told: set[int] | frozenset[int] = frozenset()) -> list[Notification]:
    """In the send's transaction (services/chat.py): the rows of one message; `told`: members who already got a
    row about it (an announcement's `ack_request`), not told twice."""
    found = await audience(session, channel)
    wanting = sorted(found.user_ids - {sender_id} - told)
    if not wanting:
        return []
    body = {**payload(channel.name, found.title, sender_id, sender, text), "message_id": message_id}
    return await nq.insert_wanted(session, wanting, KIND, body, channel.name)


async def mark_read(session: AsyncSession, user_id: int, channel: str, up_to: int) -> int:
    return await nq.mark_room_read(session, user_id, channel, up_to)


async def forget_message(session: AsyncSession, channel: str, message_id: int) -> None:
    """A deleted message: its rows (`chat_message`, `mention`) go too, read or not (a moderator removed it; no
    digest may quote it)."""
    await nq.delete_room_rows(session, channel, message_id)


async def revise_message(session: AsyncSession, channel: str, message_id: int, text: str) -> None:
    """An edited message: its rows quote the new text, cut as when they were written."""
    await nq.revise_room_rows(session, channel, message_id, text[:TEXT_LIMIT])


class AudienceCache:
    """One per gateway, for the group commit: each room's audience reused for AUDIENCE_TTL seconds, dropped at
    once when the room's membership changes (`forget`). A preference turned on reaches a busy room within that
    time; one turned off, or a mute, takes effect at once (the row's channels are decided when it is written).
    Past its time a room's audience is read again in the background while the sends go on with the one known:
    read inside the group commit, the 167 rooms of the realtime benchmark stalled one batch a minute for as long
    as their 334 queries took."""

    def __init__(self, ctx: AppContext, serving: Callable[[], Iterable[str]] | None = None) -> None:
        """`serving`: the chats this node has subscribers in. A class chat's first read takes every class chat of
        them not known yet along (one statement for their members, one for who of them may want rows): the 167
        rooms of the realtime benchmark took two statements each, one room a batch, at the start."""
        self.ctx = ctx
        self.serving = serving
        self._cache: dict[str, tuple[float, RoomAudience]] = {}
        self._version: dict[str, int] = {}
        self._stale: dict[str, cc.Channel] = {}
        self._refresher: asyncio.Task[None] | None = None
        self.loads = 0  # tests, diagnostics

    async def of(self, channels: set[cc.Channel]) -> dict[str, RoomAudience]:
        now = time.monotonic()
        found: dict[str, RoomAudience] = {}
        missing: list[cc.Channel] = []
        for channel in channels:
            cached = self._cache.get(channel.name)
            if cached is None:
                missing.append(channel)
                continue
            found[channel.name] = cached[1]
            if cached[0] <= now:
                self._stale[channel.name] = channel
        if self._stale and self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh(), name="chat-audiences-refresh")
            self._refresher.add_done_callback(self._refreshed)
        if missing:
            if self.serving is not None and any(channel.kind == "class" for channel in missing):
                missing += self._served_classes({channel.name for channel in missing})
            loaded = await self._load(missing)
            found.update((channel.name, loaded[channel.name]) for channel in channels if channel.name in loaded)
        return found

    def _served_classes(self, known: set[str]) -> list[cc.Channel]:
        assert self.serving is not None
        names = [name for name in self.serving() if name.startswith("class:") and name not in self._cache
                 and name not in known]
        return [cc.parse_channel(name) for name in sorted(names)[:MAX_ALONG]]

    async def _load(self, channels: list[cc.Channel]) -> dict[str, RoomAudience]:
        versions = {channel.name: self._version.get(channel.name, 0) for channel in channels}
        loaded: dict[str, RoomAudience] = {}
        classes = [channel for channel in channels if channel.kind == "class"]
        async with self.ctx.reads() as session:
            if len(classes) > 1:
                loaded.update(await _class_audiences(session, classes))
            for channel in sorted(channels, key=lambda c: c.name):
                if channel.name not in loaded:
                    loaded[channel.name] = await audience(session, channel)
            self.loads += len(loaded)
        if len(self._cache) > MAX_CACHED:
            self._cache.clear()
        until = time.monotonic() + AUDIENCE_TTL
        for name, found in loaded.items():
            if self._version.get(name, 0) == versions[name]:  # no membership change arrived during the read
                self._cache[name] = (until, found)
        return loaded

    async def _refresh(self) -> None:
        while self._stale:
            stale, self._stale = list(self._stale.values()), {}
            await self._load(stale)

    def _refreshed(self, task: asyncio.Task[None]) -> None:
        self._refresher = None
        if not task.cancelled() and task.exception() is not None:
            # The rooms keep their audience; the next batch that names one asks again.
            log.warning("chat: re-reading room audiences failed", extra={"error": repr(task.exception())})

    def forget(self, channel: str) -> None:
        self._version[channel] = self._version.get(channel, 0) + 1
        self._cache.pop(channel, None)
        self._stale.pop(channel, None)


async def _class_audiences(session: AsyncSession, channels: list[cc.Channel]) -> dict[str, RoomAudience]:
    """`audience` of many class chats: three statements (members, who may want rows, class names) for all."""
    members = await membership_q.class_chats_member_ids(session, [channel.ids[0] for channel in channels])
    wanting = await nq.may_want(session, sorted(set().union(*members.values())), KIND)
    rooms = {channel.name: frozenset(members[channel.ids[0]] & wanting) for channel in channels}
    named = [channel.ids[0] for channel in channels if rooms[channel.name]]
    names = await q.class_names(session, named) if named else {}
    return {channel.name: RoomAudience(rooms[channel.name], class_room_title(
        channel.kind, names.get(channel.ids[0], "")) if rooms[channel.name] else "") for channel in channels}
