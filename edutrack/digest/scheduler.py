"""The digest scheduler (runs inside `edutrack relay`).

Every `digest_interval` seconds: users with notifications that are unread, not yet emailed and older than
`digest_delay`, whose preference allows email ('immediate': as soon as the delay passed; 'daily': at most
one digest per 24 hours; 'off': never) and who are offline (no presence key in Redis) get ONE email:
the outbox row and the notifications' `emailed_at` commit in one transaction, so a crash can neither
send a digest twice nor mark rows emailed without an email. Reading a notification before the delay
removes it from the query: that is the cancellation.

Several relays may run this at once: each user is handled under a SKIP LOCKED lock on their profile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from edutrack.context import AppContext
from edutrack.db.models import User
from edutrack.digest.content import Digest, build_digest, plural_notifications
from edutrack.events import presence_key
from edutrack.i18n import _, for_recipients
from edutrack.i18n.names import PersonName, address_name
from edutrack.mail.templates import RenderedEmail
from edutrack.queries import digest as q
from edutrack.queries import outbox as outbox_q
from edutrack.queries.people import person_names

log = logging.getLogger(__name__)

USERS_PER_ROUND = 500


class DigestScheduler:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("digest round failed; next round retries", extra={"error": repr(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.digest_interval)

    async def run_once(self) -> int:
        """One round; returns how many digests were queued."""
        queued = 0
        seen: set[int] = set()
        while True:
            async with self.ctx.sessions() as session:
                due = [u for u in await q.users_due(session, delay_seconds=self.settings.digest_delay,
                                                     limit=USERS_PER_ROUND) if u not in seen]
            if not due:
                return queued
            seen.update(due)
            offline = await self._offline(due)
            if offline is None:
                return queued
            for user_id in offline:
                try:
                    if await self.queue_digest(user_id):
                        queued += 1
                except (SQLAlchemyError, OSError):
                    raise
                except Exception:
                    # One user's bad payload (a template error) must not stop everyone else's digests.
                    log.exception("digest for one user failed; skipped this round", extra={"user_id": user_id})
            if len(due) < USERS_PER_ROUND:
                return queued

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
            link=self.settings.public_url.rstrip("/") + "/",
        )

    async def queue_digest(self, user_id: int) -> bool:
        delay = self.settings.digest_delay
        async with self.ctx.sessions.begin() as session:
            user = await q.lock_recipient(session, user_id, delay_seconds=delay)
            if user is None:
                return False
            rows = await q.pending_notifications(session, user_id, delay_seconds=delay)
            if not rows:
                return False
            about = sorted({r.about_user_id for r in rows if r.about_user_id is not None})
            names = await person_names(session, about)
            with for_recipients():
                mail = self._render(user, build_digest(rows, user_id, names))
            await outbox_q.insert_many(session, [{
                "recipient": user.email, "subject": mail.subject, "body_text": mail.text, "body_html": mail.html,
                "kind": q.DIGEST_KIND, "user_id": user.id,
            }])
            await q.mark_emailed(session, [r.id for r in rows])
        log.info("digest queued", extra={"user_id": user_id, "notifications": len(rows)})
        return True
