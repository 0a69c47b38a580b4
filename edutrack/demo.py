"""`edutrack load-demo`: a realistic demo school, built idempotently in one transaction.

Full size: 12 classes (5А..10Б) of 25 students, two parents each, 28 teachers over 12 subjects, a first quarter
of schedule at 30 lessons a week per class (timetable built slot by slot with a bipartite matching, so no class,
teacher or room is double-booked), grades and attendance for every lesson. `--small`: 2 classes of 8 students
and two weeks of schedule (for tests).

Idempotent: the school is created in one transaction under an advisory lock; if it already exists nothing is
written and the logins are printed again. Bulk rows go in with executemany (users, lessons: ids are needed)
and COPY (grades, attendance). Historical data sends no notifications: nobody should get 20 000 emails.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

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
from edutrack.settings import Settings

DEMO_PASSWORD = "edutrack-demo-2026"  # noqa: S105 - printed to the user: it is a demo
LOCK_KEY = 0x45445544454D4F  # pg_advisory_xact_lock key: one loader at a time

# subject -> lessons per week (sums to 30)
SUBJECT_HOURS = {
    "Математика": 5, "Русский язык": 4, "Литература": 3, "Английский язык": 3, "История": 2,
    "Обществознание": 1, "География": 2, "Биология": 2, "Физика": 2, "Химия": 2, "Информатика": 1,
    "Физкультура": 3,
}
WORK_TYPES = {"Контрольная работа": 3, "Самостоятельная работа": 2, "Домашняя работа": 1, "Ответ на уроке": 1}
# Lesson start times in Moscow (UTC+3), 45 minutes each.
SLOTS_MSK = ((8, 30), (9, 25), (10, 20), (11, 25), (12, 25), (13, 20))
MSK = timedelta(hours=3)
MAX_TEACHER_LOAD = 16  # lessons a week per teacher when sizing the staff

MALE = ["Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём", "Илья", "Кирилл", "Михаил",
        "Никита", "Матвей", "Роман", "Егор", "Арсений", "Иван", "Денис", "Евгений", "Тимофей", "Владимир",
        "Павел", "Глеб", "Даниил", "Марк", "Лев"]
FEMALE = ["Анастасия", "Мария", "Анна", "Виктория", "Екатерина", "Наталья", "Марина", "Полина", "София",
          "Дарья", "Алиса", "Ксения", "Александра", "Елена", "Ольга", "Татьяна", "Ирина", "Вероника", "Варвара",
          "Елизавета", "Ульяна", "Алёна", "Юлия", "Светлана", "Маргарита"]
SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
            "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов",
            "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв",
            "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов",
            "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков", "Сорокин",
            "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов", "Жуков", "Баранов", "Филиппов",
            "Комаров", "Давыдов", "Беляев", "Герасимов", "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов",
            "Марков", "Миронов", "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов", "Гаврилов",
            "Тихонов", "Казаков", "Афанасьев", "Данилов", "Савельев", "Тимофеев", "Фомин", "Чернов", "Абрамов",
            "Мартынов", "Ефимов", "Федотов", "Щербаков", "Назаров", "Калинин", "Исаев", "Чернышёв", "Быков",
            "Маслов", "Родионов", "Коновалов", "Лазарев", "Воронин", "Климов", "Филатов", "Пономарёв", "Голубев",
            "Кудрявцев", "Прохоров", "Наумов", "Потапов", "Журавлёв", "Овчинников", "Трофимов", "Леонов",
            "Соболев", "Ермаков", "Колесников", "Гончаров", "Емельянов", "Никифоров", "Грачёв", "Котов"]
TOPICS = {
    "Математика": ["Дроби", "Проценты", "Уравнения", "Пропорции", "Координатная плоскость", "Степени"],
    "Русский язык": ["Причастный оборот", "Правописание -н- и -нн-", "Сложные предложения", "Орфоэпия"],
    "Литература": ["А. С. Пушкин", "Н. В. Гоголь", "Л. Н. Толстой", "Поэзия Серебряного века"],
    "Английский язык": ["Present Perfect", "Past Simple", "Travelling", "My school"],
}


def female(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин")):
        return surname + "а"
    if surname.endswith("ский"):
        return surname[:-2] + "ая"
    return surname


# Fathers' names whose patronymics do not follow the regular endings: (male, female).
IRREGULAR_PATRONYMICS = {"Илья": ("Ильич", "Ильинична"), "Лев": ("Львович", "Львовна"),
                         "Никита": ("Никитич", "Никитична"), "Павел": ("Павлович", "Павловна"),
                         "Михаил": ("Михайлович", "Михайловна")}


def patronymic(father: str, is_female: bool) -> str:
    if father in IRREGULAR_PATRONYMICS:
        return IRREGULAR_PATRONYMICS[father][is_female]
    if father.endswith("ий"):  # Дмитрий -> Дмитриевич, but Арсений/Евгений -> Арсеньевич/Евгеньевич
        stem = father[:-2] + ("и" if father[-3] == "р" else "ь")
        return stem + ("евна" if is_female else "евич")
    if father.endswith("й"):  # Сергей -> Сергеевич, Андрей -> Андреевич, Тимофей -> Тимофеевич
        return father[:-1] + ("евна" if is_female else "евич")
    return father + ("овна" if is_female else "ович")


@dataclass(frozen=True)
class DemoSize:
    classes: int
    students_per_class: int
    weeks: int
    school_name: str
    email_domain: str


FULL = DemoSize(classes=12, students_per_class=25, weeks=8, school_name="Демо-школа № 1",
                email_domain="demo.edutrack.example")
SMALL = DemoSize(classes=2, students_per_class=8, weeks=2, school_name="Демо-школа (малая)",
                 email_domain="small.demo.edutrack.example")


@dataclass
class DemoResult:
    school_id: int
    created: bool
    logins: dict[str, str]
    password: str = DEMO_PASSWORD
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class Progress:
    """A one-line progress bar on stderr (no dependency; rewritten in place with \\r on a terminal)."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def step(self, label: str) -> None:
        self.done += 1
        filled = self.width * self.done // self.total
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {100 * self.done // self.total:3d}% {label}"
        if self.tty:
            self.stream.write("\r" + line.ljust(self.width + 40))
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def logins_of(size: DemoSize) -> dict[str, str]:
    d = size.email_domain
    return {"admin": f"admin@{d}", "teacher": f"teacher1@{d}", "student": f"student1@{d}",
            "parent": f"parent1@{d}"}


async def load_demo(ctx: AppContext, *, small: bool = False, seed: int = 2026,
                    progress_stream: TextIO | None = None) -> DemoResult:
    size = SMALL if small else FULL
    started = time.perf_counter()
    progress = Progress(8, progress_stream)
    rng = random.Random(seed)
    async with ctx.sessions.begin() as session:
        await session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
        existing = (await session.execute(select(School.id).where(School.name == size.school_name))).scalar()
        if existing is not None:
            progress.done = progress.total - 1
            progress.step("already loaded: nothing to do")
            return DemoResult(existing, False, logins_of(size), seconds=time.perf_counter() - started)
        password_hash = await ctx.passwords.hash(DEMO_PASSWORD)
        builder = _Builder(session, rng, size, password_hash)
        await builder.calendar()
        progress.step("school, year, terms, subjects")
        await builder.people()
        progress.step(f"{builder.counts['users']} users")
        await builder.classes()
        progress.step(f"{size.classes} classes, enrolment, parents, teaching assignments")
        timetable = builder.timetable()
        progress.step("timetable")
        await builder.lessons(timetable)
        progress.step(f"{builder.counts['lessons']} lessons")
        await builder.grades()
        progress.step(f"{builder.counts['grades']} grades")
        await builder.attendance()
        progress.step(f"{builder.counts['attendance']} attendance marks")
        school_id = builder.school_id
    progress.step("committed")
    return DemoResult(school_id, True, logins_of(size), counts=builder.counts,
                      seconds=time.perf_counter() - started)


@dataclass
class _Lesson:
    id: int
    class_index: int
    subject: str
    starts_at: datetime


class _Builder:
    def __init__(self, session: AsyncSession, rng: random.Random, size: DemoSize, password_hash: str) -> None:
        self.s = session
        self.rng = rng
        self.size = size
        self.password_hash = password_hash
        self.counts: dict[str, int] = {}
        self.school_id = 0
        self.year_id = 0
        self.term_starts = date(2026, 9, 1)
        self.subject_ids: dict[str, int] = {}
        self.work_type_ids: dict[str, int] = {}
        self.admin_id = 0
        self.teachers: dict[str, list[int]] = {}  # subject -> teacher ids
        self.students: list[list[int]] = []  # per class
        self.class_ids: list[int] = []
        self.teacher_of: dict[tuple[int, str], int] = {}  # (class index, subject) -> teacher
        self.ability: dict[int, float] = {}
        self.absence: dict[int, float] = {}
        self.lesson_rows: list[_Lesson] = []

    async def _ids(self, model: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
        result = await self.s.execute(insert(model).returning(model.id, sort_by_parameter_order=True), rows)
        return list(result.scalars())

    async def calendar(self) -> None:
        [self.school_id] = await self._ids(School, [{
            "name": self.size.school_name, "address": "г. Москва, ул. Школьная, д. 1", "timezone": "Europe/Moscow"}])
        [self.year_id] = await self._ids(AcademicYear, [{
            "school_id": self.school_id, "name": "2026/2027", "starts_on": date(2026, 9, 1),
            "ends_on": date(2027, 5, 31)}])
        terms = [("1 четверть", date(2026, 9, 1), date(2026, 10, 25)),
                 ("2 четверть", date(2026, 11, 3), date(2026, 12, 28)),
                 ("3 четверть", date(2027, 1, 11), date(2027, 3, 21)),
                 ("4 четверть", date(2027, 3, 30), date(2027, 5, 31))]
        self.term_ids = await self._ids(Term, [
            {"school_id": self.school_id, "academic_year_id": self.year_id, "name": n, "starts_on": s, "ends_on": e}
            for n, s, e in terms])
        ids = await self._ids(Subject, [{"school_id": self.school_id, "name": n} for n in SUBJECT_HOURS])
        self.subject_ids = dict(zip(SUBJECT_HOURS, ids, strict=True))
        ids = await self._ids(WorkType, [{"school_id": self.school_id, "name": n, "weight": w}
                                         for n, w in WORK_TYPES.items()])
        self.work_type_ids = dict(zip(WORK_TYPES, ids, strict=True))

    def _person(self, is_female: bool, surname: str | None = None) -> tuple[str, str]:
        last = surname or self.rng.choice(SURNAMES)
        if is_female:
            return self.rng.choice(FEMALE), female(last)
        return self.rng.choice(MALE), last

    async def people(self) -> None:
        d = self.size.email_domain
        people: list[dict[str, Any]] = []

        def add(role: str, email: str, first: str, last: str, middle: str | None = None,
                birthday: date | None = None) -> None:
            people.append({"role": role, "email": email, "first": first, "last": last, "middle": middle,
                           "birthday": birthday})

        add("admin", f"admin@{d}", "Галина", "Петрова", "Сергеевна")
        n = 0
        for subject, hours in SUBJECT_HOURS.items():
            staff = max(1, -(-hours * self.size.classes // MAX_TEACHER_LOAD))
            self.teachers[subject] = []
            for _ in range(staff):
                n += 1
                is_female = self.rng.random() < 0.75
                first, last = self._person(is_female)
                add("teacher", f"teacher{n}@{d}", first, last, patronymic(self.rng.choice(MALE), is_female))
                self.teachers[subject].append(n)  # placeholder: index into teachers, resolved below
        s = p = 0
        family: list[tuple[int, int, int]] = []  # (student number, mother number, father number)
        for ci in range(self.size.classes):
            grade_level = 5 + ci // 2
            for _ in range(self.size.students_per_class):
                s += 1
                is_female = self.rng.random() < 0.5
                surname = self.rng.choice(SURNAMES)
                father = self.rng.choice(MALE)
                first, last = self._person(is_female, surname)
                born = date(2026 - grade_level - 6, 1, 1) + timedelta(days=self.rng.randrange(365))
                add("student", f"student{s}@{d}", first, last, patronymic(father, is_female), born)
                mother_first, mother_last = self._person(True, surname)
                add("parent", f"parent{p + 1}@{d}", mother_first, mother_last, patronymic(self.rng.choice(MALE), True))
                add("parent", f"parent{p + 2}@{d}", father, surname, patronymic(self.rng.choice(MALE), False))
                family.append((s, p + 1, p + 2))
                p += 2
        ids = await self._ids(User, [{"email": x["email"], "password_hash": self.password_hash, "role": x["role"],
                                      "school_id": self.school_id} for x in people])
        await self.s.execute(insert(Profile), [
            {"user_id": uid, "first_name": x["first"], "last_name": x["last"], "middle_name": x["middle"],
             "birthday": x["birthday"], "show_birthday": x["role"] == "student" and self.rng.random() < 0.5}
            for uid, x in zip(ids, people, strict=True)])
        by_email = {x["email"]: uid for uid, x in zip(ids, people, strict=True)}
        self.admin_id = by_email[f"admin@{d}"]
        self.teachers = {subj: [by_email[f"teacher{i}@{d}"] for i in nums] for subj, nums in self.teachers.items()}
        self.family = [(by_email[f"student{st}@{d}"], by_email[f"parent{m}@{d}"], by_email[f"parent{f}@{d}"])
                       for st, m, f in family]
        self.counts["users"] = len(ids)

    async def classes(self) -> None:
        per = self.size.students_per_class
        names = [f"{5 + ci // 2}{'АБ'[ci % 2]}" for ci in range(self.size.classes)]
        # Each subject's teachers share its classes round-robin; the class teacher teaches the class something.
        for ci in range(self.size.classes):
            for subject, staff in self.teachers.items():
                self.teacher_of[(ci, subject)] = staff[ci % len(staff)]
        subjects = list(SUBJECT_HOURS)
        self.class_ids = await self._ids(SchoolClass, [
            {"school_id": self.school_id, "academic_year_id": self.year_id, "name": name,
             "grade_level": 5 + ci // 2, "class_teacher_id": self.teacher_of[(ci, subjects[ci % len(subjects)])]}
            for ci, name in enumerate(names)])
        self.students = [[st for st, _, _ in self.family[ci * per:(ci + 1) * per]] for ci in range(self.size.classes)]
        await self.s.execute(insert(ClassStudent), [
            {"class_id": self.class_ids[ci], "student_id": st}
            for ci, group in enumerate(self.students) for st in group])
        await self.s.execute(insert(ParentChild), [
            {"parent_id": parent, "child_id": st} for st, mother, father in self.family for parent in (mother, father)])
        await self.s.execute(insert(TeachingAssignment), [
            {"class_id": self.class_ids[ci], "subject_id": self.subject_ids[subject], "teacher_id": teacher}
            for (ci, subject), teacher in self.teacher_of.items()])
        for group in self.students:
            for st in group:
                self.ability[st] = min(4.8, max(2.6, self.rng.gauss(3.9, 0.55)))
                self.absence[st] = self.rng.choice((0.01, 0.02, 0.03, 0.05, 0.08, 0.12))

    def timetable(self) -> list[list[list[str | None]]]:
        """week[day][slot][class] = subject (None: a free period), built slot by slot."""
        left = [dict(SUBJECT_HOURS) for _ in range(self.size.classes)]
        week: list[list[list[str | None]]] = []
        for _day in range(5):
            day_plan: list[list[str | None]] = []
            for _slot in range(len(SLOTS_MSK)):
                plan = self._match_slot(left, day_plan)
                for ci, subject in enumerate(plan):
                    if subject is not None:
                        left[ci][subject] -= 1
                day_plan.append(plan)
            week.append(day_plan)
        return week

    def _match_slot(self, left: list[dict[str, int]], day_plan: list[list[str | None]]) -> list[str | None]:
        """A bipartite matching of classes to subjects with hours left whose teacher is free (Kuhn's augmenting
        paths), so no teacher is in two places at once."""
        class_of_teacher: dict[int, int] = {}
        subject_of_class: dict[int, str] = {}

        def options(ci: int) -> list[str]:
            today = [plan[ci] for plan in day_plan]
            # Prefer subjects not yet taught today to this class, then those with many hours left.
            subs = [s for s, h in left[ci].items() if h > 0]
            return sorted(subs, key=lambda s: (today.count(s), -left[ci][s], self.rng.random()))

        def assign(ci: int, seen: set[int]) -> bool:
            for subject in options(ci):
                teacher = self.teacher_of[(ci, subject)]
                if teacher in seen:
                    continue
                seen.add(teacher)
                holder = class_of_teacher.get(teacher)
                if holder is None or assign(holder, seen):
                    class_of_teacher[teacher] = ci
                    subject_of_class[ci] = subject
                    return True
            return False

        for ci in self.rng.sample(range(self.size.classes), self.size.classes):
            assign(ci, set())
        return [subject_of_class.get(ci) for ci in range(self.size.classes)]

    async def lessons(self, week: list[list[list[str | None]]]) -> None:
        monday = self.term_starts - timedelta(days=self.term_starts.weekday())
        rows: list[dict[str, Any]] = []
        meta: list[tuple[int, str, datetime]] = []
        for w in range(self.size.weeks):
            for day in range(5):
                today = monday + timedelta(weeks=w, days=day)
                if today < self.term_starts:
                    continue
                for slot, (hh, mm) in enumerate(SLOTS_MSK):
                    starts = datetime(today.year, today.month, today.day, hh, mm, tzinfo=UTC) - MSK
                    for ci, subject in enumerate(week[day][slot]):
                        if subject is None:
                            continue
                        topic = self.rng.choice(TOPICS.get(subject, [f"{subject}: тема урока"]))
                        rows.append({
                            "school_id": self.school_id, "class_id": self.class_ids[ci],
                            "subject_id": self.subject_ids[subject], "teacher_id": self.teacher_of[(ci, subject)],
                            "room": str(201 + ci), "starts_at": starts, "ends_at": starts + timedelta(minutes=45),
                            "topic": topic, "homework": f"§{self.rng.randint(1, 40)}, упр. {self.rng.randint(1, 300)}"
                            if self.rng.random() < 0.7 else None})
                        meta.append((ci, subject, starts))
        ids = await self._ids(Lesson, rows)
        self.lesson_rows = [_Lesson(i, ci, subject, starts) for i, (ci, subject, starts) in zip(ids, meta, strict=True)]
        self.counts["lessons"] = len(ids)

    async def _copy(self, table: str, columns: Sequence[str], records: list[tuple[Any, ...]]) -> None:
        """COPY through the session's own connection, so it is part of the same transaction."""
        conn = await self.s.connection()
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.copy_records_to_table(table, records=records, columns=list(columns))

    def _value(self, student: int) -> int:
        return max(2, min(5, round(self.rng.gauss(self.ability[student], 0.8))))

    async def grades(self) -> None:
        wt = self.work_type_ids
        records: list[tuple[Any, ...]] = []
        seen: dict[tuple[int, str], int] = {}
        now = datetime.now(UTC)
        for lesson in self.lesson_rows:
            key = (lesson.class_index, lesson.subject)
            seen[key] = seen.get(key, 0) + 1
            group = self.students[lesson.class_index]
            teacher = self.teacher_of[key]
            day = (lesson.starts_at + MSK).date()
            class_id, subject_id = self.class_ids[lesson.class_index], self.subject_ids[lesson.subject]
            if seen[key] % 8 == 0 and lesson.subject != "Физкультура":
                graded = [(st, wt["Контрольная работа"]) for st in group]
            else:
                kind = wt["Домашняя работа"] if self.rng.random() < 0.5 else wt["Ответ на уроке"]
                graded = [(st, kind) for st in self.rng.sample(group, min(3, len(group)))]
            for st, work_type in graded:
                if self.rng.random() < 0.01:
                    value, mark = None, "na"
                elif lesson.subject == "Физкультура" and self.rng.random() < 0.05:
                    value, mark = None, "exempt"
                else:
                    value, mark = self._value(st), None
                records.append((self.school_id, st, class_id, subject_id, teacher, lesson.id, work_type, day, value,
                                mark, now, now))
        await self._copy("grades", ("school_id", "student_id", "class_id", "subject_id", "teacher_id", "lesson_id",
                                    "work_type_id", "date", "value", "mark", "created_at", "updated_at"), records)
        self.counts["grades"] = len(records)

    async def attendance(self) -> None:
        records: list[tuple[Any, ...]] = []
        now = datetime.now(UTC)
        for lesson in self.lesson_rows:
            teacher = self.teacher_of[(lesson.class_index, lesson.subject)]
            for st in self.students[lesson.class_index]:
                r = self.rng.random()
                if r < self.absence[st]:
                    reason = self.rng.choices(("illness", "excused", "unexcused"), (5, 2, 3))[0]
                    records.append((self.school_id, lesson.id, st, "absent", reason, None, teacher, now))
                elif r < self.absence[st] + 0.03:
                    records.append((self.school_id, lesson.id, st, "late", None, None, teacher, now))
                else:
                    records.append((self.school_id, lesson.id, st, "present", None, None, teacher, now))
        await self._copy("attendance", ("school_id", "lesson_id", "student_id", "status", "reason", "note",
                                        "marked_by", "updated_at"), records)
        self.counts["attendance"] = len(records)


def print_logins(result: DemoResult, out: TextIO | None = None) -> None:
    out = out if out is not None else sys.stdout
    state = "created" if result.created else "already present (nothing changed)"
    print(f"Demo school {state} (id {result.school_id}) in {result.seconds:.1f}s", file=out)
    for what, n in result.counts.items():
        print(f"  {what}: {n}", file=out)
    print(f"Demo logins (password for all: {result.password}):", file=out)
    for role, email in result.logins.items():
        print(f"  {role:8s} {email}", file=out)


def run_load_demo(settings: Settings, *, small: bool) -> int:
    """The `edutrack load-demo` command: migrate-free (run `edutrack migrate` first), prints the logins."""
    from edutrack.resources import open_context

    async def main() -> DemoResult:
        async with open_context(settings, role="cli", connect_amqp=False, small_pool=True) as ctx:
            return await load_demo(ctx, small=small)

    try:
        result = asyncio.run(main())
    except (OSError, SQLAlchemyError) as exc:
        print(f"edutrack load-demo: {exc.__class__.__name__}: {str(exc)[:300]} "
              "(is PostgreSQL up and `edutrack migrate` done?)", file=sys.stderr)
        return 1
    print_logins(result)
    return 0
