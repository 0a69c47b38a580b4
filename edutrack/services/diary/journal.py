"""The teacher's journal: the day's lessons and the classes one teaches, the journal of a class in a subject for a
term (students × lessons, grades, attendance, the proposed and confirmed term marks), and one lesson's sheet.

Who opens a journal (`permissions.journal_access`): the teachers of the class in the subject and the school's
admins keep it (`can_edit`); the class teacher reads every subject of the class. Writes go through the grade,
attendance, lesson and attestation endpoints, which apply the same rule. Names are "Фамилия Имя"
(`names.list_name`), with the grammatical gender the page needs for words about a person.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.i18n import _
from edutrack.i18n.names import PersonName, first_last, list_name, list_order
from edutrack.queries import attestations as attestation_q
from edutrack.queries import journal as q
from edutrack.queries import schools as school_q
from edutrack.queries.people import person_names
from edutrack.security.tokens import Principal
from edutrack.services.diary import absence_notes, permissions
from edutrack.services.diary.averages import propose_from_sums
from edutrack.services.diary.grades import display

NOT_MARKED = "present"  # the grid shows absences and lates; presence is the ordinary case


def _bad(field: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, details={field: [message]})


def _two(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def _day_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[first 00:00, last + 1 00:00) in the school's time zone."""
    return (datetime.combine(first, time.min, tzinfo=tz),
            datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz))


def person_view(person_id: int, people: dict[int, PersonName]) -> dict[str, Any]:
    name = people.get(person_id, PersonName("", ""))
    return {"id": person_id, "name": list_name(name), "gender": name.grammatical_gender}


def sorted_students(ids: list[int], people: dict[int, PersonName]) -> list[dict[str, Any]]:
    def order(sid: int) -> tuple[tuple[str, str, str], int]:
        return list_order(people.get(sid, PersonName("", ""))), sid

    return [person_view(sid, people) for sid in sorted(ids, key=order)]


def grade_view(row: Any, people: dict[int, PersonName]) -> dict[str, Any]:
    return {
        "id": row.id, "student_id": row.student_id, "lesson_id": row.lesson_id, "date": row.date,
        "value": row.value, "mark": row.mark, "display": display(row.value, row.mark), "comment": row.comment,
        "work_type_id": row.work_type_id, "work_type": row.work_type, "weight": row.weight,
        "teacher_id": row.teacher_id, "teacher": list_name(people[row.teacher_id]) if row.teacher_id in people
        else None, "created_at": row.created_at, "updated_at": row.updated_at,
        # Both stamps are the inserting transaction's now(); an edit moves updated_at.
        "edited": row.updated_at is not None and row.created_at is not None and row.updated_at > row.created_at,
    }


def lesson_brief(lesson: Any) -> dict[str, Any]:
    return {"id": lesson.id, "starts_at": lesson.starts_at.astimezone(UTC), "ends_at": lesson.ends_at.astimezone(UTC),
            "topic": lesson.topic, "homework": lesson.homework, "teacher_id": lesson.teacher_id,
            "cancelled": lesson.cancelled_at is not None, "change_note": lesson.change_note,
            "moved_from": lesson.moved_from.astimezone(UTC) if lesson.moved_from else None}


# ---------------------------------------------------------------- the teacher's day


