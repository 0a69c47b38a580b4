"""School days of the demo: attendance and grades for every lesson of a range of days, and the term marks of
the quarters that ended in it.

Everything a day gets is drawn from seeds named by stable things (the seed, the class name, the lesson's
start, the student's login number), never from database ids or the order of earlier runs: filling 1-10 December
in one run or in two gives the same rows.
Attendance: illnesses of two to seven school days (more in autumn and winter), a few excused days (competitions,
olympiads), a few skipped lessons, late arrivals. Grades: the whole class (those present) for a test, a dictation,
a lab or practical work; otherwise a few students in turn, so each gets enough marks for a term mark.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, and_, column, select, values
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import Attendance, Attestation, ClassStudent, Grade, Lesson, School, WorkType
from edutrack.demo import texts
from edutrack.demo.bulk import copy_rows
from edutrack.demo.calendar import SchoolYear
from edutrack.demo.course import work_of
from edutrack.demo.plan import DISCIPLINE_OF
from edutrack.demo.school import SchoolState
from edutrack.demo.year import at_msk, local_day
from edutrack.queries.grades import sums_columns
from edutrack.services.diary.averages import propose_from_sums

PRACTICAL = {"Физическая культура", "Музыка", "Изобразительное искусство", "Труд (технология)", "ОДНКНР",
             "Индивидуальный проект"}
QUIZZED = {"Математика", "Алгебра", "Геометрия", "Русский язык", "Физика", "Химия", "Английский язык"}
FIRST_LESSON_UTC = (5, 30)  # 8:30 in Moscow: late arrivals are mostly to the first lesson


@dataclass(frozen=True)
class LessonRow:
    id: int
    class_id: int
    subject_id: int
    teacher_id: int
    starts_at: datetime
    ends_at: datetime
    topic: str | None
    homework: str | None


async def year_lessons(session: AsyncSession, state: SchoolState, year: SchoolYear) -> list[LessonRow]:
    start = at_msk(year.starts_on, 0, 0)
    end = at_msk(year.ends_on + timedelta(days=1), 0, 0)
    rows = await session.execute(
        select(Lesson.id, Lesson.class_id, Lesson.subject_id, Lesson.teacher_id, Lesson.starts_at, Lesson.ends_at,
               Lesson.topic, Lesson.homework)
        .where(Lesson.class_id.in_([c.id for c in state.classes]), Lesson.starts_at >= start, Lesson.starts_at < end)
        .order_by(Lesson.starts_at, Lesson.class_id))
    return [LessonRow(*r) for r in rows]


class Health:
    """Whole days a student misses in a year: (reason, note) by date."""

    def __init__(self, state: SchoolState, year: SchoolYear, seed: int) -> None:
        days = list(year.school_days())
        self.away: dict[tuple[int, date], tuple[str, str | None]] = {}
        self.skipper: dict[int, float] = {}
        for c in state.classes:
            for student in c.students:
                n = state.number.get(student, student)
                rng = random.Random(f"{seed}:{year.start_year}:health:{n}")
                frail = rng.choice((0.5, 1, 1, 1.5, 2, 3))
                for _ in range(int(rng.random() * frail * 2.2)):
                    start = rng.randrange(len(days))
                    if days[start].month in (6, 7, 8, 9, 5) and rng.random() < 0.5:
                        continue  # colds are an autumn-winter thing
                    note = rng.choice(texts.ILLNESS_NOTES)
                    for d in days[start:start + rng.randint(2, 7)]:
                        self.away[(student, d)] = ("illness", note)
                for _ in range(rng.choice((0, 0, 1, 1, 2))):
                    d = days[rng.randrange(len(days))]
                    self.away.setdefault((student, d), ("excused", rng.choice(texts.EXCUSED_NOTES)))
                self.skipper[student] = rng.choice((0.0, 0.0, 0.0, 0.0, 0.003, 0.01))

    def first_days_of_illness(self, student: int, days: Iterable[date]) -> list[date]:
        out = []
        for d in days:
            if self.away.get((student, d), ("",))[0] == "illness":
                before = d - timedelta(days=1)
                while before.weekday() > 4:
                    before -= timedelta(days=1)
                if self.away.get((student, before), ("",))[0] != "illness":
                    out.append(d)
        return out


class Abilities:
    """A student's usual level in a subject: their own, plus a leaning per discipline (better at maths, weaker
    at languages...). Seeded by the login number, so it is the same in every run."""

    def __init__(self, state: SchoolState, seed: int) -> None:
        self.state, self.seed = state, seed
        self.known: dict[tuple[int, str], float] = {}

    def __call__(self, student: int, subject: str) -> float:
        key = (student, subject)
        if key not in self.known:
            n = self.state.number.get(student, student)
            base = min(4.8, max(2.7, random.Random(f"{self.seed}:ability:{n}").gauss(3.9, 0.5)))
            lean = random.Random(f"{self.seed}:bias:{n}:{DISCIPLINE_OF.get(subject, subject)}").gauss(0, 0.3)
            self.known[key] = base + lean + (0.6 if subject in PRACTICAL else 0)
        return self.known[key]


@dataclass
class Filled:
    attendance: list[tuple[Any, ...]]
    grades: list[tuple[Any, ...]]


def _places(year: SchoolYear, lessons: list[LessonRow]) -> tuple[dict[int, tuple[int, int, str]], dict[int, bool]]:
    """Each lesson's place among its class's lessons of the subject in its quarter (index, count, quarter), and
    whether the lesson before it in the subject set homework."""
    groups: dict[tuple[int, int, str], list[LessonRow]] = {}
    homework_before: dict[int, bool] = {}
    last_of: dict[tuple[int, int], LessonRow] = {}
    for lesson in lessons:
        key = (lesson.class_id, lesson.subject_id)
        homework_before[lesson.id] = key in last_of and bool(last_of[key].homework)
        last_of[key] = lesson
        quarter = year.quarter_of(local_day(lesson.starts_at))
        if quarter is not None:
            groups.setdefault((*key, quarter.name), []).append(lesson)
    place = {lesson.id: (j, len(group), name) for (_, _, name), group in groups.items()
             for j, lesson in enumerate(group)}
    return place, homework_before


def fill(state: SchoolState, year: SchoolYear, lessons: list[LessonRow], health: Health, first: date, last: date,
         seed: int, marked: set[tuple[int, int]]) -> Filled:
    """Attendance and grades of the lessons from `first` to `last` (inclusive), as COPY records. `marked`:
    (lesson, student) pairs that already have an attendance mark, which is kept."""
    subject_of = {i: n for n, i in state.subject_ids.items()}
    class_of = {c.id: c for c in state.classes}
    place, homework_before = _places(year, lessons)
    ability = Abilities(state, seed)
    out = Filled([], [])
    for lesson in lessons:
        day = local_day(lesson.starts_at)
        if not first <= day <= last or lesson.id not in place or lesson.class_id not in class_of:
            continue
        c = class_of[lesson.class_id]
        subject = subject_of.get(lesson.subject_id, "")
        rng = random.Random(f"{seed}:{c.name}:{lesson.starts_at:%Y%m%d%H%M}")
        present = _attendance(state, lesson, c.students, day, health, rng, out.attendance, marked)
        j, count, quarter_name = place[lesson.id]
        for student, work in _graded(seed, c.name, subject, quarter_name, c.students, present, j, count,
                                     lesson.topic or "", homework_before[lesson.id], rng):
            mean = ability(student, subject) - (0.25 if work in texts.TEST_WORKS else 0)
            value = max(2, min(5, round(rng.gauss(mean, 0.75))))
            stamp = lesson.ends_at + timedelta(minutes=rng.randint(5, 300))
            out.grades.append((state.school_id, student, c.id, lesson.subject_id, lesson.teacher_id, lesson.id,
                               state.work_type_ids[work], day, value, None,
                               texts.grade_comment(rng, work, value, state.people[student].is_female), stamp, stamp))
    return out


def _attendance(state: SchoolState, lesson: LessonRow, students: list[int], day: date, health: Health,
                rng: random.Random, out: list[tuple[Any, ...]], marked: set[tuple[int, int]]) -> set[int]:
    """Append the lesson's marks to `out`; returns the students who were there."""
    present: set[int] = set()
    at = lesson.starts_at + timedelta(minutes=5)
    late_above = 0.97 if (lesson.starts_at.hour, lesson.starts_at.minute) == FIRST_LESSON_UTC else 0.995
    for student in students:
        away = health.away.get((student, day))
        roll = rng.random()
        if away is not None:
            status, reason, note = "absent", away[0], away[1]
        elif roll < health.skipper.get(student, 0.0):
            status, reason, note = "absent", "unexcused", None
        else:
            status, reason, note = ("late" if roll > late_above else "present"), None, None
            present.add(student)
        if (lesson.id, student) not in marked:
            out.append((state.school_id, lesson.id, student, status, reason, note, lesson.teacher_id, at))
    return present


