"""The JSON encoding of every response body, shared by handlers and by services that cache finished bodies
(a cached body must be byte for byte what the handler would have sent)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

# orjson encodes str, numbers, dicts, lists, tuples, dates and timestamps (as isoformat() spells them), UUIDs and
# enums itself, compact and UTF-8, as json.dumps(ensure_ascii=False, separators=(",", ":")) did; keys that are not
# strings (ids) become strings as json.dumps made them. The one visible difference: a float below 1e-4 is written
# in full (0.00001, not 1e-05), which is the same number in JSON.
_OPTIONS = orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple):  # a NamedTuple, which json.dumps wrote as a list and orjson refuses
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps_bytes(data: Any) -> bytes:
    return orjson.dumps(data, default=_default, option=_OPTIONS)
