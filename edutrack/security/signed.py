"""Signed links that act without login (one-click unsubscribe, acknowledgements from an email).

A link carries its own facts (`user.kinds`) and an HMAC-SHA256 of them under JWT_SECRET and a purpose, so one
kind of link cannot be replayed as another and nothing has to be stored per email. Rotating JWT_SECRET voids
every link already sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

MAC_BYTES = 16


def _mac(secret: str, purpose: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}\n{payload}".encode(), hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(secret: str, purpose: str, *parts: str) -> str:
    """`parts` must not contain '.'; the token is url-safe."""
    assert all("." not in p for p in parts), parts
    payload = ".".join(parts)
    return f"{payload}.{_mac(secret, purpose, payload)}"


def verify(secret: str, purpose: str, token: str) -> list[str] | None:
    """The parts of a token signed for this purpose, or None."""
    payload, dot, mac = token.rpartition(".")
    if not dot or not hmac.compare_digest(mac, _mac(secret, purpose, payload)):
        return None
    return payload.split(".")
