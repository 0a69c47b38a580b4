"""The browser's share of the catalogue: for each page, the messages its scripts use, in the page's language.

The scripts call `t("...")`, `tn("...", "...", n)` and `tg(gender, "...")` (static/web/core.js). Which
messages a page needs is found by running Babel's JavaScript extractor over the page's scripts when the app
starts, so the list can never drift from the code; the result is embedded in the page as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from babel.messages.extract import extract

from edutrack.i18n import GENDERS
from edutrack.i18n.catalogue import LOCALES, PLURAL_CATEGORIES, forms

JS_KEYWORDS: dict[str, Any] = {"t": None, "tn": (1, 2), "tg": (2,)}
CONTEXT_SEPARATOR = "\x04"  # gettext's own: a context-qualified key is "context\x04message"

Message = tuple[str | tuple[str, ...], str | None]  # (id or (singular, plural), context)


def script_messages(path: Path) -> list[Message]:
    """Every message one script asks for; a gendered one (`tg`) counts three times: male, female, neutral."""
    with path.open("rb") as f:
        found: list[Message] = [(m, None) for _, m, _, _ in extract("javascript", f, keywords=JS_KEYWORDS)]
    with path.open("rb") as f:
        gendered = [m for _, m, _, _ in extract("javascript", f, keywords={"tg": (2,)})]
    found += [(m, g) for m in gendered for g in GENDERS]
    return found


def key(message: str | tuple[str, ...], context: str | None) -> str:
    msgid = message if isinstance(message, str) else message[0]
    return f"{context}{CONTEXT_SEPARATOR}{msgid}" if context else msgid


def page_catalogues(scripts: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """locale -> {"locale", "plural" (CLDR categories of the forms), "messages" {key: text or forms}}."""
    wanted: dict[str, Message] = {}
    for script in scripts:
        for message, context in script_messages(script):
            wanted[key(message, context)] = (message, context)
    return {
        locale: {
            "locale": locale,
            "plural": list(PLURAL_CATEGORIES[locale]),
            "messages": {k: forms(locale, m, c) for k, (m, c) in sorted(wanted.items())},
        }
        for locale in LOCALES
    }
