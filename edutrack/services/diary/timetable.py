"""Planning the timetable before saving it: a dry-run check of one lesson (new or moved), and a regular weekly
timetable laid over a term in one transaction.

Both decide with the schedule's own rules (`lessons.plan_new`, `plan_change`, `clashes.find_conflicts`), so what they
report is exactly what saving would refuse; the exclusion constraints still stop a writer that races past them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import cache, errors
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.i18n import _, ngettext
from edutrack.queries import lessons as lesson_q
from edutrack.queries import schools as school_q
from edutrack.security.tokens import Principal
from edutrack.services.diary import clashes, lessons, permissions
from edutrack.uow import unit_of_work

CHECKS_PER_MINUTE = 240  # a page checks as the admin edits a lesson's form
WEEKLY_PER_HOUR = 60
MAX_WEEKLY_LESSONS = 2000  # a year of 40 lessons a week: anything longer is a mistake, not a timetable
NEW_LESSON_FIELDS = ("class_id", "subject_id", "teacher_id", "starts_at", "ends_at")


async def _admit(ctx: AppContext, who: Principal, action: str, limit: int, window: int) -> None:
    count, retry_after = await ctx.limiter.hit(f"{action}:{who.user_id}", window)
    if count > limit:
        raise errors.TooManyRequests(retry_after)


async def check_lesson(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """What saving this lesson would run into, without saving it: `lesson_id` names a lesson being moved (its
    fields not given stay as they are); without it, the fields of a new lesson."""
    permissions.require_role(who, Role.ADMIN.value)
    await _admit(ctx, who, "lesson-check", CHECKS_PER_MINUTE, 60)
    async with ctx.reads() as session:
        lesson_id = data.get("lesson_id")
        if lesson_id is not None:
            lesson = await lessons.visible_lesson(session, who, lesson_id)
            changes = {k: v for k, v in data.items() if k in lessons.PLANNING_FIELDS}
            fields, tz = await lessons.plan_change(session, who, lesson, changes)
        else:
            missing = [k for k in NEW_LESSON_FIELDS if data.get(k) is None]
            if missing:
                raise errors.ValidationFailed(details={k: [_("Required for a new lesson.")] for k in missing})
            fields, tz = await lessons.plan_new(session, who, data)
        conflicts = await clashes.find_conflicts(session, fields, tz, lesson_id)
    return {"ok": not conflicts, "conflicts": conflicts}


# A weekly timetable


@dataclass(frozen=True, slots=True)
class Occurrence:
    slot: int
    day: date
    fields: dict[str, Any]


def _days(first: date, last: date, weekday: int) -> list[date]:
    """Every date from `first` to `last` (inclusive) that falls on `weekday` (1 = Monday)."""
    day = first + timedelta(days=(weekday - first.isoweekday()) % 7)
    found = []
    while day <= last:
        found.append(day)
        day += timedelta(days=7)
    return found


def _at(day: date, moment: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=tz)


def _check_slots_apart(slots: list[dict[str, Any]]) -> None:
    """Two slots of one class on the same weekday must not overlap: the timetable would clash with itself."""
    for j, later in enumerate(slots):
        for i, earlier in enumerate(slots[:j]):
            if earlier["weekday"] == later["weekday"] and earlier["starts"] < later["ends"] \
                    and later["starts"] < earlier["ends"]:
                raise errors.ValidationFailed(
                    _("Two lessons of this timetable overlap"),
                    details={"slots": {str(j): {"starts": [_("Overlaps lesson %(n)s of this timetable.", n=i + 1)]}}})


async def _plan_slot(session: AsyncSession, who: Principal, class_id: int, index: int, slot: dict[str, Any],
                     day: date) -> tuple[dict[str, Any], ZoneInfo]:
    """A slot's fields checked as a new lesson on its first day; a refusal names the slot."""
    data = {"class_id": class_id, "subject_id": slot["subject_id"], "teacher_id": slot["teacher_id"],
            "room": slot.get("room"), "starts_at": datetime.combine(day, slot["starts"]),
            "ends_at": datetime.combine(day, slot["ends"])}
    try:
        return await lessons.plan_new(session, who, data)
    except errors.ValidationFailed as exc:
        raise errors.ValidationFailed(exc.message, details={"slots": {str(index): exc.details}}) from exc


async def _occurrences(session: AsyncSession, who: Principal, data: dict[str, Any]) -> tuple[list[Occurrence], int]:
    """Every lesson the timetable makes, in date order, and the school it is in."""
    term = await school_q.term_by_id(session, data["term_id"])
    first = max(term.starts_on, data.get("from_") or term.starts_on) if term else None
    last = min(term.ends_on, data.get("to") or term.ends_on) if term else None
    if term is None or first is None or last is None or first > last:
        raise errors.ValidationFailed(_("No such term"), details={"term_id": [_("Choose a term of this school.")]})
    slots = data["slots"]
    _check_slots_apart(slots)
    found: list[Occurrence] = []
    school_id = None
    for index, slot in enumerate(slots):
        days = _days(first, last, slot["weekday"])
        fields, tz = await _plan_slot(session, who, data["class_id"], index, slot, days[0] if days else first)
        school_id = fields["school_id"]
        if school_id != term.school_id:
            raise errors.ValidationFailed(_("No such term"), details={"term_id": [_("Choose a term of this school.")]})
        found += [Occurrence(index, day, {**fields, "starts_at": _at(day, slot["starts"], tz),
                                          "ends_at": _at(day, slot["ends"], tz)}) for day in days]
    if len(found) > MAX_WEEKLY_LESSONS:
        raise errors.ValidationFailed(
            _("Too many lessons at once"),
            details={"to": [ngettext("At most %(num)s lesson at once.", "At most %(num)s lessons at once.",
                                     MAX_WEEKLY_LESSONS)]})
    assert school_id is not None
    found.sort(key=lambda o: (o.fields["starts_at"], o.slot))
    return found, school_id


async def build_weekly(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """Lay a class's weekly slots over a term (or part of it). Every lesson is checked as a single one would be;
    with any conflict nothing is saved and each conflicting lesson is reported. `dry_run`: report only."""
    permissions.require_role(who, Role.ADMIN.value)
    await _admit(ctx, who, "lesson-weekly", WEEKLY_PER_HOUR, 3600)
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            planned, school_id = await _occurrences(session, who, data)
            tz = await lessons.school_tz(session, school_id)
            problems = []
            for occurrence in planned:
                conflicts = await clashes.find_conflicts(session, occurrence.fields, tz, None)
                if conflicts:
                    problems.append({"slot": occurrence.slot, "date": occurrence.day.isoformat(),
                                     "starts_at": occurrence.fields["starts_at"].isoformat(), "conflicts": conflicts})
            if problems and not data["dry_run"]:
                raise errors.Conflict(
                    ngettext("%(num)s lesson of the timetable clashes with the schedule; nothing was saved",
                             "%(num)s lessons of the timetable clash with the schedule; nothing was saved",
                             len(problems)),
                    code="schedule_conflict", details={"lessons": problems})
            if not data["dry_run"]:
                await lesson_q.insert_lessons(session, [o.fields for o in planned])
                uow.invalidate(cache.school_schedule_bucket(school_id))
    except IntegrityError as exc:
        raise clashes.from_integrity(exc) from exc
    return {"dry_run": data["dry_run"], "lessons": len(planned), "created": 0 if data["dry_run"] else len(planned),
            "conflicts": problems}
