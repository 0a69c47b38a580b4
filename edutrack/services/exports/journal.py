"""The class journal (one subject, one term) and the class term sheet as XLSX workbooks.

Who may export is decided exactly as for reading the term sheet (`attestations.sheet_scope`): the school's
admins, the class teacher (every subject), a teacher of the class (their subjects). The workbook is built with
openpyxl's write-only mode, whose rows go to temporary files as they are appended, and saved to a spooled file
that the handler streams out: memory holds the data read from the database, not the workbook.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from edutrack import errors
from edutrack.context import AppContext
from edutrack.i18n import _
from edutrack.queries import attestations as aq
from edutrack.queries import classes as class_q
from edutrack.queries import exports as q
from edutrack.queries import final_marks as fq
from edutrack.queries import grades as gq
from edutrack.queries import schools as school_q
from edutrack.security.tokens import Principal
from edutrack.services.diary import attestations
from edutrack.services.diary.attendance import day_bounds
from edutrack.services.diary.averages import average_of_sums
from edutrack.services.diary.grades import display, sums_of_rows

BOLD = Font(bold=True)
SPOOL = 4 * 1024 * 1024


@dataclass
class Export:
    file: IO[bytes]
    filename: str


def _row(sheet: WriteOnlyWorksheet, values: list[Any], bold: bool = False) -> None:
    """Append a row. Text is always text: openpyxl would store "=..." (a topic, a name someone typed) as a
    formula that runs when the workbook is opened."""
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"
        if bold:
            cell.font = BOLD
        cells.append(cell)
    sheet.append(cells)


def _saved(book: Workbook) -> IO[bytes]:
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - the handler streams and closes it
    book.save(out)
    out.seek(0)
    return out


def _dates(term: Any) -> str:
    return f"{term.starts_on:%d.%m.%Y} – {term.ends_on:%d.%m.%Y}"


async def class_journal(ctx: AppContext, who: Principal, class_id: int, subject_id: int, term_id: int) -> Export:
    async with ctx.heavy_reads() as session:
        cls, only = await attestations.sheet_scope(session, who, class_id)
        if only is not None and subject_id not in only:
            raise errors.NotFound(_("No such class"))
        term = await attestations.term_of_school(session, term_id, cls.school_id)
        subject = await gq.subject_school(session, subject_id)
        if subject != cls.school_id:
            raise errors.ValidationFailed(_("Unknown subject for this school"),
                                          details={"subject_id": [_("Unknown subject for this school")]})
        school = await school_q.school_by_id(session, cls.school_id)
        assert school is not None
        found = await class_q.subject_by_id(session, subject_id)
        assert found is not None
        subject_name = found.name
        students = await aq.class_students(session, class_id)
        lo, hi = day_bounds(term.starts_on, term.ends_on)
        assert lo is not None and hi is not None
        lessons = await q.journal_lessons(session, class_id, subject_id, lo, hi)
        grades = await q.journal_grades(session, class_id, subject_id, term.starts_on, term.ends_on)
        marks = await q.journal_attendance(session, [lesson.id for lesson in lessons])
        finals = {a.student_id: a.final for a in await aq.class_attestations(session, class_id, term_id)
                  if a.subject_id == subject_id}
    tz = ZoneInfo(school.timezone)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Journal"))
    _row(sheet, [_("%(class_name)s, %(subject)s, %(term)s (%(dates)s)", class_name=cls.name, subject=subject_name,
                   term=term.name, dates=_dates(term))], bold=True)
    _journal_table(sheet, students, lessons, grades, marks, finals, tz)
    topics = book.create_sheet(_("Topics and homework"))
    _row(topics, [_("Date"), _("Topic"), _("Homework"), _("Lesson change")], bold=True)
    for lesson in lessons:
        _row(topics, [lesson.starts_at.astimezone(tz).replace(tzinfo=None), lesson.topic or "", lesson.homework or "",
                      _lesson_change(lesson, tz)])
    filename = _("Journal %(class_name)s %(subject)s %(term)s.xlsx", class_name=cls.name, subject=subject_name,
                 term=term.name)
    return Export(_saved(book), filename)


def _journal_table(sheet: WriteOnlyWorksheet, students: list[Any], lessons: list[Any], grades: list[Any],
                   marks: list[Any], finals: dict[int, str], tz: ZoneInfo) -> None:
    """Students down, lesson days across: attendance (н, оп) and grades in each cell; then the average, the
    absences and the term mark. A cancelled lesson keeps its column, headed "отменён"; a moved one is at its new
    date, headed "перенесён с" its planned day."""
    columns: list[tuple[date, int | None]] = [(lesson.starts_at.astimezone(tz).date(), lesson.id)
                                              for lesson in lessons]
    notes = {lesson.id: _heading_note(lesson, tz) for lesson in lessons}
    by_lesson = {lesson_id: n for n, (_day, lesson_id) in enumerate(columns)}
    first_of_day: dict[date, int] = {}
    for n, (day, _lesson) in enumerate(columns):
        first_of_day.setdefault(day, n)
    cells: dict[tuple[int, int], list[str]] = defaultdict(list)
    for g in grades:
        column = by_lesson.get(g.lesson_id) if g.lesson_id is not None else None
        if column is None:
            column = first_of_day.get(g.date)
        if column is None:  # graded on a day without a lesson of the subject: a column of its own
            columns.append((g.date, None))
            column = first_of_day[g.date] = len(columns) - 1
        cells[(g.student_id, column)].append(display(g.value, g.mark))
    absences: dict[int, int] = defaultdict(int)
    for m in marks:
        if m.status in ("absent", "late"):
            cells[(m.student_id, by_lesson[m.lesson_id])].insert(0, _("ABS") if m.status == "absent" else _("LATE"))
            absences[m.student_id] += m.status == "absent"
    order = sorted(range(len(columns)), key=lambda n: (columns[n][0], n))
    _row(sheet, [_("No."), _("Student"), *(_heading(columns[n], notes) for n in order), _("Weighted average"),
                 _("Absences"), _("Term mark")], bold=True)
    by_student: dict[int, list[Any]] = defaultdict(list)
    for g in grades:
        by_student[g.student_id].append(g)
    for number, st in enumerate(students, start=1):
        sums = sums_of_rows(by_student[st.id])
        average = average_of_sums(sums[0].weighted_sum, sums[0].weight_sum) if sums else None
        _row(sheet, [number, st.name, *(" ".join(cells.get((st.id, n), [])) for n in order),
                     None if average is None else round(float(average), 2), absences.get(st.id, 0),
                     _mark(finals.get(st.id))])


def _heading_note(lesson: Any, tz: ZoneInfo) -> str:
    if lesson.cancelled_at is not None:
        return _("cancelled")
    if lesson.moved_from is not None:
        return _("moved from %(date)s", date=lesson.moved_from.astimezone(tz).strftime("%d.%m"))
    return ""


def _heading(column: tuple[date, int | None], notes: dict[int, str]) -> str:
    day = column[0].strftime("%d.%m")
    note = notes.get(column[1]) if column[1] is not None else None
    return f"{day} {note}" if note else day


def _lesson_change(lesson: Any, tz: ZoneInfo) -> str:
    if lesson.cancelled_at is not None:
        return _("Cancelled: %(note)s", note=lesson.change_note) if lesson.change_note else _("Cancelled")
    if lesson.moved_from is not None:
        return _("Moved from %(when)s", when=lesson.moved_from.astimezone(tz).strftime("%d.%m.%Y %H:%M"))
    return ""


async def term_sheet(ctx: AppContext, who: Principal, class_id: int, term_id: int) -> Export:
    """The term sheet the API serves (`attestations.term_sheet`, with its authorization), as a workbook; the sheet
    of a year's last term also has each subject's confirmed year mark (the year's summary sheet schools print)."""
    sheet_data, _school_id = await attestations.term_sheet(ctx, who, class_id, term_id)
    async with ctx.reads() as session:
        term = await school_q.term_by_id(session, term_id)
        assert term is not None
        last = (await fq.terms_of_year(session, term.academic_year_id))[-1].id == term.id
        years = await fq.year_finals(session, [s["student_id"] for s in sheet_data["students"]],
                                     term.academic_year_id) if last else {}
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Term sheet"))
    _row(sheet, [_("%(class_name)s, %(term)s (%(dates)s)", class_name=sheet_data["class_name"], term=term.name,
                   dates=_dates(term))], bold=True)
    subjects = sheet_data["subjects"]
    heads = [_("Average"), _("Proposed"), _("Final"), *([_("Year mark")] if last else [])]
    _row(sheet, ["", "", *(name for s in subjects for name in (s["name"], *[""] * (len(heads) - 1)))], bold=True)
    _row(sheet, [_("No."), _("Student"), *(h for _s in subjects for h in heads)], bold=True)
    for number, student in enumerate(sheet_data["students"], start=1):
        values: list[Any] = [number, student["name"]]
        for cell in student["cells"]:
            values += [cell["average"], _mark(cell["proposed"]), _mark(cell["final"])]
            if last:
                values.append(_mark(years.get((student["student_id"], cell["subject_id"]))))
        _row(sheet, values)
    filename = _("Term sheet %(class_name)s %(term)s.xlsx", class_name=sheet_data["class_name"], term=term.name)
    return Export(_saved(book), filename)


def _mark(value: str | None) -> str | int:
    if value is None:
        return ""
    return int(value) if value.isdigit() else display(None, value)
