"""`edutrack load-demo`: the demo school, built and then kept up to date in one transaction per run.

The school lives in the school year containing the day of the run (in summer: the year just ended). Its first
run creates the people and classes, the year with its quarters and every lesson of the year, and fills every
school day up to that day: attendance, grades, term marks of the quarters already over, news and chats.
Each run leaves an audit-log row `demo/fill` with the day it filled up to; a later run fills the days since
(and opens a new school year when one has begun), a run on the same day or earlier changes nothing.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TextIO

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import cache
from edutrack.context import AppContext
from edutrack.db.diary import AuditLog, School
from edutrack.demo import days, social
from edutrack.demo.bulk import fast_writes
from edutrack.demo.calendar import school_today, school_year, start_year_of
from edutrack.demo.plan import FULL, SMALL
from edutrack.demo.school import SchoolState, create_school, load_state
from edutrack.demo.year import at_msk, ensure_year
from edutrack.uow import unit_of_work

DEMO_PASSWORD = "edutrack-demo-2026"  # noqa: S105 - printed to the user: it is a demo
LOCK_KEY = 0x45445544454D4F  # pg_advisory_xact_lock key: one loader at a time
MARKER = "demo"  # audit_log.entity of the "filled up to" rows


class DemoError(Exception):
    """The demo cannot be built in this database as it is (a clear message for the command line)."""


@dataclass
class DemoResult:
    school_id: int
    created: bool
    logins: dict[str, str]
    password: str = DEMO_PASSWORD
    counts: dict[str, int] = field(default_factory=dict)  # rows added by this run
    seconds: float = 0.0
    through: date | None = None  # the last day filled
    previous: date | None = None  # the last day filled before this run (None: the school is new)

    @property
    def changed(self) -> bool:
        return self.created or self.previous != self.through


class Progress:
    """A one-line progress bar on stderr (no dependency; rewritten in place with \\r on a terminal)."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def step(self, label: str) -> None:
        self.done = min(self.done + 1, self.total)
        filled = self.width * self.done // self.total
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {100 * self.done // self.total:3d}% {label}"
        if self.tty:
            self.stream.write("\r" + line.ljust(self.width + 60))
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


async def filled_through(session: AsyncSession, school_id: int) -> date | None:
    found = (await session.execute(select(func.max(AuditLog.new["through"].astext)).where(
        AuditLog.school_id == school_id, AuditLog.entity == MARKER))).scalar()
    return date.fromisoformat(found) if found else None


async def load_demo(ctx: AppContext, *, small: bool = False, seed: int = 2026, today: date | None = None,
                    progress_stream: TextIO | None = None) -> DemoResult:
    """Build the demo school, or bring it up to `today` (default: today in Moscow)."""
    size = SMALL if small else FULL
    today = today or school_today()
    started = time.perf_counter()
    async with unit_of_work(ctx) as uow:
        session = uow.session
        await session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
        school_id = (await session.execute(select(School.id).where(School.name == size.school_name))).scalar()
        previous: date | None = None
        if school_id is not None:
            previous = await filled_through(session, school_id)
            if previous is None:
                raise DemoError(f"«{size.school_name}» exists but was not built by this version of load-demo; "
                                "drop the database (or that school and its users) and run it again")
            state = await load_state(session, school_id, size)
            if previous >= today:
                Progress(1, progress_stream).step(f"already filled up to {previous}: nothing to do")
                return DemoResult(school_id, False, state.logins, seconds=time.perf_counter() - started,
                                  through=previous, previous=previous)
            seed = await _seed(session, school_id, seed)
        first_year = start_year_of(previous + timedelta(days=1) if previous else today)
        years = list(range(first_year, start_year_of(today) + 1))
        progress = Progress(2 + 3 * len(years), progress_stream)
        counts: dict[str, int] = {}
        if school_id is None:
            password_hash = await ctx.passwords.hash(DEMO_PASSWORD)
            school_id = await create_school(session, size, random.Random(seed), password_hash, years[0])
            state = await load_state(session, school_id, size)
            counts["users"] = len(state.people)
        progress.step(f"{size.school_name}: {len(state.people)} people, {len(state.classes)} classes")
        for start_year in years:
            await _fill_year(session, state, start_year, previous, today, seed, counts, progress)
        await session.execute(insert(AuditLog), [{
            "school_id": school_id, "entity": MARKER, "entity_id": school_id, "action": "fill", "actor_id": None,
            "old": {"through": previous.isoformat()} if previous else None,
            "new": {"through": today.isoformat(), "seed": seed}}])
        # The reads of this school cached before the run miss what it adds.
        uow.invalidate(cache.schools_bucket(), cache.school_ref_bucket(school_id),
                       cache.school_schedule_bucket(school_id),
                       *(cache.class_marks_bucket(c.id) for c in state.classes),
                       *(cache.student_marks_bucket(s) for c in state.classes for s in c.students))
    progress.done = progress.total - 1
    progress.step("committed")
    return DemoResult(school_id, previous is None, state.logins, counts=counts,
                      seconds=time.perf_counter() - started, through=today, previous=previous)


async def _seed(session: AsyncSession, school_id: int, default: int) -> int:
    """The seed the school was built with: later days must continue the same story."""
    found = (await session.execute(select(AuditLog.new["seed"].astext).where(
        AuditLog.school_id == school_id, AuditLog.entity == MARKER).order_by(AuditLog.id).limit(1))).scalar()
    return int(found) if found else default


def _add(counts: dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


async def _fill_year(session: AsyncSession, state: SchoolState, start_year: int, previous: date | None,
                     today: date, seed: int, counts: dict[str, int], progress: Progress) -> None:
    year = school_year(start_year)
    rows = await ensure_year(session, state, year, seed)
    _add(counts, "lessons", rows.lessons)
    progress.step(f"{year.name}: {len(year.quarters)} quarters, {rows.lessons} lessons" if rows.created
                  else f"{year.name}: already planned")
    first = max(previous + timedelta(days=1) if previous else year.starts_on, year.starts_on)
    last = min(today, year.ends_on)
    lessons = await days.year_lessons(session, state, year)
    health = days.Health(state, year, seed)
    if first <= last:
        span = (at_msk(first, 0, 0), at_msk(last + timedelta(days=1), 0, 0))
        marked = await days.already_marked(session, state.school_id, *span)
        filled = days.fill(state, year, lessons, health, first, last, seed, marked)
        async with fast_writes(session, state.school_id, span):
            await days.write(session, filled)
            _add(counts, "attendance", len(filled.attendance))
            _add(counts, "grades", len(filled.grades))
            _add(counts, "term marks", await days.attest(session, state, year, rows.term_ids, first, last, seed))
    progress.step(f"{year.name}: {first} – {last}: {counts.get('grades', 0)} grades")
    if first <= last:
        _add(counts, "news", await social.news(session, state, year, first, last, seed))
        _add(counts, "chat messages", await social.chats(session, state, year, lessons, health, first, last, seed))
    await social.mark_read(session, state, today)
    progress.step(f"{year.name}: news and chats")


def print_logins(result: DemoResult, out: TextIO | None = None) -> None:
    out = out if out is not None else sys.stdout
    if result.created:
        state = "created"
    elif result.changed:
        state = f"updated from {result.previous} to {result.through}"
    else:
        state = f"already present, filled up to {result.through} (nothing changed)"
    print(f"Demo school {state} (id {result.school_id}) in {result.seconds:.1f}s", file=out)
    for what, n in result.counts.items():
        if n:
            print(f"  {what}: {n}", file=out)
    print(f"Demo logins (password for all: {result.password}):", file=out)
    for role, email in result.logins.items():
        print(f"  {role:8s} {email}", file=out)
