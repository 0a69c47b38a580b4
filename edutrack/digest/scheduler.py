"""The digest scheduler (runs inside `edutrack relay`).

Every `digest_interval` seconds, the two email consumers of notification rows (docs/notifications.md): rows
whose `channels` has EMAIL go out once they are unread past `digest_delay`; rows with DIGEST wait for the
user's daily digest at their chosen local time (default 19:00, the user's zone, else the school's). Nothing
goes out during the user's quiet hours (except rows marked urgent): what is due then goes out in one email when
they end. Only users who are offline (no presence key in Redis) are emailed, and each gets ONE email per round:
the outbox row and the notifications' `emailed_at` commit in one transaction, so a crash can neither send a
digest twice nor mark rows emailed without an email. Reading a notification before the delay removes it from
the query: that is the cancellation.

Several relays may run this at once: each user is handled under a SKIP LOCKED lock on their profile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from edutrack.background import every, in_batches
from edutrack.context import AppContext
from edutrack.db.models import Notification, User
from edutrack.digest.content import Digest, build_digest, plural_notifications
from edutrack.digest.headers import digest_headers, preferences_url
from edutrack.digest.timing import in_quiet_hours, last_digest_moment, system_clock, zone
from edutrack.events import presence_key
from edutrack.i18n import _, for_recipients
from edutrack.i18n.names import PersonName, address_name
from edutrack.mail.templates import RenderedEmail
from edutrack.queries import digest as q
from edutrack.queries import outbox as outbox_q
from edutrack.queries.people import person_names
from edutrack.services import ack_links

log = logging.getLogger(__name__)

USERS_PER_ROUND = 500
# Users queued in one transaction. One transaction per user (lock, read, render, insert, mark: about eight round
# trips each) queued a school-wide announcement to 2,000 offline parents in 12 s at best (docs/benchmarks.md);
# per batch the round trips are shared and what is left is rendering. Each user's email and the marking of its
# rows still commit together; a batch only makes several users' commits one.
USERS_PER_BATCH = 50
# Batches at once: one renders while another waits on the database. Bounded well below the relay's connection
# pool, which the outbox relay shares.
BATCHES_AT_ONCE = 2


class DigestScheduler:
    def __init__(self, ctx: AppContext, clock: Callable[[], datetime] = system_clock) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        # Local-time decisions (quiet hours, the digest hour) read this clock; tests give their own.
        self.clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        await every(stop, lambda: self.settings.digest_interval, self.run_once, what="digest",
                    expected=(SQLAlchemyError, OSError))

    async def run_once(self) -> int:
        """One round; returns how many emails were queued."""
        queued = 0
        after = 0
        while True:
            async with self.ctx.sessions() as session:
                found = await q.candidates(session, delay_seconds=self.settings.digest_delay, after=after,
                                           limit=USERS_PER_ROUND)
            if not found:
                return queued
            after = found[-1].user_id
            now = self.clock()
            due = {c.user_id: moment for c in found for send, moment in [self._plan(c, now)] if send}
            offline = await self._offline(list(due))
            if offline is None:
                return queued
            queued += await self._queue_all(offline, due, now)
            if len(found) < USERS_PER_ROUND:
                return queued

    async def _queue_all(self, user_ids: list[int], due: dict[int, datetime | None], now: datetime) -> int:
        async def batch(users: list[int]) -> int:
            return await self.queue_batch({u: due[u] for u in users}, now)

        # A failure (the database or the network) ends the round; the next one retries.
        return await in_batches(user_ids, USERS_PER_BATCH, BATCHES_AT_ONCE, batch)

    @staticmethod
    def _plan(c: q.Candidate, now: datetime) -> tuple[bool, datetime | None]:
        """Whether to email the user now, and the moment of their daily digest if it is due (its DIGEST rows
        written until then go in; else only the EMAIL rows past the delay). Quiet hours hold both, unless a row
        past the delay is urgent."""
        tz = zone(c.timezone)
        if in_quiet_hours(now, tz, c.quiet_start, c.quiet_end, c.quiet_weekends) and not c.urgent_due:
            return False, None
        moment = last_digest_moment(now, tz, c.digest_time)
        if (c.first_digest_row is not None and c.first_digest_row <= moment
                and (c.digest_sent_at is None or c.digest_sent_at < moment)):
            return True, moment
        return c.email_due, None

    async def _offline(self, user_ids: list[int]) -> list[int] | None:
        """Users without a presence key. None when Redis cannot tell: better a late digest than an email
        to someone reading the same notifications live."""
        try:
            async with self.ctx.redis.pipeline(transaction=False) as pipe:
                for user_id in user_ids:
                    pipe.exists(presence_key(self.settings.namespace, user_id))
                present = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("digest round skipped: presence unknown (Redis unavailable)", extra={"error": repr(exc)})
            return None
        return [u for u, online in zip(user_ids, present, strict=True) if not online]

    def _render(self, user: User, digest: Digest) -> RenderedEmail:
        summary = plural_notifications(digest.count)
        return self.ctx.mail.render(
            "digest", _("EduTrack: %(summary)s", summary=summary),
            name=address_name(PersonName.of(user.profile)) or user.email, summary=summary, digest=digest,
            link=self.settings.public_url.rstrip("/") + "/", preferences=preferences_url(self.settings),
        )

    async def queue_digest(self, user_id: int, *, digest_until: datetime | None = None,
                           now: datetime | None = None) -> bool:
        """Queue one email of the user's rows that are due: the EMAIL rows past the delay and, with
        `digest_until`, the daily digest's rows written until then (the digest marked sent at `now`)."""
        return await self.queue_batch({user_id: digest_until}, now or self.clock()) == 1

    async def queue_batch(self, digest_until: dict[int, datetime | None], now: datetime) -> int:
        """Queue one email per user of `digest_until` (see queue_digest), in one transaction; returns how many."""
        async with self.ctx.sessions.begin() as session:
            locked = await q.lock_recipients(session, list(digest_until))
            until = {u: self._still_due(digest_until[u], r.digest_sent_at) for u, r in locked.items()}
            pending = await q.pending_notifications(session, until, delay_seconds=self.settings.digest_delay)
            about = {r.about_user_id for rows in pending.values() for r in rows if r.about_user_id is not None}
            names = await person_names(session, about)
            emails: list[dict[str, object]] = []
            emailed: list[int] = []
            digests: list[int] = []
            for user_id, rows in pending.items():
                email = self._email(locked[user_id].user, rows, names)
                if email is not None:
                    emails.append(email)
                    emailed += [r.id for r in rows]
                    digests += [user_id] if until[user_id] is not None else []
            await outbox_q.insert_many(session, emails)
            await q.mark_emailed(session, emailed)
            await q.mark_digests_sent(session, digests, now)
        if emails:
            log.info("digests queued", extra={"users": len(emails), "notifications": len(emailed)})
        return len(emails)

    @staticmethod
    def _still_due(until: datetime | None, sent_at: datetime | None) -> datetime | None:
        """None when another relay sent this daily digest while we decided."""
        return None if until is not None and sent_at is not None and sent_at >= until else until

    def _email(self, user: User, rows: list[Notification], names: dict[int, PersonName]) -> dict[str, object] | None:
        """The outbox row of one user's email, or None when it cannot be rendered."""
        try:
            with for_recipients():
                link = partial(ack_links.page_url, self.settings, user.id)
                mail = self._render(user, build_digest(rows, user.id, names, link))
        except Exception:
            # One user's bad payload (a template error) must not stop everyone else's digests.
            log.exception("digest for one user failed; skipped this round", extra={"user_id": user.id})
            return None
        return {"recipient": user.email, "subject": mail.subject, "body_text": mail.text, "body_html": mail.html,
                "kind": q.DIGEST_KIND, "user_id": user.id, "headers": digest_headers(self.settings, user.id, rows)}
