"""SQL of one-off lesson changes: who may cover a lesson."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import Role, User


async def staff_member(session: AsyncSession, user_id: int, school_id: int) -> Any:
    """An active teacher or admin of the school (id, role), or None."""
    stmt = select(User.id, User.role).where(User.id == user_id, User.school_id == school_id, User.is_active,
                                            User.role.in_([Role.TEACHER.value, Role.ADMIN.value]))
    return (await session.execute(stmt)).first()