async def home(ctx: AppContext, who: Principal, day: date | None) -> dict[str, Any]:
    """The classes and subjects the caller teaches or leads (5А before 10А), and their lessons of `day`
    (default: today in the school's time zone)."""
    permissions.require_role(who, Role.TEACHER.value, Role.ADMIN.value)
    async with ctx.reads() as session:
        tz = await _school_tz(session, who.school_id)
        day = day or datetime.now(tz).date()
        taught = await q.taught_by(session, who.user_id)
        starts, ends = _day_bounds(day, day, tz)
        lessons = await q.lessons_of_teacher(session, who.user_id, starts, ends)
    classes: dict[int, dict[str, Any]] = {}
    for row in taught:
        entry = classes.setdefault(row.class_id, {
            "id": row.class_id, "name": row.class_name, "grade_level": row.grade_level, "students": row.students,
            "is_class_teacher": row.class_teacher_id == who.user_id, "subjects": []})
        if row.subject_id is not None:
            entry["subjects"].append({"id": row.subject_id, "name": row.subject_name})
    return {
        "date": day, "timezone": str(tz), "classes": list(classes.values()),
        "lessons": [{"id": r.id, "class_id": r.class_id, "class_name": r.class_name, "subject_id": r.subject_id,
                     "subject_name": r.subject_name, "room": r.room, "starts_at": r.starts_at.astimezone(UTC),
                     "ends_at": r.ends_at.astimezone(UTC), "topic": r.topic, "homework": r.homework,
                     "cancelled": r.cancelled_at is not None, "change_note": r.change_note,
                     "marked": r.marked, "students": r.students} for r in lessons],
    }


async def _school_tz(session: AsyncSession, school_id: int | None) -> ZoneInfo:
    if school_id is None:
        return ZoneInfo("UTC")
    school = await school_q.school_by_id(session, school_id)
    return ZoneInfo(school.timezone if school is not None else "UTC")


# ---------------------------------------------------------------- one journal


async def open_journal(session: AsyncSession, who: Principal, class_id: int, subject_id: int) -> tuple[Any, Any, bool]:
    """The class, the subject and whether the caller may write in this journal (or the 403/404)."""
    cls = await attestation_q.class_with_policy(session, class_id)
    if cls is None:
        raise errors.NotFound(_("No such class"))
    can_edit = await permissions.journal_access(session, who, cls, subject_id)
    subject = await q.subject_brief(session, subject_id)
    if subject is None or subject.school_id != cls.school_id:
        raise errors.NotFound(_("No such subject"))
    return cls, subject, can_edit


def pick_term(terms: list[Any], day: date) -> Any:
    """The term containing `day`, else the last one begun before it, else the first."""
    for term in terms:
        if term.starts_on <= day <= term.ends_on:
            return term
    begun = [t for t in terms if t.starts_on <= day]
    return begun[-1] if begun else terms[0]


async def _term(session: AsyncSession, cls: Any, term_id: int | None) -> Any:
    terms = await q.school_terms(session, cls.school_id)
    if term_id is not None:
        found = next((t for t in terms if t.id == term_id), None)
        if found is None:
            raise _bad("term_id", _("Unknown term for this school"))
        return found
    if not terms:
        raise _bad("term_id", _("The school has no terms yet"))
    return pick_term(terms, datetime.now(ZoneInfo(cls.timezone)).date())


async def journal(ctx: AppContext, who: Principal, class_id: int, subject_id: int,
                  term_id: int | None) -> dict[str, Any]:
    async with ctx.reads() as session:
        cls, subject, can_edit = await open_journal(session, who, class_id, subject_id)
        term = await _term(session, cls, term_id)
        tz = ZoneInfo(cls.timezone)
        student_ids = await q.student_ids(session, class_id)
        lessons = await q.lessons(session, class_id, subject_id, *_day_bounds(term.starts_on, term.ends_on, tz))
        grades = await q.grades(session, class_id, subject_id, term.starts_on, term.ends_on)
        marks = await q.attendance(session, [lesson.id for lesson in lessons])
        sums = await attestation_q.class_sums(session, class_id, term.starts_on, term.ends_on, [subject_id])
        finals = await q.attestations(session, student_ids, subject_id, term.id)
        people = await person_names(session, [*student_ids, *(g.teacher_id for g in grades),
                                              *(a.confirmed_by for a in finals)])
    return {
        "class_id": cls.id, "class_name": cls.name, "subject_id": subject.id, "subject_name": subject.name,
        "timezone": cls.timezone, "can_edit": can_edit,
        "term": {"id": term.id, "name": term.name, "from_": term.starts_on, "to": term.ends_on},
        "students": sorted_students(student_ids, people),
        "lessons": [lesson_brief(lesson) for lesson in lessons],
        "grades": [grade_view(g, people) for g in grades],
        "attendance": [{"lesson_id": a.lesson_id, "student_id": a.student_id, "status": a.status,
                        "reason": a.reason} for a in marks if a.status != NOT_MARKED],
        "term_marks": term_marks(cls, student_ids, sums, finals, people),
        "policy": {"min_marks": cls.min_marks_for_attestation,
                   "rounding_threshold": float(cls.rounding_threshold)},
    }


