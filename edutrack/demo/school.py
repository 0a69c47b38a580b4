"""The demo school's people and classes, created once, and read back as a `SchoolState` on every run.

Teachers: each discipline's classes are shared out so that nobody teaches more than MAX_TEACHER_LOAD lessons a
week; a teacher teaches every subject of their discipline in their classes (the maths teacher of 7А teaches its
algebra, geometry and statistics). Every class has a class teacher who teaches it a core subject.
Families: two parents (some only a mother), a surname in each member's gender, children's patronymics from
the father's name; some families have two children in different classes, and the printed parent is one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import ClassStudent, ParentChild, School, SchoolClass, Subject, TeachingAssignment, WorkType
from edutrack.db.models import Profile, Role, User
from edutrack.demo import names
from edutrack.demo.plan import (
    CORE,
    DISCIPLINE_OF,
    DISCIPLINES,
    GRADE_PLANS,
    MAX_TEACHER_LOAD,
    SUBJECTS,
    WOMEN_SHARE,
    WORK_TYPES,
    DemoSize,
    grade_of,
)

SIBLINGS = 0.12  # share of children who have a brother or sister in another class of the school
ONE_PARENT = 0.15  # share of families with only the mother's account


@dataclass
class ClassInfo:
    index: int
    id: int
    name: str
    grade: int
    students: list[int]  # user ids, in the order they were created
    teacher_of: dict[str, int]  # subject -> teacher
    class_teacher: int | None


@dataclass
class SchoolState:
    """What every step needs to know about the school, read from the database."""

    school_id: int
    size: DemoSize
    admin_id: int
    subject_ids: dict[str, int]
    work_type_ids: dict[str, int]
    classes: list[ClassInfo]
    people: dict[int, names.Person]
    number: dict[int, int]  # user id -> the number in its login (student17@ -> 17): stable seeds
    parents_of: dict[int, list[int]]  # student -> parents, mother first
    logins: dict[str, str] = field(default_factory=dict)

    def teachers(self) -> list[int]:
        return sorted({t for c in self.classes for t in c.teacher_of.values()})


async def _ids(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
    result = await session.execute(insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def _staff(size: DemoSize) -> list[tuple[str, list[int]]]:
    """(discipline, class indexes) per teacher, each teacher's load at most MAX_TEACHER_LOAD when possible."""
    staff: list[tuple[str, list[int]]] = []
    for discipline, subjects in DISCIPLINES.items():
        load, mine = 0, list[int]()
        for ci, name in enumerate(size.classes):
            hours = sum(GRADE_PLANS[grade_of(name)].get(s, 0) for s in subjects)
            if not hours:
                continue
            if mine and load + hours > MAX_TEACHER_LOAD:
                staff.append((discipline, mine))
                load, mine = 0, []
            load += hours
            mine.append(ci)
        if mine:
            staff.append((discipline, mine))
    return staff


@dataclass
class _Draft:
    role: str
    email: str
    person: names.Person
    birthday: date | None = None


