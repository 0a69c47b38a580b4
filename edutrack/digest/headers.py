"""Header fields of a notification email: a Message-ID stable for its content, threading that groups a user's
series of emails in mail clients, and one-click unsubscribe (RFC 8058) from the kinds it carries."""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import parseaddr

from edutrack.db.models import Notification
from edutrack.services.unsubscribe import unsubscribe_url
from edutrack.settings import Settings


def _domain(settings: Settings) -> str:
    return parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "edutrack.local"


def series_root(settings: Settings, user_id: int) -> str:
    """The Message-ID every email of the user's series refers to: clients thread them under one conversation."""
    return f"<notifications-{user_id}.{settings.namespace}@{_domain(settings)}>"


def digest_headers(settings: Settings, user_id: int, rows: Sequence[Notification]) -> dict[str, str]:
    """The first notification of an email is in no other email (rows are marked emailed with it), so the
    Message-ID is stable for this email: a resend after a crash carries the same one."""
    first = min(r.id for r in rows)
    root = series_root(settings, user_id)
    return {
        "Message-ID": f"<notification-{first}.{settings.namespace}@{_domain(settings)}>",
        "In-Reply-To": root,
        "References": root,
        "List-Id": f"EduTrack <notifications.{_domain(settings)}>",
        "List-Unsubscribe": f"<{unsubscribe_url(settings, user_id, [r.kind for r in rows])}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def preferences_url(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + "/settings/notifications"
