"""What parents have seen of the diary: a parent marks a week of a child's diary as seen
("Просмотрено"), and the diary records when a parent or student opens it, so the class teacher sees which parents
have not opened it for N days.

Opening is recorded by the schedule read every diary page makes (`GET /api/v1/schedule/me`): at most one database
write per person and child an hour, the hour kept by a Redis key set with NX and EX (the first read of the hour
writes, the rest only touch Redis). Without Redis nothing is recorded: a lost hour costs the teacher's list an
hour of precision, while writing on every read could cost the database a write per page view.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from redis.exceptions import RedisError

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.i18n import _
from edutrack.i18n.names import PersonName, list_order
from edutrack.queries import diary_seen as q
from edutrack.queries import journal as journal_q
from edutrack.queries import membership
from edutrack.queries.people import person_names
from edutrack.security.tokens import Principal
from edutrack.services.diary.journal import person_view
from edutrack.services.diary.journal_audit import class_of_its_teacher
from edutrack.uow import unit_of_work

log = logging.getLogger(__name__)

OPEN_EVERY = 3600  # seconds between two recorded opens of one person and child
MARKS_PER_HOUR = 120


async def record_open(ctx: AppContext, user_id: int, child_id: int) -> None:
    key = f"{ctx.settings.namespace}:diary-open:{user_id}:{child_id}"
    try:
        first = await ctx.redis.set(key, b"1", nx=True, ex=OPEN_EVERY)
    except (RedisError, OSError) as exc:
        log.warning("diary open not recorded: Redis unavailable", extra={"error": str(exc)})
        return
    if not first:
        return
    async with unit_of_work(ctx) as uow:
        await q.record_open(uow.session, user_id, child_id)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _require_week(week_start: date) -> None:
    if week_start.weekday() != 0:
        raise errors.ValidationFailed(details={"week_start": [_("Must be a Monday.")]})
    # A day of slack: the school's Monday begins before UTC's east of Greenwich.
    if week_start > _monday(datetime.now(UTC).date() + timedelta(days=1)):
        raise errors.ValidationFailed(details={"week_start": [_("This week has not begun.")]})


async def _require_child(ctx: AppContext, who: Principal, child_id: int) -> None:
    if who.role != Role.PARENT.value:
        raise errors.Forbidden(_("Only parents mark a week of the diary as seen"))
    async with ctx.reads() as session:
        if not await membership.is_parent_of(session, who.user_id, child_id):
            raise errors.NotFound(_("No such child"))


async def mark_week_seen(ctx: AppContext, who: Principal, child_id: int, week_start: date) -> dict[str, Any]:
    _require_week(week_start)
    await _require_child(ctx, who, child_id)
    count, ttl = await ctx.limiter.hit(f"diary:seen:{who.user_id}", 3600)
    if count > MARKS_PER_HOUR:
        raise errors.TooManyRequests(ttl)
    async with unit_of_work(ctx) as uow:
        at = await q.mark_week(uow.session, who.user_id, child_id, week_start)
        duplicate = at is None
        if at is None:
            at = await q.week_seen_at(uow.session, who.user_id, child_id, week_start)
    return {"child_id": child_id, "week_start": week_start, "seen_at": at, "duplicate": duplicate}


async def week_seen(ctx: AppContext, who: Principal, child_id: int, week_start: date) -> dict[str, Any]:
    _require_week(week_start)
    await _require_child(ctx, who, child_id)
    async with ctx.reads() as session:
        at = await q.week_seen_at(session, who.user_id, child_id, week_start)
    return {"child_id": child_id, "week_start": week_start, "seen_at": at, "duplicate": False}


async def class_activity(ctx: AppContext, who: Principal, class_id: int, days: int) -> dict[str, Any]:
    """Each parent of the class's students: when they last opened each child's diary and the last week they
    marked seen; `stale` when they have not opened it for `days` days (or never). The class teacher, the admins."""
    now = datetime.now(UTC)
    async with ctx.reads() as session:
        cls = await class_of_its_teacher(session, who, class_id)
        student_ids = await journal_q.student_ids(session, class_id)
        links = await journal_q.class_parents(session, class_id)
        opens = await q.opens_of(session, student_ids)
        weeks = await q.last_weeks_seen(session, student_ids)
        people = await person_names(session, [*student_ids, *(link.parent_id for link in links)])
    cutoff = now - timedelta(days=days)
    parents: dict[int, dict[str, Any]] = {}
    for link in links:
        entry = parents.setdefault(link.parent_id, {**person_view(link.parent_id, people), "children": [],
                                                    "last_opened_at": None})
        opened = opens.get((link.parent_id, link.child_id))
        entry["children"].append({**person_view(link.child_id, people), "last_opened_at": opened,
                                  "last_week_seen": weeks.get((link.parent_id, link.child_id))})
        if opened is not None and (entry["last_opened_at"] is None or opened > entry["last_opened_at"]):
            entry["last_opened_at"] = opened
    for entry in parents.values():
        entry["stale"] = entry["last_opened_at"] is None or entry["last_opened_at"] < cutoff

    def order(entry: dict[str, Any]) -> tuple[tuple[str, str, str], int]:
        return list_order(people.get(entry["id"], PersonName("", ""))), entry["id"]

    listed = sorted(parents.values(), key=order)
    students = [{**person_view(s, people), "last_opened_at": opens.get((s, s))} for s in student_ids]
    return {"class_id": cls.id, "class_name": cls.name, "days": days, "since": cutoff,
            "stale": sum(1 for p in listed if p["stale"]), "parents": listed,
            "students": sorted(students, key=order)}