def term_marks(cls: Any, student_ids: list[int], sums: list[Any], finals: list[Any],
               people: dict[int, PersonName]) -> list[dict[str, Any]]:
    """Per student: the proposal from the weighted average (the school's rounding rule) and the confirmed mark."""
    by_student = {s.student_id: s for s in sums}
    final_of = {a.student_id: a for a in finals}
    rows = []
    for sid in student_ids:
        s = by_student.get(sid)
        proposal = propose_from_sums(s.weighted_sum if s else 0, s.weight_sum if s else 0,
                                     s.numeric_count if s else 0, min_marks=cls.min_marks_for_attestation,
                                     threshold=cls.rounding_threshold)
        a = final_of.get(sid)
        confirmer = people.get(a.confirmed_by) if a is not None else None
        rows.append({
            "student_id": sid, "average": _two(proposal.average), "numeric_count": proposal.numeric_count,
            "marks_count": s.marks_count if s else 0, "proposed": proposal.proposed,
            "final": a.final if a else None, "is_override": a.is_override if a else False,
            "comment": a.comment if a else None, "confirmed_at": a.confirmed_at if a else None,
            "confirmed_by": a.confirmed_by if a else None,
            "confirmed_by_name": first_last(confirmer) if confirmer else None,
            "confirmed_by_gender": confirmer.grammatical_gender if confirmer else None,
        })
    return rows


# ---------------------------------------------------------------- one lesson


async def lesson_sheet(ctx: AppContext, who: Principal, lesson_id: int) -> dict[str, Any]:
    """A lesson with its class's students, their attendance marks and the lesson's grades."""
    async with ctx.reads() as session:
        lesson = await q.lesson_row(session, lesson_id)
        cls = await attestation_q.class_with_policy(session, lesson.class_id) if lesson is not None else None
        if lesson is None or cls is None:
            raise errors.NotFound(_("No such lesson"))
        try:  # the lesson's cover teacher keeps this lesson only
            can_edit = permissions.covers_lesson(who, lesson) or await permissions.journal_access(
                session, who, cls, lesson.subject_id)
        except errors.NotFound as exc:
            raise errors.NotFound(_("No such lesson")) from exc
        student_ids = await q.student_ids(session, cls.id)
        marks = await q.attendance(session, [lesson_id])
        grades = await q.lesson_grades(session, lesson_id)
        noted = await absence_notes.excused_reasons(session, lesson_id, student_ids)
        terms = await q.school_terms(session, cls.school_id)
        people = await person_names(session, [*student_ids, lesson.teacher_id, *(g.teacher_id for g in grades)])
    day = lesson.starts_at.astimezone(ZoneInfo(cls.timezone)).date()
    term = next((t for t in terms if t.starts_on <= day <= t.ends_on), None)
    return {
        "lesson": {**lesson_brief(lesson), "class_id": cls.id, "class_name": cls.name,
                   "subject_id": lesson.subject_id, "subject_name": lesson.subject_name, "room": lesson.room,
                   "teacher_name": list_name(people[lesson.teacher_id]) if lesson.teacher_id in people else None},
        "timezone": cls.timezone, "can_edit": can_edit, "term_id": term.id if term else None,
        "students": sorted_students(student_ids, people),
        "attendance": [{"id": a.id, "student_id": a.student_id, "status": a.status, "reason": a.reason,
                        "note": a.note, "updated_at": a.updated_at} for a in marks],
        "grades": [grade_view(g, people) for g in grades],
        "absence_notes": [{"student_id": s, "reason": r} for s, r in sorted(noted.items())],
    }
