"""The schedule: lessons, double-booking rules, week views and personal schedules, homework notifications.

A school's admins build the timetable (create, move, delete lessons); the teacher of a lesson's class and
subject sets its topic and homework. Setting or changing homework notifies the class's students and
their parents. Week views are cached per school and invalidated after every committed lesson change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import cache, errors
from edutrack.context import AppContext
from edutrack.db.diary import Lesson
from edutrack.db.models import Role
from edutrack.i18n import _, ngettext
from edutrack.queries import classes as class_q
from edutrack.queries import grades as grade_q
from edutrack.queries import lessons as q
from edutrack.queries import membership
from edutrack.queries import schools as school_q
from edutrack.security.tokens import Principal
from edutrack.serialize import dumps_bytes
from edutrack.services.diary import diary_seen, lesson_notices, permissions
from edutrack.services.diary.clashes import check_conflicts, from_integrity
from edutrack.services.diary.notify import journal_changed
from edutrack.uow import AfterCommit, unit_of_work

MAX_RANGE_DAYS = 42  # a week view, a fortnight, a month: anything longer is a report, not a schedule
MAX_LESSON = timedelta(hours=6)
YEARS = (2000, 2100)  # a diary's plausible years; also keeps time-zone arithmetic far from datetime's limits
PLANNING_FIELDS = ("class_id", "subject_id", "teacher_id", "room", "starts_at", "ends_at")


def lesson_view(row: Row[Any]) -> dict[str, Any]:
    lesson: Lesson = row[0]
    return {
        "id": lesson.id, "school_id": lesson.school_id, "class_id": lesson.class_id, "class_name": row.class_name,
        "subject_id": lesson.subject_id, "subject_name": row.subject_name, "teacher_id": lesson.teacher_id,
        "teacher_name": row.teacher_name, "room": lesson.room,
        # Always UTC, whether the object came from the database or from this request's input.
        "starts_at": lesson.starts_at.astimezone(UTC).isoformat(),
        "ends_at": lesson.ends_at.astimezone(UTC).isoformat(), "topic": lesson.topic, "homework": lesson.homework,
        "cancelled": lesson.cancelled_at is not None, "regular_teacher_id": lesson.regular_teacher_id,
        "change_note": lesson.change_note,
        "moved_from": lesson.moved_from.astimezone(UTC).isoformat() if lesson.moved_from else None,
    }


def _aware(value: datetime, tz: ZoneInfo) -> datetime:
    """Times without an offset are wall-clock times of the school."""
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _check_times(starts: datetime, ends: datetime) -> None:
    for name, value in (("starts_at", starts), ("ends_at", ends)):
        if not YEARS[0] <= value.year <= YEARS[1]:
            raise errors.ValidationFailed(_("%(name)s is out of range", name=name),
                                          details={name: [_("The year must be between %(first)s and %(last)s.",
                                                            first=YEARS[0], last=YEARS[1])]})
    if ends <= starts:
        raise errors.ValidationFailed(_("A lesson must end after it starts"),
                                      details={"ends_at": [_("Must be after starts_at.")]})
    if ends - starts > MAX_LESSON:
        raise errors.ValidationFailed(_("A lesson cannot last longer than 6 hours"),
                                      details={"ends_at": [_("At most 6 hours after starts_at.")]})


async def school_tz(session: AsyncSession, school_id: int) -> ZoneInfo:
    school = await school_q.school_by_id(session, school_id)
    return ZoneInfo(school.timezone if school is not None else "UTC")


async def _validate_refs(session: AsyncSession, who: Principal, fields: dict[str, Any]) -> None:
    cls = await class_q.class_by_id(session, fields["class_id"])
    if cls is None or not (who.is_superuser or cls.school_id == who.school_id):
        raise errors.ValidationFailed(_("Unknown class"), details={"class_id": [_("No class %(class_id)s.",
                                                                                  class_id=fields['class_id'])]})
    fields["school_id"] = cls.school_id
    subject = await class_q.subject_by_id(session, fields["subject_id"])
    if subject is None or subject.school_id != cls.school_id:
        raise errors.ValidationFailed(_("Unknown subject"),
                                      details={"subject_id": [_("No subject %(subject_id)s in this school.",
                                                                subject_id=fields['subject_id'])]})
    if not await class_q.assignment_exists(session, cls.id, subject.id, fields["teacher_id"]):
        raise errors.ValidationFailed(
            _("The teacher is not assigned to this class and subject"),
            details={"teacher_id": [_("Assign the teacher to this class and subject first.")]},
        )


async def _lesson_changed(session: AsyncSession, uow: AfterCommit, lesson: Lesson, who: Principal) -> None:
    await journal_changed(session, uow, class_id=lesson.class_id, subject_id=lesson.subject_id, what="lesson",
                          actor_id=who.user_id, lesson_id=lesson.id)


async def plan_new(session: AsyncSession, who: Principal, data: dict[str, Any]) -> tuple[dict[str, Any], ZoneInfo]:
    """The planning fields of a new lesson, checked (references, times) and in the school's time zone."""
    permissions.require_role(who, Role.ADMIN.value)
    fields: dict[str, Any] = {k: data.get(k) for k in PLANNING_FIELDS}
    fields["room"] = (fields["room"] or "").strip() or None
    await _validate_refs(session, who, fields)
    tz = await school_tz(session, fields["school_id"])
    fields["starts_at"] = _aware(fields["starts_at"], tz)
    fields["ends_at"] = _aware(fields["ends_at"], tz)
    _check_times(fields["starts_at"], fields["ends_at"])
    return fields, tz


