"""What an onboarding file holds: its kinds (a sheet of a workbook, or one CSV file each) and their columns.

Headers and sheet names are the catalogue's: Russian in the templates, and a file is read whether its headers are
the Russian or the English ones (compared without case, extra spaces or the difference between е and ё).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edutrack.i18n import N_, gettext, use_locale
from edutrack.i18n.catalogue import LOCALES


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # a message id
    required: bool = True
    example: str = ""  # a message id (or a value the same in every language), shown in the instructions


@dataclass(frozen=True)
class Kind:
    key: str
    title: str  # a message id: the sheet's name
    columns: tuple[Column, ...]
    description: str  # a message id: one line of the instructions

    @property
    def required_keys(self) -> set[str]:
        return {c.key for c in self.columns if c.required}


LAST = Column("last_name", N_("Last name"), example=N_("Ivanova"))
FIRST = Column("first_name", N_("First name"), example=N_("Maria"))
MIDDLE = Column("middle_name", N_("Middle name"), required=False, example=N_("Petrovna"))
EMAIL = Column("email", N_("Email"), example="m.ivanova@example.ru")
CLASS = Column("class_name", N_("Class"), example=N_("5A"))
SUBJECT = Column("subject", N_("Subject"), example=N_("Mathematics"))
TEACHER_EMAIL = Column("teacher_email", N_("Teacher's email"), example="a.petrov@example.ru")

CLASSES = Kind("classes", N_("Classes"), (
    CLASS,
    Column("grade_level", N_("Grade"), required=False, example="5"),
    Column("class_teacher_email", N_("Class teacher's email"), required=False, example="a.petrov@example.ru"),
), N_("Classes of the academic year: the name (5A), the grade (from the name when empty), the class teacher."))
SUBJECTS = Kind("subjects", N_("Subjects"), (SUBJECT,), N_("Subjects taught at the school, one per row."))
TEACHERS = Kind("teachers", N_("Teachers"), (LAST, FIRST, MIDDLE, EMAIL),
                N_("Teachers: the address is their login; new ones get an email to set a password."))
STUDENTS = Kind("students", N_("Students"), (
    LAST, FIRST, MIDDLE, EMAIL, CLASS,
    Column("birthday", N_("Date of birth"), required=False, example="14.03.2014"),
), N_("Students with their class of this academic year; a new class moves the student."))
PARENTS = Kind("parents", N_("Parents"), (
    LAST, FIRST, MIDDLE, EMAIL,
    Column("children", N_("Children's emails"), example="m.ivanova@example.ru"),
), N_("Parents and the email addresses of their children (separated by commas or spaces)."))
ASSIGNMENTS = Kind("assignments", N_("Teaching load"), (CLASS, SUBJECT, TEACHER_EMAIL),
                   N_("Who teaches which subject in which class."))
TIMETABLE = Kind("timetable", N_("Timetable"), (
    Column("term", N_("Term"), example=N_("1st quarter")),
    CLASS,
    Column("weekday", N_("Day of the week"), example=N_("Monday")),
    Column("starts", N_("Starts"), example="08:30"),
    Column("ends", N_("Ends"), example="09:15"),
    SUBJECT, TEACHER_EMAIL,
    Column("room", N_("Room"), required=False, example="12"),
), N_("The regular weekly timetable of a term; lessons are made for every week from today to the term's end."))

# In the order they are written: each may refer to the ones before it.
KINDS = (SUBJECTS, TEACHERS, CLASSES, STUDENTS, PARENTS, ASSIGNMENTS, TIMETABLE)
KINDS_BY_KEY = {k.key: k for k in KINDS}


# Cyrillic yo is written as ye as often as not.
_YO = str.maketrans({0x451: 0x435, 0x401: 0x415})


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(_YO)).strip().casefold()


def spellings(message: str) -> set[str]:
    """A header or sheet name as it may be written: in each language of the catalogue, normalized."""
    found = set()
    for locale in LOCALES:
        with use_locale(locale):
            found.add(normalize(gettext(message)))
    return found


def kind_by_title(title: str) -> Kind | None:
    wanted = normalize(title)
    return next((k for k in KINDS if wanted in spellings(k.title)), None)


def match_headers(kind: Kind, headers: list[str]) -> dict[str, int]:
    """Column key -> position, for the headers this kind knows."""
    positions: dict[str, int] = {}
    for column in kind.columns:
        names = spellings(column.header)
        for position, header in enumerate(headers):
            if normalize(header) in names and column.key not in positions:
                positions[column.key] = position
    return positions


def kind_by_headers(headers: list[str]) -> Kind | None:
    """The kind whose required columns are all there and which knows the most of the headers; None if unclear."""
    scored = []
    written = sum(1 for h in headers if h.strip())
    for kind in KINDS:
        positions = match_headers(kind, headers)
        # Most of the headers must be this kind's: a timetable with a mistyped header is not a list of subjects.
        if kind.required_keys <= set(positions) and 2 * len(positions) >= written:
            scored.append((len(positions), kind))
    scored.sort(key=lambda pair: -pair[0])
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        return None
    return scored[0][1]
