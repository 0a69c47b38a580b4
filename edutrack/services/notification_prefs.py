"""A user's notification preferences: channels per kind, the master email switch, time zone, quiet hours, the
daily digest's hour, chat mutes (docs/notifications.md).

They decide the `channels` stamped on each notification row when it is written (a trigger, migration 0016);
the consumers (live delivery, the immediate email, the daily digest, web push) read only the row.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.notify import CHANNELS, DIGEST, EMAIL, NotificationSettings
from edutrack.events import NOTIFICATION_KINDS
from edutrack.i18n import _
from edutrack.queries import notify_prefs as q
from edutrack.queries.digest import DEFAULT_TIMEZONE
from edutrack.security.tokens import Principal
from edutrack.services.chat import parse_channel, require_member
from edutrack.uow import unit_of_work

CHANGES_PER_HOUR = 120
DEFAULT_DIGEST_TIME = time(19, 0)


def channel_names(mask: int) -> list[str]:
    return [name for name, bit in CHANNELS.items() if mask & bit]


def channel_mask(names: list[str]) -> int:
    mask = 0
    for name in names:
        mask |= CHANNELS[name]
    if mask & EMAIL and mask & DIGEST:
        raise errors.ValidationFailed(_("Choose either email at once or the daily digest, not both."),
                                      code="email_and_digest")
    return mask


def _hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


async def view(ctx: AppContext, who: Principal) -> dict[str, Any]:
    async with ctx.reads() as session:
        row = await q.settings_of(session, who.user_id)
        defaults = await q.role_defaults(session, who.role, NOTIFICATION_KINDS)
        mode = await q.email_mode(session, who.user_id)
        school_tz = await q.school_timezone(session, who.user_id)
        mutes = await q.mutes_of(session, who.user_id, datetime.now(UTC))
    chosen = row.kinds if row is not None else {}
    return {
        "channels": list(CHANNELS),
        "email": mode,
        "kinds": [{"kind": kind, "channels": channel_names(int(chosen.get(kind, defaults[kind]))),
                   "default": channel_names(defaults[kind]), "chosen": kind in chosen}
                  for kind in NOTIFICATION_KINDS],
        "timezone": row.timezone if row is not None else None,
        "effective_timezone": (row.timezone if row is not None and row.timezone else None)
        or school_tz or DEFAULT_TIMEZONE,
        "quiet_start": _hhmm(row.quiet_start) if row is not None else None,
        "quiet_end": _hhmm(row.quiet_end) if row is not None else None,
        "quiet_weekends": row.quiet_weekends if row is not None else False,
        "digest_time": _hhmm(row.digest_time if row is not None else DEFAULT_DIGEST_TIME),
        "mutes": [{"channel": m.channel, "until": m.until} for m in mutes],
    }


def _check_timezone(name: str | None) -> None:
    if name is None:
        return
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise errors.ValidationFailed(_("Unknown time zone."), code="invalid_timezone",
                                      details={"timezone": [_("Unknown time zone.")]}) from None


async def _admit(ctx: AppContext, who: Principal) -> None:
    count, ttl = await ctx.limiter.hit(f"notify:prefs:{who.user_id}", 3600)
    if count > CHANGES_PER_HOUR:
        raise errors.TooManyRequests(ttl, _("Too many changes of notification settings; try again later."))


def _columns(data: dict[str, Any], row: NotificationSettings | None) -> dict[str, Any]:
    values: dict[str, Any] = {k: data[k] for k in ("timezone", "quiet_weekends", "digest_time") if k in data}
    if "quiet_start" in data or "quiet_end" in data:
        start = data.get("quiet_start", row.quiet_start if row else None)
        end = data.get("quiet_end", row.quiet_end if row else None)
        if (start is None) != (end is None):
            raise errors.ValidationFailed(_("Quiet hours need both a start and an end."), code="quiet_hours")
        values.update(quiet_start=start, quiet_end=end)
    if "kinds" in data:
        kinds = dict(row.kinds) if row is not None else {}
        for kind, names in data["kinds"].items():
            if names is None:
                kinds.pop(kind, None)
            else:
                kinds[kind] = channel_mask(names)
        values["kinds"] = kinds
    return values


async def update(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """Change what is given; `kinds` maps a kind to its channels, or to null for the role's default again.
    Rows already written keep their channels."""
    await _admit(ctx, who)
    _check_timezone(data.get("timezone"))
    async with unit_of_work(ctx) as uow:
        row = await q.settings_of(uow.session, who.user_id)
        await q.save_settings(uow.session, who.user_id, _columns(data, row))
        if "email" in data:
            await q.set_email_mode(uow.session, who.user_id, data["email"])
    return await view(ctx, who)


async def mute(ctx: AppContext, who: Principal, channel_name: str, until: datetime | None) -> dict[str, Any]:
    """Mute a chat you belong to until `until` (null: until you unmute it)."""
    await _admit(ctx, who)
    channel = parse_channel(channel_name)
    if not channel.is_chat:
        raise errors.BadRequest(_("Only chats can be muted."), code="invalid_channel")
    if until is not None and until <= datetime.now(UTC):
        raise errors.ValidationFailed(_("The end of a mute must be in the future."), code="mute_in_past",
                                      details={"until": [_("The end of a mute must be in the future.")]})
    async with unit_of_work(ctx) as uow:
        await require_member(uow.session, who, channel)
        await q.save_mute(uow.session, who.user_id, channel.name, until)
    return {"channel": channel.name, "until": until}


async def unmute(ctx: AppContext, who: Principal, channel_name: str) -> None:
    await _admit(ctx, who)
    channel = parse_channel(channel_name)
    async with unit_of_work(ctx) as uow:
        if not await q.delete_mute(uow.session, who.user_id, channel.name):
            raise errors.NotFound(_("This chat is not muted."))
