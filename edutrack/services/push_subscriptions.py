"""Browsers' web push subscriptions (docs/notifications.md, "Web push"): each person adds, lists and removes only
their own. A subscription is checked before it is stored: an https endpoint (http only on this machine when
PUSH_ALLOW_LOCAL_HTTP allows it, for a local push service in tests), a P-256 public key that is a point on the
curve, a 16-byte authentication secret. The endpoint identifies the browser: subscribing it again replaces the
keys, and if another account had it (someone else signed in on that browser), it moves to the one subscribing now.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.notify import PushSubscription
from edutrack.i18n import _
from edutrack.push import vapid
from edutrack.queries import push as q
from edutrack.security.tokens import Principal
from edutrack.settings import Settings
from edutrack.uow import unit_of_work

CHANGES_PER_HOUR = 60
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _invalid(field: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, code="invalid_subscription", details={field: [message]})


def check_endpoint(settings: Settings, endpoint: str) -> None:
    try:
        url = urllib.parse.urlsplit(endpoint)
        host = url.hostname
        _port = url.port  # a malformed port raises here
    except ValueError:
        host = None
    if not host or url.username or url.password:
        raise _invalid("endpoint", _("The push endpoint is not a valid address."))
    local_http = url.scheme == "http" and host in LOCAL_HOSTS and settings.push_allow_local_http
    if url.scheme != "https" and not local_http:
        raise _invalid("endpoint", _("The push endpoint must be an https address."))


def check_keys(p256dh: str, auth: str) -> None:
    try:
        point = vapid.b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        if len(point) != 65:
            raise ValueError("not an uncompressed point")
    except ValueError:
        raise _invalid("p256dh", _("The browser's push key (p256dh) is not a P-256 public key.")) from None
    try:
        secret = vapid.b64url_decode(auth)
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise _invalid("auth", _("The push authentication secret (auth) must be 16 bytes in base64url."))


def _dump(row: PushSubscription) -> dict[str, Any]:
    return {"id": row.id, "endpoint": row.endpoint, "user_agent": row.user_agent, "created_at": row.created_at}


async def public_key(ctx: AppContext) -> dict[str, str]:
    return {"public_key": vapid.public_key_b64(await vapid.private_key(ctx))}


async def _admit(ctx: AppContext, who: Principal) -> None:
    count, ttl = await ctx.limiter.hit(f"push:subs:{who.user_id}", 3600)
    if count > CHANGES_PER_HOUR:
        raise errors.TooManyRequests(ttl, _("Too many changes of push subscriptions; try again later."))


async def subscribe(ctx: AppContext, who: Principal, data: dict[str, Any],
                    user_agent: str | None) -> tuple[dict[str, Any], bool]:
    """Store (or refresh) this browser's subscription; returns it and whether it is new for this user."""
    await _admit(ctx, who)
    endpoint, keys = data["endpoint"], data["keys"]
    check_endpoint(ctx.settings, endpoint)
    check_keys(keys["p256dh"], keys["auth"])
    async with unit_of_work(ctx) as uow:
        row = await q.subscription_by_endpoint(uow.session, endpoint)
        created = row is None or row.user_id != who.user_id
        if created and await q.count_of(uow.session, who.user_id) >= ctx.settings.push_max_subscriptions:
            raise errors.Conflict(_("You have push notifications in %(count)s browsers already; turn them off "
                                    "in one of them first.", count=ctx.settings.push_max_subscriptions),
                                  code="too_many_subscriptions")
        if row is None:
            row = PushSubscription(user_id=who.user_id, endpoint=endpoint)
            uow.session.add(row)
        row.user_id = who.user_id
        row.p256dh, row.auth = keys["p256dh"], keys["auth"]
        row.user_agent = (user_agent or "")[:200] or None
        await uow.session.flush()
        await uow.session.refresh(row)
        found = _dump(row)
    return found, created


async def list_own(ctx: AppContext, who: Principal) -> list[dict[str, Any]]:
    async with ctx.reads() as session:
        return [_dump(r) for r in await q.subscriptions_of(session, who.user_id)]


async def unsubscribe(ctx: AppContext, who: Principal, subscription_id: int) -> None:
    """Someone else's subscription is as absent as one that does not exist (404)."""
    await _admit(ctx, who)
    async with unit_of_work(ctx) as uow:
        if not await q.delete_own(uow.session, who.user_id, subscription_id):
            raise errors.NotFound(_("No such push subscription."))
