"""marshmallow's built-in messages ("Missing data for required field.", "Not a valid integer.", ...) in the
request's language. marshmallow formats its English templates before we see them, so each rendered message
is matched against the template it came from and the template's translation is filled with the same values.
Our own validators raise messages that are translated already; those pass through unchanged, and a schema's
fixed `error=N_("...")` is looked up as it is."""

from __future__ import annotations

import functools
import re
from typing import Any

from edutrack.i18n import N_, current_locale, gettext
from edutrack.i18n.catalogue import translations

# Every message marshmallow can produce, in the catalogue's form (`%(name)s` for marshmallow's `{name}`).
# A test renders each default message of the installed marshmallow and fails on one missing here (except
# the "cannot be formatted" ones: those come from dumping our own responses, never from a request).
MARSHMALLOW_MESSAGES = (
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Invalid value."),
    N_("Invalid input."),
    N_("Invalid type."),
    N_("Invalid input type."),
    N_("Unknown field."),
    N_("Not a valid boolean."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Number too large."),
    N_("Special numeric values (nan or infinity) are not permitted."),
    N_("Not a valid string."),
    N_("Not a valid utf-8 string."),
    N_("Not a valid date."),
    N_("Not a valid datetime."),
    N_("Not a valid time."),
    N_("Not a valid aware datetime."),
    N_("Not a valid naive datetime."),
    N_("Not a valid period of time."),
    N_("Not a valid email address."),
    N_("Not a valid URL."),
    N_("Not a valid UUID."),
    N_("Not a valid list."),
    N_("Not a valid tuple."),
    N_("Not a valid mapping type."),
    N_("Not a valid IP address."),
    N_("Not a valid IPv4 address."),
    N_("Not a valid IPv6 address."),
    N_("Not a valid IP interface."),
    N_("Not a valid IPv4 interface."),
    N_("Not a valid IPv6 interface."),
    N_("String does not match expected pattern."),
    N_("Must be one of: %(choices)s."),
    N_("Must be equal to %(other)s."),
    N_("One or more of the choices you made was in: %(values)s."),
    N_("One or more of the choices you made was not in: %(choices)s."),
    N_("Shorter than minimum length %(min)s."),
    N_("Longer than maximum length %(max)s."),
    N_("Length must be between %(min)s and %(max)s."),
    N_("Length must be %(equal)s."),
    N_("Must be greater than or equal to %(min)s."),
    N_("Must be greater than %(min)s."),
    N_("Must be less than or equal to %(max)s."),
    N_("Must be less than %(max)s."),
    N_("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than %(min)s and less than %(max)s."),
    N_("Must be greater than or equal to %(min)s and less than %(max)s."),
    N_("Must be greater than %(min)s and less than or equal to %(max)s."),
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _pattern(message: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(message)  # literal, name, literal, name, ...
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
    return re.compile(f"^{regex}$", re.DOTALL)


@functools.cache
def _table() -> tuple[dict[str, str], tuple[tuple[re.Pattern[str], str], ...]]:
    exact = {m: m for m in MARSHMALLOW_MESSAGES if not _PLACEHOLDER.search(m)}
    # The longest templates first: "Must be greater than or equal to 1 and less than or equal to 9." also fits
    # "Must be greater than or equal to %(min)s." (with min = "1 and less than ... 9"), half in English.
    templated = tuple((_pattern(m), m) for m in sorted(MARSHMALLOW_MESSAGES, key=len, reverse=True)
                      if _PLACEHOLDER.search(m))
    return exact, templated


def translate_message(text: str) -> str:
    exact, templated = _table()
    if text in exact:
        return gettext(exact[text])
    for pattern, message in templated:
        found = pattern.match(text)
        if found:
            return gettext(message, **found.groupdict())
    # A schema's own fixed message (`validate.Regexp(..., error=N_("..."))`) is a catalogue id as it is.
    return translations(current_locale()).gettext(text)


def translate_messages(messages: Any) -> Any:
    """The same structure as marshmallow's `ValidationError.messages`, every string translated."""
    if isinstance(messages, str):
        return translate_message(messages)
    if isinstance(messages, dict):
        return {key: translate_messages(value) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [translate_messages(value) for value in messages]
    return messages
