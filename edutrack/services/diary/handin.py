"""Homework hand-in: a student submits text and files for a lesson's homework (late when after the deadline:
the start of the class's next lesson of the subject); they may replace it until it is graded; the teacher sees
who has and has not handed in, returns it for rework with a comment, or grades it with a normal grade (the
grade service's own transaction steps: audit, notifications, cache); parents see the status.

States: submitted -> returned -> submitted (again) ... -> graded (final). Notifications: `homework_submitted`
to the lesson's teacher and the student's parents, `homework_returned` to the student and parents, and the
grade's own `grade` notification.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.diary import Lesson
from edutrack.db.handin import HomeworkSubmission
from edutrack.db.models import Notification, Role
from edutrack.i18n import _, use_locale
from edutrack.queries import files as files_q
from edutrack.queries import grades as grades_q
from edutrack.queries import handin as q
from edutrack.queries import lessons as lessons_q
from edutrack.queries import membership
from edutrack.queries.chat import sender_name
from edutrack.queries.notifications import insert_notifications
from edutrack.security.tokens import Principal
from edutrack.services.diary import permissions
from edutrack.services.diary.grades import add_grade
from edutrack.services.files.store import claim, file_view
from edutrack.uow import UnitOfWork, unit_of_work

MAX_TEXT = 10000
MAX_HANDINS_PER_HOUR = 200  # submissions, returns and grades per person per hour


def _no_lesson() -> errors.ApiError:
    return errors.NotFound(_("No such lesson"))


def _no_submission() -> errors.ApiError:
    return errors.NotFound(_("No such submission"), code="submission_not_found")


def view(sub: HomeworkSubmission, files: Sequence[Any], grade: str | None) -> dict[str, Any]:
    return {"id": sub.id, "lesson_id": sub.lesson_id, "student_id": sub.student_id, "status": sub.status,
            "text": sub.text, "late": sub.late, "due_at": sub.due_at.isoformat() if sub.due_at else None,
            "submitted_at": sub.submitted_at.isoformat(), "versions": sub.versions,
            "teacher_comment": sub.teacher_comment,
            "checked_at": sub.checked_at.isoformat() if sub.checked_at else None,
            "grade_id": sub.grade_id, "grade": grade, "attachments": [file_view(f) for f in files]}


async def _view(session: AsyncSession, sub: HomeworkSubmission) -> dict[str, Any]:
    files = (await q.files_of(session, [sub.id])).get(sub.id, [])
    return view(sub, files, await q.grade_display(session, sub.grade_id))


async def charge(ctx: AppContext, who: Principal) -> None:
    count, ttl = await ctx.limiter.hit(f"handin:user:{who.user_id}", 3600)
    if count > MAX_HANDINS_PER_HOUR:
        raise errors.TooManyRequests(ttl, _("Too many changes; try again later."))


async def _payload(session: AsyncSession, lesson: Lesson, sub: HomeworkSubmission, title: str) -> dict[str, Any]:
    return {"title": title, "submission_id": sub.id, "lesson_id": lesson.id, "student_id": sub.student_id,
            "subject": await q.subject_name(session, lesson.subject_id), "date": lesson.starts_at.date().isoformat(),
            "late": sub.late, "comment": sub.teacher_comment}


async def _notify(session: AsyncSession, kind: str, recipients: Sequence[int], student_id: int,
                  payload: dict[str, Any]) -> list[Notification]:
    rows = [{"user_id": uid, "kind": kind, "about_user_id": student_id, "payload": payload}
            for uid in sorted(set(recipients))]
    return await insert_notifications(session, rows)


# --- the student ------------------------------------------------------------------------------------------


async def submit(ctx: AppContext, who: Principal, lesson_id: int, raw_text: str | None,
                 attachments: Sequence[int]) -> tuple[dict[str, Any], bool]:
    """Hand in (or replace) the answer to a lesson's homework: (the submission, whether it is new)."""
    if who.role != Role.STUDENT.value:
        raise errors.Forbidden(_("Only students hand in homework"))
    text = (raw_text or "").strip() or None
    if text is None and not attachments:
        raise errors.ValidationFailed(_("Write an answer or attach files"),
                                      details={"text": [_("Required.")]})
    if text is not None and len(text) > MAX_TEXT:
        raise errors.ValidationFailed(details={"text": [_("Length must be between %(min)s and %(max)s.", min=1,
                                                          max=MAX_TEXT)]})
    await charge(ctx, who)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        lesson = await lessons_q.lesson_by_id(session, lesson_id)
        if lesson is None or not await grades_q.is_enrolled(session, who.user_id, lesson.class_id):
            raise _no_lesson()
        if lesson.cancelled_at is not None:
            raise errors.Conflict(_("The lesson is cancelled"), code="lesson_cancelled")
        if not lesson.homework and not await files_q.attached_to(session, lesson_id=lesson.id):
            raise errors.Conflict(_("This lesson has no homework to hand in"), code="no_homework")
        files = await claim(session, who, attachments)
        sub = await q.submission(session, lesson_id, who.user_id, for_update=True)
        if sub is not None and sub.status == "graded":
            raise errors.Conflict(_("The homework is already graded and cannot be replaced"),
                                  code="submission_checked")
        due = await q.due_at(session, lesson)
        now = datetime.now(UTC)
        created = sub is None
        if sub is None:
            sub = await q.add(session, HomeworkSubmission(
                school_id=lesson.school_id, lesson_id=lesson.id, student_id=who.user_id, text=text,
                status="submitted", late=due is not None and now > due, due_at=due, submitted_at=now))
        else:
            await q.drop_files(session, sub.id)
            sub.text, sub.status, sub.due_at, sub.submitted_at = text, "submitted", due, now
            sub.late = due is not None and now > due
            sub.versions += 1
            await session.flush()
        if files:
            await files_q.attach(session, [f.id for f in files], submission_id=sub.id)
        name = await sender_name(session, who.user_id)
        with use_locale(None):
            title = (_("%(name)s handed in homework late", name=name) if sub.late
                     else _("%(name)s handed in homework", name=name))
        payload = {**await _payload(session, lesson, sub, title), "student_name": name}
        parents = (await membership.parents_of(session, [who.user_id])).get(who.user_id, [])
        uow.publish_notifications(await _notify(session, "homework_submitted", [lesson.teacher_id, *parents],
                                                who.user_id, payload))
        await session.refresh(sub)
        result = await _view(session, sub)
    return result, created


