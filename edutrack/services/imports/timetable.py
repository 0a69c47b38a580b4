"""The timetable kind: a regular week of lessons per term, turned into lessons on every date it covers.

A row is a weekly lesson of a class in a term. Lessons are made for each matching day from today (or the term's
start, if later) to the term's last day; the past is never touched. For the classes and terms the file lists,
the file is the timetable: an existing lesson at the same class and start is kept (and changed if its subject,
teacher, room or end differ), other lessons of those classes in that span are deleted, unless they already have
grades or attendance, which keeps them (and they then count for clashes). Clashes are decided by the lesson
service's rule (`clashes.clash_kind`): between rows of the file, week by week, and between the lessons the file
would make and those the database keeps.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from edutrack.i18n import _, ngettext
from edutrack.services.diary.clashes import Slot, clash_kind, clash_title, conflict_message, lesson_slot
from edutrack.services.diary.lessons import MAX_LESSON
from edutrack.services.imports import cells
from edutrack.services.imports.checks import Checker
from edutrack.services.imports.plan import key
from edutrack.services.imports.reading import Cell, Sheet

REFERENCE_MONDAY = date(2001, 1, 1)  # any Monday: rows of one weekday are compared on one date


@dataclass
class WeeklyRow:
    row: int
    term: Any
    class_name: str
    weekday: int
    starts: time
    ends: time
    subject: str
    teacher_email: str
    room: str | None


@dataclass
class LessonPlan:
    inserts: list[dict[str, Any]] = field(default_factory=list)  # names and emails, resolved when written
    updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # changes by natural key
    deletes: list[int] = field(default_factory=list)
    kept_with_history: int = 0
    unchanged: int = 0
    span: tuple[datetime, datetime] | None = None  # what the file's terms cover from today on


class Surrogates:
    """Ids for the slots of classes and teachers the database does not have yet: negative, so they match no
    lesson of the database and only each other."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def of(self, name: str, known: int | None) -> int:
        if known is not None:
            return known
        return self._ids.setdefault(name, -1 - len(self._ids))


