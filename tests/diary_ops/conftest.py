"""Fixtures of the diary operations tests (absence notes, substitutions, final marks, people with two roles)."""

from __future__ import annotations

import pytest

from edutrack.context import AppContext
from tests.support.school import BuiltSchool, build_school


@pytest.fixture
async def school(ctx: AppContext) -> BuiltSchool:
    return await build_school(ctx, classes=2, students_per_class=3, parents_per_student=2)
