"""The JSON encoding of every response body, shared by handlers and by services that cache finished bodies
(a cached body must be byte for byte what the handler would have sent)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

# orjson encodes str, numbers, dicts, lists, tuples, dates and timestamps (as isoformat() spells them), UUIDs and
# enums itself, compact and UTF-8, as json.dumps(ensure_ascii=False, separators=(",", ":")) did; keys that are not
# strings (ids) become strings as json.dumps made them. `_default` handles what orjson takes only in its exact type
# (subclasses of date and datetime, asyncpg's UUID) as before. Differences no answer reaches today (averages
# guard against an empty weight, numbers in requests are range-checked): a float below 1e-4 is written in full
# (0.00001, not 1e-05), NaN and infinities as null (json.dumps wrote invalid JSON), integers beyond 64 bits are
# refused, and a UTC offset with seconds loses them.
_OPTIONS = orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, tuple):  # a NamedTuple, which json.dumps wrote as a list and orjson refuses
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps_bytes(data: Any) -> bytes:
    return orjson.dumps(data, default=_default, option=_OPTIONS)
