"""Classes, enrolment, parent links, subjects and teaching assignments.

A school's admins manage them; superusers manage every school. Everyone reads the classes they can see
(permissions.visible_class_ids). Ids in a request body that are unknown or belong to another school are
reported the same way (422 naming the field), so other schools' ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import cache, errors, events
from edutrack.context import AppContext
from edutrack.db.diary import SchoolClass, Subject
from edutrack.db.models import Role, User
from edutrack.i18n import _
from edutrack.queries import classes as q
from edutrack.queries import membership
from edutrack.queries import schools as school_q
from edutrack.security.tokens import Principal
from edutrack.services.diary import permissions
from edutrack.services.diary.schools import require_school_member
from edutrack.uow import unit_of_work


def class_view(row: Row[Any]) -> dict[str, Any]:
    c: SchoolClass = row[0]
    return {
        "id": c.id, "school_id": c.school_id, "name": c.name, "grade_level": c.grade_level,
        "academic_year_id": c.academic_year_id, "academic_year": row.year_name,
        "class_teacher_id": c.class_teacher_id, "class_teacher_name": row.class_teacher_name,
        "students": int(row.students),
    }


def subject_view(s: Subject) -> dict[str, Any]:
    return {"id": s.id, "school_id": s.school_id, "name": s.name}


def assignment_view(row: Row[Any]) -> dict[str, Any]:
    a = row[0]
    return {"id": a.id, "school_id": row.school_id, "class_id": a.class_id, "class_name": row.class_name,
            "subject_id": a.subject_id, "subject_name": row.subject_name, "teacher_id": a.teacher_id,
            "teacher_name": row.teacher_name}


def _bad_ref(field: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, details={field: [message]})


def target_school(who: Principal, school_id: int | None) -> int:
    """The school a create acts on: an admin's own; a superuser must name one."""
    permissions.require_role(who, Role.ADMIN.value)
    if who.is_superuser:
        if school_id is None:
            raise _bad_ref("school_id", _("school_id is required"))
        return school_id
    if who.school_id is None:
        raise errors.Forbidden(_("You are not attached to a school"))
    if school_id is not None and school_id != who.school_id:
        raise errors.Forbidden(_("You can only manage your own school"))
    return who.school_id


async def _require_member_of(session: AsyncSession, user_id: int, school_id: int, role: str,
                             field: str) -> User:
    users = await q.users_by_ids(session, [user_id])
    user = users.get(user_id)
    # A class is taught or led by a teacher, or by an admin who also teaches (the same journal page serves both).
    if user is None or user.school_id != school_id or user.role not in (role, Role.ADMIN.value) or not user.is_active:
        raise _bad_ref(field, _("No active %(role)s with id %(user_id)s in this school", role=role, user_id=user_id))
    return user


async def _check_year(session: AsyncSession, year_id: int | None, school_id: int) -> None:
    if year_id is None:
        return
    year = await school_q.year_by_id(session, year_id)
    if year is None or year.school_id != school_id:
        raise _bad_ref("academic_year_id", _("No academic year %(year_id)s in this school", year_id=year_id))


async def class_for_admin(session: AsyncSession, who: Principal, class_id: int, *,
                           for_update: bool = False) -> SchoolClass:
    cls = await q.class_by_id(session, class_id, for_update=for_update)
    if cls is None:
        raise errors.NotFound(_("No such class"))
    if not who.is_superuser and who.role != Role.ADMIN.value:
        # Not an admin: hide classes they cannot see, refuse the rest.
        await permissions.require_class_visible(session, who, class_id)
    permissions.require_school_admin(who, cls.school_id)
    return cls


def _ref_and_schedule(school_id: int) -> tuple[str, str]:
    return cache.school_ref_bucket(school_id), cache.school_schedule_bucket(school_id)


# Classes


