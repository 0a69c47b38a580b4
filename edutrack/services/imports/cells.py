"""Cell values as a spreadsheet gives them (text, numbers, dates, times) turned into what the diary stores.

Each parser returns the value, or raises `BadCell` with a message for the person who filled the cell in.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

import marshmallow as ma
from babel.dates import get_day_names

from edutrack.i18n import _
from edutrack.i18n.catalogue import LOCALES
from edutrack.services.imports.formats import normalize
from edutrack.services.imports.reading import Cell

EMAIL_CHECK = ma.validate.Email()
SEPARATORS = re.compile(r"[\s,;]+")
TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")
DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


class BadCell(ValueError):
    pass


def text(value: Cell, limit: int) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number typed into a text column ("12" for a room) comes back as 12.0
    result = " ".join(str(value).split())
    if len(result) > limit:
        raise BadCell(_("Too long: at most %(limit)s characters.", limit=limit))
    return result


def email(value: Cell) -> str:
    address = text(value, 254).lower()
    try:
        EMAIL_CHECK(address)
    except ma.ValidationError as exc:
        raise BadCell(_("Not a valid email address: %(value)s", value=address)) from exc
    return address


def emails(value: Cell) -> list[str]:
    found = [e for e in SEPARATORS.split(str(value).strip()) if e]
    return [email(e) for e in found]


def day(value: Cell) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = str(value).strip()
    try:
        match = DAY_MONTH_YEAR.match(raw)
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise BadCell(_("Not a date: %(value)s (write it as 14.03.2014)", value=raw)) from exc


def whole(value: Cell, low: int, high: int) -> int:
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError as exc:
        raise BadCell(_("Not a number: %(value)s", value=value)) from exc
    if not number.is_integer() or not low <= number <= high:
        raise BadCell(_("Must be a whole number from %(low)s to %(high)s.", low=low, high=high))
    return int(number)


def clock(value: Cell) -> time:
    """08:30, 8.30, an Excel time, or an Excel fraction of a day."""
    if isinstance(value, datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, float) and 0 <= value < 1:
        minutes = round(value * 24 * 60)
        return time(minutes // 60, minutes % 60)
    match = TIME.match(str(value).strip())
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    raise BadCell(_("Not a time: %(value)s (write it as 08:30)", value=value))


def _day_names() -> dict[str, int]:
    names: dict[str, int] = {}
    for locale in LOCALES:
        for width in ("wide", "abbreviated", "short"):
            for weekday, name in get_day_names(width, locale=locale).items():
                names[normalize(name).rstrip(".")] = weekday
    return names


DAY_NAMES = _day_names()


def weekday(value: Cell) -> int:
    """Monday = 0. A day's name in Russian or English (full or short), or its number 1-7."""
    raw = normalize(str(value)).rstrip(".")
    if raw in DAY_NAMES:
        return DAY_NAMES[raw]
    if raw.isdigit() and 1 <= int(raw) <= 7:
        return int(raw) - 1
    raise BadCell(_("Not a day of the week: %(value)s (write Monday, or 1 to 7)", value=value))
