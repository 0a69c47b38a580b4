"""Grades: create, edit, delete (each with an audit row and notifications in the same transaction),
the student's grade list with per-subject averages, and the audit trail for admins.

Who sees a student's grades: the student; their linked parents; a teacher of one of the student's classes,
but only in the subjects that teacher teaches in that class, unless they are the class teacher
(классный руководитель), who sees every subject of their class; admins of the student's school; superusers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import cache, errors
from edutrack.context import AppContext
from edutrack.db.diary import Grade
from edutrack.db.models import Role
from edutrack.i18n import _, current_locale, for_recipients
from edutrack.queries import attestations as attestation_q
from edutrack.queries import grades as q
from edutrack.queries import journal as journal_q
from edutrack.queries import membership
from edutrack.queries.driver import driver
from edutrack.security.tokens import Principal
from edutrack.serialize import dumps_bytes
from edutrack.services.diary import grade_fast, grade_target, permissions
from edutrack.services.diary.averages import average_of_sums, plain_average_of_sums
from edutrack.services.diary.grade_rows import GRADE_FIELDS as GRADE_FIELDS
from edutrack.services.diary.grade_rows import display as display
from edutrack.services.diary.grade_rows import grade_view, invalidate_marks, listed, notification_payload, snapshot
from edutrack.services.diary.notify import journal_changed, notify_students_and_parents
from edutrack.uow import AfterCommit, UnitOfWork, unit_of_work


async def _payload(session: AsyncSession, grade: Grade,
                   known: grade_target.Labels | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The notification's payload, and the grade as its list shows it (`grade_view`): both from the names
    (`known`, or one statement), the rest is the written row."""
    labels: Any = known or await q.grade_labels(session, grade.id)
    return notification_payload(grade, labels), listed(grade, labels)


