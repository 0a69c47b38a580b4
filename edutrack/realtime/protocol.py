"""The websocket protocol of /ws: close codes, error codes, limits, the subprotocol.

docs/websocket.md is the client-facing description of everything here; keep the two in step. Client frames
(commands) are declared in commands.py and handlers.py, server frames in frames.py.
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
    SLOW_CONSUMER = 4008  # too much waiting for the client: it does not read fast enough
    POLICY_VIOLATION = 4009  # too many invalid or rate-limited frames
    TOO_MANY_SOCKETS = 4029  # the user already holds WS_MAX_SOCKETS_PER_USER sockets on this node


class ErrorCode:
    INVALID_JSON = "invalid_json"
    INVALID_FRAME = "invalid_frame"
    INVALID_TEXT = "invalid_text"
    UNKNOWN_TYPE = "unknown_type"
    FRAME_TOO_LARGE = "frame_too_large"
    RATE_LIMITED = "rate_limited"
    NOT_SUBSCRIBED = "not_subscribed"
    ALREADY_SUBSCRIBED = "already_subscribed"
    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
    TOO_MANY_SOCKETS = "too_many_sockets"
    UNAUTHORIZED = "unauthorized"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (an error code, not a secret)
    TOKEN_REVOKED = "token_revoked"  # noqa: S105
    INTERNAL = "internal_error"


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-socket protection. One object per gateway; tests may swap it for smaller numbers."""

    max_frame_bytes: int = 16 * 1024  # larger frames get an error frame, the socket stays open
    hard_frame_bytes: int = 64 * 1024  # larger frames close the socket (1009) before we see them
    # A slow client is cut off (4008) at whichever of these comes first (transport.SocketWriter). Queued frames are
    # shared bytes objects (framed once per event for all sockets), so a deep queue costs pointers, not copies.
    send_queue: int = 1024  # frames waiting in its queue
    max_unsent_bytes: int = 4 * 1024 * 1024  # its queue + its transport's buffer + the kernel's send buffer
    ephemeral_watermark: float = 0.5  # above this fill ratio typing/presence frames are dropped
    # A frame is written straight to the socket from the fan-out while the transport holds at most this many
    # unsent bytes (and nothing is queued); above it the client is behind and frames go through the queue.
    write_buffer_watermark: int = 64 * 1024
    auth_timeout: float = 5.0
    heartbeat: float = 25.0  # websocket ping interval; no pong within half of it closes the socket
    close_timeout: float = 5.0  # how long a close (or unsent bytes at the end) may take before the connection is reset
    frames_per_second: float = 30.0
    frames_burst: int = 60
    errors_per_second: float = 0.5  # budget of error frames; running out closes with 4009
    errors_burst: int = 20
    max_subscriptions: int = 200
    replay_limit: int = 500  # a larger gap is not replayed over the socket: the client pages via REST
    gap_grace: float = 0.25  # how long a chat hole may stay open before it is read from the database
    typing_interval: float = 2.0  # at most one typing event per channel per interval (and see ratelimit.TYPING)
    token_refresh_warning: float = 60.0  # `auth.expiring` this many seconds before the token expires


class ProtocolError(Exception):
    """A frame refused before its handler ran; `req`: the frame's, once it could be read."""

    def __init__(self, code: str, message: str, details: Any = None, *, req: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.req = req


Req = str | int | None  # the client's `req`, echoed in replies to its frame


def dumps(frame: Any) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"), default=str)


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
