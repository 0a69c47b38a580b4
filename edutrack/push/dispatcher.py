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

from edutrack.background import every
from edutrack.context import AppContext
from edutrack.digest.timing import in_quiet_hours, system_clock, zone
from edutrack.events import presence_key
from edutrack.push import payload as push_payload
from edutrack.queries import outbox as outbox_q
from edutrack.queries import push as q
from edutrack.queries.notify_prefs import role_of
from edutrack.queries.people import person_names

log = logging.getLogger(__name__)

USERS_PER_ROUND = 500


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
            for user_id in unsubscribed + sorted(online):
                async with self.ctx.sessions.begin() as session:
                    await q.mark_user_handled(session, user_id)
            for user_id in due:
                if user_id in online:
                    continue
                try:
                    queued += await self.queue_push(user_id)
                except (SQLAlchemyError, OSError):
                    raise
                except Exception:
                    log.exception("push for one user failed; skipped this round", extra={"user_id": user_id})
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
        async with self.ctx.sessions.begin() as session:
            rows = await q.lock_waiting(session, user_id)
            if not rows:
                return 0
            subscriptions = await q.subscriptions_of(session, user_id)
            role = await role_of(session, user_id)
            if subscriptions and role is not None:
                about = sorted({r.about_user_id for r in rows if r.about_user_id is not None})
                body = push_payload.build(self.settings, rows, role, await person_names(session, about))
                text = push_payload.encode(body)
                await outbox_q.insert_many(session, [{
                    "recipient": f"{q.RECIPIENT_PREFIX}{s.id}", "subject": str(body["title"])[:300],
                    "body_text": text, "kind": q.PUSH_KIND, "user_id": user_id,
                } for s in subscriptions])
            await q.mark_handled(session, [r.id for r in rows])
        log.info("push queued", extra={"user_id": user_id, "notifications": len(rows),
                                       "subscriptions": len(subscriptions)})
        return len(subscriptions) if role is not None else 0
