"""Performance analytics of a student and of a class, from aggregates computed in PostgreSQL.

Definitions (also in the OpenAPI descriptions):
- A student's *result* in a subject for a term is the confirmed term mark when there is one, else the proposal
  (weighted average rounded by the school's threshold; "na" with too few numeric grades).
- *Attested* students: those with at least one numeric result (1..5) in the subjects shown.
- *Успеваемость* (success rate): attested students with no numeric result below 3, divided by attested students.
- *Качество* (quality rate): attested students whose numeric results are all 4 or 5, divided by attested students.
  "na" results count in neither numerator nor against anyone; students without any numeric result are left out.
- *At risk*: the weighted average over all the student's grades of the term (all subjects shown) is below the
  school's `at_risk_average`, or unexcused absences in the term reach `at_risk_unexcused_absences`,
  or some result is below 3.
- *Attendance rate*: lessons attended (present or late) / lessons with a mark.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from edutrack.context import AppContext
from edutrack.queries import analytics as q
from edutrack.queries import attendance as aq
from edutrack.queries import attestations as atq
from edutrack.queries import grades as gq
from edutrack.security.tokens import Principal
from edutrack.services.diary import permissions
from edutrack.services.diary.attendance import day_bounds, summary_view
from edutrack.services.diary.attestations import sheet_scope, term_of_school
from edutrack.services.diary.averages import average_of_sums, plain_average_of_sums, propose_from_sums
from edutrack.services.diary.grades import visible_student

FAILING = 3


def _num(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def student_performance(ctx: AppContext, who: Principal, student_id: int, term_id: int,
                              unit: str) -> dict[str, Any]:
    async with ctx.heavy_reads() as session:
        student = await visible_student(session, who, student_id)
        term = await term_of_school(session, term_id, student.school_id)
        school = await gq.school(session, student.school_id)
        assert school is not None
        scope = await permissions.student_scope(session, who, student_id)
        sums = await gq.student_subject_sums(session, student_id, subject_id=None, starts=term.starts_on,
                                             ends=term.ends_on, teacher_id=scope)
        trend = await q.student_trend(session, student_id, unit=unit, starts=term.starts_on, ends=term.ends_on,
                                      teacher_id=scope)
        lo, hi = day_bounds(term.starts_on, term.ends_on)
        attendance = await aq.student_summary(session, student_id, starts=lo, ends=hi, teacher_id=scope)
    subjects = []
    for s in sums:
        p = propose_from_sums(s.weighted_sum, s.weight_sum, s.numeric_count,
                              min_marks=school.min_marks_for_attestation, threshold=school.rounding_threshold)
        subjects.append({"subject_id": s.subject_id, "subject": s.subject, "weighted_average": _num(p.average),
                         "plain_average": _num(plain_average_of_sums(s.value_sum, s.numeric_count)),
                         "numeric_count": s.numeric_count, "marks_count": s.marks_count, "proposed": p.proposed})
    periods: dict[Any, list[Any]] = defaultdict(list)
    for row in trend:
        periods[row.period].append(row)
    trend_view = []
    for period, rows in periods.items():
        trend_view.append({
            "period_start": period,
            "weighted_average": _num(average_of_sums(sum(r.weighted_sum for r in rows),
                                                     sum(r.weight_sum for r in rows))),
            "numeric_count": sum(r.numeric_count for r in rows),
            "subjects": [{"subject_id": r.subject_id,
                          "weighted_average": _num(average_of_sums(r.weighted_sum, r.weight_sum))} for r in rows],
        })
    total_w = sum(s.weight_sum for s in sums)
    return {
        "student_id": student_id, "term_id": term.id, "from_": term.starts_on, "to": term.ends_on, "unit": unit,
        "overall_weighted_average": _num(average_of_sums(sum(s.weighted_sum for s in sums), total_w)),
        "subjects": subjects, "trend": trend_view, "attendance": summary_view(attendance),
    }


@dataclass
class _ClassTerm:
    """What the class report is computed from, read in one go."""

    cls: Any
    term: Any
    students: list[Any]
    subjects: list[Any]
    attendance: dict[int, Any]
    final_by_cell: dict[tuple[int, int], str]
    by_student: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(list))
    by_subject: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(list))

    def result(self, student_id: int, s: Any | None, subject_id: int) -> str:
        """The student's result in the subject: the confirmed term mark, else the proposal, else "na"."""
        final = self.final_by_cell.get((student_id, subject_id))
        if final is not None:
            return final
        if s is None:
            return "na"
        return propose_from_sums(s.weighted_sum, s.weight_sum, s.numeric_count,
                                 min_marks=self.cls.min_marks_for_attestation,
                                 threshold=self.cls.rounding_threshold).proposed


