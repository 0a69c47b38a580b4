"""One-click unsubscribe (RFC 8058) from the emails of some notification kinds, by a signed link in the email's
List-Unsubscribe header: it turns email and the digest off for those kinds (the app still shows them)."""

from __future__ import annotations

from typing import Any

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.notify import DIGEST, EMAIL
from edutrack.events import NOTIFICATION_KINDS
from edutrack.i18n import _
from edutrack.queries import notify_prefs as q
from edutrack.security.signed import sign, verify
from edutrack.settings import Settings
from edutrack.uow import unit_of_work

PURPOSE = "unsubscribe"
PATH = "/api/v1/unsubscribe/"


def unsubscribe_url(settings: Settings, user_id: int, kinds: list[str]) -> str:
    token = sign(settings.jwt_secret, PURPOSE, str(user_id), "+".join(sorted(set(kinds))))
    return settings.public_url.rstrip("/") + PATH + token


def _read(settings: Settings, token: str) -> tuple[int, list[str]]:
    parts = verify(settings.jwt_secret, PURPOSE, token)
    if parts is None or len(parts) != 2 or not parts[0].isdigit():
        raise errors.NotFound(_("This unsubscribe link is not valid."))
    kinds = [k for k in parts[1].split("+") if k in NOTIFICATION_KINDS]
    return int(parts[0]), kinds


def check_link(settings: Settings, token: str) -> None:
    """404 for a forged or altered link; changes nothing (the page a browser opens before the click)."""
    _read(settings, token)


async def unsubscribe(ctx: AppContext, token: str) -> dict[str, Any]:
    """Idempotent: a second click changes nothing more."""
    user_id, kinds = _read(ctx.settings, token)
    async with unit_of_work(ctx) as uow:
        role = await q.role_of(uow.session, user_id)
        if role is None:
            raise errors.NotFound(_("This unsubscribe link is not valid."))
        defaults = await q.role_defaults(uow.session, role, kinds)
        row = await q.settings_of(uow.session, user_id, for_update=True)
        chosen = dict(row.kinds) if row is not None else {}
        for kind in kinds:
            chosen[kind] = int(chosen.get(kind, defaults[kind])) & ~(EMAIL | DIGEST)
        await q.save_settings(uow.session, user_id, {"kinds": chosen})
    return {"kinds": kinds}
