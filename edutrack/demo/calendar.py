"""The Russian school year as the demo school lives it: four quarters, the holidays between them, public
holidays, a five-day week.

The dates follow the federal calendar Russian schools have used since the federal work programmes (ФОП):
  1st quarter   from 1 September (the Monday after, when it falls on a weekend) to the last Friday at least
                ten days before the 2nd quarter;
  autumn break  from then to 4 November (День народного единства) inclusive: the 2nd quarter starts the next
                school day (the Monday after, rather than a lone Friday);
  2nd quarter   to the last Friday before 29 December; winter break over the New Year holidays (1-8 January);
  3rd quarter   from 9 January (the Monday after, when 9 January falls on Friday to Sunday) to the Friday before
                the last Saturday of March; spring break is nine days from that Saturday;
  4th quarter   to 26 May (the Friday before, when it falls on a weekend); the academic year ends on 31 May.
Public holidays inside a quarter (23 February, 8 March, 1 and 9 May) have no lessons; one that falls on a
weekend moves to the next Monday, as the Labour Code moves it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

SCHOOL_TZ = ZoneInfo("Europe/Moscow")
QUARTER_NAMES = ("1 четверть", "2 четверть", "3 четверть", "4 четверть")
MONDAY, FRIDAY, SATURDAY = 0, 4, 5


def school_today() -> date:
    """Today in the demo school's time zone (Moscow): the day a parent there sees on the diary page."""
    return datetime.now(SCHOOL_TZ).date()


def _weekday_on_or_after(day: date) -> date:
    while day.weekday() > FRIDAY:
        day += timedelta(days=1)
    return day


def _friday_on_or_before(day: date) -> date:
    return day - timedelta(days=(day.weekday() - FRIDAY) % 7)


def _day_off(holiday: date) -> date:
    """The day without lessons for a public holiday: the holiday itself, or the Monday after a weekend one."""
    return holiday if holiday.weekday() <= FRIDAY else holiday + timedelta(days=7 - holiday.weekday())


@dataclass(frozen=True)
class Quarter:
    name: str
    starts_on: date
    ends_on: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class SchoolYear:
    start_year: int
    quarters: tuple[Quarter, Quarter, Quarter, Quarter]
    days_off: frozenset[date]

    @property
    def name(self) -> str:
        return f"{self.start_year}/{self.start_year + 1}"

    @property
    def starts_on(self) -> date:
        return date(self.start_year, 9, 1)

    @property
    def ends_on(self) -> date:
        return date(self.start_year + 1, 5, 31)

    def quarter_of(self, day: date) -> Quarter | None:
        return next((q for q in self.quarters if day in q), None)

    def is_school_day(self, day: date) -> bool:
        return day.weekday() <= FRIDAY and day not in self.days_off and self.quarter_of(day) is not None

    def school_days(self, first: date | None = None, last: date | None = None) -> Iterator[date]:
        """School days from `first` to `last` inclusive (default: the whole year)."""
        day = max(first or self.starts_on, self.starts_on)
        last = min(last or self.ends_on, self.ends_on)
        while day <= last:
            if self.is_school_day(day):
                yield day
            day += timedelta(days=1)


@cache
def school_year(start_year: int) -> SchoolYear:
    """The calendar of the school year that starts in September of `start_year`."""
    y, n = start_year, start_year + 1
    q1_start = _weekday_on_or_after(date(y, 9, 1))
    q2_start = _weekday_on_or_after(_day_off(date(y, 11, 4)) + timedelta(days=1))
    if q2_start.weekday() == FRIDAY:  # no one-day week after a break
        q2_start += timedelta(days=3)
    q1_end = _friday_on_or_before(q2_start - timedelta(days=10))
    q2_end = _friday_on_or_before(date(y, 12, 28))
    jan9 = date(n, 1, 9)
    q3_start = jan9 if jan9.weekday() < FRIDAY else jan9 + timedelta(days=7 - jan9.weekday())
    march31 = date(n, 3, 31)
    spring_break = march31 - timedelta(days=(march31.weekday() - SATURDAY) % 7)
    q3_end = spring_break - timedelta(days=1)
    q4_start = spring_break + timedelta(days=9)
    may26 = date(n, 5, 26)
    q4_end = may26 if may26.weekday() <= FRIDAY else _friday_on_or_before(may26)
    days_off = frozenset(_day_off(d) for d in (date(n, 2, 23), date(n, 3, 8), date(n, 5, 1), date(n, 5, 9)))
    quarters = (Quarter(QUARTER_NAMES[0], q1_start, q1_end), Quarter(QUARTER_NAMES[1], q2_start, q2_end),
                Quarter(QUARTER_NAMES[2], q3_start, q3_end), Quarter(QUARTER_NAMES[3], q4_start, q4_end))
    return SchoolYear(start_year, quarters, days_off)


def start_year_of(day: date) -> int:
    """The school year the demo shows on `day`: the one containing it, and in summer the one just ended.

    In June-August neither year has a lesson in the current week; the year just ended is the one with a diary
    to look at (a year of grades, attendance, homework and confirmed marks for all four quarters), while the
    next one would be an empty timetable until 1 September.
    """
    return day.year if day.month >= 9 else day.year - 1
