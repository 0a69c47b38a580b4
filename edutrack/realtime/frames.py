"""Every frame the server sends on /ws, declared once: its fields and their types.

Two kinds. Replies and frames of the socket itself are built here, by the constructors below, and encoded once.
Events of a channel (`chat.*`, `notification`, `read`, `presence`, `typing`) are built where they happen
(edutrack/services/chat.py, edutrack/events.py; presence and typing here) and published on Redis; the hub relays
their text as it is, so their declarations here are the shape those builders must keep. The realtime tests check
every frame they receive against `SERVER_FRAMES`, and docs/websocket.md's list of server frames against it.
"""

# No `from __future__ import annotations` here: TypedDict reads NotRequired[...] from evaluated annotations only.
import time
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, cast

from edutrack.realtime.protocol import Limits, Req, dumps

# --- replies and socket frames -----------------------------------------------------------------------------


class ReadyLimits(TypedDict):
    max_frame_bytes: int
    send_queue: int
    sends_per_second: float
    replay_limit: int


class Ready(TypedDict):
    type: Literal["ready"]
    user_id: int
    role: str
    expires_at: int
    first_device: bool
    limits: ReadyLimits


class AuthOk(TypedDict):
    type: Literal["auth.ok"]
    req: Req
    expires_at: int


class AuthExpiring(TypedDict):
    type: Literal["auth.expiring"]
    expires_at: int


class Pong(TypedDict):
    type: Literal["pong"]
    req: Req
    ts: float


class Subscribed(TypedDict):
    type: Literal["subscribed"]
    req: Req
    channel: str
    since: int
    last_id: int
    live: bool
    missed: NotRequired[int]  # chats only
    online: NotRequired[list[int]]  # chats only


class Unsubscribed(TypedDict):
    type: Literal["unsubscribed"]
    req: Req
    channel: str
    reason: NotRequired[Literal["not_a_member"]]  # the server unsubscribed you (req is null)


class Ack(TypedDict):
    type: Literal["ack"]
    req: Req
    channel: str
    id: int
    client_msg_id: str | None
    duplicate: bool
    created_at: str | None


class ReadOk(TypedDict):
    type: Literal["read.ok"]
    req: Req
    channel: str
    last_read_id: NotRequired[int]  # a chat
    updated: NotRequired[int]  # the feed
    unread_count: NotRequired[int]  # the feed


# `from` is a keyword: the functional form.
Resync = TypedDict("Resync", {
    "type": Literal["resync"],
    "channel": str,
    "from": int,
    "to": int | None,
    "reason": Literal["gap_too_large", "unavailable"],
})


