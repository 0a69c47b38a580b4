"""Attendance: a lesson's marks in bulk, one mark's later reason, reads per lesson and per student.

An absence sent without a reason on a lesson that an accepted parent's note covers takes the note's reason
(services/diary/absence_notes.py). Absences and lates notify the student and their parents (`attendance`
notifications) in the same transaction;
a mark re-sent unchanged notifies nobody. An absence without a reason counts as unexcused until one is added.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.diary import ABSENCE_REASON_TITLES, Attendance
from edutrack.db.models import Notification, Role
from edutrack.i18n import _, day_month, for_recipients, gendered
from edutrack.i18n.names import PersonName, first_last
from edutrack.queries import attendance as q
from edutrack.queries import membership
from edutrack.queries.people import person_names
from edutrack.security.tokens import Principal
from edutrack.services.diary import absence_notes, permissions
from edutrack.services.diary.grades import term_range, visible_student
from edutrack.services.diary.notify import journal_changed, notify_students_and_parents
from edutrack.uow import unit_of_work

NOTIFYING = ("absent", "late")


def _bad(field: str, message: str, details: Any = None) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, details=details or {field: [message]})


def day_bounds(starts: date | None, ends: date | None) -> tuple[datetime | None, datetime | None]:
    """[from 00:00, to+1 00:00) in UTC: the dates of a query are whole days."""
    lo = datetime.combine(starts, time.min, tzinfo=UTC) if starts else None
    hi = datetime.combine(ends + timedelta(days=1), time.min, tzinfo=UTC) if ends else None
    return lo, hi


def mark_view(a: Attendance, names: dict[int, str] | None = None) -> dict[str, Any]:
    return {"id": a.id, "lesson_id": a.lesson_id, "student_id": a.student_id,
            "student_name": (names or {}).get(a.student_id), "status": a.status, "reason": a.reason,
            "note": a.note, "marked_by": a.marked_by, "updated_at": a.updated_at}


def attendance_title(status: str, reason: str | None, student: PersonName, subject: str, day: date) -> str:
    """"Анастасия Крылова опоздала на урок: Физика, 12 ноября": the verb agrees with the student's gender."""
    gender, name, when = student.grammatical_gender, first_last(student), day_month(day)
    if status == "late":
        return gendered(gender, "%(name)s was late for %(subject)s on %(date)s", name=name, subject=subject,
                        date=when)
    title = gendered(gender, "%(name)s missed %(subject)s on %(date)s", name=name, subject=subject, date=when)
    return f"{title} ({_(ABSENCE_REASON_TITLES[reason])})" if reason else title


def _payload(lesson: Any, mark: Attendance, student_name: str, student: PersonName) -> dict[str, Any]:
    with for_recipients():
        title = attendance_title(mark.status, mark.reason, student, lesson.subject, lesson.starts_at.date())
    return {"lesson_id": lesson.id, "student_id": mark.student_id, "student_name": student_name,
            "subject": lesson.subject, "date": lesson.starts_at.date().isoformat(), "status": mark.status,
            "reason": mark.reason, "title": title}


async def _lesson_for_marking(session: AsyncSession, who: Principal, lesson_id: int) -> Any:
    permissions.require_role(who, Role.TEACHER.value, Role.ADMIN.value)
    lesson = await q.lesson_with_subject(session, lesson_id)
    if lesson is None or not (who.is_superuser or lesson.school_id == who.school_id):
        raise errors.NotFound(_("No such lesson"))
    await permissions.require_teaches(session, who, lesson.class_id, lesson.subject_id, lesson)
    if lesson.cancelled_at is not None:
        raise errors.Conflict(_("The lesson is cancelled"), code="lesson_cancelled")
    return lesson


