"""The weekly timetable: every class's lessons spread evenly over five days without gaps, no teacher in two
places at once (teachers have their own rooms, so no room is double-booked either).

Each day is filled slot by slot with a bipartite matching of the classes that still need a lesson that day to
subjects whose teacher is free (Kuhn's augmenting paths); subjects not yet taught that day come first. A few
seeds are tried and the timetable with the fewest teachers' empty days and unplaced lessons is kept.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from edutrack.demo.plan import SLOTS_MSK

DAYS = 5
HEAVY_DAYS = (1, 2, 3, 0, 4)  # an extra lesson goes to Tuesday-Thursday first, as the sanitary rules advise
ATTEMPTS = 6

Week = list[list[list[str | None]]]  # week[day][slot][class index] -> subject or a free period


@dataclass(frozen=True)
class ClassPlan:
    hours: dict[str, int]  # subject -> lessons a week
    teacher_of: dict[str, int]  # subject -> teacher


def build_week(classes: list[ClassPlan], rng: random.Random) -> Week:
    best: tuple[int, Week] | None = None
    for _ in range(ATTEMPTS):
        week, unplaced = _attempt(classes, rng)
        score = 10 * unplaced + _idle_days(classes, week)
        if best is None or score < best[0]:
            best = (score, week)
        if score == 0:
            break
    assert best is not None
    return best[1]


def _idle_days(classes: list[ClassPlan], week: Week) -> int:
    """Days without a lesson, counted for teachers with at least ten lessons a week."""
    busy = {(classes[ci].teacher_of[subject], day) for day, slots in enumerate(week) for plan in slots
            for ci, subject in enumerate(plan) if subject is not None}
    load: dict[int, int] = {}
    for c in classes:
        for subject, hours in c.hours.items():
            load[c.teacher_of[subject]] = load.get(c.teacher_of[subject], 0) + hours
    return sum(1 for t, hours in load.items() if hours >= 10 for day in range(DAYS) if (t, day) not in busy)


def _attempt(classes: list[ClassPlan], rng: random.Random) -> tuple[Week, int]:
    left = [dict(c.hours) for c in classes]
    quotas = []
    for c in classes:
        total = sum(c.hours.values())
        quota = [total // DAYS] * DAYS
        for day in HEAVY_DAYS[:total % DAYS]:
            quota[day] += 1
        quotas.append(quota)
    week: Week = []
    for day in range(DAYS):
        day_plan: list[list[str | None]] = []
        placed = [0] * len(classes)
        for _slot in SLOTS_MSK:
            wanted = [ci for ci in range(len(classes)) if placed[ci] < quotas[ci][day]]
            plan = _match_slot(classes, left, day_plan, wanted, days_left=DAYS - day, rng=rng)
            for ci, subject in enumerate(plan):
                if subject is not None:
                    left[ci][subject] -= 1
                    placed[ci] += 1
            day_plan.append(plan)
        week.append(day_plan)
    return week, sum(sum(hours.values()) for hours in left)


def _match_slot(classes: list[ClassPlan], left: list[dict[str, int]], day_plan: list[list[str | None]],
                wanted: list[int], days_left: int, rng: random.Random) -> list[str | None]:
    class_of_teacher: dict[int, int] = {}
    subject_of_class: dict[int, str] = {}

    def options(ci: int) -> list[str]:
        today = [plan[ci] for plan in day_plan]
        subjects = [s for s, h in left[ci].items() if h > 0]
        # Lessons already given today against those still needed per remaining day: spreads a subject over
        # the week and gives a second lesson a day only to subjects with more hours than days left.
        return sorted(subjects, key=lambda s: (today.count(s) - left[ci][s] / days_left, rng.random()))

    def assign(ci: int, seen: set[int]) -> bool:
        for subject in options(ci):
            teacher = classes[ci].teacher_of[subject]
            if teacher in seen:
                continue
            seen.add(teacher)
            holder = class_of_teacher.get(teacher)
            if holder is None or assign(holder, seen):
                class_of_teacher[teacher] = ci
                subject_of_class[ci] = subject
                return True
        return False

    for ci in rng.sample(wanted, len(wanted)):
        assign(ci, set())
    return [subject_of_class.get(ci) for ci in range(len(classes))]
