"""The authorization matrix of the diary, in one place.

students see their own data; parents their children's; teachers the classes/subjects they teach;
admins their school; superusers everything. Objects outside your reach are reported as 404 (not 403),
so ids cannot be probed; an action your role can never take is 403.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.db.models import Role
from edutrack.i18n import _
from edutrack.queries import accounts as account_queries
from edutrack.queries import membership as m
from edutrack.security.tokens import Principal


def require_role(who: Principal, *roles: str) -> None:
    if who.is_superuser or who.role in roles:
        return
    raise errors.Forbidden(_("This needs one of the roles: %(roles)s", roles=', '.join(roles)))


def require_school_admin(who: Principal, school_id: int) -> None:
    if who.is_superuser:
        return
    if who.role == Role.ADMIN.value and who.school_id == school_id:
        return
    if who.role == Role.ADMIN.value:
        raise errors.NotFound(_("No such school"))
    raise errors.Forbidden(_("Only the school's administrators can do this"))


def require_same_school(who: Principal, school_id: int, not_found: str | None = None) -> None:
    """`not_found`: the message of the 404, e.g. _("No such subject")."""
    if who.is_superuser or who.school_id == school_id:
        return
    raise errors.NotFound(not_found)


async def can_view_class(session: AsyncSession, who: Principal, class_id: int) -> bool:
    visible = await m.visible_class_ids(session, who)
    return visible is None or class_id in visible


async def require_class_visible(session: AsyncSession, who: Principal, class_id: int) -> None:
    if not await can_view_class(session, who, class_id):
        raise errors.NotFound(_("No such class"))


def covers_lesson(who: Principal, lesson: Any) -> bool:
    """Is the caller the one-off cover teacher of this lesson (a row with teacher_id, regular_teacher_id)?"""
    return lesson is not None and lesson.regular_teacher_id is not None and lesson.teacher_id == who.user_id


async def require_teaches(session: AsyncSession, who: Principal, class_id: int, subject_id: int,
                          lesson: Any = None) -> None:
    """Grades, homework and attendance: the teacher of that class and subject, or the school's admin; for
    `lesson` (the lesson the action is about, if any) also its cover teacher."""
    if who.is_superuser:
        return
    if who.role == Role.ADMIN.value:
        if await m.school_of_class(session, class_id) == who.school_id:
            return
        raise errors.NotFound(_("No such class"))
    if who.role == Role.TEACHER.value and covers_lesson(who, lesson):
        return
    if who.role == Role.TEACHER.value and await m.teaches(session, who.user_id, class_id, subject_id):
        return
    if who.role == Role.TEACHER.value:
        raise errors.Forbidden(_("You do not teach this subject in this class"))
    raise errors.Forbidden(_("Only teachers can do this"))


async def journal_access(session: AsyncSession, who: Principal, cls: Any, subject_id: int) -> bool:
    """May the caller open the journal of class `cls` (a row with id, school_id, class_teacher_id) in this
    subject? True: they keep it (its teacher, the school's admin); False: they only follow it (the class teacher,
    who reads every subject of the class). Anyone else gets the 404 of an unknown class."""
    if who.is_superuser:
        return True
    if who.role == Role.ADMIN.value:
        if cls.school_id == who.school_id:
            return True
        raise errors.NotFound(_("No such class"))
    if who.role != Role.TEACHER.value:
        raise errors.Forbidden(_("Journals are for teachers and administrators"))
    if await m.teaches(session, who.user_id, cls.id, subject_id):
        return True
    if cls.class_teacher_id == who.user_id:
        return False
    raise errors.NotFound(_("No such class"))


async def can_view_student(session: AsyncSession, who: Principal, student_id: int) -> bool:
    """A teacher or admin who is also linked as the student's parent sees them as a parent does."""
    if who.is_superuser or who.user_id == student_id:
        return True
    if who.role == Role.PARENT.value:
        return await m.is_parent_of(session, who.user_id, student_id)
    if who.role == Role.TEACHER.value:
        taught = await m.class_ids_taught_by(session, who.user_id)
        if taught & await m.class_ids_of_student(session, student_id):
            return True
    if who.role == Role.ADMIN.value:
        student = await account_queries.user_by_id(session, student_id)
        if student is not None and student.school_id is not None and student.school_id == who.school_id:
            return True
    return who.role in (Role.TEACHER.value, Role.ADMIN.value) and await m.is_parent_of(session, who.user_id,
                                                                                        student_id)


async def student_scope(session: AsyncSession, who: Principal, student_id: int) -> int | None:
    """Whose teaching limits what the caller reads of this student: a teacher's own id (their subjects), or None
    (everything: admins, the student, parents, and a teacher who is the student's parent)."""
    if who.is_superuser or who.role != Role.TEACHER.value:
        return None
    return None if await m.is_parent_of(session, who.user_id, student_id) else who.user_id


async def require_student_visible(session: AsyncSession, who: Principal, student_id: int) -> None:
    if not await can_view_student(session, who, student_id):
        raise errors.NotFound(_("No such student"))


# The same decisions from facts cached with a response (see edutrack/cache.py): the writes that could change
# a fact (enrolment, parent links, teaching assignments, a class's teacher, a user's school) invalidate them.


def class_visible_by_facts(who: Principal, facts: dict[str, Any]) -> bool:
    """`can_view_class` from `queries.membership.class_access_facts` of the class."""
    if who.is_superuser:
        return True
    if who.role == Role.ADMIN.value:
        return who.school_id is not None and who.school_id == facts["school_id"]
    if who.role == Role.TEACHER.value:
        return who.user_id == facts["class_teacher_id"] or who.user_id in facts["teachers"]
    if who.role == Role.STUDENT.value:
        return who.user_id in facts["students"]
    if who.role == Role.PARENT.value:
        return who.user_id in facts["parents"]
    return False


def student_visible_by_facts(who: Principal, student_id: int, facts: dict[str, Any]) -> bool:
    """`can_view_student` from facts of the student (`school_id`, `parents`), for anyone but a teacher, whose
    answer depends on what they teach: it is cached per teacher (`teacher`) once PostgreSQL said yes."""
    if who.is_superuser or who.user_id == student_id:
        return True
    if who.role == Role.PARENT.value:
        return who.user_id in facts["parents"]
    if who.role == Role.ADMIN.value:
        return who.school_id is not None and who.school_id == facts["school_id"]
    if who.role == Role.TEACHER.value:
        return who.user_id == facts.get("teacher") or who.user_id in facts["parents"]
    return False
