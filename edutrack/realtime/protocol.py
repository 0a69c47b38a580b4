"""The websocket protocol of /ws: frame types, their validation, close codes, error codes, limits.

docs/websocket.md is the client-facing description of everything here; keep the two in step.
Frames are validated by hand rather than with marshmallow: this runs for every frame of every socket,
and the shapes are small.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

SUBPROTOCOL = "edutrack.v1"
BEARER_PREFIX = "bearer."


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001  # server shutting down (SIGTERM)
    MESSAGE_TOO_BIG = 1009  # frame above the hard limit (aiohttp closes the socket itself)
    INTERNAL_ERROR = 1011
    AUTH_FAILED = 4001  # missing or invalid token at connect / in the first auth frame
    TOKEN_EXPIRED = 4002  # the token expired and no fresh one arrived in time
    AUTH_TIMEOUT = 4003  # no token within the auth deadline
    SLOW_CONSUMER = 4008  # send queue overflowed: the client does not read fast enough
    POLICY_VIOLATION = 4009  # too many invalid or rate-limited frames


class ErrorCode:
    INVALID_JSON = "invalid_json"
    INVALID_FRAME = "invalid_frame"
    UNKNOWN_TYPE = "unknown_type"
    FRAME_TOO_LARGE = "frame_too_large"
    RATE_LIMITED = "rate_limited"
    NOT_SUBSCRIBED = "not_subscribed"
    ALREADY_SUBSCRIBED = "already_subscribed"
    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
    UNAUTHORIZED = "unauthorized"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (an error code, not a secret)
    TOKEN_REVOKED = "token_revoked"  # noqa: S105
    INTERNAL = "internal_error"


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-socket protection. One object per gateway; tests may swap it for smaller numbers."""

    max_frame_bytes: int = 16 * 1024  # larger frames get an error frame, the socket stays open
    hard_frame_bytes: int = 64 * 1024  # larger frames close the socket (1009) before we see them
    # Frames waiting for a slow client before it is cut off (4008). Queued frames are shared str objects
    # (serialized once per event for all sockets), so a deep queue costs pointers, not copies.
    send_queue: int = 1024
    ephemeral_watermark: float = 0.5  # above this fill ratio typing/presence frames are dropped
    # A frame is written straight to the socket from the fan-out while the transport holds at most this many
    # unsent bytes (and nothing is queued); above it the client is behind and frames go through the queue.
    write_buffer_watermark: int = 64 * 1024
    auth_timeout: float = 5.0
    heartbeat: float = 25.0  # websocket ping interval; no pong within half of it closes the socket
    close_timeout: float = 5.0  # how long a close handshake may take before the transport is aborted
    frames_per_second: float = 30.0
    frames_burst: int = 60
    sends_per_second: float = 5.0
    sends_burst: int = 20
    errors_per_second: float = 0.5  # budget of error frames; running out closes with 4009
    errors_burst: int = 20
    max_subscriptions: int = 200
    replay_limit: int = 500  # a larger gap is not replayed over the socket: the client pages via REST
    gap_grace: float = 0.25  # how long a chat hole may stay open before it is read from the database
    typing_interval: float = 2.0  # at most one typing event per channel per interval
    token_refresh_warning: float = 60.0  # `auth.expiring` this many seconds before the token expires


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True, slots=True)
class Frame:
    type: str
    data: dict[str, Any]
    req: str | int | None


CLIENT_TYPES = ("auth", "subscribe", "unsubscribe", "chat.send", "typing", "read", "ping")


def _str(data: dict[str, Any], name: str, *, max_len: int, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise ProtocolError(ErrorCode.INVALID_FRAME, f"'{name}' is required", {name: "required"})
        return None
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ProtocolError(ErrorCode.INVALID_FRAME, f"'{name}' must be a string of 1..{max_len} characters",
                            {name: "invalid"})
    return value


def _int(data: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = data.get(name)
    if value is None:
        if required:
            raise ProtocolError(ErrorCode.INVALID_FRAME, f"'{name}' is required", {name: "required"})
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**63 - 1:
        raise ProtocolError(ErrorCode.INVALID_FRAME, f"'{name}' must be a non-negative integer",
                            {name: "invalid"})
    return value


def parse_frame(raw: str) -> Frame:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ProtocolError(ErrorCode.INVALID_JSON, "Frame is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.INVALID_FRAME, "Frame must be a JSON object with a 'type'")
    req = data.get("req")
    if req is not None and (isinstance(req, bool) or not isinstance(req, str | int)
                            or (isinstance(req, str) and len(req) > 64)):
        raise ProtocolError(ErrorCode.INVALID_FRAME, "'req' must be a string (up to 64) or an integer")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.INVALID_FRAME, "Frame must have a string 'type'")
    if kind not in CLIENT_TYPES:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"Unknown frame type {kind[:40]!r}",
                            {"known": list(CLIENT_TYPES)})
    fields: dict[str, Any] = {}
    if kind == "auth":
        fields["token"] = _str(data, "token", max_len=4096)
    elif kind in ("subscribe", "unsubscribe", "typing"):
        fields["channel"] = _str(data, "channel", max_len=64)
        if kind == "subscribe":
            fields["since"] = _int(data, "since", required=False)
    elif kind == "chat.send":
        fields["channel"] = _str(data, "channel", max_len=64)
        text = data.get("text")
        if not isinstance(text, str):
            raise ProtocolError(ErrorCode.INVALID_FRAME, "'text' must be a string", {"text": "invalid"})
        fields["text"] = text
        fields["client_msg_id"] = _str(data, "client_msg_id", max_len=64, required=False)
    elif kind == "read":
        feed = data.get("feed")
        if feed is True:
            fields["channel"] = None
        else:
            fields["channel"] = _str(data, "channel", max_len=64)
        fields["up_to"] = _int(data, "up_to", required=True)
    return Frame(kind, fields, req)


def dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"), default=str)


def error_frame(code: str, message: str, *, req: str | int | None = None, details: Any = None,
                **extra: Any) -> str:
    body: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if details is not None:
        body["details"] = details
    if req is not None:
        body["req"] = req
    body.update(extra)
    return dumps(body)


def token_from_subprotocols(header: str | None) -> str | None:
    """The access token carried as a `bearer.<token>` entry of Sec-WebSocket-Protocol, if any."""
    if not header:
        return None
    for item in header.split(","):
        item = item.strip()
        if item.startswith(BEARER_PREFIX) and len(item) > len(BEARER_PREFIX):
            return item[len(BEARER_PREFIX):]
    return None


class TokenBucket:
    """`rate` tokens a second up to `burst`; one per allowed event."""

    __slots__ = ("_burst", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