class TimetableCheck:
    def __init__(self, checker: Checker, today: date) -> None:
        self.c = checker
        self.state = checker.state
        self.today = today
        self.ids = Surrogates()

    def rows(self, sheet: Sheet) -> list[WeeklyRow]:
        if self.c.missing_columns(sheet):
            return []
        found = []
        for row, values in sheet.rows:
            parsed = self._row(sheet, row, values)
            if parsed is not None:
                found.append(parsed)
        self._weekly_clashes(sheet, found)
        return found

    def _row(self, sheet: Sheet, row: int, values: dict[str, Cell]) -> WeeklyRow | None:
        c = self.c
        term_name = c.cell(sheet, row, values, "term", lambda v: cells.text(v, 40))
        class_name = c.cell(sheet, row, values, "class_name", lambda v: cells.text(v, 20))
        weekday = c.cell(sheet, row, values, "weekday", cells.weekday)
        starts = c.cell(sheet, row, values, "starts", cells.clock)
        ends = c.cell(sheet, row, values, "ends", cells.clock)
        subject = c.cell(sheet, row, values, "subject", lambda v: cells.text(v, 100))
        teacher_email = c.cell(sheet, row, values, "teacher_email", cells.email)
        room = c.cell(sheet, row, values, "room", lambda v: cells.text(v, 30)) or None
        term = self.state.terms.get(key(term_name)) if term_name else None
        if term_name is not None and term is None:
            c.problems.add(sheet, row, "term", _("No term %(name)s in the academic year %(year)s.", name=term_name,
                                                 year=self.state.year_name or "-"))
        if starts is not None and ends is not None and not self._times_ok(sheet, row, starts, ends):
            return None
        known = [class_name is not None and c.class_known(sheet, row, "class_name", class_name),
                 subject is not None and c.subject_known(sheet, row, subject),
                 teacher_email is not None and c.teacher_known(sheet, row, "teacher_email", teacher_email) is not None]
        if not all(known) or term is None or weekday is None or starts is None or ends is None:
            return None
        assert class_name is not None and subject is not None and teacher_email is not None
        triple = (key(class_name), key(subject), teacher_email)
        if triple not in c.names.assignments and not c.assignment_exists(*triple):
            c.problems.add(sheet, row, "teacher_email", _(
                "%(email)s does not teach %(subject)s in %(class_name)s: add the assignment to the teaching load.",
                email=teacher_email, subject=subject, class_name=class_name))
            return None
        return WeeklyRow(row, term, class_name, weekday, starts, ends, subject, teacher_email, room)

    def _times_ok(self, sheet: Sheet, row: int, starts: time, ends: time) -> bool:
        length = datetime.combine(REFERENCE_MONDAY, ends) - datetime.combine(REFERENCE_MONDAY, starts)
        if length <= timedelta(0):
            self.c.problems.add(sheet, row, "ends", _("A lesson must end after it starts"))
            return False
        if length > MAX_LESSON:
            self.c.problems.add(sheet, row, "ends", _("A lesson cannot last longer than 6 hours"))
            return False
        return True

    def slot(self, r: WeeklyRow, day: date) -> Slot:
        cls = self.state.classes.get(key(r.class_name))
        teacher = self.state.people.get(r.teacher_email)
        tz = self.state.tz
        return Slot(self.state.school_id, self.ids.of("c:" + key(r.class_name), cls.id if cls else None),
                    self.ids.of("t:" + r.teacher_email, teacher.id if teacher else None), r.room,
                    datetime.combine(day, r.starts, tzinfo=tz), datetime.combine(day, r.ends, tzinfo=tz))

    def _weekly_clashes(self, sheet: Sheet, rows: list[WeeklyRow]) -> None:
        """Rows of one term and weekday that would double-book a class, a teacher or a room, every week."""
        groups: dict[tuple[int, int], list[WeeklyRow]] = defaultdict(list)
        for r in rows:
            groups[(r.term.id, r.weekday)].append(r)
        clashing: set[int] = set()
        for (_term, weekday), members in groups.items():
            day = REFERENCE_MONDAY + timedelta(days=weekday)
            members.sort(key=lambda r: r.starts)
            running: list[tuple[WeeklyRow, Slot]] = []
            for r in members:
                mine = self.slot(r, day)
                running = [(o, s) for o, s in running if s.ends > mine.starts]
                for other, theirs in running:
                    kind = clash_kind(mine, theirs)
                    if kind is not None:
                        starts, ends = other.starts.strftime("%H:%M"), other.ends.strftime("%H:%M")
                        self.c.problems.add(sheet, r.row, "starts", _(
                            "%(clash)s: row %(row)s (%(subject)s, %(class_name)s, %(starts)s-%(ends)s).",
                            clash=clash_title(kind), row=other.row, subject=other.subject,
                            class_name=other.class_name, starts=starts, ends=ends))
                        clashing.add(r.row)
                running.append((r, mine))
        rows[:] = [r for r in rows if r.row not in clashing]

    def span(self, rows: list[WeeklyRow]) -> tuple[datetime, datetime] | None:
        firsts = [max(r.term.starts_on, self.today) for r in rows if r.term.ends_on >= self.today]
        if not firsts:
            return None
        last = max(r.term.ends_on for r in rows)
        tz = self.state.tz
        return (datetime.combine(min(firsts), time.min, tzinfo=tz),
                datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz))

    def dates(self, r: WeeklyRow) -> list[date]:
        first = max(r.term.starts_on, self.today)
        first += timedelta(days=(r.weekday - first.weekday()) % 7)
        return [first + timedelta(weeks=n) for n in range(max(0, (r.term.ends_on - first).days // 7 + 1))]


def plan_lessons(check: TimetableCheck, sheet: Sheet, rows: list[WeeklyRow], existing: list[Any],
                 with_history: set[int]) -> LessonPlan:
    """Match the rows' lessons with `existing` (lesson rows of the school over the span) by class and start, plan
    the changes and report the clashes with what the database keeps. A lesson of the file's classes and terms that
    the file no longer makes is deleted, or kept if it has grades or attendance (`with_history`)."""
    plan = LessonPlan(span=check.span(rows))
    terms_of_class: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        cls = check.state.classes.get(key(r.class_name))
        if cls is not None and r.term not in terms_of_class[cls.id]:
            terms_of_class[cls.id].append(r.term)
    mine: dict[tuple[int, datetime], Any] = {}  # in the file's scope: matched to its lessons, or removed
    kept: list[Any] = []  # outside it
    for found in existing:
        lesson = found[0]
        day = lesson.starts_at.astimezone(check.state.tz).date()
        if day >= check.today and any(t.starts_on <= day <= t.ends_on for t in terms_of_class.get(lesson.class_id, ())):
            mine[(lesson.class_id, lesson.starts_at)] = found
        else:
            kept.append(found)
    candidates = [(r, [check.slot(r, day) for day in check.dates(r)]) for r in rows]
    wanted = {(slot.class_id, slot.starts) for _r, slots in candidates for slot in slots}
    for lesson_key, found in mine.items():
        if lesson_key in wanted:
            continue
        if found[0].id in with_history:  # the file no longer has it, but it has marks: kept, and in the way
            kept.append(found)
            plan.kept_with_history += 1
        else:
            plan.deletes.append(found[0].id)
    index = _index(kept, check)
    matched: set[int] = set()
    for r, slots in candidates:
        clashes: list[tuple[Slot, Any]] = []
        for slot in slots:
            clashes.extend((slot, o) for o in _candidates(index, slot, check) if clash_kind(slot, lesson_slot(o[0])))
            twin = mine.get((slot.class_id, slot.starts))
            if twin is not None and twin[0].id not in matched:
                matched.add(twin[0].id)
                _plan_update(plan, r, slot, twin)
            else:
                plan.inserts.append({"row": r, "starts_at": slot.starts, "ends_at": slot.ends})
        if clashes:
            _kind, message = conflict_message(clashes[0][1], clashes[0][0], check.state.tz)
            if len(clashes) > 1:
                message += " " + ngettext("(and %(num)s more date)", "(and %(num)s more dates)", len(clashes) - 1)
            check.c.problems.add(sheet, r.row, "starts", message)
    return plan


def _plan_update(plan: LessonPlan, r: WeeklyRow, slot: Slot, twin: Any) -> None:
    lesson = twin[0]
    changes: dict[str, Any] = {}
    if key(twin.subject_name) != key(r.subject):
        changes["subject"] = r.subject
    if slot.teacher_id != lesson.teacher_id:
        changes["teacher_email"] = r.teacher_email
    if (r.room or None) != lesson.room:
        changes["room"] = r.room
    if slot.ends != lesson.ends_at:
        changes["ends_at"] = slot.ends
    if changes:
        plan.updates.append((lesson.id, changes))
    else:
        plan.unchanged += 1


def _index(kept: list[Any], check: TimetableCheck) -> dict[tuple[str, object, date], list[Any]]:
    """Kept lessons by what they occupy (class, teacher, room) and day, so a new lesson meets only its rivals."""
    index: dict[tuple[str, object, date], list[Any]] = defaultdict(list)
    for found in kept:
        lesson = found[0]
        day = lesson.starts_at.astimezone(check.state.tz).date()
        index[("c", lesson.class_id, day)].append(found)
        index[("t", lesson.teacher_id, day)].append(found)
        if lesson.room:
            index[("r", lesson.room, day)].append(found)
    return index


def _candidates(index: dict[tuple[str, object, date], list[Any]], slot: Slot, check: TimetableCheck) -> list[Any]:
    day = slot.starts.astimezone(check.state.tz).date()
    found = {id(o): o for k in (("c", slot.class_id, day), ("t", slot.teacher_id, day), ("r", slot.room, day))
             for o in index.get(k, [])}
    return list(found.values())
