"""The checks every client input goes through, a REST body and a websocket frame alike: JSON that parses (however
deeply nested), text that PostgreSQL can store, integers that fit a bigint."""

from __future__ import annotations

import json
from typing import Any

from edutrack import errors
from edutrack.i18n import N_, _

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


# What a refusal says, by what was refused: whole sentences, since word order differs between languages.
_NOT_JSON = {"body": N_("The request body is not valid JSON."), "frame": N_("The frame is not valid JSON.")}
_TOO_DEEP = {"body": N_("The request body is nested too deeply."), "frame": N_("The frame is nested too deeply.")}


def parse_json(raw: str | bytes, what: str) -> Any:
    """`raw` as JSON, or 400 `invalid_json`; `what` is "body" (a REST request's) or "frame" (a websocket's)."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.BadRequest(_(_NOT_JSON[what]), code="invalid_json",
                                details={"reason": str(exc)[:200]}) from exc
    except RecursionError as exc:
        raise errors.BadRequest(_(_TOO_DEEP[what]), code="invalid_json") from exc


def bad_text(value: str) -> bool:
    # PostgreSQL text cannot hold NUL, and a lone surrogate (valid in JSON's \uXXXX) is not encodable as UTF-8:
    # either would reach the database (or a websocket frame) and fail there as a 500.
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def reject_unstorable_text(body: Any) -> None:
    """400 `invalid_text` if any string in `body` (keys included) holds NUL or a lone surrogate."""
    stack = [body]  # iterative: the JSON parser already allows nesting deeper than a recursive walk would
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if bad_text(item):
                raise errors.BadRequest(_("Text must be valid Unicode without NUL characters."), code="invalid_text")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
