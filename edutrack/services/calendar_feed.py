"""Calendar feeds: a person's timetable as iCalendar at a secret URL, for the calendar app on their phone.

The URL is the secret (`/calendar/{token}.ics`, no login): made, remade and revoked by its owner, stored only as
a SHA-256. A student's feed holds the lessons of their classes and their homework (as VTODO tasks due when the
lesson starts); a parent's the same for every child, with the children's names in the summaries; a teacher's the
lessons they teach. The window is `PAST_DAYS` back and `FUTURE_DAYS` ahead. Times are written in each school's
time zone, with its VTIMEZONE; every component has a UID that stays the same while the lesson exists and a
DTSTAMP of its last change, so the same data gives the same bytes, and the ETag (their SHA-256) changes exactly
when something a calendar shows did.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, Todo

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.i18n import _, for_recipients
from edutrack.i18n.names import PersonName
from edutrack.queries import classes as class_q
from edutrack.queries import feeds as q
from edutrack.queries import lessons as lesson_q
from edutrack.queries import membership
from edutrack.security.tokens import Principal, hash_token, new_opaque_token
from edutrack.uow import unit_of_work

PAST_DAYS = 30
FUTURE_DAYS = 120
FEED_ROLES = (Role.STUDENT.value, Role.PARENT.value, Role.TEACHER.value)
CHANGES_PER_HOUR = 10


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str


def feed_url(ctx: AppContext, token: str) -> str:
    return f"{ctx.settings.public_url.rstrip('/')}/calendar/{token}.ics"


def _view(created_at: datetime | None, url: str | None = None) -> dict[str, Any]:
    return {"active": created_at is not None, "created_at": created_at.isoformat() if created_at else None,
            "url": url}


async def status(ctx: AppContext, who: Principal) -> dict[str, Any]:
    async with ctx.reads() as session:
        feed = await q.feed_of(session, who.user_id)
    return _view(feed.created_at if feed else None)


async def make(ctx: AppContext, who: Principal) -> dict[str, Any]:
    """A new secret URL (the old one, if any, stops working). The URL is shown this once."""
    if who.role not in FEED_ROLES:
        raise errors.Forbidden(_("Calendar feeds are for students, parents and teachers"))
    count, ttl = await ctx.limiter.hit(f"feed:make:{who.user_id}", 3600)
    if count > CHANGES_PER_HOUR:
        raise errors.TooManyRequests(ttl, _("Too many new calendar links; try again later."))
    token = new_opaque_token()
    async with unit_of_work(ctx) as uow:
        feed = await q.replace_feed(uow.session, who.user_id, hash_token(token))
        created_at = feed.created_at
    return _view(created_at, feed_url(ctx, token))


async def revoke(ctx: AppContext, who: Principal) -> None:
    async with unit_of_work(ctx) as uow:
        if not await q.delete_feed(uow.session, who.user_id):
            raise errors.NotFound(_("You have no calendar link"))


async def render(ctx: AppContext, token: str) -> Feed:
    """The feed of this secret, or 404 (an unknown, revoked or replaced secret, or a deactivated owner)."""
    async with ctx.reads() as session:
        owner = await q.owner(session, hash_token(token))
        if owner is None or owner.role not in FEED_ROLES:
            raise errors.NotFound(_("No such calendar"))
        today = datetime.now(ZoneInfo(owner.timezone or "UTC")).date()
        starts = datetime.combine(today - timedelta(days=PAST_DAYS), datetime.min.time(), tzinfo=UTC)
        ends = datetime.combine(today + timedelta(days=FUTURE_DAYS), datetime.min.time(), tzinfo=UTC)
        children: dict[int, str] = {}
        by_class: dict[int, list[int]] = {}
        if owner.role == Role.TEACHER.value:
            rows = await lesson_q.lessons_in_range(session, starts=starts, ends=ends, teacher_id=owner.id)
        else:
            students = [owner.id] if owner.role == Role.STUDENT.value else await membership.children_of(
                session, owner.id)
            if owner.role == Role.PARENT.value:
                children = {uid: PersonName.of(u.profile).first
                            for uid, u in (await class_q.users_by_ids(session, students)).items()}
            by_class = await _classes_of(session, students)
            rows = await lesson_q.lessons_in_range(session, starts=starts, ends=ends, class_ids=list(by_class))
        zones = {r.class_id: ZoneInfo(r.timezone) for r in await lesson_q.class_schools(
            session, {row[0].class_id for row in rows})}
    with for_recipients():
        body = _calendar(ctx, owner.role, rows, zones, by_class, children, (starts.date(), ends.date()))
    return Feed(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


async def _classes_of(session: Any, students: list[int]) -> dict[int, list[int]]:
    """class id -> the students (of these) in it."""
    found: dict[int, list[int]] = defaultdict(list)
    for student in students:
        for class_id in await membership.class_ids_of_student(session, student):
            found[class_id].append(student)
    return found


def _calendar(ctx: AppContext, role: str, rows: list[Any], zones: dict[int, ZoneInfo],
              by_class: dict[int, list[int]], children: dict[int, str], span: tuple[date, date]) -> bytes:
    host = urllib.parse.urlsplit(ctx.settings.public_url).hostname or "edutrack"
    cal = Calendar()
    cal.add("prodid", "-//EduTrack//Diary//RU")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("EduTrack timetable"))
    for name in sorted({str(z) for z in zones.values()}):
        cal.add_component(Timezone.from_tzid(name, first_date=span[0] - timedelta(days=1),
                                             last_date=span[1] + timedelta(days=1)))
    for row in rows:
        lesson = row[0]
        tz = zones.get(lesson.class_id, ZoneInfo("UTC"))
        names = ", ".join(sorted(children[s] for s in by_class.get(lesson.class_id, []) if s in children))
        summary = row.subject_name if role != Role.TEACHER.value else _(
            "%(subject)s, %(class_name)s", subject=row.subject_name, class_name=row.class_name)
        if names:
            summary = _("%(subject)s (%(children)s)", subject=row.subject_name, children=names)
        cal.add_component(_event(row, tz, summary, host))
        if lesson.homework and role != Role.TEACHER.value:
            cal.add_component(_task(row, tz, names, host))
    return bytes(cal.to_ical())


def _event(row: Any, tz: ZoneInfo, summary: str, host: str) -> Event:
    lesson = row[0]
    event = Event()
    event.add("uid", f"lesson-{lesson.id}@{host}")
    event.add("dtstamp", lesson.updated_at.astimezone(UTC))
    event.add("last-modified", lesson.updated_at.astimezone(UTC))
    event.add("dtstart", lesson.starts_at.astimezone(tz))
    event.add("dtend", lesson.ends_at.astimezone(tz))
    if lesson.cancelled_at is not None:  # a one-off cancellation (services/diary/lesson_changes.py)
        event.add("status", "CANCELLED")
    event.add("summary", summary)
    if lesson.room:
        event.add("location", _("Room %(room)s", room=lesson.room))
    lines = [_("Teacher: %(name)s", name=row.teacher_name)]
    if lesson.topic:
        lines.append(_("Topic: %(topic)s", topic=lesson.topic))
    if lesson.homework:
        lines.append(_("Homework: %(text)s", text=lesson.homework))
    event.add("description", "\n".join(lines))
    return event


def _task(row: Any, tz: ZoneInfo, names: str, host: str) -> Todo:
    lesson = row[0]
    task = Todo()
    task.add("uid", f"homework-{lesson.id}@{host}")
    task.add("dtstamp", lesson.updated_at.astimezone(UTC))
    task.add("due", lesson.starts_at.astimezone(tz))
    summary = _("Homework: %(subject)s", subject=row.subject_name)
    task.add("summary", _("%(subject)s (%(children)s)", subject=summary, children=names) if names else summary)
    task.add("description", lesson.homework)
    return task
