"""Parsers of settings' raw text (edutrack/settings.py): each appends what is wrong to `problems` and returns its
best reading, so every problem of a configuration is reported at once."""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable
from typing import Any

from edutrack.i18n import _

ENVIRONMENTS = ("development", "test", "production")
Parser = Callable[[str, str, list[str]], Any]


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(name: str, raw: str, problems: list[str]) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    problems.append(_("%(name)s must be a boolean (true/false), got %(value)s", name=name, value=repr(raw)))
    return False


def parse_int(name: str, raw: str, problems: list[str], minimum: int = 0) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        problems.append(_("%(name)s must be an integer, got %(value)s", name=name, value=repr(raw)))
        return minimum
    if value < minimum:
        problems.append(_("%(name)s must be >= %(minimum)s, got %(value)s", name=name, minimum=minimum, value=value))
    return value


def parse_float(name: str, raw: str, problems: list[str]) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        problems.append(_("%(name)s must be a number, got %(value)s", name=name, value=repr(raw)))
        return 0.0
    if value <= 0:
        problems.append(_("%(name)s must be positive, got %(value)s", name=name, value=value))
    return value


def parse_origins(name: str, raw: str, problems: list[str]) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin == "*" or "*" in origin:
            problems.append(_("CORS_ORIGINS must list explicit origins; '*' is refused"))
        elif not origin.startswith(("http://", "https://")):
            problems.append(_("CORS_ORIGINS entry %(origin)s must start with http:// or https://", origin=repr(origin)))
    return origins


def parse_networks(name: str, raw: str, problems: list[str]) -> tuple[str, ...]:
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            problems.append(_("%(name)s entry %(value)s is not an IP address or network (e.g. 10.0.0.0/8)", name=name,
                             value=repr(part)))
    return tuple(networks)


def parse_text(name: str, raw: str, problems: list[str]) -> str:
    return raw.strip()


def parse_vapid_key(name: str, raw: str, problems: list[str]) -> str:
    value = raw.strip()
    if value:
        try:
            decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except ValueError:
            decoded = b""
        if len(decoded) != 32:
            problems.append(_("%(name)s must be the base64url of a raw P-256 private key (32 bytes)", name=name))
    return value


def parse_delays(name: str, raw: str, problems: list[str]) -> tuple[float, ...]:
    delays = tuple(parse_float(name, part, problems) for part in raw.split(",") if part.strip())
    if not delays:
        problems.append(_("%(name)s must list at least one delay in seconds, e.g. 30,120,600", name=name))
    return delays


def parse_environment(name: str, raw: str, problems: list[str]) -> str:
    value = raw.strip().lower()
    value = {"dev": "development", "prod": "production", "testing": "test"}.get(value, value)
    if value not in ENVIRONMENTS:
        problems.append(_("%(name)s must be one of %(allowed)s, got %(value)s", name=name,
                          allowed=", ".join(ENVIRONMENTS), value=repr(value)))
    return value


def choice(allowed: tuple[str, ...], normal: Callable[[str], str]) -> Parser:
    def parse(name: str, raw: str, problems: list[str]) -> str:
        value = normal(raw.strip())
        if value not in allowed:
            problems.append(_("%(name)s must be one of %(allowed)s, got %(value)s", name=name,
                              allowed=", ".join(allowed), value=repr(value)))
        return value

    return parse
