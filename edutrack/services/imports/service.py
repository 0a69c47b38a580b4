"""The onboarding import: check a file against the school and report every problem (a dry run), or write all of
it in one transaction, or nothing.

Progress goes live to the importing admin's own feed channel (`user:{id}`) as `import.progress` events: they
describe work in flight, not a committed change, so they are published as the work goes (a lost one costs a
progress bar a step); the last one (`phase: finished`) of a real run is published only after the commit.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import cache, errors, events
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.i18n import _, ngettext
from edutrack.queries import grades as grade_q
from edutrack.queries import imports as q
from edutrack.queries import lessons as lesson_q
from edutrack.queries import schools as school_q
from edutrack.security.tokens import Principal
from edutrack.services.imports import cells, reading
from edutrack.services.imports.apply import Writer
from edutrack.services.imports.checks import Checker
from edutrack.services.imports.formats import KINDS_BY_KEY
from edutrack.services.imports.plan import Person, Plan, Problems, SchoolState, key
from edutrack.services.imports.timetable import TimetableCheck, plan_lessons
from edutrack.uow import unit_of_work

EMAIL_COLUMNS = ("email", "class_teacher_email", "teacher_email", "children")


@dataclass(frozen=True)
class ImportRequest:
    dry_run: bool
    kind: str | None = None
    year_id: int | None = None
    school_id: int | None = None


def _school_of(who: Principal, school_id: int | None) -> int:
    if who.is_superuser:
        if school_id is None:
            raise errors.ValidationFailed(_("Say which school: school_id"), details={"school_id": [_("Required.")]})
        return school_id
    if who.role != Role.ADMIN.value or who.school_id is None:
        raise errors.Forbidden(_("Only the school's administrators can import"))
    if school_id is not None and school_id != who.school_id:
        raise errors.NotFound(_("No such school"))
    return who.school_id


def _read(file: IO[bytes], kind: str | None) -> reading.Upload:
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    if reading.sniff(head) == "xlsx":
        return reading.read_xlsx(file)
    return reading.read_csv(file.read(), KINDS_BY_KEY[kind] if kind else None)


def _emails(upload: reading.Upload) -> set[str]:
    found: set[str] = set()
    for sheet in upload.sheets:
        for _row, values in sheet.rows:
            for column in EMAIL_COLUMNS:
                value = values.get(column)
                if value is not None:
                    found.update(e.lower() for e in cells.SEPARATORS.split(str(value)) if e)
    return found


async def _state(session: AsyncSession, school_id: int, year_id: int | None, emails: set[str]) -> SchoolState:
    school = await school_q.school_by_id(session, school_id)
    if school is None:
        raise errors.NotFound(_("No such school"))
    tz = ZoneInfo(school.timezone)
    if year_id is not None:
        year = await school_q.year_by_id(session, year_id)
        if year is None or year.school_id != school_id:
            raise errors.ValidationFailed(_("Unknown academic year"), details={"year_id": [_("No such year.")]})
    else:
        year = await q.year_for(session, school_id, datetime.now(tz).date())
    classes = await q.classes_of_year(session, school_id, year.id) if year else []
    terms = await school_q.terms_of_school(session, school_id, year.id) if year else []
    people = {r.email: Person(r.email, r.role, r.first_name, r.last_name, r.middle_name, r.birthday, r.id,
                              r.school_id) for r in await q.people(session, emails)}
    class_ids = [c.id for c in classes]
    enrolled: dict[int, set[int]] = {}
    for r in await q.enrolments(session, [p.id for p in people.values() if p.id is not None], class_ids):
        enrolled.setdefault(r.student_id, set()).add(r.class_id)
    parents = [p.id for p in people.values() if p.role == Role.PARENT.value and p.id is not None]
    return SchoolState(
        school_id=school_id, school_name=school.name, tz=tz, year_id=year.id if year else None,
        year_name=year.name if year else None, terms={key(t.name): t for t in terms}, people=people,
        classes={key(c.name): c for c in classes},
        subjects={key(s.name): s for s in await q.subjects_of_school(session, school_id)},
        assignments=await q.assignments_of(session, class_ids), enrolments=enrolled,
        links=await q.links_of(session, parents))


class Run:
    def __init__(self, ctx: AppContext, who: Principal, upload: reading.Upload) -> None:
        self.ctx = ctx
        self.who = who
        self.upload = upload
        self.id = uuid.uuid4().hex
        self.problems = Problems()

    async def progress(self, phase: str, done: int, total: int, **extra: Any) -> None:
        await events.publish(self.ctx, f"user:{self.who.user_id}", self.event(phase, done, total, **extra))

    def event(self, phase: str, done: int, total: int, **extra: Any) -> dict[str, Any]:
        return {"type": "import.progress", "channel": f"user:{self.who.user_id}", "import_id": self.id,
                "phase": phase, "done": done, "total": total, **extra}

    async def check(self, session: AsyncSession, state: SchoolState) -> Plan:
        plan = Plan()
        checker = Checker(state, plan, self.problems)
        by_kind = {s.kind.key: s for s in self.upload.sheets}
        order = [k for k in KINDS_BY_KEY if k in by_kind]
        for done, kind in enumerate(order):
            await self.progress("checking", done, len(order))
            sheet = by_kind[kind]
            if kind == "timetable":
                await self._timetable(session, checker, state, plan, sheet)
            else:
                getattr(checker, kind)(sheet)
        await self.progress("checking", len(order), len(order))
        return plan

    async def _timetable(self, session: AsyncSession, checker: Checker, state: SchoolState, plan: Plan,
                         sheet: reading.Sheet) -> None:
        check = TimetableCheck(checker, datetime.now(state.tz).date())
        rows = check.rows(sheet)
        span = check.span(rows)
        if span is None:
            return
        existing = await lesson_q.lessons_in_range(session, starts=span[0], ends=span[1], school_id=state.school_id)
        history = await q.lessons_with_history(session, state.school_id, *span)
        plan.lessons = lessons = plan_lessons(check, sheet, rows, existing, history)
        plan.count("lessons", "created", len(lessons.inserts))
        plan.count("lessons", "updated", len(lessons.updates))
        plan.count("lessons", "deleted", len(lessons.deletes))
        plan.count("lessons", "unchanged", lessons.unchanged)

    def report(self, state: SchoolState | None, plan: Plan | None, dry_run: bool,
               invitations: int = 0) -> dict[str, Any]:
        return {
            "import_id": self.id, "dry_run": dry_run, "ok": not self.problems, "format": self.upload.format,
            "academic_year": {"id": state.year_id, "name": state.year_name} if state and state.year_id else None,
            "sheets": [{"name": s.name, "kind": s.kind.key, "rows": len(s.rows)} for s in self.upload.sheets],
            "ignored_sheets": self.upload.ignored_sheets,
            "problems": [p.view() for p in self.problems],
            "summary": plan.counts if plan else {},
            "lessons_kept": plan.lessons.kept_with_history if plan and plan.lessons else 0,
            "invitations": invitations,
        }

    def refusal(self, report: dict[str, Any]) -> errors.ApiError:
        return errors.ValidationFailed(ngettext(
            "The file has %(num)s problem; nothing was written.", "The file has %(num)s problems; nothing was written.",
            len(self.problems)), code="import_invalid", details=report)


async def run_import(ctx: AppContext, who: Principal, file: IO[bytes], request: ImportRequest) -> dict[str, Any]:
    school_id = _school_of(who, request.school_id)
    upload = await asyncio.to_thread(_read, file, request.kind)
    run = Run(ctx, who, upload)
    await run.progress("reading", 1, 1)
    if not upload.sheets:
        raise errors.ValidationFailed(_("No sheet of this workbook is one of the templates' sheets"),
                                      code="unknown_file_kind", details={"sheets": upload.ignored_sheets})
    emails = _emails(upload)
    if request.dry_run:
        async with ctx.reads() as session:
            state = await _state(session, school_id, request.year_id, emails)
            plan = await run.check(session, state)
        report = run.report(state, plan, dry_run=True)
        await run.progress("finished", 1, 1, ok=report["ok"])
        return report
    try:
        return await _apply(ctx, run, school_id, request, emails)
    except IntegrityError as exc:
        # What the checks saw changed before the commit (a lesson or an account made meanwhile by someone else),
        # or two lessons swapped their teachers or rooms: the constraints refused it, and the transaction is gone.
        raise errors.Conflict(_("The school changed while the file was being written, or two lessons of the file "
                                "swap a teacher or a room; nothing was written. Run the import again."),
                              code="import_conflict") from exc


async def _apply(ctx: AppContext, run: Run, school_id: int, request: ImportRequest,
                 emails: set[str]) -> dict[str, Any]:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        await q.lock_school(session, school_id)
        state = await _state(session, school_id, request.year_id, emails)
        plan = await run.check(session, state)
        if run.problems:
            report = run.report(state, plan, dry_run=False)
            await run.progress("finished", 1, 1, ok=False)
            raise run.refusal(report)
        password_hash = await ctx.passwords.hash(secrets.token_urlsafe(32)) if plan.new_people else ""
        written = await Writer(ctx, session, state, run.progress).write(plan, password_hash)
        report = run.report(state, plan, dry_run=False, invitations=written.invitations)
        if plan.changes_anything:  # a file imported again changes nothing, not even the audit trail
            await grade_q.insert_audit(session, [{
                "school_id": school_id, "entity": "import", "entity_id": school_id, "action": "apply",
                "actor_id": run.who.user_id, "old": None,
                "new": {"import_id": run.id, "summary": plan.counts, "invitations": written.invitations}}])
            uow.invalidate(cache.school_ref_bucket(school_id), cache.school_schedule_bucket(school_id))
            uow.membership_changed(written.class_ids)
        uow.publish(f"user:{run.who.user_id}", run.event("finished", 1, 1, ok=True))
    return report
