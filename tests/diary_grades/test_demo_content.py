"""The demo school's material without a database: the Russian school calendar, names, the curriculum's lessons
and homework, the timetable."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

import pytest

from edutrack.demo import female, patronymic
from edutrack.demo.calendar import school_year, start_year_of
from edutrack.demo.course import TOPICS, course, work_of
from edutrack.demo.plan import FULL, GRADE_PLANS, SLOTS_MSK, grade_of
from edutrack.demo.school import _class_teachers, _families, _staff
from edutrack.demo.timetable import ClassPlan, build_week


@pytest.mark.parametrize(("start", "quarters"), [
    # The federal calendar (ФОП) of 2024/25 and 2025/26 for a five-day week.
    (2024, [("2024-09-02", "2024-10-25"), ("2024-11-05", "2024-12-27"), ("2025-01-09", "2025-03-28"),
            ("2025-04-07", "2025-05-26")]),
    (2025, [("2025-09-01", "2025-10-24"), ("2025-11-05", "2025-12-26"), ("2026-01-12", "2026-03-27"),
            ("2026-04-06", "2026-05-26")]),
])
def test_quarters_follow_the_federal_calendar(start: int, quarters: list[tuple[str, str]]) -> None:
    year = school_year(start)
    assert [(q.starts_on.isoformat(), q.ends_on.isoformat()) for q in year.quarters] == quarters
    assert [q.name for q in year.quarters] == ["1 четверть", "2 четверть", "3 четверть", "4 четверть"]
    assert (year.starts_on, year.ends_on) == (date(start, 9, 1), date(start + 1, 5, 31))


@pytest.mark.parametrize("start", range(2024, 2036))
def test_every_year_has_russian_breaks_and_holidays(start: int) -> None:
    year = school_year(start)
    q1, q2, q3, q4 = year.quarters
    autumn, winter, spring = q2.starts_on - q1.ends_on, q3.starts_on - q2.ends_on, q4.starts_on - q3.ends_on
    assert timedelta(days=9) <= autumn <= timedelta(days=14)
    assert q1.ends_on < date(start, 11, 4) < q2.starts_on
    assert timedelta(days=12) <= winter <= timedelta(days=19)
    assert date(start + 1, 1, 8) < q3.starts_on
    assert spring == timedelta(days=10)
    assert q3.ends_on.month == 3
    assert all(q.starts_on.weekday() < 5 and q.ends_on.weekday() < 5 for q in year.quarters)
    days = list(year.school_days())
    assert 160 <= len(days) <= 172  # about 34 weeks of five days
    for holiday in (date(start + 1, 2, 23), date(start + 1, 3, 8), date(start + 1, 5, 1), date(start + 1, 5, 9)):
        assert holiday not in days
        if holiday.weekday() == 6:  # a Sunday holiday moves to Monday
            assert holiday + timedelta(days=1) not in days
    assert days[0] == q1.starts_on
    assert days[-1] == q4.ends_on


@pytest.mark.parametrize(("day", "start"), [
    (date(2026, 9, 1), 2026), (date(2026, 12, 31), 2026), (date(2027, 1, 1), 2026), (date(2027, 5, 31), 2026),
    (date(2027, 7, 10), 2026), (date(2027, 8, 31), 2026), (date(2027, 9, 1), 2027),
])
def test_the_year_shown_on_a_day_is_the_one_containing_it_or_just_ended(day: date, start: int) -> None:
    assert start_year_of(day) == start


@pytest.mark.parametrize(("father", "male", "female_form"), [
    ("Александр", "Александрович", "Александровна"), ("Сергей", "Сергеевич", "Сергеевна"),
    ("Дмитрий", "Дмитриевич", "Дмитриевна"), ("Евгений", "Евгеньевич", "Евгеньевна"),
    ("Юрий", "Юрьевич", "Юрьевна"), ("Василий", "Васильевич", "Васильевна"), ("Игорь", "Игоревич", "Игоревна"),
    ("Павел", "Павлович", "Павловна"), ("Михаил", "Михайлович", "Михайловна"), ("Пётр", "Петрович", "Петровна"),
    ("Илья", "Ильич", "Ильинична"), ("Никита", "Никитич", "Никитична"), ("Лев", "Львович", "Львовна"),
])
def test_demo_patronymics_are_real_russian_patronymics(father: str, male: str, female_form: str) -> None:
    assert (patronymic(father, False), patronymic(father, True)) == (male, female_form)


@pytest.mark.parametrize(("surname", "feminine"), [
    ("Крылов", "Крылова"), ("Соловьёв", "Соловьёва"), ("Ильин", "Ильина"), ("Вишневский", "Вишневская"),
    ("Белецкий", "Белецкая"), ("Толстой", "Толстая"), ("Заречный", "Заречная"), ("Черных", "Черных"),
    ("Шевченко", "Шевченко"), ("Кравчук", "Кравчук"),
])
def test_surnames_take_the_feminine_form(surname: str, feminine: str) -> None:
    assert female(surname) == feminine


def test_families_share_a_surname_in_each_members_gender_and_the_fathers_name() -> None:
    families = _families(FULL, random.Random(7), 2026)
    people = {(kind, n): person for kind, n, person, _ in families.people}
    parents_of: dict[int, list[int]] = {}
    for student, parent in families.links:
        parents_of.setdefault(student, []).append(parent)
    for student, parents in parents_of.items():
        child = people[("student", student)]
        mother = people[("parent", parents[0])]
        assert mother.is_female
        assert mother.middle.endswith(("вна", "чна"))
        assert child.middle.endswith(("вна", "чна") if child.is_female else ("вич", "ич"))
        if len(parents) == 2:
            father = people[("parent", parents[1])]
            assert not father.is_female
            assert mother.last == female(father.last)
            assert child.last == (female(father.last) if child.is_female else father.last)
            assert child.middle == patronymic(father.first, child.is_female)
    classes_of: dict[int, set[int]] = {}
    for student, ci in families.enrolment:
        for parent in parents_of[student]:
            classes_of.setdefault(parent, set()).add(ci)
    # Some parents have children in two classes; the first parent (the printed login) is one of them.
    assert len(classes_of[1]) == 2
    assert sum(len(c) == 2 for c in classes_of.values()) >= 20


def test_every_subject_of_every_grade_has_a_year_of_real_topics() -> None:
    for grade, plan in GRADE_PLANS.items():
        for subject, hours in plan.items():
            lessons = course(subject, grade, hours * 33, random.Random(1))
            assert len(lessons) == hours * 33
            assert lessons[0].topic.startswith(TOPICS[(subject, grade)][0][:20]) or lessons[0].work
            assert not any("тема урока" in x.topic.lower() for x in lessons)
            # The graded work of a lesson is read back from its topic (the loader only has the topic).
            assert all(work_of(x.topic) == x.work for x in lessons)
            for before, lesson in itertools.pairwise(lessons):
                if lesson.work in ("Контрольная работа", "Диктант", "Сочинение", "Проверочная работа"):
                    assert before.homework, (subject, grade)
                    assert before.homework.startswith("Подготовиться"), (subject, grade)


def test_algebra_8_runs_through_the_year_in_curriculum_order() -> None:
    lessons = course("Алгебра", 8, 99, random.Random(1))
    topics = [x.topic for x in lessons]
    first = {t: topics.index(t) for t in ("Арифметический квадратный корень", "Формула корней квадратного уравнения",
                                          "Теорема Виета", "Решение неравенств с одной переменной")}
    assert list(first.values()) == sorted(first.values())
    assert topics[2] == "Входная контрольная работа"
    assert "Итоговая контрольная работа" in topics[-4:]
    assert sum(x.work == "Контрольная работа" for x in lessons) >= 8
    numbers = [int(h.split("№ ")[1].split(",")[0]) for h in (x.homework for x in lessons) if h and "№ " in h]
    assert numbers == sorted(numbers)
    assert numbers[-1] > 900  # exercises go through the textbook


def test_the_timetable_has_no_clash_no_gap_and_every_lesson_of_the_plan() -> None:
    staff = _staff(FULL)
    teacher_of: dict[tuple[int, str], int] = {}
    for n, (discipline, classes) in enumerate(staff, 1):
        for ci in classes:
            for subject in GRADE_PLANS[grade_of(FULL.classes[ci])]:
                if subject in _discipline(discipline):
                    teacher_of[(ci, subject)] = n
    plans = [ClassPlan(GRADE_PLANS[grade_of(name)], {s: teacher_of[(ci, s)] for s in GRADE_PLANS[grade_of(name)]})
             for ci, name in enumerate(FULL.classes)]
    week = build_week(plans, random.Random(2026))
    gaps = 0
    for ci, plan in enumerate(plans):
        given = [s for day in week for slot in day for s in [slot[ci]] if s is not None]
        assert sorted(given) == sorted(s for s, h in plan.hours.items() for _ in range(h))
        for day in week:
            column = [slot[ci] for slot in day]
            assert len(column) == len(SLOTS_MSK)
            gaps += sum(s is None for s in column[:max(i for i, s in enumerate(column) if s) + 1])
    for day in week:
        for slot in day:
            teachers = [plans[ci].teacher_of[s] for ci, s in enumerate(slot) if s is not None]
            assert len(teachers) == len(set(teachers))
    assert gaps <= 4  # a rare free period in the middle of a class's day, in a week of 370 lessons
    leads = _class_teachers(FULL, teacher_of)
    assert len(set(leads)) == len(FULL.classes)


def _discipline(name: str) -> tuple[str, ...]:
    from edutrack.demo.plan import DISCIPLINES

    return DISCIPLINES[name]
