"""A person's name, formatted once per context (docs/i18n.md, "Names"): never concatenate name parts elsewhere.

Russian grammar comes from the petrovich rules through the maintained `pytrovich` package: declension of
first names, patronymics and surnames ("от Ирины Крыловой"), and gender detection from the patronymic, the
first name and the surname when a profile has no gender of its own.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from pytrovich.detector import PetrovichGenderDetector
from pytrovich.enums import Case, Gender, NamePart
from pytrovich.maker import PetrovichDeclinationMaker

from edutrack.i18n import FEMALE, GENDERS, MALE, current_locale

CYRILLIC_WORD = re.compile(r"^[А-Яа-яЁё-]+$")
CASES = {"genitive": Case.GENITIVE, "dative": Case.DATIVE, "accusative": Case.ACCUSATIVE,
         "instrumental": Case.INSTRUMENTAL, "prepositional": Case.PREPOSITIONAL}


@dataclass(frozen=True, slots=True)
class PersonName:
    first: str
    last: str
    middle: str | None = None
    gender: str | None = None  # as stored in the profile; None: not given

    @classmethod
    def of(cls, row: Any) -> PersonName:
        """From a profile, or any row with first_name, last_name, middle_name and gender."""
        return cls(first=row.first_name or "", last=row.last_name or "", middle=getattr(row, "middle_name", None),
                   gender=getattr(row, "gender", None))

    @property
    def grammatical_gender(self) -> str | None:
        """The stored gender, else the one the name shows (None when it cannot tell, e.g. Саша Ким)."""
        return self.gender if self.gender in GENDERS else infer_gender(self.first, self.middle, self.last)


# The rules are read once per process and never change: immutable data shared like the catalogue.
@functools.cache
def _detector() -> PetrovichGenderDetector:
    return PetrovichGenderDetector()


@functools.cache
def _maker() -> PetrovichDeclinationMaker:
    return PetrovichDeclinationMaker()


def infer_gender(first: str | None, middle: str | None = None, last: str | None = None) -> str | None:
    parts = {k: v.strip() for k, v in (("firstname", first), ("middlename", middle), ("lastname", last))
             if v and CYRILLIC_WORD.match(v.strip())}
    if not parts:
        return None
    found = _detector().detect(**parts)  # type: ignore[no-untyped-call]
    return MALE if found == Gender.MALE else FEMALE if found == Gender.FEMALE else None


def _join(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _decline(word: str | None, part: NamePart, gender: str | None, case: Case) -> str | None:
    if not word or not CYRILLIC_WORD.match(word.strip()):
        return word  # a Latin or empty name is left as it is
    as_gender = Gender.MALE if gender == MALE else Gender.FEMALE if gender == FEMALE else Gender.ANDROGYNOUS
    declined: str = _maker().make(part, as_gender, case, word.strip())
    return declined


def declined(name: PersonName, case: str) -> PersonName:
    """The name in a Russian grammatical case ("genitive": Ирины Крыловой)."""
    gender = name.grammatical_gender
    grammatical = CASES[case]
    return PersonName(first=_decline(name.first, NamePart.FIRSTNAME, gender, grammatical) or "",
                      last=_decline(name.last, NamePart.LASTNAME, gender, grammatical) or "",
                      middle=_decline(name.middle, NamePart.MIDDLENAME, gender, grammatical), gender=gender)


def list_name(name: PersonName) -> str:
    """Lists, tables and pickers: "Крылова Ирина"."""
    return _join(name.last, name.first)


def _collation(text: str) -> str:
    # Without diacritics and case: Ё sorts with Е, as in a printed class list.
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return bare.casefold()


def list_order(name: PersonName) -> tuple[str, str, str]:
    """The sort key of `list_name`: surname, then first name, then patronymic."""
    return _collation(name.last), _collation(name.first), _collation(name.middle or "")


def full_name(name: PersonName) -> str:
    """Documents and a profile: "Крылова Ирина Петровна"."""
    return _join(name.last, name.first, name.middle)


def first_last(name: PersonName) -> str:
    """A person in a sentence or a chat: "Ирина Крылова"."""
    return _join(name.first, name.last)


def address_name(name: PersonName) -> str:
    """Addressing the person ("Здравствуйте, Ирина Петровна!"); without a patronymic, the first name."""
    return _join(name.first, name.middle) or name.last


def short_name(name: PersonName) -> str:
    """Tight columns: "Крылова И. П."."""
    initials = " ".join(f"{p.strip()[0]}." for p in (name.first, name.middle) if p and p.strip())
    return _join(name.last, initials)


def sender_name(name: PersonName) -> str:
    """Who something is from: "Сообщение от Ирины Крыловой" (genitive in Russian; as is in English)."""
    if current_locale() != "ru":
        return first_last(name)
    return first_last(declined(name, "genitive"))
