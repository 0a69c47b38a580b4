"""Who may read a parent's absence note, and so download the files attached to it (services/files/store.py):
the child, their parents, the class teacher of the note's class, the school's admins. Apart from
absence_notes.py so that the files service can ask without importing the notes service, which attaches files."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.absences import AbsenceNote
from edutrack.db.models import Role
from edutrack.queries import absences as q
from edutrack.queries import membership
from edutrack.security.tokens import Principal


async def may_see(session: AsyncSession, who: Principal, n: AbsenceNote) -> bool:
    if who.is_superuser or who.user_id == n.student_id:
        return True
    if who.role == Role.ADMIN.value and who.school_id == n.school_id:
        return True
    if who.role == Role.TEACHER.value and await q.class_teacher_of(session, n.class_id) == who.user_id:
        return True
    return who.role != Role.STUDENT.value and await membership.is_parent_of(session, who.user_id, n.student_id)


async def may_read_note(session: AsyncSession, who: Principal, note_id: int) -> bool:
    note = await q.note_by_id(session, note_id)
    return note is not None and await may_see(session, who, note)
