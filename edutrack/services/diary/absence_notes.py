"""Parents' absence notes: written by a parent ahead or on the day, decided by the class teacher.

A note covers whole days (`from`..`to`, the school's wall clock) or some lessons of the child's class. The class
teacher (or an admin) accepts it or questions it with a comment; an accepted note is final. Accepting excuses the
absences already marked on the lessons it covers (their reason becomes the note's), and attendance taken later for
such a lesson marks an absence without a reason as excused with the note's reason (`excused_reasons`, called by
attendance.mark_lesson). Each write is audited (`audit_log`, entity `absence_note`) and notifies the people it
concerns with `absence_note` notifications: a new note the class teacher and the child's other parents; a
decision the child and every parent, and on acceptance the teachers of the covered lessons. A parent may attach
files (a doctor's certificate) when writing the note or later while it is open (new or questioned); they are read
by whoever reads the note (absence_access.py), and a file attached later notifies as a new note does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.absences import AbsenceNote
from edutrack.db.files import StoredFile
from edutrack.db.models import Notification, Role
from edutrack.i18n import _, day_month, for_recipients, ngettext
from edutrack.i18n.names import first_last
from edutrack.queries import absences as q
from edutrack.queries import files as files_q
from edutrack.queries import membership
from edutrack.queries.grades import insert_audit
from edutrack.queries.notifications import insert_notifications
from edutrack.queries.people import person_names
from edutrack.security.tokens import Principal
from edutrack.services.diary.absence_access import may_see
from edutrack.services.diary.notify import journal_changed
from edutrack.services.files import store as file_store  # a module: the files service imports us through lessons
from edutrack.uow import unit_of_work

NOTES_PER_HOUR = 30  # per parent: a family with several children, a few corrections
DECISIONS_PER_HOUR = 600  # per teacher: a morning's notes of a class, twice over
ATTACHES_PER_HOUR = 60  # per parent: a certificate in a few pages, for a few notes
MAX_DAYS = 31
KIND = "absence_note"


def _bad(field: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, details={field: [message]})


async def _admit(ctx: AppContext, who: Principal, action: str, limit: int) -> None:
    count, retry_after = await ctx.limiter.hit(f"{action}:{who.user_id}", 3600)
    if count > limit:
        raise errors.TooManyRequests(retry_after)


def note_view(row: Any, files: Sequence[StoredFile] = ()) -> dict[str, Any]:
    n: AbsenceNote = row.AbsenceNote
    return {"id": n.id, "student_id": n.student_id, "student_name": row.student_name, "class_id": n.class_id,
            "author_id": n.author_id, "author_name": row.author_name, "from_": n.starts_on, "to": n.ends_on,
            "lesson_ids": list(n.lesson_ids) if n.lesson_ids else None, "reason": n.reason, "comment": n.comment,
            "status": n.status, "decided_by": n.decided_by, "decided_at": n.decided_at,
            "decision_comment": n.decision_comment, "created_at": n.created_at,
            "attachments": [file_store.file_view(f) for f in files]}


async def _view(session: AsyncSession, note_id: int) -> dict[str, Any]:
    files = await files_q.attached_to_notes(session, [note_id])
    return note_view(await q.note_row(session, note_id), files[note_id])


def _dates(n: AbsenceNote) -> str:
    if n.starts_on == n.ends_on:
        return day_month(n.starts_on)
    return f"{day_month(n.starts_on)} – {day_month(n.ends_on)}"


async def _notify(session: AsyncSession, n: AbsenceNote, user_ids: Iterable[int], comment: str | None,
                  *, files_added: bool = False) -> list[Notification]:
    names = await person_names(session, [n.student_id])
    name = first_last(names[n.student_id]) if n.student_id in names else ""
    with for_recipients():
        titles = {"pending": _("Absence note for %(name)s: %(dates)s", name=name, dates=_dates(n)),
                  "accepted": _("Absence note for %(name)s accepted: %(dates)s", name=name, dates=_dates(n)),
                  "questioned": _("Absence note for %(name)s questioned: %(dates)s", name=name, dates=_dates(n))}
        title = (_("A file added to the absence note for %(name)s: %(dates)s", name=name, dates=_dates(n))
                 if files_added else titles[n.status])
    payload = {"note_id": n.id, "student_id": n.student_id, "student_name": name, "from": n.starts_on.isoformat(),
               "to": n.ends_on.isoformat(), "reason": n.reason, "status": n.status, "comment": comment,
               "files_added": files_added, "title": title}
    rows = [{"user_id": uid, "kind": KIND, "about_user_id": n.student_id, "payload": payload}
            for uid in sorted(set(user_ids))]
    return await insert_notifications(session, rows) if rows else []


def _audit(n: AbsenceNote, action: str, actor_id: int, file_ids: Sequence[int] = ()) -> dict[str, Any]:
    state: dict[str, Any] = {
        "status": n.status, "from": n.starts_on.isoformat(), "to": n.ends_on.isoformat(), "reason": n.reason,
        "lesson_ids": list(n.lesson_ids) if n.lesson_ids else None, "comment": n.comment,
        "decision_comment": n.decision_comment}
    if file_ids:
        state["file_ids"] = list(file_ids)
    return {"school_id": n.school_id, "entity": KIND, "entity_id": n.id, "action": action, "actor_id": actor_id,
            "new": state}


async def _span(session: AsyncSession, student_id: int, data: dict[str, Any]) -> tuple[date, date, Any]:
    """The note's first and last day and the student's class (with the school's time zone)."""
    lesson_ids = data.get("lesson_ids")
    if lesson_ids:
        found = await q.lessons_of_student(session, student_id, set(lesson_ids))
        unknown = sorted(set(lesson_ids) - {r.id for r in found})
        if unknown:
            raise _bad("lesson_ids", _("Not lessons of this student's class: %(ids)s",
                                       ids=", ".join(map(str, unknown))))
        starts, ends = min(r.day for r in found), max(r.day for r in found)
    else:
        starts = data["from_"]
        ends = data.get("to") or starts
    cls = await q.class_of_student(session, student_id, starts)
    if cls is None:
        raise _bad("student_id", _("This student is in no class"))
    return starts, ends, cls


async def create_note(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    if who.is_superuser or who.role == Role.STUDENT.value:
        raise errors.Forbidden(_("Only a student's parents can write an absence note"))
    await _admit(ctx, who, "absence-note", NOTES_PER_HOUR)
    student_id = data["student_id"]
    async with unit_of_work(ctx) as uow:
        session = uow.session
        if not await membership.is_parent_of(session, who.user_id, student_id):
            if who.role != Role.PARENT.value:  # a teacher or admin who is not this student's parent
                raise errors.Forbidden(_("Only a student's parents can write an absence note"))
            raise errors.NotFound(_("No such student"))
        starts, ends, cls = await _span(session, student_id, data)
        field = "lesson_ids" if data.get("lesson_ids") else "from"
        if starts < datetime.now(ZoneInfo(cls.timezone)).date():
            raise _bad(field, _("An absence note is written ahead or on the day of the absence"))
        if ends - starts >= timedelta(days=MAX_DAYS):
            raise _bad("to", ngettext("An absence note covers at most %(num)s day",
                                      "An absence note covers at most %(num)s days", MAX_DAYS))
        files = await file_store.claim(session, who, data.get("attachments") or [])
        note = await q.insert_note(session, {
            "school_id": cls.school_id, "student_id": student_id, "class_id": cls.id, "author_id": who.user_id,
            "starts_on": starts, "ends_on": ends, "lesson_ids": sorted(set(data["lesson_ids"]))
            if data.get("lesson_ids") else None, "reason": data["reason"], "comment": data.get("comment")})
        if files:
            await files_q.attach(session, [f.id for f in files], absence_note_id=note.id)
        await insert_audit(session, [_audit(note, "create", who.user_id, [f.id for f in files])])
        others = set(await membership.parent_ids_of(session, student_id)) - {who.user_id}
        teacher = {cls.class_teacher_id} if cls.class_teacher_id else set()
        uow.publish_notifications(await _notify(session, note, others | teacher, note.comment))
        view = await _view(session, note.id)
    return view


async def attach_files(ctx: AppContext, who: Principal, note_id: int, file_ids: Sequence[int]) -> list[dict[str, Any]]:
    """A parent of the child adds their uploaded files to a note still open (new or questioned: a question is
    often "bring the certificate"); an accepted note is final, its files too."""
    await _admit(ctx, who, "absence-note-files", ATTACHES_PER_HOUR)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        note = await q.note_by_id(session, note_id, for_update=True)
        if note is None or not await may_see(session, who, note):
            raise errors.NotFound(_("No such absence note"))
        if who.role == Role.STUDENT.value or not await membership.is_parent_of(session, who.user_id,
                                                                                 note.student_id):
            raise errors.Forbidden(_("Only the child's parents can attach files to an absence note"))
        if note.status == "accepted":
            raise errors.Conflict(_("This absence note is already accepted"), code="absence_note_decided")
        files = await file_store.claim(session, who, file_ids)
        had = (await files_q.attached_to_notes(session, [note_id]))[note_id]
        most = file_store.MAX_ATTACHMENTS
        if len(had) + len(files) > most:
            raise _bad("file_ids", ngettext("An absence note carries at most %(num)s file",
                                            "An absence note carries at most %(num)s files", most))
        await files_q.attach(session, [f.id for f in files], absence_note_id=note_id)
        await insert_audit(session, [_audit(note, "attach", who.user_id, [f.id for f in files])])
        others = set(await membership.parent_ids_of(session, note.student_id)) - {who.user_id}
        teacher = await q.class_teacher_of(session, note.class_id)
        recipients = others | ({teacher} if teacher else set())
        uow.publish_notifications(await _notify(session, note, recipients, note.comment, files_added=True))
        items = [file_store.file_view(f) for f in (await files_q.attached_to_notes(session, [note_id]))[note_id]]
    return items


async def get_note(ctx: AppContext, who: Principal, note_id: int) -> dict[str, Any]:
    async with ctx.reads() as session:
        row = await q.note_row(session, note_id)
        if row is None or not await may_see(session, who, row.AbsenceNote):
            raise errors.NotFound(_("No such absence note"))
        view = await _view(session, note_id)
    return view


async def decide_note(ctx: AppContext, who: Principal, note_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """The class teacher (or an admin) accepts the note or questions it; an accepted note stays accepted."""
    await _admit(ctx, who, "absence-decision", DECISIONS_PER_HOUR)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        note = await q.note_by_id(session, note_id, for_update=True)
        if note is None or not await may_see(session, who, note):
            raise errors.NotFound(_("No such absence note"))
        leads = who.role == Role.TEACHER.value and await q.class_teacher_of(session, note.class_id) == who.user_id
        if not (who.is_superuser or leads or (who.role == Role.ADMIN.value and who.school_id == note.school_id)):
            raise errors.Forbidden(_("Only the class teacher decides on an absence note"))
        if note.status == "accepted":
            raise errors.Conflict(_("This absence note is already accepted"))
        note = await q.decide(session, note_id, {"status": data["decision"], "decided_by": who.user_id,
                                                 "decision_comment": data.get("comment")})
        await insert_audit(session, [_audit(note, data["decision"], who.user_id)])
        recipients = {note.student_id, *await membership.parent_ids_of(session, note.student_id)}
        if note.status == "accepted":
            excused = await q.excuse_marks(session, note)
            recipients |= await q.covered_lesson_teachers(session, note)
            for class_id, subject_id in sorted({(r.class_id, r.subject_id) for r in excused}):
                await journal_changed(session, uow, class_id=class_id, subject_id=subject_id, what="attendance",
                                      actor_id=who.user_id)
        uow.publish_notifications(await _notify(session, note, recipients - {who.user_id}, note.decision_comment))
        view = await _view(session, note.id)
    return view


async def list_notes(ctx: AppContext, who: Principal, *, student_id: int | None, class_id: int | None,
                     status: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """Parents: their children's notes; students: their own; teachers: those of the classes they lead; admins:
    their school's. A student or class outside that is a 404."""
    async with ctx.reads() as session:
        scope = await _list_scope(session, who, student_id, class_id)
        rows = await q.notes(session, status=status, limit=limit, offset=offset, **scope)
        files = await files_q.attached_to_notes(session, [r.AbsenceNote.id for r in rows])
    return [note_view(r, files[r.AbsenceNote.id]) for r in rows]


async def _list_scope(session: AsyncSession, who: Principal, student_id: int | None,
                      class_id: int | None) -> dict[str, Any]:
    students: Collection[int] | None = [student_id] if student_id is not None else None
    classes: Collection[int] | None = [class_id] if class_id is not None else None
    school: int | None = None
    if who.is_superuser:
        pass
    elif who.role == Role.ADMIN.value:
        school = who.school_id
    elif who.role == Role.TEACHER.value and student_id is not None and await membership.is_parent_of(
            session, who.user_id, student_id):
        pass  # a teacher reading their own child's notes
    elif who.role == Role.TEACHER.value:
        led = await q.classes_led_by(session, who.user_id)
        if class_id is not None and class_id not in led:
            raise errors.NotFound(_("No such class"))
        classes = classes if classes is not None else led
    else:
        mine = ({who.user_id} if who.role == Role.STUDENT.value
                else set(await membership.children_of(session, who.user_id)))
        if student_id is not None and student_id not in mine:
            raise errors.NotFound(_("No such student"))
        students = students if students is not None else mine
    return {"school_id": school, "student_ids": students, "class_ids": classes}


async def excused_reasons(session: AsyncSession, lesson_id: int, student_ids: Collection[int]) -> dict[int, str]:
    """student id -> the reason of an accepted note covering this lesson (attendance.mark_lesson)."""
    return await q.accepted_reasons(session, lesson_id, student_ids) if student_ids else {}
