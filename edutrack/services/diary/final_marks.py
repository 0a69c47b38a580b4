"""Final marks as students and parents read them: the term marks of a year (confirmed in attestations.py) and the
year marks, and the `final_mark` notification when one is set or changed.

The proposed year mark follows the school's `year_mark_rule`: `mean` is the mean of the year's numeric term marks
rounded by the school's `rounding_threshold` (as averages are: 3.5 -> 4 at 0.5), `na` without any; `last_term`
is the mark of the last term that has one. A teacher of the class and subject (or an admin) confirms the proposal
or overrides it with a reason in `comment`, as for term marks; both are audited (entity `year_mark`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.diary import MARKS
from edutrack.db.models import Notification, Role
from edutrack.i18n import _, for_recipients
from edutrack.queries import final_marks as fq
from edutrack.queries import grades as gq
from edutrack.queries import journal as journal_q
from edutrack.queries import membership
from edutrack.queries.people import person_names
from edutrack.security.tokens import Principal
from edutrack.services.diary import journal, permissions
from edutrack.services.diary.averages import round_mark
from edutrack.services.diary.grades import visible_student
from edutrack.services.diary.notify import journal_changed, notify_students_and_parents
from edutrack.uow import unit_of_work

KIND = "final_mark"
YEAR_MARKS_PER_HOUR = 1200  # per teacher: a few classes' subjects at the end of the year, with corrections


def _bad(field: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, details={field: [message]})


def propose_year(finals: list[str], rule: str, threshold: Decimal) -> str:
    """`finals`: the year's term marks in term order (terms without one left out)."""
    if not finals:
        return "na"
    if rule == "last_term":
        return finals[-1]
    numeric = [int(f) for f in finals if f.isdigit()]
    if not numeric:
        return "na"
    return str(round_mark(Decimal(sum(numeric)) / len(numeric), threshold))


def _shown(mark: str) -> str:
    return _(MARKS[mark]) if mark in MARKS else mark


async def notify_final(session: AsyncSession, student_id: int, subject_id: int, period: str, final: str,
                       previous: str | None, *, term_id: int | None, year_id: int) -> list[Notification]:
    """A term or year mark was set (previous None) or changed: tell the student and their parents. `period`: the
    term's name, or the year's (term_id None)."""
    subject = await fq.subject_name(session, subject_id)
    with for_recipients():
        if term_id is None:
            period = _("school year %(name)s", name=period)
        if previous is None:
            title = _("%(subject)s, %(period)s: final mark %(mark)s", subject=subject, period=period,
                      mark=_shown(final))
        else:
            title = _("%(subject)s, %(period)s: final mark changed from %(old)s to %(mark)s", subject=subject,
                      period=period, old=_shown(previous), mark=_shown(final))
    payload = {"student_id": student_id, "subject_id": subject_id, "subject": subject, "term_id": term_id,
               "year_id": year_id, "period": period, "final": final, "previous": previous, "title": title}
    return await notify_students_and_parents(session, KIND, {student_id: payload})


async def final_marks(ctx: AppContext, who: Principal, student_id: int, year_id: int | None) -> dict[str, Any]:
    """A student's term and year marks of a year (default: the current one), per subject; a teacher sees the
    subjects they teach the student (all of them when they lead the student's class)."""
    async with ctx.reads() as session:
        student = await visible_student(session, who, student_id)
        school = await gq.school(session, student.school_id)
        assert school is not None
        year = await fq.year_of_school(session, school.id, year_id, datetime.now(ZoneInfo(school.timezone)).date())
        if year is None:
            raise _bad("year_id", _("Unknown academic year for this school"))
        terms = await fq.terms_of_year(session, year.id)
        scope = await permissions.student_scope(session, who, student_id)
        subjects = await fq.subjects_of_student(session, student_id, year.id, scope)
        marks = {(a.subject_id, a.term_id): a for a in await fq.term_marks(session, student_id, year.id)}
        years = {y.subject_id: y for y in await fq.year_marks(session, student_id, year.id)}
    rows = []
    for s in subjects:
        finals = [marks[(s.id, t.id)].final for t in terms if (s.id, t.id) in marks]
        confirmed = years.get(s.id)
        rows.append({
            "subject_id": s.id, "subject": s.name,
            "terms": [{"term_id": t.id, "final": marks[(s.id, t.id)].final,
                       "is_override": marks[(s.id, t.id)].is_override} for t in terms if (s.id, t.id) in marks],
            "year": {"proposed": propose_year(finals, school.year_mark_rule, school.rounding_threshold),
                     "final": confirmed.final if confirmed else None,
                     "is_override": confirmed.is_override if confirmed else False,
                     "comment": confirmed.comment if confirmed else None,
                     "confirmed_at": confirmed.confirmed_at if confirmed else None}})
    return {"student_id": student_id, "student_name": student.name, "year_id": year.id, "year_name": year.name,
            "year_mark_rule": school.year_mark_rule,
            "terms": [{"id": t.id, "name": t.name, "starts_on": t.starts_on, "ends_on": t.ends_on} for t in terms],
            "subjects": rows}


