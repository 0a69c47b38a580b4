"""Double-booking: when two lessons clash (the class, the teacher or the room), what the person is told about it,
and the same answer when the database's exclusion constraints catch a writer that raced past the check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.db.diary import Lesson
from edutrack.i18n import N_, _
from edutrack.queries import lessons as q

EXCLUSION_MESSAGES = {
    "no_class_overlap": ("class", N_("The class already has a lesson at this time")),
    "no_teacher_overlap": ("teacher", N_("The teacher already has a lesson at this time")),
    "no_room_overlap": ("room", N_("The room is already taken at this time")),
}


@dataclass(frozen=True, slots=True)
class Slot:
    """What double-booking is decided on: a class, a teacher and a room of a school over a half-open time range."""

    school_id: int
    class_id: int
    teacher_id: int
    room: str | None
    starts: datetime
    ends: datetime


def clash_kind(new: Slot, other: Slot) -> str | None:
    """`class`, `teacher` or `room` when the two lessons would double-book it, else None: the rule of the
    exclusion constraints (half-open ranges, so 09:00-09:45 and 09:45-10:30 do not clash)."""
    if not (other.starts < new.ends and new.starts < other.ends):
        return None
    if other.class_id == new.class_id:
        return "class"
    if other.teacher_id == new.teacher_id:
        return "teacher"
    if new.room and other.school_id == new.school_id and other.room == new.room:
        return "room"
    return None


def clash_title(kind: str) -> str:
    """A short sentence for a clash of this kind ("The teacher already has a lesson at this time")."""
    return next(_(message) for k, message in EXCLUSION_MESSAGES.values() if k == kind)


def lesson_slot(lesson: Lesson) -> Slot:
    return Slot(lesson.school_id, lesson.class_id, lesson.teacher_id, lesson.room, lesson.starts_at, lesson.ends_at)


def conflict_message(lesson_row: Row[Any], new: Slot, tz: ZoneInfo) -> tuple[str, str]:
    """(kind, message) for an existing lesson (a `lesson_row`) that the new slot would double-book."""
    other: Lesson = lesson_row[0]
    when = (f"{other.starts_at.astimezone(tz):%d.%m %H:%M}–{other.ends_at.astimezone(tz):%H:%M}")
    what = _("%(subject)s in %(class_name)s, %(when)s (lesson %(id)s)", subject=lesson_row.subject_name,
             class_name=lesson_row.class_name, when=when, id=other.id)
    kind = clash_kind(new, lesson_slot(other)) or "room"
    if kind == "class":
        return kind, _("Class %(class_name)s already has %(what)s", class_name=lesson_row.class_name, what=what)
    if kind == "teacher":
        return kind, _("Teacher %(teacher_name)s already teaches %(what)s", teacher_name=lesson_row.teacher_name,
                       what=what)
    return kind, _("Room %(room)s is already taken by %(what)s", room=new.room, what=what)


async def find_conflicts(session: AsyncSession, fields: dict[str, Any], tz: ZoneInfo,
                         except_id: int | None) -> list[dict[str, Any]]:
    """What a lesson with these planning fields would double-book (the class, the teacher, the room), each as
    {kind, lesson_id, message}: the one rule that creating, moving, the dry-run check and weekly timetables use."""
    clashes = await q.conflicts(session, school_id=fields["school_id"], class_id=fields["class_id"],
                                teacher_id=fields["teacher_id"], room=fields.get("room"),
                                starts=fields["starts_at"], ends=fields["ends_at"], except_id=except_id)
    new = Slot(fields["school_id"], fields["class_id"], fields["teacher_id"], fields.get("room"),
               fields["starts_at"], fields["ends_at"])
    found = [conflict_message(r, new, tz) for r in clashes]
    return [{"kind": kind, "lesson_id": r[0].id, "message": message}
            for (kind, message), r in zip(found, clashes, strict=True)]


def conflict_error(conflicts: list[dict[str, Any]]) -> errors.Conflict:
    return errors.Conflict("; ".join(c["message"] for c in conflicts), code="schedule_conflict",
                           details={"conflicts": conflicts})


async def check_conflicts(session: AsyncSession, fields: dict[str, Any], tz: ZoneInfo,
                           except_id: int | None) -> None:
    conflicts = await find_conflicts(session, fields, tz, except_id)
    if conflicts:
        raise conflict_error(conflicts)


def from_integrity(exc: IntegrityError) -> errors.ApiError:
    """A concurrent writer won the race past our check: the exclusion constraint still says no."""
    text = str(exc.orig)
    for name, (kind, message) in EXCLUSION_MESSAGES.items():
        if name in text:
            text = _(message)
            return errors.Conflict(text, code="schedule_conflict",
                                   details={"conflicts": [{"kind": kind, "lesson_id": None, "message": text}]})
    return errors.Conflict(_("The lesson conflicts with existing data"), code="conflict")