class Error(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    details: NotRequired[Any]
    req: NotRequired[str | int]
    client_msg_id: NotRequired[str | None]  # a refused chat.send


# --- channel events, relayed as published ----------------------------------------------------------------------


class Attachment(TypedDict):  # a file attached to a message: GET /api/v1/files/{id} (and /thumbnail)
    id: int
    name: str
    type: str
    size: int
    has_thumbnail: bool
class Quote(TypedDict):
    """The message a reply quotes, as it is when the reply is read (services/chat_replies.py)."""

    id: int
    sender_id: int | None
    sender: str | None
    excerpt: str | None  # its first 120 characters; null once it is deleted
    deleted: bool


class _Message(TypedDict):
    channel: str
    id: int
    sender_id: int
    sender: str
    sender_role: str | None  # student, parent, teacher, class_teacher or admin when sent; null for older ones
    text: str | None
    client_msg_id: str | None
    created_at: str | None
    edited_at: str | None
    deleted: bool
    attachments: list[Attachment]  # empty when none (or deleted)
    reply_to: Quote | None  # the message this one replies to


class ChatMessage(_Message):
    type: Literal["chat.message"]


class ChatEdited(_Message):  # the message as it is after the edit
    type: Literal["chat.edited"]


class ChatDeleted(TypedDict):
    type: Literal["chat.deleted"]
    channel: str
    id: int
    deleted_by: int
    reason: NotRequired[str | None]  # a moderator deleted someone else's message


class ChatReactions(TypedDict):  # someone reacted to a message (or took it back): the counts as they are now
    type: Literal["chat.reactions"]
    channel: str
    id: int
    counts: dict[str, int]
    user_id: int
    reaction: str
    added: bool


class ChatPinned(TypedDict):  # a moderator pinned (or unpinned) a message
    type: Literal["chat.pinned"]
    channel: str
    id: int
    pinned: bool
    by: int


class ChatSlowMode(TypedDict):  # a moderator set (or, with 0, ended) slow mode in the chat
    type: Literal["chat.slow_mode"]
    channel: str
    seconds: int
    by: int


class Notification(TypedDict):
    type: Literal["notification"]
    channel: str
    id: int
    kind: str
    about_user_id: int | None
    payload: dict[str, Any]
    created_at: str | None
    read: bool


class ReadMarker(TypedDict):
    type: Literal["read"]
    channel: str
    up_to: int
    unread_count: NotRequired[int]  # the feed


class Presence(TypedDict):
    type: Literal["presence"]
    channel: str
    user_id: int
    status: Literal["online", "offline"]


class Typing(TypedDict):
    type: Literal["typing"]
    channel: str
    user_id: int


class Journal(TypedDict):
    """A journal this user keeps changed (services/diary/notify.py): ids only, the page re-reads with its rights."""

    type: Literal["journal"]
    channel: str
    class_id: int
    subject_id: int
    what: Literal["grade", "attendance", "term_mark", "lesson"]
    lesson_id: int | None


class Reports(TypedDict):
    """On a moderator's own feed: a chat they moderate had a message reported, or its reports were dealt with
    (services/chat_moderation.py); the report inbox re-reads with its rights."""

    type: Literal["reports"]
    channel: str
    chat: str
    message_id: int
    what: Literal["reported", "resolved"]


class ImportProgress(TypedDict):
    """An onboarding import at work (services/imports/service.py), on the importing admin's own feed."""

    type: Literal["import.progress"]
    channel: str
    import_id: str
    phase: Literal["reading", "checking", "writing", "finished"]
    done: int
    total: int
    ok: NotRequired[bool]  # with phase "finished"


class NewsAckOk(TypedDict):
    """Reply to `news.ack`."""

    type: Literal["news.ack.ok"]
    req: Req
    news_id: int
    acknowledged_at: str
    duplicate: bool


class NewsAckEvent(TypedDict):
    """On the author's own feed: someone confirmed their news item (services/diary/news_acks.py)."""

    type: Literal["news.ack"]
    channel: str
    news_id: int
    user_id: int
    at: str


class ChatAckOk(TypedDict):
    """Reply to `chat.ack`."""

    type: Literal["chat.ack.ok"]
    req: Req
    channel: str
    message_id: int
    acknowledged_at: str
    duplicate: bool


class ChatAckEvent(TypedDict):
    """On the author's own feed: someone confirmed their announcement (services/chat_acks.py)."""

    type: Literal["chat.ack"]
    channel: str
    room: str
    message_id: int
    user_id: int
    at: str


SERVER_FRAMES: Mapping[str, type] = {
    "ready": Ready, "auth.ok": AuthOk, "auth.expiring": AuthExpiring, "pong": Pong, "subscribed": Subscribed,
    "unsubscribed": Unsubscribed, "ack": Ack, "read.ok": ReadOk, "resync": Resync, "error": Error,
    "chat.message": ChatMessage, "chat.edited": ChatEdited, "chat.deleted": ChatDeleted, "chat.slow_mode": ChatSlowMode,
    "chat.reactions": ChatReactions, "chat.pinned": ChatPinned,
    "notification": Notification, "read": ReadMarker, "presence": Presence, "typing": Typing,
    "journal": Journal, "reports": Reports, "import.progress": ImportProgress, "news.ack.ok": NewsAckOk,
    "news.ack": NewsAckEvent, "chat.ack.ok": ChatAckOk, "chat.ack": ChatAckEvent,
}
# Dropped, never replayed, and the first to go when a client falls behind.
EPHEMERAL = frozenset({"typing", "presence"})


# --- constructors: a frame's text, encoded once ------------------------------------------------------------------


def ready(user_id: int, role: str, expires_at: int, first_device: bool, limits: Limits,
          sends_per_second: float) -> str:
    return dumps(Ready(type="ready", user_id=user_id, role=role, expires_at=expires_at, first_device=first_device,
                       limits=ReadyLimits(max_frame_bytes=limits.max_frame_bytes, send_queue=limits.send_queue,
                                          sends_per_second=sends_per_second, replay_limit=limits.replay_limit)))


def auth_ok(req: Req, expires_at: int) -> str:
    return dumps(AuthOk(type="auth.ok", req=req, expires_at=expires_at))


def auth_expiring(expires_at: int) -> str:
    return dumps(AuthExpiring(type="auth.expiring", expires_at=expires_at))


def pong(req: Req) -> str:
    return dumps(Pong(type="pong", req=req, ts=time.time()))


def subscribed(req: Req, channel: str, since: int, last_id: int, live: bool, *, missed: int | None = None,
               online: list[int] | None = None) -> str:
    frame = Subscribed(type="subscribed", req=req, channel=channel, since=since, last_id=last_id, live=live)
    if missed is not None:
        frame["missed"] = missed
    if online is not None:
        frame["online"] = online
    return dumps(frame)


def unsubscribed(req: Req, channel: str) -> str:
    return dumps(Unsubscribed(type="unsubscribed", req=req, channel=channel))


def removed(channel: str) -> str:
    """The server unsubscribed the socket: its user left the chat."""
    return dumps(Unsubscribed(type="unsubscribed", req=None, channel=channel, reason="not_a_member"))


def ack(req: Req, message: Mapping[str, Any], duplicate: bool) -> str:
    return dumps(Ack(type="ack", req=req, channel=message["channel"], id=message["id"],
                     client_msg_id=message["client_msg_id"], duplicate=duplicate,
                     created_at=message["created_at"]))


def read_ok(req: Req, marker: Mapping[str, Any]) -> str:
    return dumps({"type": "read.ok", "req": req, **marker})


def chat_ack_ok(req: Req, channel: str, message_id: int, at: str, duplicate: bool) -> str:
    return dumps(ChatAckOk(type="chat.ack.ok", req=req, channel=channel, message_id=message_id, acknowledged_at=at,
                           duplicate=duplicate))


def news_ack_ok(req: Req, news_id: int, at: str, duplicate: bool) -> str:
    return dumps(NewsAckOk(type="news.ack.ok", req=req, news_id=news_id, acknowledged_at=at, duplicate=duplicate))


def resync(channel: str, start: int, end: int | None, reason: Literal["gap_too_large", "unavailable"]) -> str:
    return dumps(Resync({"type": "resync", "channel": channel, "from": start, "to": end, "reason": reason}))


def error(code: str, message: str, *, req: Req = None, details: Any = None,
          client_msg_id: str | Literal[False] | None = False) -> str:
    """`client_msg_id`: the id of a chat.send that was refused (False: not about a send)."""
    frame = Error(type="error", code=code, message=message)
    if details is not None:
        frame["details"] = details
    if req is not None:
        frame["req"] = req
    if client_msg_id is not False:
        frame["client_msg_id"] = client_msg_id
    return dumps(frame)


# Events of a channel, published on Redis (events.publish takes plain dicts).


def presence(channel: str, user_id: int, status: Literal["online", "offline"]) -> dict[str, Any]:
    return cast("dict[str, Any]", Presence(type="presence", channel=channel, user_id=user_id, status=status))


def typing(channel: str, user_id: int) -> dict[str, Any]:
    return cast("dict[str, Any]", Typing(type="typing", channel=channel, user_id=user_id))
