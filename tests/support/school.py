"""Build a whole school for a test in a handful of bulk INSERTs (no HTTP, no per-row round trips).

    school = await build_school(ctx, classes=2, students_per_class=3)
    teacher = await factory.login(school.teacher_of(school.classes[0].id, school.subject_ids["Математика"]))

Every user gets the factories' DEFAULT_PASSWORD, so `factory.login(user)` works for any of them. The password is
hashed once and shared: hashing per user would dominate the run time.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from edutrack.context import AppContext
from edutrack.db.diary import (
    AcademicYear,
    ClassStudent,
    Lesson,
    ParentChild,
    School,
    SchoolClass,
    Subject,
    TeachingAssignment,
    Term,
    WorkType,
)
from edutrack.db.models import Profile, User
from tests.support.factories import DEFAULT_PASSWORD

DEFAULT_SUBJECTS = ("Математика", "Русский язык", "История")
# name -> weight in the weighted average
DEFAULT_WORK_TYPES = {"Контрольная работа": 3, "Самостоятельная работа": 2, "Домашняя работа": 1, "Ответ на уроке": 1}


@dataclass
class BuiltClass:
    id: int
    name: str
    student_ids: list[int]
    # subject id -> teacher user id (one teacher per subject and class)
    teacher_by_subject: dict[int, int]
    class_teacher_id: int | None


@dataclass
class BuiltSchool:
    id: int
    name: str
    year_id: int
    term_ids: list[int]
    terms: list[tuple[date, date]]
    subject_ids: dict[str, int]
    work_type_ids: dict[str, int]
    classes: list[BuiltClass]
    admin: User
    users: dict[int, User] = field(default_factory=dict)
    parents_of: dict[int, list[int]] = field(default_factory=dict)
    teacher_ids: list[int] = field(default_factory=list)

    def user(self, user_id: int) -> User:
        return self.users[user_id]

    def student(self, class_index: int = 0, n: int = 0) -> User:
        return self.users[self.classes[class_index].student_ids[n]]

    def parents(self, student_id: int) -> list[User]:
        return [self.users[p] for p in self.parents_of.get(student_id, [])]

    def teacher_of(self, class_id: int, subject_id: int) -> User:
        cls = next(c for c in self.classes if c.id == class_id)
        return self.users[cls.teacher_by_subject[subject_id]]

    @property
    def teachers(self) -> list[User]:
        return [self.users[t] for t in self.teacher_ids]

    def subject(self, n: int = 0) -> int:
        return list(self.subject_ids.values())[n]


_seq = itertools.count(1)


async def build_school(
    ctx: AppContext,
    *,
    name: str | None = None,
    classes: int = 2,
    students_per_class: int = 3,
    parents_per_student: int = 2,
    subjects: tuple[str, ...] = DEFAULT_SUBJECTS,
    work_types: dict[str, int] | None = None,
    terms: int = 2,
    year_start: date = date(2026, 9, 1),
    shared_teacher: bool = False,
    min_marks_for_attestation: int | None = None,
    rounding_threshold: float | None = None,
) -> BuiltSchool:
    """One school with a year split into `terms` equal terms, `subjects`, `classes` classes (grade 5 upward)
    each with one teacher per subject (or one teacher for everything when `shared_teacher`), enrolled
    students and `parents_per_student` parents each. The first teacher of each class is its class teacher."""
    tag = f"{next(_seq)}{uuid.uuid4().hex[:6]}"
    password_hash = await ctx.passwords.hash(DEFAULT_PASSWORD)
    work_types = work_types if work_types is not None else DEFAULT_WORK_TYPES
    year_end = date(year_start.year + 1, 5, 31)
    async with ctx.sessions.begin() as session:
        policy: dict[str, object] = {}
        if min_marks_for_attestation is not None:
            policy["min_marks_for_attestation"] = min_marks_for_attestation
        if rounding_threshold is not None:
            policy["rounding_threshold"] = rounding_threshold
        school_id = (await session.execute(
            insert(School).returning(School.id),
            [{"name": name or f"Школа {tag}", **policy}],
        )).scalar_one()
        year_id = (await session.execute(
            insert(AcademicYear).returning(AcademicYear.id),
            [{"school_id": school_id, "name": f"{year_start.year}/{year_start.year + 1}",
              "starts_on": year_start, "ends_on": year_end}],
        )).scalar_one()
        span = (year_end - year_start).days // terms
        term_dates = []
        for i in range(terms):
            starts = year_start + timedelta(days=span * i)
            ends = year_end if i == terms - 1 else starts + timedelta(days=span - 1)
            term_dates.append((starts, ends))
        term_ids = list((await session.execute(
            insert(Term).returning(Term.id, sort_by_parameter_order=True),
            [{"school_id": school_id, "academic_year_id": year_id, "name": f"{i + 1} четверть",
              "starts_on": s, "ends_on": e} for i, (s, e) in enumerate(term_dates)],
        )).scalars())
        subject_rows = list((await session.execute(
            insert(Subject).returning(Subject.id, sort_by_parameter_order=True),
            [{"school_id": school_id, "name": s} for s in subjects],
        )).scalars())
        subject_ids = dict(zip(subjects, subject_rows, strict=True))
        wt_ids = list((await session.execute(
            insert(WorkType).returning(WorkType.id, sort_by_parameter_order=True),
            [{"school_id": school_id, "name": n, "weight": w} for n, w in work_types.items()],
        )).scalars())
        work_type_ids = dict(zip(work_types, wt_ids, strict=True))

        # Users: admin, teachers, students, parents in one INSERT ... RETURNING.
        people: list[dict[str, object]] = [{"role": "admin", "first": "Анна", "last": "Администраторова"}]
        n_teachers = classes if shared_teacher else classes * len(subjects)
        people += [{"role": "teacher", "first": f"Учитель{i}", "last": "Педагогов"} for i in range(n_teachers)]
        n_students = classes * students_per_class
        people += [{"role": "student", "first": f"Ученик{i}", "last": "Школьников"} for i in range(n_students)]
        n_parents = n_students * parents_per_student
        people += [{"role": "parent", "first": f"Родитель{i}", "last": "Школьников"} for i in range(n_parents)]
        users = list((await session.execute(
            insert(User).returning(User, sort_by_parameter_order=True),
            [{"email": f"{p['role']}{i}.{tag}@example.test", "password_hash": password_hash,
              "role": p["role"], "school_id": school_id} for i, p in enumerate(people)],
        )).scalars())
        await session.execute(insert(Profile), [
            {"user_id": u.id, "first_name": p["first"], "last_name": p["last"]}
            for u, p in zip(users, people, strict=True)
        ])
        admin = users[0]
        teachers = users[1:1 + n_teachers]
        students = users[1 + n_teachers:1 + n_teachers + n_students]
        parents = users[1 + n_teachers + n_students:]

        class_ids = list((await session.execute(
            insert(SchoolClass).returning(SchoolClass.id, sort_by_parameter_order=True),
            [{"school_id": school_id, "academic_year_id": year_id, "name": f"{5 + i // 4}{'АБВГ'[i % 4]}",
              "grade_level": min(5 + i // 4, 11),
              "class_teacher_id": teachers[i if shared_teacher else i * len(subjects)].id}
             for i in range(classes)],
        )).scalars())
        built: list[BuiltClass] = []
        assignments: list[dict[str, int]] = []
        enrolments: list[dict[str, int]] = []
        links: list[dict[str, int]] = []
        parents_of: dict[int, list[int]] = {}
        for ci, class_id in enumerate(class_ids):
            by_subject = {}
            for si, subject_id in enumerate(subject_rows):
                teacher = teachers[ci] if shared_teacher else teachers[ci * len(subjects) + si]
                by_subject[subject_id] = teacher.id
                assignments.append({"class_id": class_id, "subject_id": subject_id, "teacher_id": teacher.id})
            class_students = students[ci * students_per_class:(ci + 1) * students_per_class]
            for st in class_students:
                enrolments.append({"class_id": class_id, "student_id": st.id})
            built.append(BuiltClass(class_id, f"class{ci}", [s.id for s in class_students], by_subject,
                                    teachers[ci if shared_teacher else ci * len(subjects)].id))
        for si, st in enumerate(students):
            mine = parents[si * parents_per_student:(si + 1) * parents_per_student]
            parents_of[st.id] = [p.id for p in mine]
            links += [{"parent_id": p.id, "child_id": st.id} for p in mine]
        if assignments:
            await session.execute(insert(TeachingAssignment), assignments)
        if enrolments:
            await session.execute(insert(ClassStudent), enrolments)
        if links:
            await session.execute(insert(ParentChild), links)
    return BuiltSchool(
        id=school_id, name=name or f"Школа {tag}", year_id=year_id, term_ids=term_ids, terms=term_dates,
        subject_ids=subject_ids, work_type_ids=work_type_ids, classes=built, admin=admin,
        users={u.id: u for u in users}, parents_of=parents_of, teacher_ids=[t.id for t in teachers],
    )


async def add_lessons(
    ctx: AppContext,
    school: BuiltSchool,
    class_id: int,
    subject_id: int,
    days: list[date],
    *,
    hour: int = 9,
    room: str | None = None,
) -> list[int]:
    """One 45-minute lesson per day at `hour`:00 UTC for the class and subject, taught by its teacher.
    Callers keep hours distinct per class/teacher: the schedule's exclusion constraints apply."""
    teacher_id = next(c for c in school.classes if c.id == class_id).teacher_by_subject[subject_id]
    rows = []
    for day in days:
        starts = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
        rows.append({"school_id": school.id, "class_id": class_id, "subject_id": subject_id,
                     "teacher_id": teacher_id, "room": room, "starts_at": starts,
                     "ends_at": starts + timedelta(minutes=45)})
    async with ctx.sessions.begin() as session:
        return list((await session.execute(
            insert(Lesson).returning(Lesson.id, sort_by_parameter_order=True), rows
        )).scalars())
