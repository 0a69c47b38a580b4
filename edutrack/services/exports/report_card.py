"""A student's report card for a term, as PDF: per subject the weighted average, the term mark, the confirmed year
mark of the term's school year (a proposal is not shown: it is not a mark yet) and the absences.

Who may export it, and which subjects it holds, is decided as for the reads it gathers (a student's grades,
attendance and performance): the student, their parents, the school's admins (every subject), a teacher of the
student (the subjects they teach, `permissions.student_scope`). The font is PT Sans (SIL OFL 1.1, edutrack/fonts),
embedded as a subset, so the Cyrillic prints on any reader.
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal
from fpdf import FPDF
from fpdf.fonts import FontFace

from edutrack.context import AppContext
from edutrack.i18n import _, current_locale
from edutrack.queries import attendance as attendance_q
from edutrack.queries import exports as q
from edutrack.queries import final_marks as fq
from edutrack.queries import grades as gq
from edutrack.security.tokens import Principal
from edutrack.services.diary import permissions
from edutrack.services.diary.attendance import day_bounds
from edutrack.services.diary.attestations import term_of_school
from edutrack.services.diary.averages import average_of_sums
from edutrack.services.diary.grades import display, visible_student
from edutrack.services.exports.journal import Export

FONTS = Path(__file__).resolve().parents[2] / "fonts"
FAMILY = "PTSans"


async def _gather(ctx: AppContext, who: Principal, student_id: int, term_id: int) -> dict[str, Any]:
    async with ctx.heavy_reads() as session:
        student = await visible_student(session, who, student_id)
        term = await term_of_school(session, term_id, student.school_id)
        school = await gq.school(session, student.school_id)
        assert school is not None
        scope = await permissions.student_scope(session, who, student_id)
        sums = await gq.student_subject_sums(session, student_id, subject_id=None, starts=term.starts_on,
                                             ends=term.ends_on, teacher_id=scope)
        lo, hi = day_bounds(term.starts_on, term.ends_on)
        marks = await attendance_q.student_marks(session, student_id, starts=lo, ends=hi, teacher_id=scope)
        finals = await q.student_attestations(session, student_id, term_id)
        classes = await q.class_names_of_student(session, student_id, term.academic_year_id)
        years = {y.subject_id: y.final for y in await fq.year_marks(session, student_id, term.academic_year_id)}
    subjects: dict[int, dict[str, Any]] = {}
    for s in sums:
        average = average_of_sums(s.weighted_sum, s.weight_sum)
        subjects[s.subject_id] = {"name": s.subject, "average": None if average is None else
                                  format_decimal(average, "0.00", locale=current_locale())}
    absences: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for m in marks:
        subjects.setdefault(m.subject_id, {"name": m.subject, "average": None})
        if m.status == "absent":
            absences[m.subject_id][0] += 1
            absences[m.subject_id][1] += (m.reason or "unexcused") == "unexcused"
    rows = [{"name": v["name"], "average": v["average"] or "—", "final": _final(finals.get(k)),
             "year": _final(years.get(k)), "absent": absences[k][0], "unexcused": absences[k][1]}
            for k, v in sorted(subjects.items(), key=lambda item: item[1]["name"])]
    return {"student": student.name, "school": school.name, "term": term, "classes": classes, "rows": rows}


def _final(value: str | None) -> str:
    if value is None:
        return "—"
    return value if value.isdigit() else display(None, value)


async def report_card(ctx: AppContext, who: Principal, student_id: int, term_id: int) -> Export:
    data = await _gather(ctx, who, student_id, term_id)
    pdf = _document(data)
    out = io.BytesIO(bytes(pdf.output()))
    term = data["term"]
    return Export(out, _("Report card %(name)s %(term)s.pdf", name=data["student"], term=term.name))


def _document(data: dict[str, Any]) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(_("Report card"))
    pdf.set_creator("EduTrack")
    pdf.add_font(FAMILY, "", str(FONTS / "PTSans-Regular.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "PTSans-Bold.ttf"))
    pdf.add_page()
    term = data["term"]
    pdf.set_font(FAMILY, "B", 18)
    pdf.cell(0, 10, _("Report card"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 12)
    starts, ends = term.starts_on.strftime("%d.%m.%Y"), term.ends_on.strftime("%d.%m.%Y")
    for line in (data["school"], _("Student: %(name)s", name=data["student"]),
                 _("Class: %(classes)s", classes=", ".join(data["classes"]) or "—"),
                 _("%(term)s: %(starts)s – %(ends)s", term=term.name, starts=starts, ends=ends)):
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(FAMILY, "", 11)
    with pdf.table(col_widths=(60, 26, 26, 26, 26, 26),
                   text_align=("LEFT", "CENTER", "CENTER", "CENTER", "CENTER", "CENTER"),
                   headings_style=FontFace(emphasis="BOLD"), line_height=7) as table:
        table.row([_("Subject"), _("Weighted average"), _("Term mark"), _("Year mark"), _("Absences"),
                   _("Without a valid reason")])
        for r in data["rows"]:
            table.row([r["name"], r["average"], r["final"], r["year"], str(r["absent"]), str(r["unexcused"])])
    pdf.ln(4)
    total = sum(r["absent"] for r in data["rows"])
    unexcused = sum(r["unexcused"] for r in data["rows"])
    pdf.cell(0, 7, _("Lessons missed: %(total)s, of them without a valid reason: %(unexcused)s", total=total,
                     unexcused=unexcused), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 9)
    issued = datetime.now(UTC).strftime("%d.%m.%Y")
    pdf.cell(0, 7, _("Issued on %(date)s by EduTrack", date=issued), new_x="LMARGIN", new_y="NEXT")
    return pdf