def _graded(seed: int, class_name: str, subject: str, quarter: str, students: list[int],
            present: set[int], j: int, count: int, topic: str, had_homework: bool,
            rng: random.Random) -> list[tuple[int, str]]:
    whole = work_of(topic)
    if whole is None and subject in QUIZZED and j % 8 == 5:
        whole = "Самостоятельная работа"
    kind = "Работа на уроке" if subject in PRACTICAL else "Ответ на уроке"
    if whole is None and (j == count - 1 or (count <= 10 and j == count - 2)):
        whole = kind  # the quarter's last lessons: everyone there gets a mark before the term marks
    if whole is not None:
        return [(s, whole) for s in students if s in present]
    if not students:
        return []
    # Students in turn, shuffled once a quarter: everyone is asked about as often.
    order = random.Random(f"{seed}:{class_name}:{subject}:{quarter}").sample(students, len(students))
    per_lesson = min(len(students), max(2, math.ceil(3.5 * len(students) / max(count, 1))))
    asked = [order[(j * per_lesson + i) % len(order)] for i in range(per_lesson)]
    return [(s, "Домашняя работа" if had_homework and rng.random() < 0.35 and kind == "Ответ на уроке" else kind)
            for s in asked if s in present]


async def _quarter_sums(session: AsyncSession, state: SchoolState, quarters: list[tuple[int, date, date]]) -> list[Any]:
    """Per (term, class, student, subject): the sums the service proposes a term mark from (`sums_columns`), over
    the grades given in the class to students enrolled in it; all classes and quarters in one pass."""
    spans = values(column("term_id", BigInteger), column("starts", Date), column("ends", Date),
                   name="spans").data(quarters)
    stmt = (
        select(spans.c.term_id, Grade.class_id, Grade.student_id, Grade.subject_id, *sums_columns())
        .join(spans, Grade.date.between(spans.c.starts, spans.c.ends))
        .join(ClassStudent, and_(ClassStudent.student_id == Grade.student_id, ClassStudent.class_id == Grade.class_id))
        .join(WorkType, WorkType.id == Grade.work_type_id)
        .where(Grade.class_id.in_([c.id for c in state.classes]), Grade.deleted_at.is_(None))
        .group_by(spans.c.term_id, Grade.class_id, Grade.student_id, Grade.subject_id)
    )
    return list((await session.execute(stmt)).all())


