"""Loading the catalogue: the .po files are read directly (compiled to gettext's form in memory at first use),
so there is no build step and a fresh clone runs as it is. A locale without a .po file (English, the language of
the message ids) answers with the ids themselves and English plural rules."""

from __future__ import annotations

import functools
import gettext as stdlib_gettext
import io
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
DEFAULT_LOCALE = "ru"
LOCALES = ("ru", "en")
# The CLDR plural category of each gettext plural form, in the order of the catalogue's Plural-Forms rule;
# the browser picks a form with Intl.PluralRules through this list (a test checks it against the rule).
PLURAL_CATEGORIES = {"ru": ("one", "few", "many"), "en": ("one", "other")}


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@dataclass(frozen=True)
class LoadedCatalogue:
    translations: stdlib_gettext.NullTranslations
    catalog: Catalog | None  # None: the message ids are the texts


# Read once per process and never changed afterwards: immutable data, like the templates in the package.
@functools.cache
def load(locale: str) -> LoadedCatalogue:
    path = po_path(locale)
    if not path.exists():
        return LoadedCatalogue(stdlib_gettext.NullTranslations(), None)
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return LoadedCatalogue(stdlib_gettext.GNUTranslations(compiled), catalog)


def translations(locale: str) -> stdlib_gettext.NullTranslations:
    return load(locale if locale in LOCALES else DEFAULT_LOCALE).translations


def forms(locale: str, message: str | tuple[str, ...], context: str | None = None) -> str | list[str]:
    """What the browser's catalogue holds for one message: the text, or every plural form of it."""
    catalog = load(locale).catalog
    found = catalog.get(message if isinstance(message, str) else message[0], context) if catalog else None
    if found is not None and not found.fuzzy:
        if isinstance(found.string, tuple | list) and all(found.string):
            return list(found.string)
        if isinstance(found.string, str) and found.string:
            return found.string
    return message if isinstance(message, str) else list(message)
