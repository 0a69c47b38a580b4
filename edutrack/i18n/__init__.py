"""Every word a person reads comes from one gettext catalogue: Russian first, English second (see docs/i18n.md).

Message ids are the English texts; `edutrack/locale/ru/LC_MESSAGES/messages.po` holds the Russian ones.
Parameters are named and written `%(name)s` everywhere (Python, Jinja, the browser's `t()`), so a literal
percent sign is `%%`. The language of the code running now is a ContextVar: a request's middleware sets it
from `Accept-Language` (pages: `?lang=` or the `lang` cookie), workers run in the default, Russian, and
`use_locale` switches it for one email.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from babel.dates import format_date

from edutrack.i18n.catalogue import DEFAULT_LOCALE, LOCALES, translations

# Per-task state (like the request id in edutrack.logs), not shared module state: each request sees its own.
locale_var: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)

MALE, FEMALE = "male", "female"
GENDERS = (MALE, FEMALE)


def current_locale() -> str:
    return locale_var.get()


@contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    """Run a block in `locale` (an unknown or empty one means the default)."""
    chosen = locale if locale in LOCALES else DEFAULT_LOCALE
    token = locale_var.set(chosen)
    try:
        yield chosen
    finally:
        locale_var.reset(token)


def for_recipients() -> contextlib.AbstractContextManager[str]:
    """Texts written now for other people to read later (notification titles, emails) are in the recipients'
    language, not in the language of the request that caused them: the default one, as profiles carry none."""
    return use_locale(DEFAULT_LOCALE)


def gettext(message: str, /, **params: object) -> str:
    """The message in the current language, with its `%(name)s` parameters filled in."""
    return translations(current_locale()).gettext(message) % params


def ngettext(singular: str, plural: str, num: int, /, **params: object) -> str:
    """A message with a number: the catalogue's plural rule picks the form (1 оценка, 2 оценки, 5 оценок).
    `%(num)s` is the number, as in Jinja's `ngettext`."""
    params.setdefault("num", num)
    return translations(current_locale()).ngettext(singular, plural, num) % params


def pgettext(context: str, message: str, /, **params: object) -> str:
    return translations(current_locale()).pgettext(context, message) % params


def gendered(gender: str | None, message: str, /, **params: object) -> str:
    """A message whose Russian words agree with a person's gender ("Иван опоздал", "Анастасия опоздала").
    The catalogue holds three entries of it: contexts "male" and "female", and one without a context that
    reads right for anyone (used when the gender is unknown)."""
    if gender in GENDERS:
        return pgettext(gender, message, **params)
    return gettext(message, **params)


def day_month(day: date) -> str:
    """A date inside a sentence, in the current language: "12 ноября", "12 November"."""
    return format_date(day, "d MMMM", locale=current_locale())


def N_(message: str) -> str:
    """Marks a constant for the catalogue; translate it where it is shown: `_(LABELS[kind])`."""
    return message


class LazyText:
    """A message translated when it is turned into text, in the language current then (module constants)."""

    __slots__ = ("message", "params")

    def __init__(self, message: str, params: dict[str, object]) -> None:
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return gettext(self.message, **self.params)

    def __repr__(self) -> str:
        return f"LazyText({self.message!r})"


def lazy_gettext(message: str, /, **params: object) -> LazyText:
    return LazyText(message, params)


_ = gettext

__all__ = [
    "DEFAULT_LOCALE",
    "FEMALE",
    "GENDERS",
    "LOCALES",
    "MALE",
    "N_",
    "LazyText",
    "_",
    "current_locale",
    "gendered",
    "gettext",
    "lazy_gettext",
    "locale_var",
    "ngettext",
    "pgettext",
    "use_locale",
]