async def class_performance(ctx: AppContext, who: Principal, class_id: int, term_id: int) -> dict[str, Any]:
    data = await _class_term(ctx, who, class_id, term_id)
    cls, term, attendance = data.cls, data.term, data.attendance
    attested, succeeding, quality, at_risk = _student_outcomes(data)
    marked = sum(a.marked for a in attendance.values())
    attended = sum(a.present + a.late for a in attendance.values())
    return {
        "class_id": class_id, "class_name": cls.name, "term_id": term.id, "from_": term.starts_on,
        "to": term.ends_on, "students": len(data.students), "attested_students": attested,
        "success_rate": _rate(succeeding, attested), "quality_rate": _rate(quality, attested),
        "attendance_rate": _rate(attended, marked), "subjects": _subject_views(data),
        "at_risk": at_risk,
        "thresholds": {"at_risk_average": float(cls.at_risk_average),
                       "at_risk_unexcused_absences": cls.at_risk_unexcused_absences},
    }


async def _class_term(ctx: AppContext, who: Principal, class_id: int, term_id: int) -> _ClassTerm:
    async with ctx.heavy_reads() as session:
        cls, only = await sheet_scope(session, who, class_id)
        term = await term_of_school(session, term_id, cls.school_id)
        students = await atq.class_students(session, class_id)
        subjects = await atq.class_subjects(session, class_id, term.starts_on, term.ends_on, only)
        sums = await atq.class_sums(session, class_id, term.starts_on, term.ends_on, only)
        finals = await atq.class_attestations(session, class_id, term_id)
        lo, hi = day_bounds(term.starts_on, term.ends_on)
        assert lo is not None and hi is not None
        attendance = {r.student_id: r for r in await q.class_attendance(session, class_id, lo, hi)}
    subject_ids = {s.id for s in subjects}
    data = _ClassTerm(cls, term, list(students), list(subjects), attendance,
                      {(a.student_id, a.subject_id): a.final for a in finals if a.subject_id in subject_ids})
    for s in sums:
        data.by_student[s.student_id].append(s)
        data.by_subject[s.subject_id].append(s)
    return data


def _student_outcomes(data: _ClassTerm) -> tuple[int, int, int, list[dict[str, Any]]]:
    """Attested, succeeding and quality student counts, and the students at risk with their reasons."""
    cls, subjects = data.cls, data.subjects
    attested = succeeding = quality = 0
    at_risk = []
    for st in data.students:
        mine = {s.subject_id: s for s in data.by_student.get(st.id, [])}
        results = [data.result(st.id, mine.get(sub.id), sub.id) for sub in subjects]
        numeric = [int(r) for r in results if r.isdigit()]
        failing = [sub.name for sub, r in zip(subjects, results, strict=True) if r.isdigit() and int(r) < FAILING]
        if numeric:
            attested += 1
            succeeding += not failing
            quality += all(v >= 4 for v in numeric)
        avg = average_of_sums(sum(s.weighted_sum for s in mine.values()), sum(s.weight_sum for s in mine.values()))
        att = data.attendance.get(st.id)
        unexcused = att.unexcused if att else 0
        reasons = []
        if avg is not None and avg < cls.at_risk_average:
            reasons.append("low_average")
        if unexcused >= cls.at_risk_unexcused_absences:
            reasons.append("unexcused_absences")
        if failing:
            reasons.append("failing_subjects")
        if reasons:
            at_risk.append({"student_id": st.id, "name": st.name, "weighted_average": _num(avg),
                            "unexcused_absences": unexcused, "failing_subjects": failing, "reasons": reasons})
    return attested, succeeding, quality, at_risk


def _subject_views(data: _ClassTerm) -> list[dict[str, Any]]:
    subject_view = []
    for sub in data.subjects:
        rows = data.by_subject.get(sub.id, [])
        student_avgs = [a for a in (average_of_sums(r.weighted_sum, r.weight_sum) for r in rows) if a is not None]
        distribution = {k: 0 for k in ("5", "4", "3", "2", "1", "na")}
        cells = {r.student_id: r for r in rows}
        for st in data.students:
            distribution[data.result(st.id, cells.get(st.id), sub.id)] += 1
        subject_view.append({
            "subject_id": sub.id, "subject": sub.name,
            "average": _num(sum(student_avgs, Decimal(0)) / len(student_avgs)) if student_avgs else None,
            "weighted_average": _num(average_of_sums(sum(r.weighted_sum for r in rows),
                                                     sum(r.weight_sum for r in rows))),
            "students_graded": len(student_avgs), "results": distribution,
        })
    return subject_view
