"""Access tokens (JWT, short-lived) and opaque refresh / reset tokens (random, stored hashed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from edutrack.errors import Unauthorized
from edutrack.i18n import _

ISSUER = "edutrack"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "typ", "role"]
# Verified access tokens remembered per process: a client sends the same token with every request until it
# is refreshed, and checking the signature again costs more than a cached read of the diary.
VERIFIED_CACHE_SIZE = 10_000
_HMAC_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as the access token says. Authorization decisions start from this."""

    user_id: int
    role: str
    school_id: int | None
    is_superuser: bool
    expires_at: int = 0
    issued_at: float = 0.0
    # The login this token belongs to (its refresh-token family): a logout ends it, and its access tokens with it.
    session_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" or self.is_superuser


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


# Crockford's base32: no I, L, O or U, so a code read from an email and typed by hand is not misread.
RESET_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RESET_CODE_LENGTH = 16  # 80 random bits: far past guessing within a link's hour, and short enough to type
_MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_reset_code() -> str:
    """The secret of a password reset email, for its link and to be typed: "7KQ2-M9XD-4RTB-H0CA"."""
    raw = "".join(secrets.choice(RESET_CODE_ALPHABET) for _ in range(RESET_CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, RESET_CODE_LENGTH, 4))


def reset_code_key(typed: str) -> str | None:
    """The stored form of a reset code as a person may type it (any case, spaces or dashes, O for 0, I or L for 1),
    or None when it cannot be one (an invitation's longer token)."""
    plain = "".join(ch for ch in typed.upper() if ch.isalnum()).translate(_MISREAD)
    if len(plain) != RESET_CODE_LENGTH or any(ch not in RESET_CODE_ALPHABET for ch in plain):
        return None
    return plain


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(self, secret: str, algorithm: str, access_ttl: int) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self.access_ttl = access_ttl
        # Keyed by the token's SHA-256, not the token: an open socket's token (~300 characters) would otherwise
        # stay in memory for as long as the entry does, on top of its socket (docs/benchmarks.md, memory per socket).
        self._verified: dict[bytes, Principal] = {}
        # user id -> (cut-off, when the entry may go): tokens of that user issued at or before the cut-off are
        # refused. Filled from users.access_valid_after at start-up and by every node's broadcast (realtime hub).
        self._cutoffs: dict[int, tuple[float, float]] = {}
        self._prune_above = 1000
        # Ended login sessions (logout, reuse of a rotated refresh token) -> when the entry may go: their access
        # tokens are refused. Filled like the cut-offs (services/access.py).
        self._ended: dict[str, float] = {}
        self._prune_ended_above = 1000
        # The header every token of ours carries (as PyJWT writes it) and a keyed HMAC to copy: _fast_claims.
        digest = _HMAC_DIGESTS.get(algorithm)
        self._header = jwt.encode({}, secret, algorithm=algorithm).split(".", 1)[0] if digest else ""
        self._signer = hmac.new(secret.encode(), digestmod=digest) if digest else None

    def issue_access(self, user_id: int, role: str, school_id: int | None, is_superuser: bool,
                     session_id: str | None = None) -> tuple[str, int]:
        issued = time.time()
        exp = int(issued) + self.access_ttl
        claims = {
            "iss": ISSUER,
            "sub": str(user_id),
            # Not whole seconds: a token issued just after a cut-off (the fresh pair of a password change) must
            # compare as later than it. A JSON float keeps time.time() exactly.
            "iat": issued,
            "exp": exp,
            "jti": uuid.uuid4().hex,
            "typ": "access",
            "role": role,
            "sch": school_id,
            "su": is_superuser,
            **({"sid": session_id} if session_id else {}),
        }
        return jwt.encode(claims, self._secret, algorithm=self._algorithm), exp

    def decode_access(self, token: str) -> Principal:
        key = hashlib.sha256(token.encode()).digest()
        known = self._verified.get(key)
        if known is not None and known.expires_at > time.time():
            principal = known  # its signature and claims were checked; only the expiry moves
        else:
            principal = self._decode_access(token)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.clear()  # crude but bounded: the working set is refilled at one decode per token
            self._verified[key] = principal
        if self.is_cut_off(principal):
            raise Unauthorized(_("This access token was issued before a change to the account; refresh it"),
                               code="token_revoked")
        return principal

    def issue_device(self, account: str, ttl: int) -> str:
        """A device token: proof that this client signed in to `account` (a hash of its email) before. It grants no
        access; it only keeps the login throttles that strangers can trip (per address, per account) off this
        device. Signed like access tokens, but its `typ` makes decode_access refuse it."""
        now = int(time.time())
        claims = {"iss": ISSUER, "typ": "device", "sub": account, "did": uuid.uuid4().hex, "iat": now,
                  "exp": now + ttl}
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def device_id(self, token: str | None, account: str) -> str | None:
        """The id of a valid device token of `account`, else None (absent, forged, expired, another account's)."""
        if not token:
            return None
        try:
            claims = jwt.decode(token, self._secret, algorithms=[self._algorithm], issuer=ISSUER,
                                options={"require": ["exp", "sub", "typ", "did"]})
        except jwt.PyJWTError:
            return None
        did = claims.get("did")
        if claims.get("typ") != "device" or claims.get("sub") != account or not isinstance(did, str):
            return None
        return did if did.isalnum() and len(did) <= 64 else None

    def is_cut_off(self, principal: Principal) -> bool:
        if principal.session_id is not None and principal.session_id in self._ended:
            return True
        cutoff = self._cutoffs.get(principal.user_id)
        return cutoff is not None and principal.issued_at <= cutoff[0]

    def end_session(self, session_id: str, ended_at: float) -> None:
        """Refuse the access tokens of this login session on this node, for as long as any of them can live."""
        if len(self._ended) > self._prune_ended_above:
            now = time.time()
            self._ended = {sid: until for sid, until in self._ended.items() if until > now}
            self._prune_ended_above = max(1000, 2 * len(self._ended))
        self._ended[session_id] = max(self._ended.get(session_id, 0.0), ended_at + self.access_ttl + 60)

    def revoke_before(self, user_id: int, cutoff: float) -> None:
        """Refuse the user's access tokens issued at or before `cutoff` (a Unix time) on this node."""
        if len(self._cutoffs) > self._prune_above:
            # Entries past every token's lifetime can no longer refuse anything. Pruned when the map has doubled,
            # so a mass deactivation (the end of a school year) costs linear time, not quadratic.
            now = time.time()
            self._cutoffs = {uid: entry for uid, entry in self._cutoffs.items() if entry[1] > now}
            self._prune_above = max(1000, 2 * len(self._cutoffs))
        known = self._cutoffs.get(user_id)
        if known is None or known[0] < cutoff:
            self._cutoffs[user_id] = (cutoff, cutoff + self.access_ttl + 60)

    def _fast_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a valid token in exactly the shape issue_access makes (our header, an HMAC signature in
        canonical base64url, the claims of REQUIRED_CLAIMS with their types, not expired, not issued in the future,
        no `aud` or `nbf`); None for any other token, which PyJWT then decodes in full, refusing it or accepting it
        as before. Accepts nothing PyJWT would refuse. PyJWT's general path (key preparation, header parsing, the
        generic validators) was an eighth of a node's CPU while 5,000 sockets connected with fresh tokens."""
        if self._signer is None:
            return None
        head, _, rest = token.partition(".")
        payload, _, signature = rest.partition(".")
        if head != self._header or not payload or "." in signature:
            return None
        mac = self._signer.copy()
        mac.update(f"{head}.{payload}".encode())
        if not hmac.compare_digest(base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode(), signature):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        if not isinstance(claims, dict) or "aud" in claims or "nbf" in claims or claims.get("iss") != ISSUER:
            return None
        if any(claims.get(name) is None for name in REQUIRED_CLAIMS):
            return None
        exp, iat, now = claims["exp"], claims["iat"], time.time()
        if type(exp) is not int or type(iat) not in (int, float) or exp <= now or int(iat) > now:
            return None
        return claims if isinstance(claims["sub"], str) and isinstance(claims["jti"], str) else None

    def _decode_access(self, token: str) -> Principal:
        try:
            claims = self._fast_claims(token) or jwt.decode(
                token,
                self._secret,
                # Pinned: never trust the token's own "alg" header (no "none", no key confusion).
                algorithms=[self._algorithm],
                issuer=ISSUER,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized(_("Access token has expired"), code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(_("Access token is invalid"), code="invalid_token") from exc
        if claims.get("typ") != "access":
            raise Unauthorized(_("Access token is invalid"), code="invalid_token")
        try:
            user_id = int(claims["sub"])
        except (TypeError, ValueError) as exc:
            raise Unauthorized(_("Access token is invalid"), code="invalid_token") from exc
        school = claims.get("sch")
        sid = claims.get("sid")
        return Principal(
            user_id=user_id,
            role=str(claims["role"]),
            school_id=int(school) if isinstance(school, int) else None,
            is_superuser=bool(claims.get("su", False)),
            expires_at=int(claims["exp"]),
            issued_at=float(claims["iat"]),
            session_id=sid if isinstance(sid, str) else None,
        )
