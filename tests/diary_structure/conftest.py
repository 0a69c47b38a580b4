"""Fixtures of the diary-structure tests: a built school, a superuser (helpers: tests/support/diary.py)."""

from __future__ import annotations

from typing import Any

import pytest

from edutrack.context import AppContext
from edutrack.db.models import User
from tests.support.school import BuiltSchool, build_school


@pytest.fixture
async def school(ctx: AppContext) -> BuiltSchool:
    return await build_school(ctx, classes=2, students_per_class=3)


@pytest.fixture
async def superuser(factory: Any) -> User:
    user: User = await factory.user("admin", is_superuser=True)
    return user
