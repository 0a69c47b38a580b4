"""Term marks (attestations): the proposal from the weighted average, the teacher's confirmation or override,
and the class term sheet (students × subjects) in a constant number of queries.

The sums come from SQL; the rounding rule is `averages.propose_from_sums`, the one place it lives.
Who sees a term sheet: the school's admins, the class teacher (every subject), a teacher of the class
(their subjects only); students and parents read their own marks through the proposal endpoint.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import cache, errors
from edutrack.context import AppContext
from edutrack.db.diary import Attestation
from edutrack.db.models import Role
from edutrack.i18n import _
from edutrack.queries import attestations as q
from edutrack.queries import grades as gq
from edutrack.queries import membership
from edutrack.queries.driver import driver
from edutrack.security.tokens import Principal
from edutrack.serialize import dumps_bytes
from edutrack.services.diary import final_marks, permissions
from edutrack.services.diary.averages import Proposal, plain_average_of_sums, propose_from_sums
from edutrack.services.diary.grades import teacher_filter, visible_student
from edutrack.services.diary.notify import journal_changed
from edutrack.uow import unit_of_work

MARK_CHOICES = ("1", "2", "3", "4", "5", "na")


def _bad(field: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, details={field: [message]})


def _num(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value), 2)


def attestation_view(a: Attestation | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {"id": a.id, "final": a.final, "proposed": a.proposed, "is_override": a.is_override,
            "average": a.average, "comment": a.comment, "confirmed_by": a.confirmed_by,
            "confirmed_at": a.confirmed_at}


async def term_of_school(session: AsyncSession, term_id: int, school_id: int | None) -> Any:
    term = await gq.term(session, term_id)
    if term is None or term.school_id != school_id:
        raise _bad("term_id", _("Unknown term for this school"))
    return term


async def _propose(session: AsyncSession, school_id: int, student_id: int, subject_id: int,
                   term: Any) -> tuple[Proposal, Any]:
    school = await gq.school(session, school_id)
    assert school is not None
    found = await gq.student_subject_sums(session, student_id, subject_id=subject_id, starts=term.starts_on,
                                          ends=term.ends_on, teacher_id=None)
    sums = found[0] if found else None
    proposal = propose_from_sums(
        sums.weighted_sum if sums else 0, sums.weight_sum if sums else 0, sums.numeric_count if sums else 0,
        min_marks=school.min_marks_for_attestation, threshold=school.rounding_threshold)
    return proposal, sums


async def get_proposal(ctx: AppContext, who: Principal, student_id: int, subject_id: int,
                       term_id: int) -> dict[str, Any]:
    async with ctx.reads() as session:
        student = await visible_student(session, who, student_id)
        term = await term_of_school(session, term_id, student.school_id)
        if await gq.subject_school(session, subject_id) != student.school_id:
            raise _bad("subject_id", _("Unknown subject for this school"))
        if teacher_filter(who) is not None and not await q.teacher_sees_subject(session, who.user_id, student_id,
                                                                                subject_id):
            raise errors.NotFound(_("No such student"))
        proposal, sums = await _propose(session, student.school_id, student_id, subject_id, term)
        existing = await q.attestation(session, student_id, subject_id, term_id)
    return {
        "student_id": student_id, "subject_id": subject_id, "term_id": term_id,
        "average": _num(proposal.average), "numeric_count": proposal.numeric_count,
        "marks_count": sums.marks_count if sums else 0,
        "plain_average": _num(plain_average_of_sums(sums.value_sum, sums.numeric_count) if sums else None),
        "proposed": proposal.proposed, "attestation": attestation_view(existing),
    }


async def set_attestation(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """Confirm the proposal (no `final`) or override it (`final` differs: a comment with the reason is required)."""
    permissions.require_role(who, Role.TEACHER.value, Role.ADMIN.value)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        student = await gq.student_row(session, data["student_id"])
        if student is None or student.role != Role.STUDENT.value or not (
                who.is_superuser or (student.school_id is not None and student.school_id == who.school_id)):
            raise errors.NotFound(_("No such student"))
        term = await term_of_school(session, data["term_id"], student.school_id)
        subject_id = data["subject_id"]
        if await gq.subject_school(session, subject_id) != student.school_id:
            raise _bad("subject_id", _("Unknown subject for this school"))
        class_id = data.get("class_id")
        classes = await membership.class_ids_of_student(session, student.id)
        if class_id is None:
            if len(classes) != 1:
                raise _bad("class_id", _("The student is in several classes (or none): give class_id"))
            class_id = next(iter(classes))
        elif class_id not in classes:
            raise _bad("class_id", _("The student is not in this class"))
        await permissions.require_teaches(session, who, class_id, subject_id)
        proposal, _average = await _propose(session, student.school_id, student.id, subject_id, term)
        final = data.get("final") or proposal.proposed
        is_override = final != proposal.proposed
        comment = data.get("comment")
        if is_override and not comment:
            raise _bad("comment", _("An override of the proposed mark needs a reason in `comment`"))
        old = await q.attestation(session, student.id, subject_id, term.id, for_update=True)
        old_view = _audited(old) if old else None
        row = await q.upsert_attestation(session, {
            "school_id": student.school_id, "student_id": student.id, "class_id": class_id,
            "subject_id": subject_id, "term_id": term.id, "proposed": proposal.proposed, "final": final,
            "is_override": is_override, "average": proposal.average_2dp, "comment": comment,
            "confirmed_by": who.user_id, "confirmed_at": datetime.now(UTC),
        })
        await gq.insert_audit(session, [{
            "school_id": student.school_id, "entity": "attestation", "entity_id": row.id,
            "action": "override" if is_override else "confirm", "actor_id": who.user_id,
            "old": old_view, "new": _audited(row),
        }])
        if old_view is None or old_view["final"] != row.final:
            uow.publish_notifications(await final_marks.notify_final(
                session, student.id, subject_id, term.name, row.final, old_view["final"] if old_view else None,
                term_id=term.id, year_id=term.academic_year_id))
        view = attestation_view(row)
        # The term sheets show the mark in every class the student is in.
        uow.invalidate(*(cache.class_marks_bucket(c) for c in classes))
        await journal_changed(session, uow, class_id=class_id, subject_id=subject_id, what="term_mark",
                              actor_id=who.user_id)
    assert view is not None
    return {"student_id": student.id, "subject_id": subject_id, "term_id": term.id, **view}


def _audited(a: Attestation) -> dict[str, Any]:
    return {"proposed": a.proposed, "final": a.final, "is_override": a.is_override,
            "average": None if a.average is None else str(a.average), "comment": a.comment,
            "subject_id": a.subject_id, "term_id": a.term_id, "student_id": a.student_id}


async def sheet_scope(session: AsyncSession, who: Principal, class_id: int) -> tuple[Any, set[int] | None]:
    """The class (with policy) and the subjects the caller may see on its sheets (None = all)."""
    cls = await q.class_with_policy(session, class_id)
    if cls is None:
        raise errors.NotFound(_("No such class"))
    if who.is_superuser:
        return cls, None
    if who.role in (Role.STUDENT.value, Role.PARENT.value):
        raise errors.Forbidden(_("Class sheets are for teachers and administrators"))
    if who.role == Role.ADMIN.value:
        if cls.school_id != who.school_id:
            raise errors.NotFound(_("No such class"))
        return cls, None
    if cls.class_teacher_id == who.user_id:
        return cls, None
    subjects = await q.subjects_taught_in_class(session, who.user_id, class_id)
    if not subjects:
        raise errors.NotFound(_("No such class"))
    return cls, subjects


async def term_sheet_body(ctx: AppContext, who: Principal, class_id: int, term_id: int) -> bytes:
    """The class term sheet as the response body, served from the cache for the school's admins and teachers.

    The entry depends on the school's reference bucket (subjects, policy, terms, enrolment, assignments, the
    class teacher): an admin's check is the class's school, cached with it; a teacher's sheet (all subjects
    for the class teacher, their own otherwise) is cached per teacher once PostgreSQL allowed it.
    Students, parents (403) and superusers go to PostgreSQL every time.
    """
    if who.is_superuser or who.school_id is None or who.role not in (Role.ADMIN.value, Role.TEACHER.value):
        return dumps_bytes((await term_sheet(ctx, who, class_id, term_id))[0])
    viewer = "all" if who.role == Role.ADMIN.value else f"t{who.user_id}"

    async def load() -> tuple[bytes, dict[str, Any] | None]:
        fast = await _sheet_by_driver(ctx, who, class_id, term_id)
        sheet, school_id = fast or await term_sheet(ctx, who, class_id, term_id)
        facts = {"school_id": who.school_id, "teacher": None if viewer == "all" else who.user_id}
        return dumps_bytes(sheet), facts if school_id == who.school_id else None

    return await cache.authorized_body(
        ctx, (cache.class_marks_bucket(class_id), cache.school_ref_bucket(who.school_id)), f"sheet:{term_id}:{viewer}",
        lambda facts: facts["school_id"] == who.school_id and facts.get("teacher") in (None, who.user_id), load)


async def term_sheet(ctx: AppContext, who: Principal, class_id: int, term_id: int) -> tuple[dict[str, Any], int]:
    """The sheet and the class's school, with PostgreSQL's exact checks and errors."""
    async with ctx.heavy_reads() as session:
        cls, only = await sheet_scope(session, who, class_id)
        term = await term_of_school(session, term_id, cls.school_id)
        students = await q.class_students(session, class_id)
        subjects = await q.class_subjects(session, class_id, term.starts_on, term.ends_on, only)
        sums = await q.class_sums(session, class_id, term.starts_on, term.ends_on, only)
        finals = [(a.student_id, a.subject_id, a.final, a.is_override)
                  for a in await q.class_attestations(session, class_id, term_id)]
    head = {"class_id": class_id, "class_name": cls.name, "term_id": term.id, "from": term.starts_on,
            "to": term.ends_on}
    return sheet_answer(head, students, subjects, sums, finals, cls.min_marks_for_attestation,
                        cls.rounding_threshold), cls.school_id


def _scope_by_facts(who: Principal, facts: Any) -> tuple[bool, list[int] | None]:
    """`sheet_scope`'s decision from `sheet_facts_raw`: (allowed, the subjects shown or None for all). Only
    the school's admin and the class's teachers get here (`term_sheet_body`)."""
    if who.role == Role.ADMIN.value:
        return facts["school_id"] == who.school_id, None
    if facts["class_teacher_id"] == who.user_id:
        return True, None
    return bool(facts["taught"]), list(facts["taught"])


async def _sheet_by_driver(ctx: AppContext, who: Principal, class_id: int,
                           term_id: int) -> tuple[dict[str, Any], int] | None:
    """A cache miss of a caller `sheet_scope` allows, in two statements on the driver connection of the same
    heavy-read session (replica or primary as `term_sheet`). None for any refusal and any term not of the
    class's school: `term_sheet` then answers with its exact 403/404/422."""
    async with ctx.heavy_reads() as session:
        db = await driver(await session.connection())
        facts = await q.sheet_facts_raw(db, class_id, term_id, who.user_id)
        if facts is None or facts["term_school_id"] != facts["school_id"]:
            return None
        allowed, only = _scope_by_facts(who, facts)
        if not allowed:
            return None
        starts, ends = facts["starts_on"], facts["ends_on"]
        students, subjects, sums, finals = await q.sheet_rows_raw(db, class_id, term_id, starts, ends, only)
    head = {"class_id": class_id, "class_name": facts["name"], "term_id": term_id, "from": starts, "to": ends}
    return sheet_answer(head, students, subjects, sums, finals, facts["min_marks_for_attestation"],
                        facts["rounding_threshold"]), facts["school_id"]


