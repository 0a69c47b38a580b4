"""Access tokens in the shape we issue are checked without PyJWT's general path (TokenService._fast_claims); every
token gets the answer PyJWT's full decode gives it, accepted or refused with the same code."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest

from edutrack.errors import Unauthorized
from edutrack.security.tokens import ISSUER, TokenService

SECRET = "fast-path-secret-" + "z" * 60


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**changes: object) -> dict[str, object]:
    now = time.time()
    claims: dict[str, object] = {"iss": ISSUER, "sub": "7", "iat": now, "exp": int(now) + 600, "jti": uuid.uuid4().hex,
                                 "typ": "access", "role": "student", "sch": 3, "su": False}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(claims: dict[str, object], secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def _tampered_payload() -> str:
    head, _, signature = _signed(_claims()).split(".")
    payload = _b64(json.dumps(_claims(sub="8")).encode())
    return f"{head}.{payload}.{signature}"


def _padded_signature() -> str:
    return _signed(_claims()) + "="  # the same signature bytes, not in canonical base64url


CASES = {
    "valid": lambda: _signed(_claims()),
    "valid, with a session": lambda: _signed(_claims(sid="s1")),
    "expired": lambda: _signed(_claims(exp=int(time.time()) - 5)),
    "issued in the future": lambda: _signed(_claims(iat=time.time() + 60)),
    "another secret": lambda: _signed(_claims(), secret="another-secret-" + "q" * 60),
    "another algorithm": lambda: _signed(_claims(), algorithm="HS512"),
    "alg none": lambda: jwt.encode(_claims(), None, algorithm="none"),
    "tampered payload": _tampered_payload,
    "padded signature": _padded_signature,
    "an audience": lambda: _signed(_claims(aud="elsewhere")),
    "not before, in the future": lambda: _signed(_claims(nbf=int(time.time()) + 60)),
    "another issuer": lambda: _signed(_claims(iss="someone")),
    "no jti": lambda: _signed(_claims(jti=None)),
    "numeric sub": lambda: _signed(_claims(sub=7)),
    "exp as text": lambda: _signed(_claims(exp=str(int(time.time()) + 600))),
    "a refresh-like typ": lambda: _signed(_claims(typ="device")),
    "four segments": lambda: _signed(_claims()) + ".x",
    "garbage": lambda: "not.a.token",
}


def _outcome(service: TokenService, token: str) -> object:
    try:
        return service._decode_access(token)
    except Unauthorized as exc:
        return exc.code


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_fast_path_answers_as_pyjwt_does(case: str) -> None:
    service = TokenService(SECRET, "HS256", 600)
    token = CASES[case]()
    reference = TokenService(SECRET, "HS256", 600)
    reference._signer = None  # PyJWT's full decode only
    assert _outcome(service, token) == _outcome(reference, token)


def test_only_our_own_valid_tokens_take_the_fast_path() -> None:
    service = TokenService(SECRET, "HS256", 600)
    token, _ = service.issue_access(7, "teacher", 3, False, session_id="abc")
    assert service._fast_claims(token) is not None
    fast = [name for name, make in CASES.items() if service._fast_claims(make()) is not None]
    assert fast == ["valid", "valid, with a session", "a refresh-like typ"]  # typ is checked after, for both
