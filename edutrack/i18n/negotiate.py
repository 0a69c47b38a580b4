"""Choosing the language of a request."""

from __future__ import annotations

from edutrack.i18n.catalogue import DEFAULT_LOCALE, LOCALES

LANG_PARAM = "lang"
LANG_COOKIE = "edutrack_lang"


def _weight(raw: str) -> float:
    try:
        q = float(raw)
    except ValueError:
        return 0.0
    return q if 0.0 <= q <= 1.0 else 0.0


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an `Accept-Language` header, most wanted first (RFC 9110 q-values; ties keep order)."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:32]):
        tag, *params = (part.strip() for part in item.split(";"))
        if not tag:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                q = _weight(value.strip())
        if q > 0:
            ranked.append((-q, position, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """The first of our languages the client asks for ("en-GB" is English); Russian when it asks for none."""
    for tag in parse_accept_language(accept_language or ""):
        if tag == "*":
            return default
        primary = tag.split("-", 1)[0]
        if primary in LOCALES:
            return primary
    return default


def chosen(value: str | None) -> str | None:
    """An explicit choice (`?lang=en`, the cookie) if it names one of our languages."""
    value = (value or "").strip().lower()
    return value if value in LOCALES else None