ATTESTATION_COLUMNS = ("school_id", "student_id", "class_id", "subject_id", "term_id", "proposed", "final",
                       "is_override", "average", "comment", "confirmed_by", "confirmed_at")


async def attest(session: AsyncSession, state: SchoolState, year: SchoolYear, term_ids: dict[str, int],
                 first: date, last: date, seed: int) -> int:
    """Term marks of the quarters that end between `first` and `last`: proposed from the weighted average by the
    school's rule, as the service proposes them, and confirmed by the subject's teacher on the last day; a
    borderline average is sometimes raised by the teacher, with the reason. A mark a teacher already confirmed
    (in the demo's web client) stays as it is."""
    quarters = [q for q in year.quarters if first <= q.ends_on <= last]
    if not quarters:
        return 0
    school = (await session.execute(select(School.min_marks_for_attestation, School.rounding_threshold)
                                    .where(School.id == state.school_id))).one()
    done = {(student, subject, term) for student, subject, term in await session.execute(
        select(Attestation.student_id, Attestation.subject_id, Attestation.term_id)
        .where(Attestation.term_id.in_([term_ids[q.name] for q in quarters])))}
    subject_of = {i: n for n, i in state.subject_ids.items()}
    class_of = {c.id: c for c in state.classes}
    records: list[tuple[Any, ...]] = []
    by_term = {term_ids[q.name]: q for q in quarters}
    for s in await _quarter_sums(session, state, [(t, q.starts_on, q.ends_on) for t, q in by_term.items()]):
        term, quarter = s.term_id, by_term[s.term_id]
        c, subject = class_of[s.class_id], subject_of.get(s.subject_id, "")
        if subject not in c.teacher_of or (s.student_id, s.subject_id, term) in done:
            continue
        p = propose_from_sums(s.weighted_sum, s.weight_sum, s.numeric_count,
                              min_marks=school.min_marks_for_attestation, threshold=school.rounding_threshold)
        final, comment = p.proposed, None
        rng = random.Random(f"{seed}:{year.name}:{quarter.name}:{state.number.get(s.student_id)}:{subject}")
        borderline = p.average is not None and Decimal("0.4") <= p.average % 1 < Decimal("0.5")
        if borderline and p.proposed not in ("na", "5") and rng.random() < 0.5:
            final, comment = str(int(p.proposed) + 1), rng.choice(texts.OVERRIDE_REASONS)
        records.append((state.school_id, s.student_id, c.id, s.subject_id, term, p.proposed, final,
                        final != p.proposed, p.average_2dp, comment, c.teacher_of[subject],
                        at_msk(quarter.ends_on, 15, 0)))
    await copy_rows(session, "attestations", ATTESTATION_COLUMNS, records)
    return len(records)


GRADE_COLUMNS = ("school_id", "student_id", "class_id", "subject_id", "teacher_id", "lesson_id", "work_type_id",
                 "date", "value", "mark", "comment", "created_at", "updated_at")
ATTENDANCE_COLUMNS = ("school_id", "lesson_id", "student_id", "status", "reason", "note", "marked_by", "updated_at")


async def already_marked(session: AsyncSession, school_id: int, starts: datetime,
                         ends: datetime) -> set[tuple[int, int]]:
    """Attendance someone put (in the demo's web client) on lessons the demo had not filled yet: kept as it is."""
    rows = await session.execute(
        select(Attendance.lesson_id, Attendance.student_id).join(Lesson, Lesson.id == Attendance.lesson_id)
        .where(Lesson.school_id == school_id, Lesson.starts_at >= starts, Lesson.starts_at < ends))
    return {(lesson, student) for lesson, student in rows}


async def write(session: AsyncSession, filled: Filled) -> None:
    await copy_rows(session, "attendance", ATTENDANCE_COLUMNS, filled.attendance)
    await copy_rows(session, "grades", GRADE_COLUMNS, filled.grades)
