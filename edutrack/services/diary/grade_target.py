"""What a new grade is given to (student, class, subject, date) and whether the caller may give it: the checks of
`grades.add_grade` before its insert.

Most grades pass every check, so they are first decided from one prepared statement on the driver connection
(`queries.grades.grade_facts_raw`): the six ORM statements of the full checks cost more CPU and round trips than
the rest of the write. Anything the facts do not clearly allow (a lesson, a missing class, a superuser, any
failed check) goes through the full checks, which raise the exact error in their order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.db.models import Role
from edutrack.i18n import _
from edutrack.queries import grades as q
from edutrack.queries import membership
from edutrack.queries.driver import driver
from edutrack.security.tokens import Principal
from edutrack.services.diary import permissions

# Grades may be given for today (in any timezone of the school's users) or the past, never the future.
FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Labels:
    """The names a grade's notification and list view show (the columns of `queries.grades.grade_labels`)."""

    student_name: str
    subject: str
    work_type: str
    weight: int
    teacher: str


@dataclass(frozen=True, slots=True)
class Known:
    """What the facts already told about a grade to be written, so the write does not ask again."""

    labels: Labels
    parents: list[int]  # the student's active parents
    keepers: set[int]  # the journal's teachers and the class teacher


@dataclass(frozen=True, slots=True)
class Target:
    student_id: int
    class_id: int
    subject_id: int
    date: date
    school_id: int
    known: Known | None = None


def bad(field: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, details={field: [message]})


def check_date(value: date) -> None:
    if value > (datetime.now(UTC) + FUTURE_SLACK).date():
        raise bad("date", _("A grade cannot be dated in the future"))


async def check_work_type(session: AsyncSession, work_type_id: int, school_id: int) -> None:
    wt = await q.work_type(session, work_type_id)
    if wt is None or wt.school_id != school_id:
        raise bad("work_type_id", _("Unknown work type for this school"))


async def target(session: AsyncSession, who: Principal, data: dict[str, Any]) -> Target:
    """The grade's target, after every check."""
    return await _target_by_facts(session, who, data) or await _checked_target(session, who, data)


async def _target_by_facts(session: AsyncSession, who: Principal, data: dict[str, Any]) -> Target | None:
    class_id, subject_id, day = data.get("class_id"), data.get("subject_id"), data.get("date")
    if who.is_superuser or data.get("lesson_id") is not None or class_id is None or subject_id is None or day is None:
        return None
    if day > (datetime.now(UTC) + FUTURE_SLACK).date():
        return None
    db = await driver(await session.connection())
    f = await q.grade_facts_raw(db, data["student_id"], class_id, subject_id, who.user_id, data["work_type_id"])
    if f is None or f["role"] != Role.STUDENT.value or f["school_id"] is None or f["school_id"] != who.school_id:
        return None
    school = f["school_id"]
    allowed = f["teaches"] if who.role == Role.TEACHER.value else who.role == Role.ADMIN.value
    if not (allowed and f["enrolled"] and f["class_school"] == f["subject_school"] == f["work_type_school"] == school):
        return None
    return Target(data["student_id"], class_id, subject_id, day, school, _known(f))


def _known(f: Any) -> Known:
    return Known(Labels(f["student_name"], f["subject"], f["work_type"], f["weight"], f["teacher"]),
                 list(f["parents"]), set(f["keepers"]))


async def editable_known(session: AsyncSession, who: Principal, grade: Any, work_type_id: int) -> Known | None:
    """For an edit of `grade` (locked, of the caller's school) by its class's teacher in the subject, the
    lesson's cover teacher or the school's admin: what the edit would otherwise ask (`Known`, with the names
    of `work_type_id`). None for anyone else: `permissions.require_teaches` then decides, with its errors."""
    if who.is_superuser:
        return None
    db = await driver(await session.connection())
    f = await q.edit_facts_raw(db, student_id=grade.student_id, class_id=grade.class_id, subject_id=grade.subject_id,
                               editor_id=who.user_id, work_type_id=work_type_id, lesson_id=grade.lesson_id,
                               author_id=grade.teacher_id)
    return known_for_editor(who, f)


def known_for_editor(who: Principal, f: Any) -> Known | None:
    """`Known` from the facts of an edit (`edit_facts_raw`'s columns) if they allow `who` (not a superuser) to
    make it: the class's teacher in the subject, the lesson's cover teacher, the admin of the class's school."""
    if who.role == Role.ADMIN.value:
        allowed = f["class_school"] == who.school_id
    else:
        covers = f["lesson_regular_teacher"] is not None and f["lesson_teacher"] == who.user_id
        allowed = who.role == Role.TEACHER.value and (covers or f["teaches"])
    return _known(f) if allowed else None


async def _school_student(session: AsyncSession, who: Principal, student_id: int) -> Any:
    student = await q.student_row(session, student_id)
    if student is None or student.role != Role.STUDENT.value or not (
            who.is_superuser or (student.school_id is not None and student.school_id == who.school_id)):
        raise errors.NotFound(_("No such student"))
    return student


async def _checked_target(session: AsyncSession, who: Principal, data: dict[str, Any]) -> Target:
    student = await _school_student(session, who, data["student_id"])
    subject_id: int | None = data.get("subject_id")
    class_id: int | None = data.get("class_id")
    grade_date: date | None = data.get("date")
    lesson: Any = None
    if data.get("lesson_id") is not None:
        lesson = await q.lesson_brief(session, data["lesson_id"])
        if lesson is None or lesson.school_id != student.school_id:
            raise errors.NotFound(_("No such lesson"))
        if subject_id is not None and subject_id != lesson.subject_id:
            raise bad("subject_id", _("The lesson is of another subject"))
        if class_id is not None and class_id != lesson.class_id:
            raise bad("class_id", _("The lesson is of another class"))
        subject_id, class_id = lesson.subject_id, lesson.class_id
        lesson_date = lesson.starts_at.date()
        if grade_date is not None and grade_date != lesson_date:
            raise bad("date", _("The date must be the lesson's date (or be left out)"))
        grade_date = lesson_date
    if subject_id is None:
        raise bad("subject_id", _("Give subject_id or lesson_id"))
    if grade_date is None:
        raise bad("date", _("Give date or lesson_id"))
    check_date(grade_date)
    if class_id is None:
        classes = await membership.class_ids_of_student(session, student.id)
        if len(classes) != 1:
            raise bad("class_id", _("The student is in several classes (or none): give class_id"))
        class_id = next(iter(classes))
    class_school = await membership.school_of_class(session, class_id)
    if class_school is None or class_school != student.school_id:
        raise errors.NotFound(_("No such class"))
    if await q.subject_school(session, subject_id) != class_school:
        raise bad("subject_id", _("Unknown subject for this school"))
    await permissions.require_teaches(session, who, class_id, subject_id, lesson)
    if lesson is not None and lesson.cancelled_at is not None:
        raise errors.Conflict(_("The lesson is cancelled"), code="lesson_cancelled")
    if not await q.is_enrolled(session, student.id, class_id):
        raise bad("student_id", _("The student is not in this class"))
    await check_work_type(session, data["work_type_id"], class_school)
    return Target(student.id, class_id, subject_id, grade_date, class_school)
