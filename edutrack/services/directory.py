"""A school's people as its administrator sees them: searchable by name, filtered by role, class and activity,
each with their classes, children or parents, and whether their invitation is still waiting.

Names are formatted by edutrack/i18n/names.py (a list's "Фамилия Имя"), with the grammatical gender the page
needs for sentences about the person ("отключена", "отключён").
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.i18n import _
from edutrack.i18n.names import PersonName, full_name, list_name
from edutrack.queries import classes as class_q
from edutrack.queries import directory as q
from edutrack.queries.people import person_names
from edutrack.security.tokens import Principal


def require_admin(actor: Principal) -> None:
    if not actor.is_admin:
        raise errors.Forbidden(_("Only school administrators can manage people"))


def school_in_reach(actor: Principal, school_id: int | None) -> int | None:
    """The school an administrator works on: their own; a superuser's choice (None: every school)."""
    require_admin(actor)
    if actor.is_superuser:
        return school_id
    if actor.school_id is None:
        raise errors.Forbidden(_("You are not attached to a school"))
    if school_id is not None and school_id != actor.school_id:
        raise errors.NotFound(_("No such school"))
    return actor.school_id


def _person(row: Row[Any], classes: list[tuple[int, str]], children: list[dict[str, Any]],
            parents: list[dict[str, Any]], invited_until: Any) -> dict[str, Any]:
    name = PersonName.of(row)
    return {
        "id": row.id, "email": row.email, "role": row.role, "is_active": row.is_active,
        "is_superuser": row.is_superuser, "school_id": row.school_id, "name": list_name(name),
        "full_name": full_name(name), "gender": name.grammatical_gender,
        "classes": [{"id": c, "name": n} for c, n in classes], "children": children, "parents": parents,
        "invited_until": invited_until.isoformat() if invited_until is not None else None,
    }


async def person_views(session: AsyncSession, rows: list[Row[Any]]) -> list[dict[str, Any]]:
    """The directory's view of these people: four queries for the whole page."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    classes = await q.classes_of(session, ids)
    links = await q.family_links(session, ids)
    pending = await q.pending_invitations(session, ids)
    names = await person_names(session, {i for link in links for i in link})
    children: dict[int, list[dict[str, Any]]] = defaultdict(list)
    parents: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for parent_id, child_id in links:
        children[parent_id].append({"id": child_id, "name": list_name(names[child_id])})
        parents[child_id].append({"id": parent_id, "name": list_name(names[parent_id])})
    for found in (*children.values(), *parents.values()):
        found.sort(key=lambda p: p["name"])
    return [_person(r, classes.get(r.id, []), children.get(r.id, []), parents.get(r.id, []), pending.get(r.id))
            for r in rows]


async def person_view(session: AsyncSession, user_id: int) -> dict[str, Any]:
    rows, _total = await q.people(session, school_id=None, ids=[user_id])
    return (await person_views(session, rows))[0]


async def list_people(ctx: AppContext, actor: Principal, *, school_id: int | None, role: str | None,
                      class_id: int | None, q_text: str | None, active: bool | None, limit: int,
                      offset: int) -> dict[str, Any]:
    school_id = school_in_reach(actor, school_id)
    async with ctx.reads() as session:
        if class_id is not None:
            cls = await class_q.class_by_id(session, class_id)
            if cls is None or (school_id is not None and cls.school_id != school_id):
                raise errors.NotFound(_("No such class"))
        rows, total = await q.people(session, school_id=school_id, role=role, class_id=class_id, q=q_text,
                                     active=active, limit=limit, offset=offset)
        items = await person_views(session, rows)
    return {"items": items, "total": total, "limit": limit, "offset": offset}