async def create_school(session: AsyncSession, size: DemoSize, rng: random.Random, password_hash: str,
                        start_year: int) -> int:
    """Insert the school, its subjects, work types, people and classes (not yet in any academic year)."""
    [school_id] = await _ids(session, School, [{
        "name": size.school_name, "address": "г. Москва, ул. Школьная, д. 1", "timezone": "Europe/Moscow"}])
    subject_ids = dict(zip(SUBJECTS, await _ids(session, Subject, [
        {"school_id": school_id, "name": n} for n in SUBJECTS]), strict=True))
    await session.execute(insert(WorkType), [{"school_id": school_id, "name": n, "weight": w}
                                             for n, w in WORK_TYPES.items()])
    d = size.email_domain
    drafts = [_Draft(Role.ADMIN.value, f"admin@{d}", names.Person("Галина", "Сергеевна", "Петрова", True))]
    staff = _staff(size)
    for n, (discipline, _) in enumerate(staff, 1):
        person = names.adult(rng, rng.random() < WOMEN_SHARE.get(discipline, 0.85))
        drafts.append(_Draft(Role.TEACHER.value, f"teacher{n}@{d}", person))
    families = _families(size, rng, start_year)
    for kind, number, person, birthday in families.people:
        drafts.append(_Draft(kind, f"{kind}{number}@{d}", person, birthday))
    ids = await _ids(session, User, [{"email": x.email, "password_hash": password_hash, "role": x.role,
                                      "school_id": school_id} for x in drafts])
    await session.execute(insert(Profile), [
        {"user_id": uid, "first_name": x.person.first, "last_name": x.person.last, "middle_name": x.person.middle,
         "birthday": x.birthday, "show_birthday": x.role == Role.STUDENT.value and rng.random() < 0.5}
        for uid, x in zip(ids, drafts, strict=True)])
    by_email = {x.email: uid for uid, x in zip(ids, drafts, strict=True)}
    class_ids = await _ids(session, SchoolClass, [
        {"school_id": school_id, "name": name, "grade_level": grade_of(name)} for name in size.classes])
    await session.execute(insert(ClassStudent), [
        {"class_id": class_ids[ci], "student_id": by_email[f"student{n}@{d}"]} for n, ci in families.enrolment])
    await session.execute(insert(ParentChild), [
        {"parent_id": by_email[f"parent{p}@{d}"], "child_id": by_email[f"student{s}@{d}"]}
        for s, p in families.links])
    teacher_of: dict[tuple[int, str], int] = {}
    for n, (discipline, classes) in enumerate(staff, 1):
        for ci in classes:
            for subject in DISCIPLINES[discipline]:
                if subject in GRADE_PLANS[grade_of(size.classes[ci])]:
                    teacher_of[(ci, subject)] = by_email[f"teacher{n}@{d}"]
    await session.execute(insert(TeachingAssignment), [
        {"class_id": class_ids[ci], "subject_id": subject_ids[s], "teacher_id": t}
        for (ci, s), t in teacher_of.items()])
    for ci, lead in enumerate(_class_teachers(size, teacher_of)):
        await session.execute(update(SchoolClass).where(SchoolClass.id == class_ids[ci])
                              .values(class_teacher_id=lead))
    return school_id


def _class_teachers(size: DemoSize, teacher_of: dict[tuple[int, str], int]) -> list[int]:
    """A different teacher for each class: the one who teaches it the most lessons of a core discipline."""
    taken: set[int] = set()
    leads = []
    for ci, name in enumerate(size.classes):
        plan = GRADE_PLANS[grade_of(name)]
        hours: dict[int, int] = {}
        for subject, h in plan.items():
            if DISCIPLINE_OF[subject] in CORE:
                hours[teacher_of[(ci, subject)]] = hours.get(teacher_of[(ci, subject)], 0) + h
        lead = min((t for t in hours if t not in taken), key=lambda t: (-hours[t], t))
        taken.add(lead)
        leads.append(lead)
    return leads


@dataclass
class _Family:
    surname: str  # masculine form
    father: str  # first name: the children's patronymic
    parents: list[int]  # login numbers, mother first
    grades: list[int]  # of the children


@dataclass
class _Families:
    people: list[tuple[str, int, names.Person, date | None]] = field(default_factory=list)
    enrolment: list[tuple[int, int]] = field(default_factory=list)  # (student number, class index)
    links: list[tuple[int, int]] = field(default_factory=list)  # (student number, parent number)
    families: list[_Family] = field(default_factory=list)
    parents: int = 0

    def new_family(self, rng: random.Random) -> _Family:
        surname = rng.choice(names.SURNAMES)
        father = names.adult(rng, False, surname)
        self.parents += 1
        family = _Family(surname, father.first, [self.parents], [])
        self.people.append((Role.PARENT.value, self.parents, names.adult(rng, True, surname), None))
        if rng.random() >= ONE_PARENT or not self.families:
            self.parents += 1
            family.parents.append(self.parents)
            self.people.append((Role.PARENT.value, self.parents, father, None))
        self.families.append(family)
        return family

    def family_for(self, rng: random.Random, grade: int, first_of_last_class: bool) -> _Family:
        if first_of_last_class:
            return self.families[0]  # the first child's elder brother or sister: the printed parent has two
        if rng.random() < SIBLINGS:
            # The first family is kept for the last class: its mother is the printed parent, with two children.
            only_children = [f for f in self.families[1:] if len(f.grades) == 1 and grade not in f.grades]
            if only_children:
                return rng.choice(only_children)
        return self.new_family(rng)


