"""Signed links that confirm an acknowledgement without login ("ознакомлен", docs/notifications.md).

A link names one recipient and one thing to confirm: a news item (`ack.{user}.{news}`) or an announcement in a
chat room (`chat-ack.{user}.{channel}.{message}`). The digest email carries the page link, `/ack/{token}`, which
asks before it confirms: mail scanners and link previews open every link in a message, so a GET must change
nothing. A push's "I have read it" action carries the API link (`/api/v1/news-acks/{token}`,
`/api/v1/chat-acks/{token}`), which the service worker POSTs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edutrack import errors
from edutrack.context import AppContext
from edutrack.i18n import _
from edutrack.queries import news_acks as news_q
from edutrack.security.signed import sign, verify
from edutrack.security.tokens import Principal
from edutrack.services import chat_acks
from edutrack.services.diary import news_acks
from edutrack.settings import Settings

NEWS = "ack"
CHAT = "chat-ack"
PAGE_PATH = "/ack/"
API_PATHS = {NEWS: "/api/v1/news-acks/", CHAT: "/api/v1/chat-acks/"}


@dataclass(frozen=True, slots=True)
class Link:
    kind: str  # NEWS or CHAT
    user_id: int
    news_id: int | None = None
    channel: str | None = None
    message_id: int | None = None


def _token(settings: Settings, user_id: int, payload: Mapping[str, Any]) -> tuple[str, str] | None:
    if payload.get("ack") is not True:
        return None
    news_id, channel, message_id = payload.get("news_id"), payload.get("channel"), payload.get("message_id")
    if isinstance(news_id, int):
        return NEWS, sign(settings.jwt_secret, NEWS, str(user_id), str(news_id))
    if isinstance(channel, str) and "." not in channel and isinstance(message_id, int):
        return CHAT, sign(settings.jwt_secret, CHAT, str(user_id), channel, str(message_id))
    return None


def page_url(settings: Settings, user_id: int, payload: Mapping[str, Any]) -> str:
    """The email's link for a notification row that asks its recipient to confirm; "" for any other row."""
    found = _token(settings, user_id, payload)
    return settings.public_url.rstrip("/") + PAGE_PATH + found[1] if found else ""


def api_url(settings: Settings, user_id: int, payload: Mapping[str, Any]) -> str | None:
    """The push action's link (POST, no login) for a row that asks its recipient to confirm."""
    found = _token(settings, user_id, payload)
    return settings.public_url.rstrip("/") + API_PATHS[found[0]] + found[1] if found else None


def parse(settings: Settings, token: str, kinds: tuple[str, ...] = (NEWS, CHAT)) -> Link:
    """The link's facts, or 404 when it was not signed by us for one of `kinds`."""
    for kind in kinds:
        parts = verify(settings.jwt_secret, kind, token)
        if parts is None:
            continue
        if kind == NEWS and len(parts) == 2 and all(p.isdigit() for p in parts):
            return Link(NEWS, int(parts[0]), news_id=int(parts[1]))
        if kind == CHAT and len(parts) == 3 and parts[0].isdigit() and parts[2].isdigit():
            return Link(CHAT, int(parts[0]), channel=parts[1], message_id=int(parts[2]))
    raise errors.NotFound(_("This link is not valid."))


async def confirm(ctx: AppContext, token: str, via: str, kinds: tuple[str, ...] = (NEWS, CHAT)) -> dict[str, Any]:
    """Confirm as the link's recipient (still an active account), with the same rules as a signed-in confirmation."""
    link = parse(ctx.settings, token, kinds)
    async with ctx.reads() as session:
        user = await news_q.active_user(session, link.user_id)
    if user is None:
        raise errors.NotFound(_("This link is not valid."))
    who = Principal(user_id=user.id, role=user.role, school_id=user.school_id, is_superuser=user.is_superuser)
    if link.news_id is not None:
        return await news_acks.acknowledge(ctx, who, link.news_id, via)
    assert link.channel is not None and link.message_id is not None
    return await chat_acks.acknowledge(ctx, who, link.channel, link.message_id, via)
