"""What a push says: a small JSON the service worker (static/web/sw.js) shows. One row: its kind and what happened;
several (held by quiet hours, or arriving within one round): one merged push with the count. Texts are in the
recipients' language (the catalogue). A news item or chat announcement that asks the recipient to confirm carries
the signed one-click acknowledgement link (the API's, which the worker POSTs), for the notification's "Подтверждаю"
action."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from edutrack.db.models import Notification, Role
from edutrack.digest.content import KIND_LABELS, NEWS_KINDS, describe, plural_notifications
from edutrack.i18n import N_, _, for_recipients
from edutrack.i18n.names import PersonName, first_last
from edutrack.services import ack_links
from edutrack.settings import Settings

BODY_LIMIT = 300
OTHER_LABELS = {
    "news": N_("News"),
    "ack_request": N_("Please confirm you have read it"),
    "reminder": N_("Please confirm you have read it"),
    "message": N_("New message"),
    "chat_message": N_("New message in a chat"),
    "mention": N_("You were mentioned"),
    "moderation": N_("Chat moderation"),
}
DIARY = frozenset(KIND_LABELS) - {"absence_note"}


def page_of(kind: str, role: str) -> str:
    """The page a click opens."""
    if kind in ("news", "reminder", "ack_request"):
        return "/news"
    if kind in ("message", "mention", "moderation", "chat_message"):
        return "/chat"
    if kind in DIARY:
        return "/teacher" if role in (Role.TEACHER.value, Role.ADMIN.value) else "/diary"
    return "/"


def _page(row: Notification, role: str) -> str:
    """The page of one row: a room's message or announcement opens that room."""
    channel = (row.payload or {}).get("channel")
    if row.kind in ("chat_message", "ack_request") and isinstance(channel, str):
        return "/chat?" + urllib.parse.urlencode({"channel": channel})
    return page_of(row.kind, role)


def _short(text: str) -> str:
    return text if len(text) <= BODY_LIMIT else text[: BODY_LIMIT - 1].rstrip() + "…"


def _title(row: Notification, names: Mapping[int, PersonName]) -> str:
    label = KIND_LABELS.get(row.kind) or OTHER_LABELS.get(row.kind)
    title = _(label) if label else str((row.payload or {}).get("title") or row.kind)
    about = names.get(row.about_user_id or 0) if row.about_user_id != row.user_id else None
    return f"{title}: {first_last(about)}" if about is not None else title


def _body(row: Notification) -> str:
    p = row.payload or {}
    if row.kind in NEWS_KINDS:
        return " — ".join(str(p[k]) for k in ("title", "summary") if p.get(k))
    if row.kind in ("message", "mention"):
        return f"{p.get('sender') or _('Someone')}: {p.get('text') or ''}"
    if row.kind == "chat_message":
        return f"{p.get('sender') or _('Someone')} ({p.get('room') or ''}): {p.get('text') or ''}"
    subject = str(p.get("subject") or "")
    text = describe(row)
    return f"{subject}: {text}" if subject and row.kind in KIND_LABELS else text


def build(settings: Settings, rows: Sequence[Notification], role: str,
          names: Mapping[int, PersonName]) -> dict[str, Any]:
    last = rows[-1]
    base = settings.public_url.rstrip("/")
    with for_recipients():
        if len(rows) == 1:
            payload: dict[str, Any] = {"title": _title(last, names), "body": _short(_body(last)),
                                       "url": base + _page(last, role), "id": last.id, "tag": f"n{last.id}"}
            p = last.payload or {}
            confirm = ack_links.api_url(settings, last.user_id, p)
            if confirm is not None:
                payload["ack"] = {"url": confirm, "title": _("I have read it")}
        else:
            kinds = {page_of(r.kind, role) for r in rows}
            lines = [_title(r, names) for r in rows[-3:]]
            payload = {"title": _("EduTrack: %(summary)s", summary=plural_notifications(len(rows))),
                       "body": _short("; ".join(lines)), "url": base + (kinds.pop() if len(kinds) == 1 else "/"),
                       "id": last.id, "tag": "merged", "count": len(rows)}
    return payload


def encode(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