async def create_class(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    school_id = target_school(who, data.get("school_id"))
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            if await school_q.school_by_id(session, school_id) is None:
                raise _bad_ref("school_id", _("No school %(school_id)s", school_id=school_id))
            await _check_year(session, data.get("academic_year_id"), school_id)
            if data.get("class_teacher_id") is not None:
                await _require_member_of(session, data["class_teacher_id"], school_id, Role.TEACHER.value,
                                         "class_teacher_id")
            if await q.class_name_taken(session, school_id, data.get("academic_year_id"), data["name"]):
                raise errors.Conflict(_("Class %(name)s already exists in this year", name=data['name']),
                                      code="class_exists")
            cls = await q.insert_class(session, {
                "school_id": school_id, "name": data["name"], "grade_level": data["grade_level"],
                "academic_year_id": data.get("academic_year_id"), "class_teacher_id": data.get("class_teacher_id"),
            })
            row = await q.class_row(session, cls.id)
            assert row is not None
            view = class_view(row)
            uow.invalidate(cache.school_ref_bucket(school_id))
            if data.get("class_teacher_id") is not None:
                uow.membership_changed([cls.id])  # the class teacher joins the parallel's announcements
    except IntegrityError as exc:
        raise errors.Conflict(_("Class %(name)s already exists in this year", name=data['name']),
                              code="class_exists") from exc
    return view


async def get_class(ctx: AppContext, who: Principal, class_id: int) -> dict[str, Any]:
    async with ctx.reads() as session:
        await permissions.require_class_visible(session, who, class_id)
        row = await q.class_row(session, class_id)
    if row is None:
        raise errors.NotFound(_("No such class"))
    return class_view(row)


async def list_classes(ctx: AppContext, who: Principal, *, school_id: int | None, grade_level: int | None,
                       academic_year_id: int | None, q_text: str | None, limit: int,
                       offset: int) -> dict[str, Any]:
    ids: set[int] | None = None
    if who.is_superuser:
        target = school_id
    elif who.role == Role.ADMIN.value:
        if who.school_id is None or (school_id is not None and school_id != who.school_id):
            return {"items": [], "total": 0, "limit": limit, "offset": offset}
        target = who.school_id
    else:
        # Per-person lists depend on membership and are small: read directly (one query for the ids).
        target = school_id
        async with ctx.reads() as session:
            visible = await membership.visible_class_ids(session, who)
        ids = visible or set()

    async def load() -> dict[str, Any]:
        async with ctx.reads() as session:
            rows, total = await q.list_classes(session, school_id=target, ids=ids, grade_level=grade_level,
                                               academic_year_id=academic_year_id, q=q_text, limit=limit,
                                               offset=offset)
        return {"items": [class_view(r) for r in rows], "total": total, "limit": limit, "offset": offset}

    if ids is not None:
        return await load()
    if target is None:  # a superuser listing every school's classes: rare, not worth caching
        return await load()
    field = f"classes:g={grade_level}:y={academic_year_id}:q={q_text or ''}:l={limit}:o={offset}"
    result: dict[str, Any] = await cache.cached(ctx, cache.school_ref_bucket(target), field, load)
    return result


async def update_class(ctx: AppContext, who: Principal, class_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            cls = await class_for_admin(session, who, class_id, for_update=True)
            if "academic_year_id" in changes:
                await _check_year(session, changes["academic_year_id"], cls.school_id)
            if changes.get("class_teacher_id") is not None:
                await _require_member_of(session, changes["class_teacher_id"], cls.school_id, Role.TEACHER.value,
                                         "class_teacher_id")
            name = changes.get("name", cls.name)
            year_id = changes.get("academic_year_id", cls.academic_year_id)
            if await q.class_name_taken(session, cls.school_id, year_id, name, except_id=cls.id):
                raise errors.Conflict(_("Class %(name)s already exists in this year", name=name), code="class_exists")
            old_grade = cls.grade_level
            for key in ("name", "grade_level", "academic_year_id", "class_teacher_id"):
                if key in changes:
                    setattr(cls, key, changes[key])
            await session.flush()
            row = await q.class_row(session, cls.id)
            assert row is not None
            view = class_view(row)
            uow.invalidate(*_ref_and_schedule(cls.school_id))
            # A class moved to another academic year joins or leaves its grade's parallel (the current year's).
            if {"class_teacher_id", "academic_year_id"} & changes.keys() or cls.grade_level != old_grade:
                uow.membership_changed([class_id])
            if cls.grade_level != old_grade:  # its people leave the announcements of the parallel it was in
                uow.membership_changed_channels([events.grade_board(cls.school_id, old_grade)])
    except IntegrityError as exc:
        raise errors.Conflict(_("Class already exists in this year"), code="class_exists") from exc
    return view


async def delete_class(ctx: AppContext, who: Principal, class_id: int) -> None:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        cls = await class_for_admin(session, who, class_id, for_update=True)
        if await q.class_has_grades(session, class_id):
            # Deleting would cascade to the grades: the diary must not lose history silently.
            raise errors.Conflict(_("The class has grades; it cannot be deleted"), code="class_in_use")
        await q.delete_class(session, class_id)
        uow.invalidate(*_ref_and_schedule(cls.school_id))
        uow.membership_changed([class_id])
        uow.membership_changed_channels([events.grade_board(cls.school_id, cls.grade_level)])  # the class is gone


# Subjects


async def create_subject(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    school_id = target_school(who, data.get("school_id"))
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            if await school_q.school_by_id(session, school_id) is None:
                raise _bad_ref("school_id", _("No school %(school_id)s", school_id=school_id))
            if await q.subject_name_taken(session, school_id, data["name"]):
                raise errors.Conflict(_("Subject “%(name)s” already exists", name=data['name']), code="subject_exists")
            view = subject_view(await q.insert_subject(session, {"school_id": school_id, "name": data["name"]}))
            uow.invalidate(cache.school_ref_bucket(school_id))
    except IntegrityError as exc:
        raise errors.Conflict(_("Subject “%(name)s” already exists", name=data['name']), code="subject_exists") from exc
    return view


async def get_subject(ctx: AppContext, who: Principal, subject_id: int) -> dict[str, Any]:
    async with ctx.reads() as session:
        subject = await q.subject_by_id(session, subject_id)
    if subject is None:
        raise errors.NotFound(_("No such subject"))
    permissions.require_same_school(who, subject.school_id, _("No such subject"))
    return subject_view(subject)


async def list_subjects(ctx: AppContext, who: Principal, *, school_id: int | None, q_text: str | None, limit: int,
                        offset: int) -> dict[str, Any]:
    target = school_id if who.is_superuser else who.school_id
    if target is None:
        if not who.is_superuser:
            return {"items": [], "total": 0, "limit": limit, "offset": offset}
    elif school_id is not None and school_id != target:
        raise errors.NotFound(_("No such school"))
    else:
        require_school_member(who, target)

    async def load() -> dict[str, Any]:
        async with ctx.reads() as session:
            rows, total = await q.list_subjects(session, school_id=target, q=q_text, limit=limit, offset=offset)
        return {"items": [subject_view(s) for s in rows], "total": total, "limit": limit, "offset": offset}

    if target is None:
        return await load()
    field = f"subjects:q={q_text or ''}:l={limit}:o={offset}"
    result: dict[str, Any] = await cache.cached(ctx, cache.school_ref_bucket(target), field, load)
    return result


async def update_subject(ctx: AppContext, who: Principal, subject_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            subject = await q.subject_by_id(session, subject_id, for_update=True)
            if subject is None:
                raise errors.NotFound(_("No such subject"))
            permissions.require_school_admin(who, subject.school_id)
            if "name" in changes:
                if await q.subject_name_taken(session, subject.school_id, changes["name"], subject.id):
                    raise errors.Conflict(_("Subject “%(name)s” already exists", name=changes['name']),
                                          code="subject_exists")
                subject.name = changes["name"]
            await session.flush()
            view = subject_view(subject)
            uow.invalidate(*_ref_and_schedule(subject.school_id))
    except IntegrityError as exc:
        raise errors.Conflict(_("Subject already exists"), code="subject_exists") from exc
    return view


async def delete_subject(ctx: AppContext, who: Principal, subject_id: int) -> None:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        subject = await q.subject_by_id(session, subject_id, for_update=True)
        if subject is None:
            raise errors.NotFound(_("No such subject"))
        permissions.require_school_admin(who, subject.school_id)
        if await q.subject_in_use(session, subject_id):
            # Deleting would cascade to lessons and grades: the diary must not lose history silently.
            raise errors.Conflict(_("Lessons or grades exist for this subject; it cannot be deleted"),
                                  code="subject_in_use")
        await q.delete_subject(session, subject_id)
        uow.invalidate(*_ref_and_schedule(subject.school_id))


# Teaching assignments


async def create_assignment(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    permissions.require_role(who, Role.ADMIN.value)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        cls = await q.class_by_id(session, data["class_id"])
        if cls is None or not (who.is_superuser or cls.school_id == who.school_id):
            raise _bad_ref("class_id", _("No class %(class_id)s in your school", class_id=data['class_id']))
        subject = await q.subject_by_id(session, data["subject_id"])
        if subject is None or subject.school_id != cls.school_id:
            raise _bad_ref("subject_id", _("No subject %(subject_id)s in the class's school",
                                           subject_id=data['subject_id']))
        await _require_member_of(session, data["teacher_id"], cls.school_id, Role.TEACHER.value, "teacher_id")
        new_id = await q.insert_assignment(session, cls.id, subject.id, data["teacher_id"])
        if new_id is None:
            raise errors.Conflict(_("This teacher already teaches this subject in this class"),
                                  code="assignment_exists")
        row = await q.assignment_row(session, new_id)
        assert row is not None
        view = assignment_view(row)
        uow.invalidate(cache.school_ref_bucket(cls.school_id))
    return view


async def list_assignments(ctx: AppContext, who: Principal, *, class_id: int | None, teacher_id: int | None,
                           subject_id: int | None, limit: int, offset: int) -> dict[str, Any]:
    async with ctx.reads() as session:
        school_id: int | None = None
        class_ids: Collection[int] | None = None
        if who.is_superuser:
            pass
        elif who.role == Role.ADMIN.value:
            school_id = who.school_id if who.school_id is not None else -1
        else:
            class_ids = await membership.visible_class_ids(session, who) or set()
        rows, total = await q.list_assignments(session, school_id=school_id, class_ids=class_ids,
                                               class_id=class_id, teacher_id=teacher_id, subject_id=subject_id,
                                               limit=limit, offset=offset)
    return {"items": [assignment_view(r) for r in rows], "total": total, "limit": limit, "offset": offset}


async def delete_assignment(ctx: AppContext, who: Principal, assignment_id: int) -> None:
    permissions.require_role(who, Role.ADMIN.value)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        row = await q.assignment_row(session, assignment_id)
        if row is None or not (who.is_superuser or row.school_id == who.school_id):
            raise errors.NotFound(_("No such teaching assignment"))
        await q.delete_assignment(session, assignment_id)
        uow.invalidate(cache.school_ref_bucket(row.school_id))
        uow.membership_changed([row.TeachingAssignment.class_id])

