"""The push dispatcher (runs inside `edutrack relay`, beside the digest scheduler).

Every `push_interval` seconds it looks at unread notification rows with the PUSH bit that it has not handled
(`pushed_at` null). Per user: without a subscription (or inactive) the rows are marked handled and nothing is
sent, so subscribing later does not push old rows; in quiet hours they wait (unless one is urgent news) and go
out as ONE merged push when the hours end; a user with an open socket has them live (the `notification` frame),
so they are marked handled without a push; otherwise one outbox row of kind `push` per subscription is written
in the transaction that marks the rows, and the relay and notifier deliver it like an email. Rows are locked
FOR UPDATE SKIP LOCKED, so several relays can run this at once and each row is pushed once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from edutrack.background import every, in_batches
from edutrack.context import AppContext
from edutrack.db.models import Notification
from edutrack.db.notify import PushSubscription
from edutrack.digest.timing import in_quiet_hours, system_clock, zone
from edutrack.events import presence_key
from edutrack.i18n.names import PersonName
from edutrack.push import payload as push_payload
from edutrack.queries import outbox as outbox_q
from edutrack.queries import push as q
from edutrack.queries.people import person_names

log = logging.getLogger(__name__)

USERS_PER_ROUND = 500
# Users handled in one transaction: one per user made an announcement to 4,000 parents 4,000 transactions in
# the relay, beside the digest scheduler's (docs/benchmarks.md). Each user's pushes and the marking of their rows
# still commit together.
USERS_PER_BATCH = 50
BATCHES_AT_ONCE = 2  # one builds its payloads while another waits on the database


class PushDispatcher:
    def __init__(self, ctx: AppContext, clock: Callable[[], datetime] = system_clock) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.clock = clock  # quiet hours are decided on it; tests give their own

    async def run(self, stop: asyncio.Event) -> None:
        await every(stop, lambda: self.settings.push_interval, self.run_once, what="push",
                    expected=(SQLAlchemyError, OSError))

    async def run_once(self) -> int:
        """One round; returns how many pushes (outbox rows, one per subscription) were queued."""
        queued = 0
        after = 0
        while True:
            async with self.ctx.sessions() as session:
                found = await q.candidates(session, after=after, limit=USERS_PER_ROUND)
            if not found:
                return queued
            after = found[-1].user_id
            now = self.clock()
            unsubscribed = [c.user_id for c in found if not c.subscribed]
            due = [c.user_id for c in found if c.subscribed and not self._quiet(c, now)]
            online = await self._online(due)
            if online is None:
                return queued
            handled = unsubscribed + sorted(online)
            for i in range(0, len(handled), USERS_PER_BATCH):
                async with self.ctx.sessions.begin() as session:
                    await q.mark_users_handled(session, handled[i:i + USERS_PER_BATCH])
            # A failure (the database or the network) ends the round; the next one retries.
            queued += await in_batches([u for u in due if u not in online], USERS_PER_BATCH, BATCHES_AT_ONCE,
                                       self.queue_pushes)
            if len(found) < USERS_PER_ROUND:
                return queued

    @staticmethod
    def _quiet(c: q.Candidate, now: datetime) -> bool:
        return not c.urgent and in_quiet_hours(now, zone(c.timezone), c.quiet_start, c.quiet_end, c.quiet_weekends)

    async def _online(self, user_ids: list[int]) -> set[int] | None:
        """Users with a presence key (an open socket). None when Redis cannot tell: the round waits rather
        than push to someone reading the same notification live."""
        if not user_ids:
            return set()
        try:
            async with self.ctx.redis.pipeline(transaction=False) as pipe:
                for user_id in user_ids:
                    pipe.exists(presence_key(self.settings.namespace, user_id))
                present = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("push round skipped: presence unknown (Redis unavailable)", extra={"error": repr(exc)})
            return None
        return {u for u, here in zip(user_ids, present, strict=True) if here}

    async def queue_push(self, user_id: int) -> int:
        """One push of the user's waiting rows to each of their subscriptions, written with the marking."""
        return await self.queue_pushes([user_id])

    async def queue_pushes(self, user_ids: list[int]) -> int:
        """queue_push for several users in one transaction; returns the pushes (outbox rows) queued."""
        async with self.ctx.sessions.begin() as session:
            waiting = await q.lock_waiting(session, user_ids)
            if not waiting:
                return 0
            subscriptions = await q.subscriptions_by_user(session, list(waiting))
            roles = await q.active_roles(session, list(subscriptions))
            about = {r.about_user_id for rows in waiting.values() for r in rows if r.about_user_id is not None}
            names = await person_names(session, about)
            pushes: list[dict[str, object]] = []
            for user_id, rows in waiting.items():
                if user_id in roles:
                    pushes += self._pushes(user_id, rows, roles[user_id], subscriptions[user_id], names)
            await outbox_q.insert_many(session, pushes)
            await q.mark_handled(session, [r.id for rows in waiting.values() for r in rows])
        log.info("pushes queued", extra={"users": len(waiting), "pushes": len(pushes)})
        return len(pushes)

    def _pushes(self, user_id: int, rows: list[Notification], role: str, subscriptions: list[PushSubscription],
                names: dict[int, PersonName]) -> list[dict[str, object]]:
        """The outbox rows of one user's push, one per subscription; none when it cannot be built."""
        try:
            body = push_payload.build(self.settings, rows, role, names)
        except Exception:
            # One user's bad payload must not stop everyone else's pushes.
            log.exception("push for one user failed; skipped this round", extra={"user_id": user_id})
            return []
        text = push_payload.encode(body)
        return [{"recipient": f"{q.RECIPIENT_PREFIX}{s.id}", "subject": str(body["title"])[:300],
                 "body_text": text, "kind": q.PUSH_KIND, "user_id": user_id} for s in subscriptions]
