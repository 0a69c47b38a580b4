"""A real push service inside the test (RFC 8030's push resource, as far as an application server sees it): it
checks every request's VAPID authorization (RFC 8292: the ES256 signature with the `k` key, `aud` the
endpoint's origin, `exp` in the future and at most 24 h away, `sub` a contact) and the encryption headers, keeps
the encrypted body, and answers what the test scripted (then 201). A browser of the test holds the keys of a
subscription (a P-256 key pair and an auth secret, made with `cryptography`) and decrypts what arrived with
http_ece, the library pywebpush encrypts with."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One browser's subscription keys."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def keys(self) -> dict[str, str]:
        point = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
        return {"p256dh": b64(point), "auth": b64(self.auth)}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        clear = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        found: dict[str, Any] = json.loads(clear)
        return found


@dataclass
class Arrival:
    token: str
    body: bytes
    headers: dict[str, str]  # names in lower case
    claims: dict[str, Any]
    vapid_key: str  # the `k` of the authorization: the application server's public key


def verify_vapid(authorization: str, origin: str) -> tuple[dict[str, Any], str]:
    """The claims and public key of a valid `vapid t=..., k=...` authorization; AssertionError otherwise."""
    scheme, _, params = authorization.partition(" ")
    assert scheme.lower() == "vapid", authorization
    values = dict(part.strip().split("=", 1) for part in params.split(","))
    token, key = values["t"], values["k"]
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(unb64(header_b64))
    assert header == {"typ": "JWT", "alg": "ES256"} or header.get("alg") == "ES256", header
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(key))
    raw = unb64(signature_b64)
    assert len(raw) == 64, "an ES256 JWS signature is r || s, 64 bytes"
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(signature, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("the VAPID signature does not verify") from None
    claims: dict[str, Any] = json.loads(unb64(claims_b64))
    assert claims["aud"] == origin, claims
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
    assert str(claims["sub"]).startswith(("mailto:", "https:")), claims
    return claims, key


@dataclass
class PushService:
    base: str
    script: dict[str, list[int]] = field(default_factory=dict)  # token -> statuses to answer, then 201
    arrivals: list[Arrival] = field(default_factory=list)
    answered: list[tuple[str, int]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why a request failed the checks (must stay empty)

    def endpoint(self, token: str) -> str:
        return f"{self.base}/push/{token}"

    async def handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        try:
            claims, key = verify_vapid(request.headers.get("Authorization", ""), self.base)
            assert request.headers.get("Content-Encoding") == "aes128gcm", dict(request.headers)
            assert int(request.headers["TTL"]) > 0
        except (AssertionError, KeyError, ValueError) as exc:
            self.refused.append(repr(exc))
            return web.Response(status=400, text=repr(exc))
        body = await request.read()
        status = self.script[token].pop(0) if self.script.get(token) else 201
        self.answered.append((token, status))
        if status == 201:
            self.arrivals.append(Arrival(token, body, {k.lower(): v for k, v in request.headers.items()}, claims,
                                        key))
        return web.Response(status=status)


@contextlib.asynccontextmanager
async def running_push_service() -> AsyncIterator[PushService]:
    service = PushService("")
    app = web.Application()
    app.router.add_post("/push/{token}", service.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    service.base = f"http://127.0.0.1:{port}"
    try:
        yield service
    finally:
        await runner.cleanup()