async def create_grade(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(ctx) as uow:
        permissions.require_role(who, Role.TEACHER.value, Role.ADMIN.value)
        to = await grade_target.target(uow.session, who, data)
        view = await grade_fast.create(uow, who, data, to)
        if view is None:
            view, _grade = await _add_to(uow, who, data, to)
    return view


async def add_grade(uow: UnitOfWork, who: Principal, data: dict[str, Any]) -> tuple[dict[str, Any], Grade]:
    """A grade in the caller's transaction, with its audit row, notifications and cache invalidation: what
    another service (the homework hand-in) uses to give a normal grade."""
    permissions.require_role(who, Role.TEACHER.value, Role.ADMIN.value)
    return await _add_to(uow, who, data, await grade_target.target(uow.session, who, data))


async def _add_to(uow: UnitOfWork, who: Principal, data: dict[str, Any],
                  to: grade_target.Target) -> tuple[dict[str, Any], Grade]:
    session = uow.session
    grade = await q.insert_grade(session, {
        "school_id": to.school_id, "student_id": to.student_id, "class_id": to.class_id,
        "subject_id": to.subject_id, "teacher_id": who.user_id, "lesson_id": data.get("lesson_id"),
        "work_type_id": data["work_type_id"], "date": to.date, "value": data.get("value"),
        "mark": data.get("mark"), "comment": data.get("comment"),
    })
    await q.insert_audit(session, [{"school_id": to.school_id, "entity": "grade", "entity_id": grade.id,
                                    "action": "create", "actor_id": who.user_id, "old": None,
                                    "new": snapshot(grade)}])
    known = to.known
    payload, view = await _payload(session, grade, known.labels if known else None)
    rows = await notify_students_and_parents(session, "grade", {to.student_id: payload},
                                             {to.student_id: known.parents} if known else None)
    invalidate_marks(uow, grade)
    uow.publish_notifications(rows)
    await _journal_changed(session, uow, grade, who, known.keepers if known else None)
    return view, grade


async def _journal_changed(session: AsyncSession, uow: AfterCommit, grade: Grade, who: Principal,
                           keepers: set[int] | None = None) -> None:
    await journal_changed(session, uow, class_id=grade.class_id, subject_id=grade.subject_id, what="grade",
                          actor_id=who.user_id, lesson_id=grade.lesson_id, keepers=keepers)


async def _grade_view_by_id(session: AsyncSession, grade: Grade) -> dict[str, Any]:
    rows = await q.student_grades(session, grade.student_id, subject_id=grade.subject_id, starts=grade.date,
                                  ends=grade.date, teacher_id=None)
    return next(grade_view(r) for r in rows if r.id == grade.id)


async def _editable_grade(session: AsyncSession, who: Principal, grade_id: int,
                         work_type_id: int | None = None) -> tuple[Grade, grade_target.Known | None]:
    """The grade, locked, once the caller may edit it; and what the edit would otherwise ask (None when the
    full checks decided)."""
    permissions.require_role(who, Role.TEACHER.value, Role.ADMIN.value)
    grade = await q.grade_by_id(session, grade_id, for_update=True)
    if grade is None or not (who.is_superuser or grade.school_id == who.school_id):
        raise errors.NotFound(_("No such grade"))
    known = await grade_target.editable_known(session, who, grade, work_type_id or grade.work_type_id)
    if known is None:
        lesson = await q.lesson_brief(session, grade.lesson_id) if grade.lesson_id is not None else None
        await permissions.require_teaches(session, who, grade.class_id, grade.subject_id, lesson)
    return grade, known


async def update_grade(ctx: AppContext, who: Principal, grade_id: int, data: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(ctx) as uow:
        fast = await grade_fast.update(uow, who, grade_id, data)
        if fast is not None:
            return fast
        session = uow.session
        grade, known = await _editable_grade(session, who, grade_id, data.get("work_type_id"))
        old = snapshot(grade)
        changes: dict[str, Any] = {}
        if "value" in data:
            changes.update(value=data["value"], mark=None)
        if "mark" in data:
            changes.update(mark=data["mark"], value=None)
        if "work_type_id" in data:
            await grade_target.check_work_type(session, data["work_type_id"], grade.school_id)
            changes["work_type_id"] = data["work_type_id"]
        if "comment" in data:
            changes["comment"] = data["comment"]
        if "date" in data:
            if grade.lesson_id is not None and data["date"] != grade.date:
                raise grade_target.bad("date", _("The grade belongs to a lesson: its date is the lesson's"))
            grade_target.check_date(data["date"])
            changes["date"] = data["date"]
        changed = {k: v for k, v in changes.items() if getattr(grade, k) != v}
        if changed:
            changed["teacher_id"] = grade.teacher_id  # keeps the author; the editor is in the audit row
            changed["updated_at"] = datetime.now(UTC)
            grade = await q.update_grade(session, grade.id, changed)
            new = snapshot(grade)
            await q.insert_audit(session, [{"school_id": grade.school_id, "entity": "grade", "entity_id": grade.id,
                                            "action": "update", "actor_id": who.user_id,
                                            "old": {k: old[k] for k in old if old[k] != new[k]},
                                            "new": {k: new[k] for k in new if old[k] != new[k]}}])
            payload, view = await _payload(session, grade, known.labels if known else None)
            rows = await notify_students_and_parents(session, "grade_changed", {grade.student_id: payload},
                                                     {grade.student_id: known.parents} if known else None)
            invalidate_marks(uow, grade)
            uow.publish_notifications(rows)
            await _journal_changed(session, uow, grade, who, known.keepers if known else None)
        else:
            view = await _grade_view_by_id(session, grade)
    return view


async def delete_grade(ctx: AppContext, who: Principal, grade_id: int) -> None:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        grade, known = await _editable_grade(session, who, grade_id)
        payload, _view = await _payload(session, grade, known.labels if known else None)
        await q.update_grade(session, grade.id, {"deleted_at": datetime.now(UTC)})
        await q.insert_audit(session, [{"school_id": grade.school_id, "entity": "grade", "entity_id": grade.id,
                                        "action": "delete", "actor_id": who.user_id, "old": snapshot(grade),
                                        "new": None}])
        with for_recipients():
            payload["title"] = _("Grade deleted: %(grade)s", grade=payload["title"])
        rows = await notify_students_and_parents(session, "grade_deleted", {grade.student_id: payload},
                                                 {grade.student_id: known.parents} if known else None)
        invalidate_marks(uow, grade)
        uow.publish_notifications(rows)
        await _journal_changed(session, uow, grade, who, known.keepers if known else None)


async def term_range(session: AsyncSession, school_id: int | None, term_id: int | None,
                     starts: date | None, ends: date | None) -> tuple[date | None, date | None]:
    """Intersect an optional term with optional from/to dates."""
    if starts is not None and ends is not None and starts > ends:
        raise grade_target.bad("from", _("from must not be after to"))
    if term_id is None:
        return starts, ends
    term = await q.term(session, term_id)
    if term is None or term.school_id != school_id:
        raise grade_target.bad("term_id", _("Unknown term for this school"))
    return within(term.starts_on, term.ends_on, starts, ends)


def within(term_starts: date, term_ends: date, starts: date | None, ends: date | None) -> tuple[date, date]:
    return max(filter(None, (term_starts, starts))), min(filter(None, (term_ends, ends)))


def teacher_filter(who: Principal) -> int | None:
    return who.user_id if who.role == Role.TEACHER.value and not who.is_superuser else None


async def visible_student(session: AsyncSession, who: Principal, student_id: int) -> Any:
    await permissions.require_student_visible(session, who, student_id)
    student = await q.student_row(session, student_id)
    if student is None or student.role != Role.STUDENT.value:
        raise errors.NotFound(_("No such student"))
    return student


def subject_averages(sums: list[Any]) -> list[dict[str, Any]]:
    return [{
        "subject_id": s.subject_id, "subject": s.subject,
        "weighted_average": _two(average_of_sums(s.weighted_sum, s.weight_sum)),
        "plain_average": _two(plain_average_of_sums(s.value_sum, s.numeric_count)),
        "numeric_count": s.numeric_count, "marks_count": s.marks_count,
    } for s in sums]


def _two(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


async def _student_grades(ctx: AppContext, who: Principal, student_id: int, *, subject_id: int | None,
                          term_id: int | None, starts: date | None, ends: date | None,
                          with_facts: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    async with ctx.reads() as session:
        student = await visible_student(session, who, student_id)
        starts, ends = await term_range(session, student.school_id, term_id, starts, ends)
        scope = await permissions.student_scope(session, who, student_id)
        grades = await q.student_grades(session, student_id, subject_id=subject_id, starts=starts, ends=ends,
                                        teacher_id=scope)
        facts: dict[str, Any] = {"school_id": student.school_id}
        if with_facts:
            facts["parents"] = await membership.parent_ids_of(session, student_id)
            if scope is not None:
                facts["teacher"] = scope
    return grades_answer(student.id, student.name, starts, ends, grades), facts


def grades_answer(student_id: int, name: str, starts: date | None, ends: date | None,
                  rows: Sequence[Any]) -> dict[str, Any]:
    """The answer in StudentGradesSchema's shape, JSON-ready as it is (the handler skips a marshmallow dump on
    this hot path); the averages come from the rows the list already holds (one query for both)."""
    views = [grade_view(g) for g in rows]
    return {"student_id": student_id, "student_name": name, "from": starts, "to": ends, "grades": views,
            "subjects": subject_averages(sums_of((v["subject_id"], v["subject"], v["value"], v["weight"])
                                                 for v in views))}


async def _grades_by_facts(ctx: AppContext, who: Principal, student_id: int, *, subject_id: int | None,
                           term_id: int | None, starts: date | None,
                           ends: date | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A cache miss of a caller the student's facts allow (the student, a parent, the school's admin), in two
    statements on the driver connection: the facts (decided by `student_visible_by_facts`, as a hit is) and the
    list. None for anyone else (a teacher, whose answer depends on what they teach) and for any refusal or
    invalid range: `_student_grades` then decides with PostgreSQL's exact checks and errors."""
    if teacher_filter(who) is not None or (starts is not None and ends is not None and starts > ends):
        return None
    async with ctx.engine.connect() as conn:
        db = await driver(conn)
        found = await q.student_facts_raw(db, student_id, term_id)
        if found is None or found["role"] != Role.STUDENT.value:
            return None
        facts = {"school_id": found["school_id"], "parents": list(found["parents"])}
        if not permissions.student_visible_by_facts(who, student_id, facts):
            return None
        if term_id is not None:
            if found["term_school_id"] is None or found["term_school_id"] != found["school_id"]:
                return None
            starts, ends = within(found["term_starts"], found["term_ends"], starts, ends)
        rows = await q.student_grades_raw(db, student_id, subject_id=subject_id, starts=starts, ends=ends)
    return grades_answer(student_id, found["name"], starts, ends, rows), facts


async def student_grades_body(ctx: AppContext, who: Principal, student_id: int, *, subject_id: int | None,
                              term_id: int | None, starts: date | None, ends: date | None) -> bytes:
    """A student's grades with per-subject averages, as the response body: served from the cache after the
    same authorization check as PostgreSQL's, from facts cached with it.

    Cached per student and query; a teacher's answer depends on what they teach, so it is cached per teacher.
    The entry depends on the school's reference bucket (names, work types, terms, enrolments, parent links).
    """
    cacheable = who.school_id is not None and not who.is_superuser
    if not cacheable:
        data, _ = await _student_grades(ctx, who, student_id, subject_id=subject_id, term_id=term_id,
                                        starts=starts, ends=ends, with_facts=False)
        return dumps_bytes(data)
    viewer = f"t{who.user_id}" if teacher_filter(who) is not None else "all"

    async def load() -> tuple[bytes, dict[str, Any] | None]:
        fast = await _grades_by_facts(ctx, who, student_id, subject_id=subject_id, term_id=term_id, starts=starts,
                                      ends=ends)
        data, facts = fast or await _student_grades(ctx, who, student_id, subject_id=subject_id, term_id=term_id,
                                                    starts=starts, ends=ends, with_facts=True)
        # Only under the school bucket the entry really depends on (a parent may belong to another school).
        return dumps_bytes(data), facts if facts["school_id"] == who.school_id else None

    return await cache.authorized_body(
        ctx, (cache.student_marks_bucket(student_id), cache.school_ref_bucket(who.school_id or 0)),
        # The body names marks in words ("н/а"): one entry per language.
        f"grades:{term_id}:{subject_id}:{starts}:{ends}:{viewer}:{current_locale()}",
        lambda facts: permissions.student_visible_by_facts(who, student_id, facts), load)


@dataclass
class _Sums:
    subject_id: int
    subject: str
    weighted_sum: int = 0
    weight_sum: int = 0
    numeric_count: int = 0
    value_sum: int = 0
    marks_count: int = 0


def sums_of_rows(rows: list[Any]) -> list[_Sums]:
    """Per-subject sums of grade rows (ordered by subject name), the same figures SQL's `sums_columns` gives."""
    return sums_of((r.subject_id, r.subject, r.value, r.weight) for r in rows)


def sums_of(grades: Iterable[tuple[int, str, int | None, int]]) -> list[_Sums]:
    """`sums_of_rows` of (subject_id, subject, value, weight) tuples."""
    by_subject: dict[int, _Sums] = {}
    for subject_id, subject, value, weight in grades:
        s = by_subject.get(subject_id)
        if s is None:
            s = by_subject[subject_id] = _Sums(subject_id, subject)
        s.marks_count += 1
        if value is not None:
            s.weighted_sum += value * weight
            s.weight_sum += weight
            s.numeric_count += 1
            s.value_sum += value
    return list(by_subject.values())


def audit_item(row: Any) -> dict[str, Any]:
    entry = row.AuditLog
    return {"id": entry.id, "entity": entry.entity, "entity_id": entry.entity_id, "action": entry.action,
            "actor_id": entry.actor_id, "actor": row.actor_name, "old": entry.old, "new": entry.new, "at": entry.at}


async def audit_trail(ctx: AppContext, who: Principal, *, entity: str | None, entity_id: int | None,
                      limit: int, offset: int) -> list[dict[str, Any]]:
    """Admins read their school's trail; superusers everyone's."""
    if not who.is_admin:
        raise errors.Forbidden(_("Only administrators read the audit trail"))
    async with ctx.reads() as session:
        rows = await q.audit_entries(session, school_id=None if who.is_superuser else who.school_id,
                                     entity=entity, entity_id=entity_id, limit=limit, offset=offset)
    return [audit_item(r) for r in rows]


async def grade_history(ctx: AppContext, who: Principal, grade_id: int) -> list[dict[str, Any]]:
    """Every change of one grade (deleted or not): for the school's admins, and for the teachers who open its
    journal (`permissions.journal_access`: its class and subject, or the class they lead)."""
    if not who.is_admin and who.role != Role.TEACHER.value:
        raise errors.Forbidden(_("Only teachers and administrators read a grade's history"))
    async with ctx.reads() as session:
        scope = await journal_q.grade_scope(session, grade_id)
        if scope is None or not (who.is_superuser or scope.school_id == who.school_id):
            raise errors.NotFound(_("No such grade"))
        if not who.is_admin:
            cls = await attestation_q.class_with_policy(session, scope.class_id)
            try:
                await permissions.journal_access(session, who, cls, scope.subject_id)
            except errors.NotFound as exc:
                raise errors.NotFound(_("No such grade")) from exc
        rows = await q.audit_entries(session, school_id=None, entity="grade", entity_id=grade_id, limit=1000,
                                     offset=0)
    return [audit_item(r) for r in rows]
