"""Keeping the catalogue complete: Babel's extractors find every message in the code, templates and scripts.

    python -m edutrack.i18n.extract update   # merge what the code uses into each .po (new ones untranslated)
    python -m edutrack.i18n.extract check    # list messages without a (correct) translation; exit 1 if any

A gendered message (`gendered(gender, "...")`, `tg(gender, "...")`) is three entries: contexts "male" and
"female", and the neutral one without a context. `make messages` runs `update`; tests run `check`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from edutrack.i18n import GENDERS
from edutrack.i18n.browser import JS_KEYWORDS
from edutrack.i18n.catalogue import DEFAULT_LOCALE, DOMAIN, LOCALE_DIR, LOCALES, po_path

ROOT = LOCALE_DIR.parent.parent
JINJA = "jinja2.ext:babel_extract"
PY_KEYWORDS: dict[str, Any] = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "gendered": (2,)}
# (method map, keywords, the keyword of gendered messages)
SOURCES: list[tuple[list[tuple[str, str]], dict[str, Any], str]] = [
    ([("edutrack/**.py", "python"), ("edutrack/templates/**.html", JINJA), ("edutrack/templates/**.txt", JINJA)],
     PY_KEYWORDS, "gendered"),
    ([("static/**.js", "javascript")], JS_KEYWORDS, "tg"),
]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")

Extracted = tuple[str, int, str | tuple[str, ...], str | None]  # file, line, message, context


def _extract(method_map: list[tuple[str, str]], keywords: dict[str, Any]) -> Iterator[Extracted]:
    options = {pattern: {"extensions": "jinja2.ext.i18n"} for pattern, method in method_map if method == JINJA}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options, keywords=keywords, comment_tags=(), strip_comment_tags=True):
        yield filename, lineno, message, context


def extract_messages() -> Catalog:
    """Every message the project shows, as a template catalogue (no translations)."""
    template = Catalog(project="EduTrack", domain=DOMAIN, charset="utf-8", fuzzy=False)
    for method_map, keywords, gender_keyword in SOURCES:
        for filename, lineno, message, context in _extract(method_map, keywords):
            template.add(message, None, [(filename, lineno)], context=context)
        for filename, lineno, message, _ in _extract(method_map, {gender_keyword: (2,)}):
            for gender in GENDERS:
                template.add(message, None, [(filename, lineno)], context=gender)
    return template


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def problems(template: Catalog, translated: Catalog) -> list[str]:
    """What is missing or wrong in `translated` for the messages of `template`."""
    found: list[str] = []
    for message in template:
        if not message.id:
            continue
        where = ", ".join(f"{f}:{n}" for f, n in message.locations[:3])
        name = f"{message.context + ' | ' if message.context else ''}{message.id!r} ({where})"
        entry: Message | None = translated.get(message.id, message.context)
        raw = None if entry is None else entry.string
        strings: list[str] = [s or "" for s in raw] if isinstance(raw, tuple | list) else [raw or ""]
        if entry is None or entry.fuzzy or not strings or not all(strings):
            found.append(f"no translation: {name}")
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        expected = set().union(*(_placeholders(i) for i in ids))
        for text in strings:
            if _placeholders(text) - expected or (_placeholders(text) ^ expected) - {"num"}:
                found.append(f"placeholders differ: {name} -> {text!r}")
            try:
                text % {key: "" for key in _placeholders(text)}
            except (ValueError, TypeError, KeyError):
                found.append(f"bad format (write a percent sign as %%): {name} -> {text!r}")
    return found


def translated_locales() -> list[str]:
    return [locale for locale in LOCALES if po_path(locale).exists()]


def read(locale: str) -> Catalog:
    with po_path(locale).open("rb") as f:
        return read_po(f, locale=locale)


def update() -> None:
    template = extract_messages()
    for locale in translated_locales():
        catalog = read(locale)
        template.creation_date = catalog.creation_date  # no header churn in every diff
        catalog.update(template, no_fuzzy_matching=True)
        with po_path(locale).open("wb") as f:
            # Sorted, and locations without line numbers: parallel branches that add messages touch few lines.
            write_po(f, catalog, width=120, ignore_obsolete=True, sort_output=True, include_lineno=False)


def check() -> list[str]:
    template = extract_messages()
    return [f"{locale}: {p}" for locale in translated_locales() for p in problems(template, read(locale))]


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
        return 0
    if command == "check":
        found = check()
        for line in found:
            print(line)
        if DEFAULT_LOCALE not in translated_locales():
            print(f"no catalogue for {DEFAULT_LOCALE}")
            return 1
        return 1 if found else 0
    print("usage: python -m edutrack.i18n.extract [update|check]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
