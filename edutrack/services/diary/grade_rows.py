"""A written grade as its audit row, its notification and its list view show it, and the caches it drops: shared
by the ORM write path (grades.py) and the one-statement path on the driver connection (grade_fast.py), so both
give the same bytes."""

from __future__ import annotations

from typing import Any

from edutrack import cache
from edutrack.db.diary import MARKS
from edutrack.i18n import _, for_recipients
from edutrack.uow import AfterCommit

GRADE_FIELDS = ("student_id", "class_id", "subject_id", "lesson_id", "work_type_id", "date", "value", "mark",
                "comment", "teacher_id")


def snapshot(grade: Any) -> dict[str, Any]:
    """The audited state of a grade (JSON-safe)."""
    data = {name: getattr(grade, name) for name in GRADE_FIELDS}
    data["date"] = grade.date.isoformat()
    return data


def display(value: int | None, mark: str | None) -> str:
    return str(value) if value is not None else _(MARKS[mark]) if mark in MARKS else mark or ""


def grade_view(row: Any) -> dict[str, Any]:
    """A grade from a row of `queries.grades.student_grades` (or `student_grades_raw`), unpacked by position: an
    attribute of a SQLAlchemy row costs ~0.5 us, 17 of them per grade showed in profiles of the grade list. Dates
    stay dates: the encoder (serialize.py) writes them as isoformat() would, without calling back into Python."""
    (id_, class_id, subject_id, subject, work_type_id, work_type, weight, day, value, mark, comment, lesson_id,
     teacher_id, teacher, created_at, updated_at) = row
    return {
        "id": id_, "class_id": class_id, "subject_id": subject_id, "subject": subject,
        "work_type_id": work_type_id, "work_type": work_type, "weight": weight, "date": day,
        "value": value, "mark": mark, "display": display(value, mark), "comment": comment,
        "lesson_id": lesson_id, "teacher_id": teacher_id, "teacher": teacher,
        "created_at": created_at, "updated_at": updated_at,
    }


def notification_payload(grade: Any, labels: Any) -> dict[str, Any]:
    """The notification's payload of a grade (`grade_id` included) with its names (`grade_target.Labels` or a
    row of `queries.grades.grade_labels`)."""
    with for_recipients():
        shown = display(grade.value, grade.mark)
    return {
        "grade_id": grade.id, "student_id": grade.student_id, "student_name": labels.student_name,
        "subject": labels.subject, "value": grade.value if grade.value is not None else shown,
        "work_type": labels.work_type, "date": grade.date.isoformat(), "teacher": labels.teacher,
        "comment": grade.comment, "title": f"{labels.subject}: {shown} ({labels.work_type})",
    }


def listed(grade: Any, labels: Any) -> dict[str, Any]:
    """The grade as its list shows it (`grade_view`), from the written row and its names."""
    return grade_view((
        grade.id, grade.class_id, grade.subject_id, labels.subject, grade.work_type_id, labels.work_type,
        labels.weight, grade.date, grade.value, grade.mark, grade.comment, grade.lesson_id, grade.teacher_id,
        labels.teacher, grade.created_at, grade.updated_at))


def invalidate_marks(uow: AfterCommit, grade: Any) -> None:
    """After a committed grade change: the class's term sheets and the student's grade lists."""
    uow.invalidate(cache.class_marks_bucket(grade.class_id), cache.student_marks_bucket(grade.student_id))
