"""What a journal's readers may see of its history and its people: who changed which grade when (the audit rows
of the class's grades in the subject, deleted grades included), and the parents of a class for its class teacher.

A teacher reads the history of the journals they open (`permissions.journal_access`: their class+subject, or every
subject of the class they lead), never the school's whole audit trail, which stays with the admins.
"""

from __future__ import annotations

from typing import Any

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.i18n import _
from edutrack.i18n.names import PersonName, first_last, list_name, list_order
from edutrack.queries import attestations as attestation_q
from edutrack.queries import journal as q
from edutrack.queries import membership
from edutrack.queries.people import person_names
from edutrack.security.tokens import Principal
from edutrack.services.diary.grades import display
from edutrack.services.diary.journal import open_journal, person_view, sorted_students


def audit_side(snapshot: dict[str, Any] | None, work_types: dict[int, str]) -> dict[str, Any] | None:
    """The readable part of one side of an audit row: only what it records (an update records what changed)."""
    if snapshot is None:
        return None
    side: dict[str, Any] = {}
    if "value" in snapshot or "mark" in snapshot:
        side["display"] = display(snapshot.get("value"), snapshot.get("mark"))
    if "work_type_id" in snapshot:
        side["work_type"] = work_types.get(snapshot["work_type_id"])
    if "comment" in snapshot:
        side["comment"] = snapshot["comment"]
    if "date" in snapshot:
        side["date"] = snapshot["date"]
    return side


async def journal_changes(ctx: AppContext, who: Principal, class_id: int, subject_id: int, *, grade_id: int | None,
                          limit: int, offset: int) -> dict[str, Any]:
    """Every put, change and deletion of a grade in this journal (or of one grade), newest first, with who did it."""
    async with ctx.reads() as session:
        cls, _subject, _can_edit = await open_journal(session, who, class_id, subject_id)
        rows = await q.grade_changes(session, class_id, subject_id, grade_id=grade_id, limit=limit, offset=offset)
        work_types = await q.work_type_names(session, cls.school_id)
        people = await person_names(session, [*(r.actor_id for r in rows if r.actor_id is not None),
                                              *(r.student_id for r in rows)])
    items = []
    for r in rows:
        actor = people.get(r.actor_id) if r.actor_id is not None else None
        items.append({
            "id": r.id, "grade_id": r.grade_id, "action": r.action, "at": r.at, "actor_id": r.actor_id,
            "actor": first_last(actor) if actor else None, "actor_gender": actor.grammatical_gender if actor else None,
            "student_id": r.student_id, "student": list_name(people.get(r.student_id, PersonName("", ""))),
            "date": r.date, "lesson_id": r.lesson_id,
            "old": audit_side(r.old, work_types), "new": audit_side(r.new, work_types),
        })
    return {"items": items, "limit": limit, "offset": offset}


async def class_parents(ctx: AppContext, who: Principal, class_id: int) -> dict[str, Any]:
    """The parents linked to the class's students, with their email: for the class teacher and the admins."""
    async with ctx.reads() as session:
        cls = await class_of_its_teacher(session, who, class_id)
        student_ids = await q.student_ids(session, class_id)
        links = await q.class_parents(session, class_id)
        people = await person_names(session, [*student_ids, *(link.parent_id for link in links)])
    parents: dict[int, dict[str, Any]] = {}
    for link in links:
        entry = parents.setdefault(link.parent_id, {**person_view(link.parent_id, people), "email": link.email,
                                                    "is_active": link.is_active, "children": []})
        entry["children"].append(person_view(link.child_id, people))
    linked = {link.child_id for link in links}

    def order(entry: dict[str, Any]) -> tuple[tuple[str, str, str], int]:
        return list_order(people.get(entry["id"], PersonName("", ""))), entry["id"]

    return {"class_id": cls.id, "class_name": cls.name, "parents": sorted(parents.values(), key=order),
            "students_without_parents": sorted_students([s for s in student_ids if s not in linked], people)}


async def class_of_its_teacher(session: Any, who: Principal, class_id: int) -> Any:
    """The class (with its school and class teacher) for its class teacher and the school's admins."""
    cls = await attestation_q.class_with_policy(session, class_id)
    if cls is None:
        raise errors.NotFound(_("No such class"))
    await _require_class_teacher(session, who, cls)
    return cls


async def _require_class_teacher(session: Any, who: Principal, cls: Any) -> None:
    if who.is_superuser:
        return
    if who.role == Role.ADMIN.value:
        if cls.school_id == who.school_id:
            return
        raise errors.NotFound(_("No such class"))
    if who.role == Role.TEACHER.value:
        if cls.class_teacher_id == who.user_id:
            return
        if await membership.teaches(session, who.user_id, cls.id):
            raise errors.Forbidden(_("Only the class teacher sees the parents of the class"))
        raise errors.NotFound(_("No such class"))
    raise errors.Forbidden(_("Only the class teacher sees the parents of the class"))
