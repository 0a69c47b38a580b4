"""Fixtures of the grades/attestations/attendance/analytics tests: one built school per test, statement counting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from edutrack.context import AppContext
from tests.support.school import BuiltSchool, build_school


@pytest.fixture
async def school(ctx: AppContext) -> BuiltSchool:
    return await build_school(ctx, classes=2, students_per_class=3, parents_per_student=2)


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.count += 1
        self.statements.append(statement)


@pytest.fixture
def count_queries(ctx: AppContext) -> Iterator[Callable[[], StatementCounter]]:
    """Start counting statements sent to PostgreSQL by the app's engine; the listener goes with the test."""
    counters: list[StatementCounter] = []

    def start() -> StatementCounter:
        counter = StatementCounter()
        event.listen(ctx.engine.sync_engine, "before_cursor_execute", counter)
        counters.append(counter)
        return counter

    yield start
    for counter in counters:
        event.remove(ctx.engine.sync_engine, "before_cursor_execute", counter)
