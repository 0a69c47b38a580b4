"""Response bodies (edutrack/serialize.py, orjson) are the bytes the standard library's encoder wrote before, for
every kind of value an answer carries, including the types orjson takes only in their exact class."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, NamedTuple

import asyncpg
import pytest

from edutrack.serialize import dumps_bytes


def _old(value: Any) -> Any:  # what serialize.py's default did before orjson
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(type(value).__name__)


class Day(date):
    pass


class Pair(NamedTuple):
    a: int
    b: str


async def _pg_uuid(database_url: str) -> Any:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await conn.fetchval("SELECT gen_random_uuid()")
    finally:
        await conn.close()


async def test_bodies_are_the_bytes_the_standard_encoder_wrote(database_url: str) -> None:
    pg_uuid = await _pg_uuid(database_url)
    assert type(pg_uuid) is not uuid.UUID  # asyncpg's own class, which orjson does not take as a UUID
    values: dict[str, Any] = {
        "text": "Оценка «5» за контрольную\u2028\x7f</script>", "int": 2**62, "float": 4.333333333333333,
        "decimal": Decimal("4.50"), "none": None, "bool": True, "list": [1, "два", 3.0], "tuple": (1, 2),
        "named": Pair(1, "b"), "date": date(2026, 12, 6), "subclass_date": Day(2026, 12, 6),
        "naive": datetime(2026, 12, 6, 8, 30, 0, 500000), "utc": datetime(2026, 12, 6, 8, 30, tzinfo=UTC),
        "offset": datetime(2026, 12, 6, 8, 30, tzinfo=timezone(timedelta(hours=3))),
        "uuid": uuid.UUID(int=7), "pg_uuid": pg_uuid, "ids": {1: "a", 22: "b"},
    }
    for name, value in values.items():
        expected = json.dumps({name: value}, default=_old, ensure_ascii=False, separators=(",", ":")).encode()
        assert dumps_bytes({name: value}) == expected, name


def test_what_neither_encodes_is_refused() -> None:
    with pytest.raises(TypeError):
        dumps_bytes({"set": {1, 2}})