async def plan_change(session: AsyncSession, who: Principal, lesson: Lesson,
                      changes: dict[str, Any]) -> tuple[dict[str, Any], ZoneInfo]:
    """The planning fields of `lesson` after `changes` (an admin's move or reassignment), checked likewise."""
    permissions.require_school_admin(who, lesson.school_id)
    tz = await school_tz(session, lesson.school_id)
    fields = {k: getattr(lesson, k) for k in PLANNING_FIELDS}
    fields.update({k: v for k, v in changes.items() if k in PLANNING_FIELDS})
    if "room" in changes:
        fields["room"] = (changes["room"] or "").strip() or None
    fields["starts_at"] = _aware(fields["starts_at"], tz)
    fields["ends_at"] = _aware(fields["ends_at"], tz)
    _check_times(fields["starts_at"], fields["ends_at"])
    # A one-off cover teaches this lesson without being assigned to the class: moving the covered lesson checks
    # the assignment of the teacher it replaces.
    checked = dict(fields)
    if lesson.regular_teacher_id is not None and "teacher_id" not in changes:
        checked["teacher_id"] = lesson.regular_teacher_id
    await _validate_refs(session, who, checked)
    fields["school_id"] = checked["school_id"]
    if fields["school_id"] != lesson.school_id:
        raise errors.ValidationFailed(_("A lesson cannot move to another school"),
                                      details={"class_id": [_("Must be a class of the same school.")]})
    return fields, tz


