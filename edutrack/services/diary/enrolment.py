"""Who is in a class: enrolment (and moving a student from one class to another), and parents' links to their
children. A school's admins change them; every change reaches open sockets (class chat membership) after its commit.
"""

from __future__ import annotations

from typing import Any

from edutrack import cache, errors
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.i18n import _
from edutrack.queries import classes as q
from edutrack.queries import membership
from edutrack.security.tokens import Principal
from edutrack.services.diary import permissions
from edutrack.services.diary.classes import class_for_admin
from edutrack.uow import unit_of_work

STAFF = (Role.TEACHER.value, Role.ADMIN.value)


def bad_ref(field: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, details={field: [message]})


async def list_students(ctx: AppContext, who: Principal, class_id: int) -> list[dict[str, Any]]:
    async with ctx.reads() as session:
        await permissions.require_class_visible(session, who, class_id)
        rows = await q.class_students(session, class_id)
    # Staff need the addresses; classmates and their parents see names only.
    staff = who.is_admin or who.role == Role.TEACHER.value
    return [{"id": r.id, "email": r.email if staff else None, "full_name": r.full_name,
             "enrolled_at": r.enrolled_at.isoformat()} for r in rows]


async def enrol(ctx: AppContext, who: Principal, class_id: int, student_ids: list[int]) -> dict[str, Any]:
    wanted = sorted(set(student_ids))
    async with unit_of_work(ctx) as uow:
        session = uow.session
        cls = await class_for_admin(session, who, class_id)
        users = await q.users_by_ids(session, wanted)
        bad = [sid for sid in wanted
               if (u := users.get(sid)) is None or u.role != Role.STUDENT.value or u.school_id != cls.school_id]
        if bad:
            raise errors.ValidationFailed(
                _("Only students of the class's school can be enrolled"),
                details={"student_ids": [_("Not a student of this school: %(ids)s.", ids=', '.join(map(str, bad)))]},
            )
        added = await q.enrol(session, class_id, wanted)
        uow.invalidate(cache.school_ref_bucket(cls.school_id))
        # Nodes reuse a class's member list for a few seconds: a student enrolled just now must be able to join.
        uow.membership_changed([class_id])
    return {"class_id": class_id, "added": added, "already_enrolled": len(wanted) - added}


async def unenrol(ctx: AppContext, who: Principal, class_id: int, student_id: int) -> None:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        cls = await class_for_admin(session, who, class_id)
        if not await q.unenrol(session, class_id, student_id):
            raise errors.NotFound(_("This student is not enrolled in this class"))
        uow.invalidate(cache.school_ref_bucket(cls.school_id))
        # The student (and, through them, their parents) leave the class chat on every open socket too.
        uow.membership_changed([class_id])


# Parents and children


async def link_parent(ctx: AppContext, who: Principal, parent_id: int, child_id: int) -> dict[str, Any]:
    permissions.require_role(who, Role.ADMIN.value)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        users = await q.users_by_ids(session, [parent_id, child_id])
        child, parent = users.get(child_id), users.get(parent_id)
        if child is None or child.role != Role.STUDENT.value or child.school_id is None:
            raise bad_ref("child_id", _("No student with id %(child_id)s", child_id=child_id))
        if not who.is_superuser and child.school_id != who.school_id:
            raise bad_ref("child_id", _("No student with id %(child_id)s", child_id=child_id))
        # A parent's children may be in any schools (the link is their place in the child's school); a teacher
        # or an admin of the child's school may be a parent too: one account (docs/roles.md).
        if parent is None or not (parent.role == Role.PARENT.value
                                  or (parent.role in STAFF and parent.school_id == child.school_id)):
            raise bad_ref("parent_id", _("No parent with id %(parent_id)s", parent_id=parent_id))
        created = await q.link_parent(session, parent_id, child_id)
        # Who may read the child's grades and class week changed: entries cached with those facts must go.
        uow.invalidate(cache.school_ref_bucket(child.school_id))
        # The parent may join the child's class chats at once (nodes reuse member lists for a few seconds).
        uow.membership_changed(await membership.class_ids_of_student(session, child_id))
    return {"parent_id": parent_id, "child_id": child_id, "created": created}


async def unlink_parent(ctx: AppContext, who: Principal, parent_id: int, child_id: int) -> None:
    permissions.require_role(who, Role.ADMIN.value)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        users = await q.users_by_ids(session, [child_id])
        child = users.get(child_id)
        if child is None or (not who.is_superuser and child.school_id != who.school_id):
            raise errors.NotFound(_("No such link"))
        if not await q.unlink_parent(session, parent_id, child_id):
            raise errors.NotFound(_("No such link"))
        child_classes = await membership.class_ids_of_student(session, child_id)
        # Cached class weeks list the parent under the school of each class, which may not be the child's.
        schools = {child.school_id, *[await membership.school_of_class(session, c) for c in child_classes]}
        uow.invalidate(*(cache.school_ref_bucket(s) for s in schools if s is not None))
        uow.membership_changed(child_classes)


async def list_parent_links(ctx: AppContext, who: Principal, *, parent_id: int | None, child_id: int | None,
                            limit: int, offset: int) -> dict[str, Any]:
    school_id: int | None = None
    if (who.role == Role.PARENT.value or parent_id == who.user_id) and not who.is_superuser:
        parent_id = who.user_id  # a parent (or a teacher who is one) sees their own children
    else:
        permissions.require_role(who, Role.ADMIN.value)
        if not who.is_superuser:
            if who.school_id is None:
                return {"items": [], "total": 0, "limit": limit, "offset": offset}
            school_id = who.school_id
    async with ctx.reads() as session:
        rows, total = await q.parent_links(session, school_id=school_id, parent_id=parent_id, child_id=child_id,
                                           limit=limit, offset=offset)
    return {"items": [dict(r._mapping) for r in rows], "total": total, "limit": limit, "offset": offset}


async def transfer(ctx: AppContext, who: Principal, student_id: int, from_class_id: int,
                   to_class_id: int) -> dict[str, Any]:
    """Move a student from one class to another of the same school in one transaction: never in both, never in
    neither."""
    if from_class_id == to_class_id:
        raise bad_ref("to_class_id", _("Choose another class."))
    async with unit_of_work(ctx) as uow:
        session = uow.session
        source = await class_for_admin(session, who, from_class_id)
        target = await class_for_admin(session, who, to_class_id)
        if target.school_id != source.school_id:
            raise errors.NotFound(_("No such class"))
        if not await q.unenrol(session, from_class_id, student_id):
            raise errors.NotFound(_("This student is not enrolled in this class"))
        await q.enrol(session, to_class_id, [student_id])
        uow.invalidate(cache.school_ref_bucket(source.school_id))
        uow.membership_changed([from_class_id, to_class_id])
    return {"student_id": student_id, "from_class_id": from_class_id, "to_class_id": to_class_id}
