"""One-off changes of a lesson and who is told: a cover teacher, a cancellation, a move or a room change.

Admins of the school make them. A cover teacher replaces the lesson's teacher for that lesson only: `teacher_id`
becomes the cover and `regular_teacher_id` keeps the teacher it replaces, so the cover's other lessons are checked
for clashes as any lesson is (and the exclusion constraint holds), the lesson shows in the cover's schedule, and
the cover may take its attendance, grade on it and keep its topic and homework (`permissions.covers_lesson`), and
nothing else of the class. A cancelled lesson stays in the schedule, marked, and books nothing (a lesson may take
its place); restoring it is checked for clashes again. Moves and room changes go through PATCH /lessons/{id}
(lessons.update_lesson), which calls `announce_move`.

Each change writes a `lesson_changed` notification for the class's students and their parents and for the
teachers concerned (the cover and the replaced teacher), published after the commit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import cache, errors
from edutrack.context import AppContext
from edutrack.db.diary import Lesson
from edutrack.i18n import _
from edutrack.queries import lesson_changes as change_q
from edutrack.queries import lessons as lesson_q
from edutrack.security.tokens import Principal
from edutrack.services.diary import clashes, lessons, permissions
from edutrack.services.diary.lesson_notices import announce
from edutrack.services.diary.notify import journal_changed
from edutrack.uow import AfterCommit, unit_of_work

CHANGES_PER_HOUR = 600


async def _admit(ctx: AppContext, who: Principal) -> None:
    count, retry_after = await ctx.limiter.hit(f"lesson-change:{who.user_id}", 3600)
    if count > CHANGES_PER_HOUR:
        raise errors.TooManyRequests(retry_after)


async def _check_free(session: AsyncSession, lesson: Lesson, teacher_id: int, tz: ZoneInfo) -> None:
    fields = {k: getattr(lesson, k) for k in lessons.PLANNING_FIELDS}
    fields.update(school_id=lesson.school_id, teacher_id=teacher_id)
    conflicts = await clashes.find_conflicts(session, fields, tz, lesson.id)
    if conflicts:
        raise clashes.conflict_error(conflicts)


async def _finish(session: AsyncSession, uow: AfterCommit, lesson: Lesson, who: Principal, change: str,
                  tz: ZoneInfo, teachers: set[int]) -> dict[str, Any]:
    await session.flush()
    uow.invalidate(cache.school_schedule_bucket(lesson.school_id))
    await journal_changed(session, uow, class_id=lesson.class_id, subject_id=lesson.subject_id, what="lesson",
                          actor_id=who.user_id, lesson_id=lesson.id)
    uow.publish_notifications(await announce(session, lesson.id, change, tz, teachers, who.user_id))
    row = await lesson_q.lesson_row(session, lesson.id)
    assert row is not None
    return lessons.lesson_view(row)


async def _change(ctx: AppContext, who: Principal, lesson_id: int, change: str, note: str | None,
                  teacher_id: int | None = None) -> dict[str, Any]:
    await _admit(ctx, who)
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            lesson = await lessons.visible_lesson(session, who, lesson_id, for_update=True)
            permissions.require_school_admin(who, lesson.school_id)
            tz = await lessons.school_tz(session, lesson.school_id)
            teachers = await _apply(session, lesson, change, tz, teacher_id)
            if change in ("cover", "cancelled"):
                lesson.change_note = (note or "").strip() or None
            elif change == "cover_removed" or (change == "restored" and lesson.regular_teacher_id is None):
                lesson.change_note = None
            view = await _finish(session, uow, lesson, who, change, tz, teachers)
    except IntegrityError as exc:
        raise clashes.from_integrity(exc) from exc
    return view


async def _apply(session: AsyncSession, lesson: Lesson, change: str, tz: ZoneInfo,
                 teacher_id: int | None) -> set[int]:
    """Change the lesson; the teachers to tell."""
    cancelled = lesson.cancelled_at is not None
    if change in ("cover", "cover_removed") and cancelled:
        raise errors.Conflict(_("The lesson is cancelled"), code="lesson_cancelled")
    if change == "cover":
        assert teacher_id is not None
        regular = lesson.regular_teacher_id or lesson.teacher_id
        if teacher_id == regular:
            raise errors.ValidationFailed(details={"teacher_id": [_("This is the lesson's own teacher.")]})
        if await change_q.staff_member(session, teacher_id, lesson.school_id) is None:
            raise errors.ValidationFailed(details={"teacher_id": [_("No such teacher in this school.")]})
        await _check_free(session, lesson, teacher_id, tz)
        told = {teacher_id, regular, lesson.teacher_id}
        lesson.teacher_id, lesson.regular_teacher_id = teacher_id, regular
        return told
    if change == "cover_removed":
        if lesson.regular_teacher_id is None:
            raise errors.Conflict(_("The lesson has no cover teacher"))
        await _check_free(session, lesson, lesson.regular_teacher_id, tz)
        told = {lesson.teacher_id, lesson.regular_teacher_id}
        lesson.teacher_id, lesson.regular_teacher_id = lesson.regular_teacher_id, None
        return told
    if change == "cancelled" and cancelled:
        raise errors.Conflict(_("The lesson is already cancelled"))
    if change == "restored" and not cancelled:
        raise errors.Conflict(_("The lesson is not cancelled"))
    if change == "restored":
        await _check_free(session, lesson, lesson.teacher_id, tz)
    lesson.cancelled_at = datetime.now(UTC) if change == "cancelled" else None
    return {lesson.teacher_id}


async def set_cover(ctx: AppContext, who: Principal, lesson_id: int, teacher_id: int,
                    note: str | None) -> dict[str, Any]:
    return await _change(ctx, who, lesson_id, "cover", note, teacher_id)


async def remove_cover(ctx: AppContext, who: Principal, lesson_id: int) -> dict[str, Any]:
    return await _change(ctx, who, lesson_id, "cover_removed", None)


async def cancel(ctx: AppContext, who: Principal, lesson_id: int, note: str | None) -> dict[str, Any]:
    return await _change(ctx, who, lesson_id, "cancelled", note)


async def restore(ctx: AppContext, who: Principal, lesson_id: int) -> dict[str, Any]:
    return await _change(ctx, who, lesson_id, "restored", None)
