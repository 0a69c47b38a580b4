"""One transaction and the effects it causes once it has committed.

A service that changes state writes through a unit of work and registers, inside the transaction, what has to
happen only if the change is kept: live events on Redis, cache invalidations, telling every node about a token
cut-off. Nothing registered runs unless the commit succeeds; after it, the effects run in the order they were
registered. An effect that fails is logged and the next one still runs: each is an optimisation (Redis is the
fast path and PostgreSQL has the rows; a cache entry that cannot be dropped expires with its TTL), so one failing
must not hide the others. Publishes registered one after another go to Redis in one round trip, in order (on a
Redis Cluster one per master, at the same time: edutrack/live_shards.py).

    async with unit_of_work(ctx) as uow:
        rows = await notify_students_and_parents(uow.session, "grade", payloads)
        uow.invalidate(cache.student_marks_bucket(student_id))
        uow.publish_notifications(rows)

`AfterCommit` alone is the same queue for code that commits some other way (the chat group commit runs its
statement on a bare connection): fill it, then `run()` it once the commit is known.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import cache, events
from edutrack.context import AppContext
from edutrack.db.models import Notification
from edutrack.queries import chat_rooms as rooms_q

log = logging.getLogger(__name__)

Effect = Callable[[], Awaitable[None]]
_Event = tuple[str, dict[str, Any]]


class _Publish:
    """Live events to publish: (channel, event) pairs, or notification rows turned into events when it runs."""

    __slots__ = ("events", "rows")

    def __init__(self, items: Iterable[_Event] = (), rows: Iterable[Notification] = ()) -> None:
        self.events = list(items)
        self.rows = list(rows)

    def pairs(self) -> list[_Event]:
        return [*self.events, *((f"user:{row.user_id}", events.notification_event(row)) for row in self.rows
                                if events.is_live(row))]


class AfterCommit:
    """Effects to run, in order, once a commit has succeeded."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._effects: list[tuple[str, Effect | _Publish]] = []

    def after_commit(self, effect: Effect, name: str | None = None) -> None:
        """Await `effect()` after the commit."""
        self._effects.append((name or str(getattr(effect, "__qualname__", "effect")), effect))

    def invalidate(self, *buckets: str) -> None:
        """Drop these cache buckets (edutrack/cache.py) after the commit."""
        if buckets:
            ctx = self.ctx
            self.after_commit(lambda: cache.invalidate(ctx, *buckets), "cache.invalidate")

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        """Publish one live event on a logical channel (edutrack/events.py) after the commit."""
        self._effects.append(("publish", _Publish([(channel, event)])))

    def publish_many(self, items: Iterable[_Event]) -> None:
        self._effects.append(("publish", _Publish(items)))

    def publish_notifications(self, rows: Iterable[Notification]) -> None:
        """Push notification rows written in this transaction to their users' feeds after the commit."""
        self._effects.append(("publish", _Publish(rows=rows)))

    def membership_changed(self, class_ids: Iterable[int]) -> None:
        """Tell every node that these class chats have other members now (events.MEMBERSHIP_CHANGED), and so the
        announcements of their parallels: which parallel a class is in is read after the commit (a service that
        deletes a class or changes its grade names the parallel it left itself)."""
        ids = sorted(set(class_ids))
        self.publish_many(events.membership_changed_events(ids))
        if ids:
            ctx = self.ctx
            self.after_commit(lambda: _parallels_changed(ctx, ids), "parallels.changed")

    def membership_changed_channels(self, channels: Iterable[str]) -> None:
        """The same for named rooms: a school's staff room and announcements, a group."""
        self.publish_many(events.channel_membership_events(channels))

    def __len__(self) -> int:
        return len(self._effects)

    def discard(self) -> None:
        self._effects.clear()

    async def run(self) -> None:
        """Run the registered effects in order, then forget them. Call only once the commit is known."""
        pending, self._effects = self._effects, []
        batch: list[_Event] = []
        for position, (name, effect) in enumerate(pending):
            if isinstance(effect, _Publish):
                batch.extend(effect.pairs())
                following = pending[position + 1][1] if position + 1 < len(pending) else None
                if isinstance(following, _Publish):
                    continue  # adjacent publishes share one round trip
                effect_run: Effect = _publisher(self.ctx, batch)
                batch = []
            else:
                effect_run = effect
            try:
                await effect_run()
            except Exception:  # one failed effect must not hide the ones after it
                log.exception("an after-commit effect failed", extra={"effect": name})


async def _parallels_changed(ctx: AppContext, class_ids: list[int]) -> None:
    async with ctx.reads() as session:
        parallels = await rooms_q.parallels_of(session, class_ids)
    await events.publish_many(ctx, events.channel_membership_events(
        events.grade_board(school, grade) for school, grade in sorted(parallels)))


def _publisher(ctx: AppContext, batch: list[_Event]) -> Effect:
    return lambda: events.publish_many(ctx, batch)


class UnitOfWork(AfterCommit):
    """`async with unit_of_work(ctx) as uow:` a transaction on `uow.session`; its effects run after the commit."""

    session: AsyncSession

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self._begin = ctx.sessions.begin()

    async def __aenter__(self) -> UnitOfWork:
        self.session = await self._begin.__aenter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            await self._begin.__aexit__(exc_type, exc, tb)  # commits, or rolls back on an exception
        except BaseException:
            self.discard()  # the commit failed: nothing happened
            raise
        if exc is not None:
            self.discard()
            return
        await self.run()


def unit_of_work(ctx: AppContext) -> UnitOfWork:
    return UnitOfWork(ctx)