def _families(size: DemoSize, rng: random.Random, start_year: int) -> _Families:
    out = _Families()
    students = 0
    for ci, class_name in enumerate(size.classes):
        grade = grade_of(class_name)
        for k in range(size.students_per_class):
            students += 1
            family = out.family_for(rng, grade, ci == len(size.classes) - 1 and k == 0 and ci > 0)
            family.grades.append(grade)
            person = names.child(rng, rng.random() < 0.5, family.surname, family.father)
            born = date(start_year - grade - 7, 9, 1) + timedelta(days=rng.randrange(365))
            out.people.append((Role.STUDENT.value, students, person, born))
            out.enrolment.append((students, ci))
            out.links.extend((students, p) for p in family.parents)
    return out


async def load_state(session: AsyncSession, school_id: int, size: DemoSize) -> SchoolState:
    """The school as it is in the database now (people may have been edited in the demo: that is fine)."""
    subject_ids = dict((n, i) for i, n in await session.execute(
        select(Subject.id, Subject.name).where(Subject.school_id == school_id)))
    work_type_ids = dict((n, i) for i, n in await session.execute(
        select(WorkType.id, WorkType.name).where(WorkType.school_id == school_id)))
    rows = await session.execute(
        select(User.id, User.email, User.role, Profile.first_name, Profile.middle_name, Profile.last_name)
        .join(Profile, Profile.user_id == User.id).where(User.school_id == school_id))
    people: dict[int, names.Person] = {}
    number: dict[int, int] = {}
    admin_id = 0
    for uid, email, role, first, middle, last in rows:
        people[uid] = names.Person(first, middle or "", last, (middle or "").endswith(("вна", "чна")))
        digits = "".join(ch for ch in email.split("@")[0] if ch.isdigit())
        number[uid] = int(digits or 0)
        if role == Role.ADMIN.value and email == f"admin@{size.email_domain}":
            admin_id = uid
    by_name = {name: ci for ci, name in enumerate(size.classes)}
    classes: list[ClassInfo] = []
    found = await session.execute(select(SchoolClass.id, SchoolClass.name, SchoolClass.class_teacher_id)
                                  .where(SchoolClass.school_id == school_id))
    for class_id, name, lead in sorted(found, key=lambda r: by_name.get(r.name, len(by_name))):
        if name in by_name:
            classes.append(ClassInfo(by_name[name], class_id, name, grade_of(name), [], {}, lead))
    of_id = {c.id: c for c in classes}
    for class_id, student in await session.execute(
            select(ClassStudent.class_id, ClassStudent.student_id).where(ClassStudent.class_id.in_(list(of_id)))):
        if student in people:  # someone of another school enrolled in the demo is left alone
            of_id[class_id].students.append(student)
    for c in classes:
        c.students.sort(key=lambda s: number.get(s, 0))
    subject_of = {i: n for n, i in subject_ids.items()}
    for class_id, subject_id, teacher in await session.execute(
            select(TeachingAssignment.class_id, TeachingAssignment.subject_id, TeachingAssignment.teacher_id)
            .where(TeachingAssignment.class_id.in_(list(of_id))).order_by(TeachingAssignment.id)):
        of_id[class_id].teacher_of.setdefault(subject_of[subject_id], teacher)
    parents_of: dict[int, list[int]] = {}
    for parent, child in await session.execute(
            select(ParentChild.parent_id, ParentChild.child_id).where(ParentChild.child_id.in_(list(number)))):
        parents_of.setdefault(child, []).append(parent)
    for kids in parents_of.values():
        kids.sort(key=lambda p: (not people[p].is_female, number.get(p, 0)))
    state = SchoolState(school_id, size, admin_id, subject_ids, work_type_ids, classes, people, number, parents_of)
    state.logins = _logins(state)
    return state


def _logins(state: SchoolState) -> dict[str, str]:
    """The accounts worth trying first: the admin, the first class's class teacher, its first student, and that
    student's mother, who has a second child in another class."""
    d = state.size.email_domain
    first = state.classes[0]
    lead = first.class_teacher or next(iter(first.teacher_of.values()))
    student = first.students[0]
    parent = state.parents_of[student][0]
    return {"admin": f"admin@{d}", "teacher": f"teacher{state.number[lead]}@{d}",
            "student": f"student{state.number[student]}@{d}", "parent": f"parent{state.number[parent]}@{d}"}
