"""The browser's share of the catalogue: for each page, the messages its scripts use, in the page's language.

The scripts call `t("...")`, `tn("...", "...", n)` and `tg(gender, "...")` (static/web/core.js). Which
messages a page needs is found by running Babel's JavaScript extractor over the page's scripts when the app
starts, so the list can never drift from the code; the result is embedded in the page as JSON.
"""

from __future__ import annotations

import functools
import io
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
    return list(_messages_in(path.read_bytes()))


# Babel's JavaScript tokenizer takes about a second over the pages' scripts, and every app built in a process (each
# test builds one) would pay it again for the same files: the result is remembered per script text, so an edited
# script is read afresh and nothing can go stale.
@functools.lru_cache(maxsize=128)
def _messages_in(source: bytes) -> tuple[Message, ...]:
    found: list[Message] = [(m, None) for _, m, _, _ in extract("javascript", io.BytesIO(source), keywords=JS_KEYWORDS)]
    gendered = [m for _, m, _, _ in extract("javascript", io.BytesIO(source), keywords={"tg": (2,)})]
    found += [(m, g) for m in gendered for g in GENDERS]
    return tuple(found)


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
