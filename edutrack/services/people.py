"""A person's grammatical gender: set by the person or their school's administrator; null means "infer it"."""

from __future__ import annotations

from typing import Any

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.i18n import _
from edutrack.queries import people as q
from edutrack.security.tokens import Principal

CHANGES_PER_HOUR = 30


def gender_view(user_id: int, name: Any) -> dict[str, Any]:
    return {"user_id": user_id, "gender": name.gender, "grammatical_gender": name.grammatical_gender}


async def set_gender(ctx: AppContext, who: Principal, user_id: int, gender: str | None) -> dict[str, Any]:
    count, retry_after = await ctx.limiter.hit(f"gender:{who.user_id}", 3600)
    if count > CHANGES_PER_HOUR:
        raise errors.TooManyRequests(retry_after)
    async with ctx.sessions.begin() as session:
        found = await q.person_school(session, user_id, for_update=True)
        allowed = found is not None and (
            who.is_superuser or who.user_id == user_id
            or (who.role == Role.ADMIN.value and who.school_id is not None and found[0] == who.school_id))
        if found is None or not allowed:
            # Someone else's account outside one's school is not even confirmed to exist.
            raise errors.NotFound(_("No such user"))
        name = await q.set_gender(session, user_id, gender)
    return gender_view(user_id, name)
