"""The notifier's side of web push: one outbox row of kind `push` is one encrypted POST (RFC 8291, aes128gcm)
with a VAPID signature (RFC 8292) to one subscription's push service, through pywebpush.

How the push service's answer is classified (docs/notifications.md):
201 (or any 2xx): sent. 404/410: the subscription is gone (the browser unsubscribed, the user cleared it): it is
deleted and the row is dead. 429 and 5xx, refused/timed-out connections: transient, retried through the delay
queues like an email. Any other 4xx: permanent, dead-lettered with the service's answer.
"""

from __future__ import annotations

import logging

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.context import AppContext
from edutrack.notifier.smtp import SendFailure
from edutrack.push import vapid
from edutrack.queries import push as q
from edutrack.queries.outbox import OutboxMail

log = logging.getLogger(__name__)

GONE = (404, 410)


class PushSender:
    """One per notifier sender task: an HTTP session kept open between pushes, and the VAPID key once read."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _signer(self) -> Vapid:
        if self._key is None:
            self._key = await vapid.private_key(self.ctx)
        return Vapid(private_key=self._key)

    async def send(self, session: AsyncSession, row: OutboxMail) -> SendFailure | None:
        raw_id = row.recipient.removeprefix(q.RECIPIENT_PREFIX)
        found = await q.subscription(session, int(raw_id)) if raw_id.isdigit() else None
        if found is None:
            return SendFailure(permanent=True, reason="the push subscription was removed before the push")
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.smtp_timeout))
        info = {"endpoint": found.endpoint, "keys": {"p256dh": found.p256dh, "auth": found.auth}}
        try:
            await webpush_async(info, data=row.body_text, vapid_private_key=await self._signer(),
                                vapid_claims={"sub": vapid.subject(self.settings)}, content_encoding="aes128gcm",
                                ttl=self.settings.push_ttl, headers={"Urgency": "normal"},
                                aiohttp_session=self._http)
        except WebPushException as exc:
            status = exc.status_code
            if status in GONE:
                await q.delete_subscription(session, found.id)
                log.info("push subscription gone; removed", extra={"subscription_id": found.id, "status": status})
                return SendFailure(permanent=True, reason=f"push subscription gone ({status}); it was removed")
            if status is not None and (status == 429 or status >= 500):
                return SendFailure(permanent=False, reason=f"push service answered {status}")
            return SendFailure(permanent=True, reason=f"push service refused the push: {str(exc)[:300]}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return SendFailure(permanent=False, reason=f"push service unreachable: {exc!r}"[:300])
        return None
