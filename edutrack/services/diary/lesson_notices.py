"""Notifications about lessons, written in the transaction of the change: `lesson_changed` for a one-off change
(services/diary/lesson_changes.py) and for a move or room change made with PATCH /lessons/{id}
(services/diary/lessons.py) — the class's students and their parents and the teachers concerned; `homework` when
a lesson's homework is set or changed — the class's students and their parents."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import Lesson
from edutrack.db.models import Notification
from edutrack.i18n import _, day_month, for_recipients
from edutrack.queries import lessons as lesson_q
from edutrack.services.diary.notify import notify_students_and_parents, notify_users

KIND = "lesson_changed"
CHANGES = ("cover", "cover_removed", "cancelled", "restored", "moved", "room")


def _title(change: str, subject: str, day: str, time: str, room: str | None, teacher: str) -> str:
    if change == "cancelled":
        return _("%(subject)s on %(date)s is cancelled", subject=subject, date=day)
    if change == "restored":
        return _("%(subject)s on %(date)s takes place after all", subject=subject, date=day)
    if change == "moved":
        return _("%(subject)s moved to %(date)s, %(time)s", subject=subject, date=day, time=time)
    if change == "room":
        return _("%(subject)s on %(date)s is in room %(room)s", subject=subject, date=day, room=room or "—")
    if change == "cover":
        return _("%(subject)s on %(date)s: %(teacher)s substitutes", subject=subject, date=day, teacher=teacher)
    return _("%(subject)s on %(date)s: taught by %(teacher)s again", subject=subject, date=day, teacher=teacher)


async def announce(session: AsyncSession, lesson_id: int, change: str, tz: ZoneInfo,
                   teachers: set[int], actor_id: int) -> list[Notification]:
    """`lesson_changed` rows for the class's students and parents and for `teachers` (not the actor)."""
    assert change in CHANGES, change
    row = await lesson_q.lesson_row(session, lesson_id)
    assert row is not None
    lesson: Lesson = row[0]
    local = lesson.starts_at.astimezone(tz)
    with for_recipients():
        title = _title(change, row.subject_name, day_month(local.date()), f"{local:%H:%M}", lesson.room,
                       row.teacher_name)
    payload = {"lesson_id": lesson.id, "class_id": lesson.class_id, "subject": row.subject_name,
               "date": local.date().isoformat(), "starts_at": lesson.starts_at.astimezone(UTC).isoformat(),
               "ends_at": lesson.ends_at.astimezone(UTC).isoformat(), "room": lesson.room,
               "teacher": row.teacher_name, "change": change, "cancelled": lesson.cancelled_at is not None,
               "note": lesson.change_note, "title": title}
    students = await lesson_q.student_ids_of_class(session, lesson.class_id)
    rows = await notify_students_and_parents(session, KIND, dict.fromkeys(students, payload)) if students else []
    return rows + await notify_users(session, KIND, teachers - {actor_id}, payload)


def snapshot(lesson: Lesson) -> tuple[Any, ...]:
    return lesson.starts_at, lesson.ends_at, lesson.room


async def announce_move(session: AsyncSession, before: tuple[Any, ...], lesson: Lesson, tz: ZoneInfo,
                        actor_id: int) -> list[Notification]:
    """After an admin's PATCH of a lesson: tell its class if it moved or changed rooms."""
    starts, ends, room = before
    if (starts, ends) != (lesson.starts_at, lesson.ends_at):
        return await announce(session, lesson.id, "moved", tz, {lesson.teacher_id}, actor_id)
    if room != lesson.room:
        return await announce(session, lesson.id, "room", tz, {lesson.teacher_id}, actor_id)
    return []


def _homework_payloads(row: Row[Any], student_ids: list[int], tz: ZoneInfo) -> dict[int, dict[str, Any]]:
    lesson: Lesson = row[0]
    day = lesson.starts_at.astimezone(tz).date()
    with for_recipients():
        title = _("Homework in %(subject)s for %(date)s", subject=row.subject_name, date=day_month(day))
    payload = {
        "lesson_id": lesson.id, "class_id": lesson.class_id, "subject": row.subject_name,
        "date": day.isoformat(), "text": lesson.homework, "title": title,
    }
    return {sid: payload for sid in student_ids}


async def notify_homework(session: AsyncSession, lesson_id: int, tz: ZoneInfo) -> list[Notification]:
    row = await lesson_q.lesson_row(session, lesson_id)
    assert row is not None
    students = await lesson_q.student_ids_of_class(session, row[0].class_id)
    if not students:
        return []
    return await notify_students_and_parents(session, "homework", _homework_payloads(row, students, tz))