def sheet_answer(head: dict[str, Any], students: list[Any], subjects: list[Any], sums: list[Any],
                 finals: list[Any], min_marks: int, threshold: Decimal) -> dict[str, Any]:
    """The sheet from its rows, each unpacked by position (an attribute of a row costs ~0.5 us, and a sheet has
    hundreds of cells): students (id, name), subjects (id, name), sums (student, subject, weighted, weights,
    numeric, plain, marks), finals (student, subject, final, override)."""
    by_cell = {(student_id, subject_id): (weighted, weights, numeric, marks)
               for student_id, subject_id, weighted, weights, numeric, _plain, marks in sums}
    final_by_cell = {(student_id, subject_id): (final, is_override)
                     for student_id, subject_id, final, is_override in finals}
    subject_ids = [subject_id for subject_id, _name in subjects]
    # Cells with the same sums have the same proposal: computed once per distinct sums (Decimal arithmetic).
    proposals: dict[tuple[Any, Any, Any], tuple[float | None, int, str]] = {}
    rows = []
    for student_id, name in students:
        cells = []
        for subject_id in subject_ids:
            s = by_cell.get((student_id, subject_id))
            key = (0, 0, 0) if s is None else s[:3]
            shown = proposals.get(key)
            if shown is None:
                p = propose_from_sums(key[0], key[1], key[2], min_marks=min_marks, threshold=threshold)
                shown = proposals[key] = (_num(p.average), p.numeric_count, p.proposed)
            final, is_override = final_by_cell.get((student_id, subject_id), (None, False))
            cells.append({"subject_id": subject_id, "average": shown[0], "numeric_count": shown[1],
                          "marks_count": s[3] if s else 0, "proposed": shown[2], "final": final,
                          "is_override": is_override})
        rows.append({"student_id": student_id, "name": name, "cells": cells})
    return {**head, "subjects": [{"id": subject_id, "name": name} for subject_id, name in subjects],
            "students": rows, "policy": {"min_marks": min_marks, "rounding_threshold": float(threshold)}}
