"""Who owes a confirmation ("ознакомлен") and the author's table of who has given it, shared by every kind of
item that can ask for one (news: services/diary/news_acks.py; chat announcements: services/chat_acks.py).

An item names the groups that must confirm (`parent`, `student`, `staff`) and whether each parent must; its
audience are the people who read it. A parent confirms for the family of each child of theirs in the audience:
one parent is enough unless each must. The table lists, per class, each student (whether they confirmed, if
students were asked) with their parents, and the staff.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import Role
from edutrack.i18n.names import first_last
from edutrack.queries import news_acks as q
from edutrack.queries.people import person_names

ACK_ROLES = ("parent", "student", "staff")


def ack_group(role: str) -> str:
    return "staff" if role in (Role.TEACHER.value, Role.ADMIN.value) else role


@dataclass
class AckState:
    each_parent: bool
    roles: dict[int, str]
    required: set[int]
    done: dict[int, datetime]
    children: dict[int, list[int]]  # child -> their parents who must confirm

    def family_done(self, child: int) -> bool:
        parents = self.children.get(child, [])
        confirmed = [p for p in parents if p in self.done]
        return bool(parents) and (len(confirmed) == len(parents) if self.each_parent else bool(confirmed))

    def owes(self, user_id: int) -> bool:
        if user_id in self.done:
            return False
        if self.roles[user_id] != Role.PARENT.value or self.each_parent:
            return True
        return any(not self.family_done(c) for c, ps in self.children.items() if user_id in ps)

    def owing(self) -> list[int]:
        return sorted(u for u in self.required if self.owes(u))


async def ack_state(session: AsyncSession, audience: Iterable[int], ack_roles: Iterable[str], each_parent: bool,
                    done: dict[int, datetime], *, children_in: set[int] | None = None) -> AckState:
    """`children_in`: only these students' families count (a class's room: the class's students)."""
    recipients = set(audience)
    wanted = set(ack_roles)
    roles = await q.roles_of(session, recipients)
    required = {u for u in recipients if u in roles and ack_group(roles[u]) in wanted}
    parents = [u for u in required if roles[u] == Role.PARENT.value]
    children = await q.children_of_parents(session, parents)
    if children_in is not None:
        children = {c: ps for c, ps in children.items() if c in children_in}
    return AckState(each_parent, roles, required, done, children)


def _person(names: dict[int, Any], user_id: int, state: AckState) -> dict[str, Any]:
    known = names.get(user_id)
    at = state.done.get(user_id)
    return {"id": user_id, "name": first_last(known) if known else str(user_id), "acknowledged": at is not None,
            "at": at}


async def ack_table(session: AsyncSession, state: AckState, school_id: int) -> dict[str, Any]:
    """required, acknowledged, classes (per class each student with their parents) and staff."""
    students = {u for u in state.required if state.roles[u] == Role.STUDENT.value} | set(state.children)
    placed = await q.classes_of_students(session, students, school_id)
    staff = sorted(u for u in state.required if ack_group(state.roles[u]) == "staff")
    names = await person_names(session, students | state.required)
    classes: dict[int, dict[str, Any]] = {}
    for class_id, class_name, student in placed:
        entry = classes.setdefault(class_id, {"class_id": class_id, "class_name": class_name, "students": []})
        row = _person(names, student, state)
        row["required"] = student in state.required
        row["parents"] = [_person(names, p, state) for p in state.children.get(student, [])]
        row["family_acknowledged"] = state.family_done(student) if student in state.children else None
        entry["students"].append(row)
    return {"required": len(state.required), "acknowledged": len(state.required & set(state.done)),
            "classes": list(classes.values()), "staff": [_person(names, u, state) for u in staff]}
