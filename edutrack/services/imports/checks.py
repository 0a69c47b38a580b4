"""The checks of each kind but the timetable: every problem of every row, and the plan of what would change.

Kinds are checked in the order of `formats.KINDS`, so a row may refer to what an earlier sheet of the same file
defines (a student's class, a parent's child, a class teacher) as well as to what the school already has.
Empty optional cells leave what the database has as it is; nothing is ever deleted by these kinds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from edutrack.db.models import Role
from edutrack.i18n import _
from edutrack.services.imports import cells
from edutrack.services.imports.plan import FileNames, Person, Plan, Problems, SchoolState, key
from edutrack.services.imports.reading import Cell, Sheet

T = TypeVar("T")
NAME_LIMIT = 100
GRADE_IN_NAME = re.compile(r"^(\d{1,2})")


class Checker:
    def __init__(self, state: SchoolState, plan: Plan, problems: Problems) -> None:
        self.state = state
        self.plan = plan
        self.problems = problems
        self.names = FileNames()

    # --- cells ------------------------------------------------------------------------------------------

    def cell(self, sheet: Sheet, row: int, values: dict[str, Cell], name: str,
             parse: Callable[[Cell], T]) -> T | None:
        """The parsed cell; None when it is empty (a problem if the column is required) or wrong (a problem)."""
        value = values.get(name)
        if value is None:
            if name in sheet.kind.required_keys and name in sheet.positions:
                self.problems.add(sheet, row, name, _("The cell is empty; it must be filled in."))
            return None
        try:
            return parse(value)
        except cells.BadCell as exc:
            self.problems.add(sheet, row, name, str(exc))
            return None

    def missing_columns(self, sheet: Sheet) -> bool:
        missing = [c for c in sheet.kind.columns if c.required and c.key not in sheet.positions]
        for column in missing:
            self.problems.add(sheet, 1, column.key, _("There is no column \u00ab%(column)s\u00bb.",
                                                      column=_(column.header)))
        if sheet.too_many_rows:
            self.problems.add(sheet, 1, None, _("Too many rows: split the file into files of up to 20,000 rows."))
        return bool(missing)

    @staticmethod
    def _name(limit: int = NAME_LIMIT) -> Callable[[Cell], str]:
        return lambda value: cells.text(value, limit)

    # --- people -----------------------------------------------------------------------------------------

    def person(self, sheet: Sheet, row: int, values: dict[str, Cell], role: str) -> Person | None:
        """The row's person, checked against the file and the school; registered in `names` once valid."""
        last = self.cell(sheet, row, values, "last_name", self._name())
        first = self.cell(sheet, row, values, "first_name", self._name())
        middle = self.cell(sheet, row, values, "middle_name", self._name())
        address = self.cell(sheet, row, values, "email", cells.email)
        birthday = self.cell(sheet, row, values, "birthday", cells.day) if "birthday" in sheet.positions else None
        if address is None:
            return None
        earlier = self.names.people.get(address)
        if earlier is not None:
            self.problems.add(sheet, row, "email", _("The address %(email)s is already in %(where)s.",
                                                     email=address, where=earlier.where))
            return None
        existing = self.state.people.get(address)
        if existing is not None and (existing.role != role or existing.school_id not in (
                self.state.school_id, *((None,) if role == Role.PARENT.value else ()))):
            self.problems.add(sheet, row, "email", _(
                "The address %(email)s belongs to an account of another role or another school.", email=address))
            return None
        if last is None or first is None:
            return None
        person = Person(address, role, first, last, middle, birthday, where=_(
            "sheet \u00ab%(sheet)s\u00bb, row %(row)s", sheet=sheet.name, row=row))
        if existing is not None:
            person.id, person.school_id = existing.id, existing.school_id
        self.names.people[address] = person
        return person

    def plan_person(self, person: Person) -> bool:
        """Plan the account's creation or the change of its profile; True if it changes."""
        existing = self.state.people.get(person.email)
        if existing is None:
            self.plan.new_people.append(person)
            return True
        changes = {name: getattr(person, name) for name in ("first_name", "last_name", "middle_name", "birthday")
                   if getattr(person, name) is not None and getattr(person, name) != getattr(existing, name)}
        if changes:
            assert existing.id is not None
            self.plan.changed_people.append((existing.id, changes))
        return bool(changes)

    def teachers(self, sheet: Sheet) -> None:
        if self.missing_columns(sheet):
            return
        for row, values in sheet.rows:
            person = self.person(sheet, row, values, Role.TEACHER.value)
            if person is not None:
                changed = self.plan_person(person)
                self.plan.count("teachers", "created" if person.id is None else "updated" if changed else "unchanged")

    def students(self, sheet: Sheet) -> None:
        if self.missing_columns(sheet):
            return
        for row, values in sheet.rows:
            class_name = self.cell(sheet, row, values, "class_name", self._name(20))
            known_class = class_name is not None and self.class_known(sheet, row, "class_name", class_name)
            person = self.person(sheet, row, values, Role.STUDENT.value)
            if person is None or not known_class:
                continue
            assert class_name is not None
            changed = self.plan_person(person)
            current = self.state.classes.get(key(class_name))
            if person.id is None or current is None or self.state.enrolments.get(person.id, set()) != {current.id}:
                self.plan.enrol.append((person.email, class_name))
                changed = True
            self.plan.count("students", "created" if person.id is None else "updated" if changed else "unchanged")

    def parents(self, sheet: Sheet) -> None:
        if self.missing_columns(sheet):
            return
        for row, values in sheet.rows:
            children = self.cell(sheet, row, values, "children", cells.emails) or []
            person = self.person(sheet, row, values, Role.PARENT.value)
            found = [c for c in children if self.student_known(sheet, row, c)]
            if person is None or len(found) != len(children):
                continue
            changed = self.plan_person(person)
            for child in found:
                child_id = self.state.people[child].id if child in self.state.people else None
                if person.id is None or child_id is None or (person.id, child_id) not in self.state.links:
                    self.plan.new_links.append((person.email, child))
                    changed = True
            self.plan.count("parents", "created" if person.id is None else "updated" if changed else "unchanged")

    def student_known(self, sheet: Sheet, row: int, address: str) -> bool:
        found = self.names.people.get(address) or self.state.people.get(address)
        if found is None or found.role != Role.STUDENT.value or (
                found.id is not None and found.school_id != self.state.school_id):
            self.problems.add(sheet, row, "children", _(
                "No student with the address %(email)s in this file or in the school.", email=address))
            return False
        return True

    def teacher_known(self, sheet: Sheet, row: int, column: str, address: str) -> Person | None:
        found = self.names.people.get(address) or self.state.people.get(address)
        if found is None or found.role != Role.TEACHER.value or (
                found.id is not None and found.school_id != self.state.school_id):
            self.problems.add(sheet, row, column, _(
                "No teacher with the address %(email)s on the teachers' sheet or in the school.", email=address))
            return None
        return found

    def class_known(self, sheet: Sheet, row: int, column: str, name: str) -> bool:
        if key(name) in self.names.classes or key(name) in self.state.classes:
            return True
        if self.state.year_id is None:
            self.problems.add(sheet, row, column, _("The school has no academic year for classes: create it first."))
        else:
            self.problems.add(sheet, row, column, _(
                "Unknown class %(name)s of %(year)s: add it to the classes' sheet or create it first.",
                name=name, year=self.state.year_name))
        return False

    def subject_known(self, sheet: Sheet, row: int, name: str) -> bool:
        if key(name) in self.names.subjects or key(name) in self.state.subjects:
            return True
        self.problems.add(sheet, row, "subject", _(
            "Unknown subject %(name)s: add it to the subjects' sheet or create it first.", name=name))
        return False

    # --- the school's frame ------------------------------------------------------------------------------

    def first_time(self, sheet: Sheet, row: int, column: str, name: str, seen: dict[str, int]) -> bool:
        """False (and a problem) when an earlier row of the sheet has the same name."""
        if key(name) in seen:
            self.problems.add(sheet, row, column, _("%(name)s is already in row %(row)s.", name=name,
                                                    row=seen[key(name)]))
            return False
        seen[key(name)] = row
        return True

    def subjects(self, sheet: Sheet) -> None:
        if self.missing_columns(sheet):
            return
        seen: dict[str, int] = {}
        for row, values in sheet.rows:
            name = self.cell(sheet, row, values, "subject", self._name())
            if name is None or not self.first_time(sheet, row, "subject", name, seen):
                continue
            self.names.subjects[key(name)] = name
            if key(name) in self.state.subjects:
                self.plan.count("subjects", "unchanged")
            else:
                self.plan.new_subjects.append(name)
                self.plan.count("subjects", "created")

    def classes(self, sheet: Sheet) -> None:
        if self.missing_columns(sheet):
            return
        seen: dict[str, int] = {}
        for row, values in sheet.rows:
            self._class_row(sheet, row, values, seen)

    def _class_row(self, sheet: Sheet, row: int, values: dict[str, Cell], seen: dict[str, int]) -> None:
        name = self.cell(sheet, row, values, "class_name", self._name(20))
        grade = self.cell(sheet, row, values, "grade_level", lambda v: cells.whole(v, 1, 11))
        teacher_email = self.cell(sheet, row, values, "class_teacher_email", cells.email)
        if name is None or not self.first_time(sheet, row, "class_name", name, seen):
            return
        if self.state.year_id is None:
            self.problems.add(sheet, row, "class_name", _(
                "The school has no academic year for classes: create it first."))
            return
        if grade is None and values.get("grade_level") is None:
            match = GRADE_IN_NAME.match(name)
            grade = int(match[1]) if match and 1 <= int(match[1]) <= 11 else None
            if grade is None:
                self.problems.add(sheet, row, "grade_level", _(
                    "The grade cannot be read from the name %(name)s: fill in the grade.", name=name))
                return
        if teacher_email is not None and self.teacher_known(sheet, row, "class_teacher_email", teacher_email) is None:
            return
        self.names.classes[key(name)] = name
        self._plan_class(name, grade, teacher_email)

    def _plan_class(self, name: str, grade: int | None, teacher_email: str | None) -> None:
        existing = self.state.classes.get(key(name))
        if existing is None:
            self.plan.new_classes.append({"name": name, "grade_level": grade, "class_teacher_email": teacher_email})
            self.plan.count("classes", "created")
            return
        changes: dict[str, Any] = {}
        if grade is not None and grade != existing.grade_level:
            changes["grade_level"] = grade
        if teacher_email is not None:
            teacher = self.state.people.get(teacher_email)
            if teacher is None or teacher.id != existing.class_teacher_id:
                changes["class_teacher_email"] = teacher_email
        if changes:
            self.plan.changed_classes.append((existing.id, changes))
        self.plan.count("classes", "updated" if changes else "unchanged")

    def assignments(self, sheet: Sheet) -> None:
        if self.missing_columns(sheet):
            return
        seen: dict[tuple[str, str, str], int] = {}
        for row, values in sheet.rows:
            class_name = self.cell(sheet, row, values, "class_name", self._name(20))
            subject = self.cell(sheet, row, values, "subject", self._name())
            teacher_email = self.cell(sheet, row, values, "teacher_email", cells.email)
            if class_name is None or subject is None or teacher_email is None:
                continue
            known = [self.class_known(sheet, row, "class_name", class_name), self.subject_known(sheet, row, subject),
                     self.teacher_known(sheet, row, "teacher_email", teacher_email) is not None]
            if not all(known):
                continue
            triple = (key(class_name), key(subject), teacher_email)
            if triple in seen:
                self.problems.add(sheet, row, "teacher_email", _("The same assignment is already in row %(row)s.",
                                                                 row=seen[triple]))
                continue
            seen[triple] = row
            self.names.assignments.add(triple)
            if self.assignment_exists(*triple):
                self.plan.count("assignments", "unchanged")
            else:
                self.plan.new_assignments.append((class_name, subject, teacher_email))
                self.plan.count("assignments", "created")

    def assignment_exists(self, class_key: str, subject_key: str, teacher_email: str) -> bool:
        """In the database already (a row of this file that adds it does not count)."""
        cls = self.state.classes.get(class_key)
        subject = self.state.subjects.get(subject_key)
        teacher = self.state.people.get(teacher_email)
        return (cls is not None and subject is not None and teacher is not None and teacher.id is not None
                and (cls.id, subject.id, teacher.id) in self.state.assignments)
