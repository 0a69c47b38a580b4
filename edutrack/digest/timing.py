"""Local-time decisions of the email consumers: quiet hours and the daily digest's moment, in the user's zone.

Wall-clock arithmetic goes through zoneinfo, so a zone with summer time (Europe/Berlin) gets its digest at the
chosen local hour on both sides of a change, as a zone without one (Europe/Moscow) does.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def system_clock() -> datetime:
    return datetime.now(UTC)


def in_quiet_hours(now: datetime, tz: ZoneInfo, start: time | None, end: time | None, weekends: bool) -> bool:
    """Whether `now` falls in the user's quiet hours: [start, end) local time, across midnight when start > end;
    and all of Saturday and Sunday when `weekends`."""
    local = now.astimezone(tz)
    if weekends and local.weekday() >= 5:
        return True
    if start is None or end is None or start == end:
        return False
    moment = local.time().replace(tzinfo=None)
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def last_digest_moment(now: datetime, tz: ZoneInfo, at: time) -> datetime:
    """The latest moment, not after `now`, at which the local clock showed `at` (today's, else yesterday's)."""
    local = now.astimezone(tz)
    day = local.date() if local.time().replace(tzinfo=None) >= at else local.date() - timedelta(days=1)
    return datetime.combine(day, at, tzinfo=tz)
