"""The state an import is checked against, the problems found, and the plan of changes it would make.

Natural keys: a person is their email (lower-cased), a class its name in the academic year, a subject its name in
the school (without case), a teaching assignment its class, subject and teacher, a lesson its class and start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from edutrack.services.imports.formats import normalize
from edutrack.services.imports.reading import Sheet


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int
    column: str | None
    cell: str | None
    message: str

    def view(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "cell": self.cell,
                "message": self.message}


class Problems(list[Problem]):
    def add(self, sheet: Sheet, row: int, key: str | None, message: str) -> None:
        self.append(Problem(sheet.name, row, sheet.header_of(key) if key else None,
                            sheet.cell_ref(key, row) if key else None, message))


@dataclass
class Person:
    """An account as the database has it (`id` set) or as a file row describes it (`id` None)."""

    email: str
    role: str
    first_name: str
    last_name: str
    middle_name: str | None = None
    birthday: date | None = None
    id: int | None = None
    school_id: int | None = None
    where: str = ""  # sheet and row of the file that names it


@dataclass
class SchoolState:
    """What the database holds of the school, read once before the checks."""

    school_id: int
    school_name: str
    tz: ZoneInfo
    year_id: int | None
    year_name: str | None
    terms: dict[str, Any]  # normalized name -> Term row
    people: dict[str, Person]  # email -> account, for every address the file mentions
    classes: dict[str, Any]  # normalized name -> class row of the year
    subjects: dict[str, Any]  # normalized name -> subject row
    assignments: set[tuple[int, int, int]]  # (class_id, subject_id, teacher_id) of the year's classes
    enrolments: dict[int, set[int]]  # student id -> class ids of the year
    links: set[tuple[int, int]]  # (parent_id, child_id) of the parents the file mentions


@dataclass
class Plan:
    """Changes to make, by natural key; ids are resolved when they are written (new rows get theirs then)."""

    new_subjects: list[str] = field(default_factory=list)
    new_people: list[Person] = field(default_factory=list)
    changed_people: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    new_classes: list[dict[str, Any]] = field(default_factory=list)  # name, grade_level, class_teacher_email
    changed_classes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # changes by key
    enrol: list[tuple[str, str]] = field(default_factory=list)  # (student email, class name)
    new_links: list[tuple[str, str]] = field(default_factory=list)  # (parent email, child email)
    new_assignments: list[tuple[str, str, str]] = field(default_factory=list)  # (class, subject, teacher email)
    lessons: Any = None  # timetable.LessonPlan, when the file has a timetable
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        per_kind = self.counts.setdefault(kind, {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0})
        per_kind[outcome] += n

    @property
    def changes_anything(self) -> bool:
        return any(c["created"] or c["updated"] or c["deleted"] for c in self.counts.values())


@dataclass
class FileNames:
    """What the file itself defines, so later kinds may refer to it before it is written."""

    classes: dict[str, str] = field(default_factory=dict)  # normalized -> name as written
    subjects: dict[str, str] = field(default_factory=dict)  # normalized -> name as written
    people: dict[str, Person] = field(default_factory=dict)  # email -> person of a file row
    assignments: set[tuple[str, str, str]] = field(default_factory=set)  # normalized class, subject; email


def key(name: str) -> str:
    return normalize(name)
