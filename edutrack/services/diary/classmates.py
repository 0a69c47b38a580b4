"""Classmate search: a student finds the students who share a class with them."""

from __future__ import annotations

from typing import Any

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.i18n import _
from edutrack.queries import classes as q
from edutrack.security.tokens import Principal


async def classmates(ctx: AppContext, who: Principal, q_text: str | None, limit: int, offset: int) -> dict[str, Any]:
    if who.role != Role.STUDENT.value:
        raise errors.Forbidden(_("Classmate search is for students"))
    async with ctx.reads() as session:
        rows, total = await q.classmates(session, who.user_id, q_text, limit, offset)
    items = []
    for r in rows:
        items.append({
            "id": r.id, "first_name": r.first_name, "last_name": r.last_name, "full_name": r.full_name,
            "avatar_url": r.avatar_url, "classes": list(r.class_names),
            # Privacy: the birthday leaves the server only when its owner allowed it.
            "birthday": r.birthday.isoformat() if r.show_birthday and r.birthday else None,
        })
    return {"items": items, "total": total, "limit": limit, "offset": offset}