async def mark_lesson(ctx: AppContext, who: Principal, lesson_id: int,
                      marks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[int] = set()
    for i, m in enumerate(marks):
        if m["student_id"] in seen:
            raise _bad("marks", _("A student appears twice"),
                       {"marks": {str(i): [_("This student is already in the list.")]}})
        seen.add(m["student_id"])
    async with unit_of_work(ctx) as uow:
        session = uow.session
        lesson = await _lesson_for_marking(session, who, lesson_id)
        names = await q.class_student_names(session, lesson.class_id)
        strangers = sorted(seen - names.keys())
        if strangers:
            raise _bad("marks", _("Not students of this lesson's class"),
                       {"marks": [_("Student %(id)s is not in this class.", id=s) for s in strangers]})
        before = {a.student_id: (a.status, a.reason) for a in
                  await q.lesson_marks(session, lesson_id, student_ids=seen, for_update=True)}
        noted = await absence_notes.excused_reasons(session, lesson_id, {
            m["student_id"] for m in marks if m["status"] == "absent" and m.get("reason") is None})
        rows = await q.upsert_marks(session, [
            {"school_id": lesson.school_id, "lesson_id": lesson_id, "student_id": m["student_id"],
             "status": m["status"],
             "reason": (m.get("reason") or noted.get(m["student_id"])) if m["status"] == "absent" else None,
             "note": m.get("note"), "marked_by": who.user_id} for m in marks])
        changed = [a for a in rows if a.status in NOTIFYING and before.get(a.student_id) != (a.status, a.reason)]
        people = await person_names(session, [a.student_id for a in changed])
        payloads = {a.student_id: _payload(lesson, a, names[a.student_id], people[a.student_id]) for a in changed}
        notes = await notify_students_and_parents(session, "attendance", payloads) if payloads else []
        views = [mark_view(a, names) for a in sorted(rows, key=lambda a: a.student_id)]
        uow.publish_notifications(notes)
        await journal_changed(session, uow, class_id=lesson.class_id, subject_id=lesson.subject_id,
                              what="attendance", actor_id=who.user_id, lesson_id=lesson.id)
    return views


async def update_mark(ctx: AppContext, who: Principal, attendance_id: int, data: dict[str, Any]) -> dict[str, Any]:
    notes: list[Notification] = []
    async with unit_of_work(ctx) as uow:
        session = uow.session
        mark = await q.mark_by_id(session, attendance_id, for_update=True)
        if mark is None or not (who.is_superuser or mark.school_id == who.school_id):
            raise errors.NotFound(_("No such attendance mark"))
        lesson = await _lesson_for_marking(session, who, mark.lesson_id)
        status = data.get("status", mark.status)
        reason = data.get("reason", mark.reason if status == mark.status else None)
        if status != "absent" and reason is not None:
            raise _bad("reason", _("A reason is only for absences"))
        values = {"status": status, "reason": reason, "marked_by": who.user_id}
        if "note" in data:
            values["note"] = data["note"]
        before = (mark.status, mark.reason)
        mark = await q.update_mark(session, attendance_id, values)
        names = await q.class_student_names(session, lesson.class_id)
        if mark.status in NOTIFYING and before != (mark.status, mark.reason):
            people = await person_names(session, [mark.student_id])
            notes = await notify_students_and_parents(session, "attendance", {
                mark.student_id: _payload(lesson, mark, names.get(mark.student_id, ""), people[mark.student_id])})
        view = mark_view(mark, names)
        uow.publish_notifications(notes)
        await journal_changed(session, uow, class_id=lesson.class_id, subject_id=lesson.subject_id,
                              what="attendance", actor_id=who.user_id, lesson_id=lesson.id)
    return view


async def lesson_attendance(ctx: AppContext, who: Principal, lesson_id: int) -> dict[str, Any]:
    """Teachers of the class and admins see every mark; a student their own; a parent their children's."""
    async with ctx.reads() as session:
        lesson = await q.lesson_with_subject(session, lesson_id)
        if lesson is None:
            raise errors.NotFound(_("No such lesson"))
        await permissions.require_class_visible(session, who, lesson.class_id)
        only: set[int] | None = None
        if not who.is_superuser and who.role == Role.STUDENT.value:
            only = {who.user_id}
        elif not who.is_superuser and who.role == Role.PARENT.value:
            only = set(await membership.children_of(session, who.user_id))
        marks = await q.lesson_marks(session, lesson_id, student_ids=only)
        names = await q.class_student_names(session, lesson.class_id)
    return {"lesson_id": lesson.id, "class_id": lesson.class_id, "subject": lesson.subject,
            "starts_at": lesson.starts_at, "marks": [mark_view(a, names) for a in marks]}


async def student_attendance(ctx: AppContext, who: Principal, student_id: int, *, starts: date | None,
                             ends: date | None, term_id: int | None) -> dict[str, Any]:
    async with ctx.reads() as session:
        student = await visible_student(session, who, student_id)
        starts, ends = await term_range(session, student.school_id, term_id, starts, ends)
        lo, hi = day_bounds(starts, ends)
        scope = await permissions.student_scope(session, who, student_id)
        rows = await q.student_marks(session, student_id, starts=lo, ends=hi, teacher_id=scope)
        summary = await q.student_summary(session, student_id, starts=lo, ends=hi, teacher_id=scope)
        name = (await person_names(session, [student_id])).get(student_id)
    return {
        "student_id": student_id, "student_gender": name.grammatical_gender if name else None,
        "from_": starts, "to": ends,
        "marks": [{"id": r.id, "lesson_id": r.lesson_id, "starts_at": r.starts_at, "subject_id": r.subject_id,
                   "subject": r.subject, "status": r.status, "reason": r.reason, "note": r.note} for r in rows],
        "summary": summary_view(summary),
    }


def summary_view(s: Any) -> dict[str, Any]:
    """Attendance rate = lessons attended (present or late) / lessons marked."""
    return {"marked": s.marked, "present": s.present, "late": s.late, "absent": s.absent,
            "unexcused": s.unexcused, "rate": round((s.present + s.late) / s.marked, 4) if s.marked else None}