async def create_lesson(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    permissions.require_role(who, Role.ADMIN.value)
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            fields, tz = await plan_new(session, who, data)
            fields["topic"] = data.get("topic")
            fields["homework"] = (data.get("homework") or "").strip() or None
            await check_conflicts(session, fields, tz, None)
            lesson = await q.insert_lesson(session, fields)
            uow.invalidate(cache.school_schedule_bucket(fields["school_id"]))
            await _lesson_changed(session, uow, lesson, who)
            if lesson.homework:
                uow.publish_notifications(await lesson_notices.notify_homework(session, lesson.id, tz))
            row = await q.lesson_row(session, lesson.id)
            assert row is not None
            view = lesson_view(row)
    except IntegrityError as exc:
        raise from_integrity(exc) from exc
    return view


async def visible_lesson(session: AsyncSession, who: Principal, lesson_id: int,
                          for_update: bool = False) -> Lesson:
    lesson = await q.lesson_by_id(session, lesson_id, for_update=for_update)
    if lesson is None or not await permissions.can_view_class(session, who, lesson.class_id):
        raise errors.NotFound(_("No such lesson"))
    return lesson


async def get_lesson(ctx: AppContext, who: Principal, lesson_id: int) -> dict[str, Any]:
    async with ctx.reads() as session:
        await visible_lesson(session, who, lesson_id)
        row = await q.lesson_row(session, lesson_id)
    assert row is not None
    return lesson_view(row)


async def update_lesson(ctx: AppContext, who: Principal, lesson_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            lesson = await visible_lesson(session, who, lesson_id, for_update=True)
            old_homework, before = lesson.homework, lesson_notices.snapshot(lesson)
            if any(k in changes for k in PLANNING_FIELDS):
                fields, tz = await plan_change(session, who, lesson, changes)
                await check_conflicts(session, fields, tz, lesson.id)
                planned = lesson.moved_from or lesson.starts_at
                for key in PLANNING_FIELDS:
                    setattr(lesson, key, fields[key])
                if lesson.starts_at != before[0]:
                    lesson.moved_from = None if lesson.starts_at == planned else planned
            else:
                await permissions.require_teaches(session, who, lesson.class_id, lesson.subject_id, lesson)
                tz = await school_tz(session, lesson.school_id)
            if "topic" in changes:
                lesson.topic = (changes["topic"] or "").strip() or None
            if "homework" in changes:
                lesson.homework = (changes["homework"] or "").strip() or None
            await session.flush()
            uow.invalidate(cache.school_schedule_bucket(lesson.school_id))
            await _lesson_changed(session, uow, lesson, who)
            if lesson.homework and lesson.homework != old_homework:
                uow.publish_notifications(await lesson_notices.notify_homework(session, lesson.id, tz))
            uow.publish_notifications(await lesson_notices.announce_move(session, before, lesson, tz, who.user_id))
            row = await q.lesson_row(session, lesson.id)
            assert row is not None
            view = lesson_view(row)
    except IntegrityError as exc:
        raise from_integrity(exc) from exc
    return view


async def delete_lesson(ctx: AppContext, who: Principal, lesson_id: int) -> None:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        lesson = await visible_lesson(session, who, lesson_id, for_update=True)
        permissions.require_school_admin(who, lesson.school_id)
        # Their grades lose the link to the lesson (lesson_id -> null): their grade lists change.
        graded = await grade_q.students_graded_on_lesson(session, lesson_id)
        await q.delete_lesson(session, lesson_id)
        await _lesson_changed(session, uow, lesson, who)
        uow.invalidate(cache.school_schedule_bucket(lesson.school_id), *(cache.student_marks_bucket(s) for s in graded))


# Week views


def _range(tz: ZoneInfo, start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """[from, to] as whole days in the school's time zone; to is inclusive. Default: this week."""
    for name, value in (("from", start), ("to", end)):
        if value is not None and not YEARS[0] <= value.year <= YEARS[1]:
            raise errors.ValidationFailed(_("'%(name)s' is out of range", name=name),
                                          details={name: [_("The year must be between %(first)s and %(last)s.",
                                                            first=YEARS[0], last=YEARS[1])]})
    if start is None and end is None:
        today = datetime.now(tz).date()
        start = today - timedelta(days=today.weekday())
        end = start + timedelta(days=6)
    elif start is None:
        assert end is not None
        start = end - timedelta(days=6)
    elif end is None:
        end = start + timedelta(days=6)
    if end < start:
        raise errors.ValidationFailed(_("'to' must not be before 'from'"), details={"to": [_("Must be >= from.")]})
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise errors.ValidationFailed(_("The range is limited to %(days)s days", days=MAX_RANGE_DAYS),
                                      details={"to": [_("At most %(days)s days after from.", days=MAX_RANGE_DAYS)]})
    return (datetime.combine(start, time.min, tzinfo=tz),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz))


def _range_view(starts: datetime, ends: datetime, tz: ZoneInfo, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"from": starts.date().isoformat(), "to": (ends - timedelta(days=1)).date().isoformat(),
            "timezone": str(tz), "items": items}


async def _class_lessons(ctx: AppContext, school_id: int, class_id: int, starts: datetime,
                         ends: datetime) -> list[dict[str, Any]]:
    async def load() -> list[dict[str, Any]]:
        async with ctx.reads() as session:
            return [lesson_view(r) for r in await q.lessons_in_range(session, starts=starts, ends=ends,
                                                                      class_ids=[class_id])]

    field = f"class:{class_id}:{starts.isoformat()}:{ends.isoformat()}"
    result: list[dict[str, Any]] = await cache.cached(ctx, cache.school_schedule_bucket(school_id), field, load)
    return result


async def _visible_class_week(session: AsyncSession, who: Principal, class_id: int, start: date | None,
                              end: date | None) -> tuple[int, ZoneInfo, datetime, datetime]:
    """The class's school, its time zone and the week's bounds, once the caller may see the class."""
    await permissions.require_class_visible(session, who, class_id)
    found = await q.class_schools(session, [class_id])
    if not found:
        raise errors.NotFound(_("No such class"))
    tz = ZoneInfo(found[0].timezone)
    return (found[0].school_id, tz, *_range(tz, start, end))


async def class_week(ctx: AppContext, who: Principal, class_id: int, start: date | None,
                     end: date | None) -> dict[str, Any]:
    async with ctx.reads() as session:
        school_id, tz, starts, ends = await _visible_class_week(session, who, class_id, start, end)
    return _range_view(starts, ends, tz, await _class_lessons(ctx, school_id, class_id, starts, ends))


async def class_week_body(ctx: AppContext, who: Principal, class_id: int, start: date | None,
                          end: date | None) -> bytes:
    """`class_week` as the response body. With explicit dates (what clients send), the finished body is cached
    per class and range in the school's schedule bucket, with the facts `can_view_class` needs, depending on
    the school's reference bucket (enrolment, parent links, assignments, the class teacher change it)."""
    if start is None or end is None or who.school_id is None or who.is_superuser:
        return dumps_bytes(await class_week(ctx, who, class_id, start, end))

    async def load() -> tuple[bytes, dict[str, Any] | None]:
        # Reads PostgreSQL directly, not through `_class_lessons`: that would create the schedule bucket (a new
        # token) and make this store fail on the first read of a fresh bucket.
        async with ctx.reads() as session:
            _, tz, starts, ends = await _visible_class_week(session, who, class_id, start, end)
            rows = await q.lessons_in_range(session, starts=starts, ends=ends, class_ids=[class_id])
            row = await membership.class_access_facts(session, class_id)
        body = dumps_bytes(_range_view(starts, ends, tz, [lesson_view(r) for r in rows]))
        if row is None or row.school_id != who.school_id:
            return body, None
        return body, {"school_id": row.school_id, "class_teacher_id": row.class_teacher_id,
                      "teachers": row.teachers or [], "students": row.students or [], "parents": row.parents or []}

    return await cache.authorized_body(
        ctx, (cache.school_schedule_bucket(who.school_id), cache.school_ref_bucket(who.school_id)),
        f"week:{class_id}:{start.isoformat()}:{end.isoformat()}",
        lambda facts: permissions.class_visible_by_facts(who, facts), load)


async def my_schedule(ctx: AppContext, who: Principal, start: date | None, end: date | None,
                      child_id: int | None) -> dict[str, Any]:
    async with ctx.reads() as session:
        if who.role == Role.TEACHER.value and child_id is None:  # with child_id: a teacher who is a parent
            school_id = who.school_id
            tz = await school_tz(session, school_id) if school_id is not None else ZoneInfo("UTC")
            starts, ends = _range(tz, start, end)

            async def load() -> list[dict[str, Any]]:
                async with ctx.reads() as inner:
                    return [lesson_view(r) for r in await q.lessons_in_range(inner, starts=starts, ends=ends,
                                                                              teacher_id=who.user_id)]

            if school_id is None:
                return _range_view(starts, ends, tz, await load())
            field = f"teacher:{who.user_id}:{starts.isoformat()}:{ends.isoformat()}"
            mine = await cache.cached(ctx, cache.school_schedule_bucket(school_id), field, load)
            return _range_view(starts, ends, tz, mine)
        if who.role == Role.STUDENT.value:
            student_id = who.user_id
        elif who.role == Role.PARENT.value or child_id is not None:
            children = await membership.children_of(session, who.user_id)
            if child_id is None:
                if len(children) != 1:
                    raise errors.ValidationFailed(
                        _("Say whose schedule: child_id"), details={"child_id": [ngettext(
                        "Required when you have %(num)s child.", "Required when you have %(num)s children.",
                        len(children))]})
                child_id = children[0]
            if child_id not in children:
                raise errors.NotFound(_("No such child"))
            student_id = child_id
        else:
            raise errors.Forbidden(_("Administrators have no personal schedule; use /api/v1/lessons?class_id="))
        classes = await q.class_schools(session, await membership.class_ids_of_student(session, student_id))
    await diary_seen.record_open(ctx, who.user_id, student_id)
    tz = ZoneInfo(classes[0].timezone) if classes else ZoneInfo("UTC")
    starts, ends = _range(tz, start, end)
    items: list[dict[str, Any]] = []
    # A student is in one class or a few (groups): one cached week per class.
    for found in classes:
        items.extend(await _class_lessons(ctx, found.school_id, found.class_id, starts, ends))
    items.sort(key=lambda lesson: (lesson["starts_at"], lesson["class_id"], lesson["id"]))
    return _range_view(starts, ends, tz, items)