async def submission_of(ctx: AppContext, who: Principal, lesson_id: int, student_id: int | None) -> dict[str, Any]:
    """One student's hand-in for a lesson: the student's own, or (student_id) a child's or a taught student's."""
    student_id = who.user_id if student_id is None else student_id
    async with ctx.reads() as session:
        if not await permissions.can_view_student(session, who, student_id):
            raise _no_submission()
        sub = await q.submission(session, lesson_id, student_id)
        if sub is None:
            raise _no_submission()
        return await _view(session, sub)


async def student_submissions(ctx: AppContext, who: Principal, student_id: int, limit: int) -> dict[str, Any]:
    """What a parent (or the student, a teacher, an admin) sees: each hand-in's status, lateness and grade."""
    async with ctx.reads() as session:
        await permissions.require_student_visible(session, who, student_id)
        rows = await q.submissions_of_student(session, student_id, limit)
        files = await q.files_of(session, [r[0].id for r in rows])
        items = []
        for sub, subject, starts_at, value, mark in rows:
            grade = str(value) if value is not None else (str(mark) if mark is not None else None)
            items.append({**view(sub, files.get(sub.id, []), grade), "subject": subject,
                          "lesson_date": starts_at.date().isoformat()})
    return {"student_id": student_id, "items": items}


# --- the teacher ------------------------------------------------------------------------------------------


async def lesson_submissions(ctx: AppContext, who: Principal, lesson_id: int) -> dict[str, Any]:
    """Every student of the lesson's class: their hand-in, or `missing`."""
    async with ctx.reads() as session:
        lesson = await lessons_q.lesson_by_id(session, lesson_id)
        if lesson is None or not await permissions.can_view_class(session, who, lesson.class_id):
            raise _no_lesson()
        await permissions.require_teaches(session, who, lesson.class_id, lesson.subject_id, lesson)
        roster = await q.class_roster(session, lesson.class_id)
        subs = await q.submissions_of_lesson(session, lesson_id)
        files = await q.files_of(session, [s.id for s in subs.values()])
        items = []
        for student_id, name in roster:
            sub = subs.get(student_id)
            entry = (view(sub, files.get(sub.id, []), await q.grade_display(session, sub.grade_id))
                     if sub is not None else None)
            items.append({"student_id": student_id, "student_name": name,
                          "status": sub.status if sub is not None else "missing", "submission": entry})
        due = await q.due_at(session, lesson)
    return {"lesson_id": lesson_id, "due_at": due.isoformat() if due else None, "items": items,
            "submitted": sum(1 for i in items if i["status"] != "missing"),
            "missing": sum(1 for i in items if i["status"] == "missing")}


async def _checked(uow: UnitOfWork, who: Principal, submission_id: int) -> tuple[HomeworkSubmission, Lesson]:
    session = uow.session
    sub = await q.submission_by_id(session, submission_id, for_update=True)
    if sub is None:
        raise _no_submission()
    lesson = await lessons_q.lesson_by_id(session, sub.lesson_id)
    if lesson is None or not await permissions.can_view_class(session, who, lesson.class_id):
        raise _no_submission()
    await permissions.require_teaches(session, who, lesson.class_id, lesson.subject_id, lesson)
    if sub.status == "graded":
        raise errors.Conflict(_("The homework is already graded"), code="submission_checked")
    return sub, lesson


async def return_for_rework(ctx: AppContext, who: Principal, submission_id: int, comment: str) -> dict[str, Any]:
    await charge(ctx, who)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        sub, lesson = await _checked(uow, who, submission_id)
        if sub.status != "submitted":
            raise errors.Conflict(_("The homework was already returned; wait for the new version"),
                                  code="submission_returned")
        sub.status, sub.teacher_comment, sub.checked_by, sub.checked_at = "returned", comment, who.user_id, \
            datetime.now(UTC)
        await session.flush()
        with use_locale(None):
            title = _("Homework returned for rework")
        parents = (await membership.parents_of(session, [sub.student_id])).get(sub.student_id, [])
        uow.publish_notifications(await _notify(session, "homework_returned", [sub.student_id, *parents],
                                                sub.student_id, await _payload(session, lesson, sub, title)))
        return await _view(session, sub)


async def grade(ctx: AppContext, who: Principal, submission_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """A normal grade for the lesson (the grade service's checks, audit, notifications and cache), linked."""
    await charge(ctx, who)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        sub, lesson = await _checked(uow, who, submission_id)
        _view_of_grade, new = await add_grade(uow, who, {
            "student_id": sub.student_id, "lesson_id": lesson.id, "work_type_id": data["work_type_id"],
            "value": data.get("value"), "mark": data.get("mark"), "comment": data.get("comment")})
        sub.status, sub.grade_id, sub.checked_by, sub.checked_at = "graded", new.id, who.user_id, datetime.now(UTC)
        if data.get("comment"):
            sub.teacher_comment = data["comment"]
        await session.flush()
        return await _view(session, sub)