async def class_year_marks(ctx: AppContext, who: Principal, class_id: int, subject_id: int,
                           year_id: int | None) -> dict[str, Any]:
    """A class's year marks in one subject, as the journal shows them: per student the year's term marks, the
    proposal by the school's rule and the confirmed mark. Read as the journal is read (`journal.open_journal`:
    the subject's teachers and admins may confirm, the class teacher reads)."""
    async with ctx.reads() as session:
        cls, subject, can_edit = await journal.open_journal(session, who, class_id, subject_id)
        school = await gq.school(session, cls.school_id)
        assert school is not None
        year = await fq.year_of_school(session, school.id, year_id, datetime.now(ZoneInfo(school.timezone)).date())
        if year is None:
            raise _bad("year_id", _("Unknown academic year for this school"))
        terms = await fq.terms_of_year(session, year.id)
        student_ids = await journal_q.student_ids(session, class_id)
        marks = {(a.student_id, a.term_id): a.final
                 for a in await fq.class_term_marks(session, student_ids, subject_id, year.id)}
        years = {y.student_id: y for y in await fq.class_year_marks(session, student_ids, subject_id, year.id)}
        people = await person_names(session, student_ids)
    rows = []
    for student in journal.sorted_students(student_ids, people):
        sid = student["id"]
        finals = [marks[(sid, t.id)] for t in terms if (sid, t.id) in marks]
        confirmed = years.get(sid)
        rows.append({**student, "terms": [{"term_id": t.id, "final": marks[(sid, t.id)]}
                                          for t in terms if (sid, t.id) in marks],
                     "proposed": propose_year(finals, school.year_mark_rule, school.rounding_threshold),
                     "final": confirmed.final if confirmed else None,
                     "is_override": confirmed.is_override if confirmed else False,
                     "comment": confirmed.comment if confirmed else None,
                     "confirmed_at": confirmed.confirmed_at if confirmed else None})
    return {"class_id": cls.id, "class_name": cls.name, "subject_id": subject.id, "subject_name": subject.name,
            "year_id": year.id, "year_name": year.name, "year_mark_rule": school.year_mark_rule,
            "can_edit": can_edit, "terms": [{"id": t.id, "name": t.name, "starts_on": t.starts_on,
                                             "ends_on": t.ends_on} for t in terms],
            "students": rows}


async def _class_of(session: AsyncSession, student_id: int, class_id: int | None) -> int:
    classes = await membership.class_ids_of_student(session, student_id)
    if class_id is None:
        if len(classes) != 1:
            raise _bad("class_id", _("The student is in several classes (or none): give class_id"))
        return next(iter(classes))
    if class_id not in classes:
        raise _bad("class_id", _("The student is not in this class"))
    return class_id


async def set_year_mark(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """Confirm the proposed year mark (no `final`) or override it (a reason in `comment`)."""
    permissions.require_role(who, Role.TEACHER.value, Role.ADMIN.value)
    count, retry_after = await ctx.limiter.hit(f"year-mark:{who.user_id}", 3600)
    if count > YEAR_MARKS_PER_HOUR:
        raise errors.TooManyRequests(retry_after)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        student = await gq.student_row(session, data["student_id"])
        if student is None or student.role != Role.STUDENT.value or not (
                who.is_superuser or (student.school_id is not None and student.school_id == who.school_id)):
            raise errors.NotFound(_("No such student"))
        school = await gq.school(session, student.school_id)
        year = await fq.year_of_school(session, student.school_id, data["year_id"], datetime.now(UTC).date())
        if school is None or year is None:
            raise _bad("year_id", _("Unknown academic year for this school"))
        subject_id = data["subject_id"]
        if await gq.subject_school(session, subject_id) != student.school_id:
            raise _bad("subject_id", _("Unknown subject for this school"))
        class_id = await _class_of(session, student.id, data.get("class_id"))
        await permissions.require_teaches(session, who, class_id, subject_id)
        terms = [t.id for t in await fq.terms_of_year(session, year.id)]
        marks = {a.term_id: a.final for a in await fq.term_marks(session, student.id, year.id, subject_id)}
        proposed = propose_year([marks[t] for t in terms if t in marks], school.year_mark_rule,
                                school.rounding_threshold)
        final = data.get("final") or proposed
        if final != proposed and not data.get("comment"):
            raise _bad("comment", _("An override of the proposed mark needs a reason in `comment`"))
        old = await fq.year_mark(session, student.id, subject_id, year.id)
        previous = old.final if old else None
        row = await fq.upsert_year_mark(session, {
            "school_id": student.school_id, "student_id": student.id, "class_id": class_id, "subject_id": subject_id,
            "academic_year_id": year.id, "proposed": proposed, "final": final, "is_override": final != proposed,
            "comment": data.get("comment"), "confirmed_by": who.user_id, "confirmed_at": datetime.now(UTC)})
        state = {"final": row.final, "proposed": row.proposed, "comment": row.comment, "subject_id": subject_id,
                 "year_id": year.id, "student_id": student.id}
        await gq.insert_audit(session, [{
            "school_id": student.school_id, "entity": "year_mark", "entity_id": row.id,
            "action": "override" if row.is_override else "confirm", "actor_id": who.user_id,
            "old": {"final": previous} if old else None, "new": state}])
        if previous != row.final:
            uow.publish_notifications(await notify_final(session, student.id, subject_id, year.name, row.final,
                                                         previous, term_id=None, year_id=year.id))
        await journal_changed(session, uow, class_id=class_id, subject_id=subject_id, what="term_mark",
                              actor_id=who.user_id)
        view = {"student_id": student.id, "subject_id": subject_id, "year_id": year.id, "proposed": row.proposed,
                "final": row.final, "is_override": row.is_override, "comment": row.comment,
                "confirmed_by": row.confirmed_by, "confirmed_at": row.confirmed_at}
    return view
