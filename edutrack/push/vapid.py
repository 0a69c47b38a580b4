"""The application server's VAPID key (RFC 8292): from VAPID_PRIVATE_KEY, else generated once and kept in
PostgreSQL so every API node (whose public key browsers subscribe with) and every notifier (which signs with it)
share it. Two nodes generating at the same moment both INSERT ... ON CONFLICT DO NOTHING and then read: one key
wins and both use it."""

from __future__ import annotations

import base64
from email.utils import parseaddr

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from edutrack.context import AppContext
from edutrack.db.notify import VapidKey
from edutrack.settings import Settings


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    """Raises ValueError on what is not base64url."""
    if not text or any(c in text for c in "+/= \n"):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_from_raw(raw: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64url_decode(raw), "big"), ec.SECP256R1())


def raw_of(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The uncompressed point, base64url: what `PushManager.subscribe({applicationServerKey})` takes."""
    return b64url(key.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint))


def subject(settings: Settings) -> str:
    """The `sub` claim: VAPID_SUBJECT, else mailto: the address of SMTP_FROM."""
    return settings.vapid_subject or "mailto:" + (parseaddr(settings.smtp_from)[1] or "noreply@edutrack.local")


async def private_key(ctx: AppContext) -> ec.EllipticCurvePrivateKey:
    if ctx.settings.vapid_private_key:
        return key_from_raw(ctx.settings.vapid_private_key)
    async with ctx.sessions.begin() as session:
        stored = (await session.execute(select(VapidKey.private_key).where(VapidKey.id == 1))).scalar()
        if stored is None:
            generated = raw_of(ec.generate_private_key(ec.SECP256R1()))
            await session.execute(insert(VapidKey).values(id=1, private_key=generated)
                                  .on_conflict_do_nothing(index_elements=[VapidKey.id]))
            stored = (await session.execute(select(VapidKey.private_key).where(VapidKey.id == 1))).scalar_one()
    return key_from_raw(stored)
