"""SQL of a school's people directory (the administrator's list of people) and of invitations.

A page of people is one query (plus one count); what the page shows about them (classes, children, parents,
pending invitations) is one query each for the whole page, never one per person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from edutrack.db.diary import ClassStudent, ParentChild, SchoolClass, TeachingAssignment
from edutrack.db.models import PasswordResetToken, Profile, TokenPurpose, User


def _like(text: str) -> str:
    # The search text is literal: "%" or "_" typed by a user must not act as wildcards.
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _in_class(class_id: int) -> Any:
    """Whoever belongs to the class: its students, their parents, its teachers and its class teacher."""
    students = select(ClassStudent.student_id).where(ClassStudent.class_id == class_id)
    parents = (select(ParentChild.parent_id).join(ClassStudent, ClassStudent.student_id == ParentChild.child_id)
               .where(ClassStudent.class_id == class_id))
    teachers = select(TeachingAssignment.teacher_id).where(TeachingAssignment.class_id == class_id)
    lead = select(SchoolClass.class_teacher_id).where(SchoolClass.id == class_id)
    return or_(User.id.in_(students), User.id.in_(parents), User.id.in_(teachers), User.id.in_(lead))


async def people(session: AsyncSession, *, school_id: int | None, role: str | None = None,
                 class_id: int | None = None, q: str | None = None, active: bool | None = None,
                 ids: Collection[int] | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Row[Any]], int]:
    """A page of users with their profiles, sorted as a list of names: surname, first name."""
    conditions: list[Any] = []
    if ids is not None:
        conditions.append(User.id.in_(list(ids)))
    if school_id is not None:
        conditions.append(User.school_id == school_id)
    if role:
        conditions.append(User.role == role)
    if active is not None:
        conditions.append(User.is_active.is_(active))
    if class_id is not None:
        conditions.append(_in_class(class_id))
    # Every word typed must match the email or a part of the name: "Крылова Ир" finds Крылова Ирина.
    for word in (q or "").split():
        pattern = _like(word)
        conditions.append(or_(*(func.lower(c).like(pattern, escape="\\") for c in (
            User.email, Profile.first_name, Profile.last_name, Profile.middle_name))))
    base = select(User.id).join(Profile, Profile.user_id == User.id).where(*conditions)
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    page: Any = (
        select(User.id, User.email, User.role, User.is_active, User.is_superuser, User.school_id, User.created_at,
               Profile.first_name, Profile.last_name, Profile.middle_name, Profile.gender)
        .join(Profile, Profile.user_id == User.id).where(*conditions)
        .order_by(Profile.last_name, Profile.first_name, Profile.middle_name, User.id).limit(limit).offset(offset))
    rows = await session.execute(page)
    return list(rows.all()), int(total)


async def classes_of(session: AsyncSession, user_ids: Collection[int]) -> dict[int, list[tuple[int, str]]]:
    """(class id, name) of the classes each user studies in or leads as class teacher, by grade then name."""
    studies = select(ClassStudent.student_id.label("user_id"), ClassStudent.class_id).where(
        ClassStudent.student_id.in_(list(user_ids)))
    leads = select(SchoolClass.class_teacher_id.label("user_id"), SchoolClass.id.label("class_id")).where(
        SchoolClass.class_teacher_id.in_(list(user_ids)))
    links = studies.union_all(leads).subquery()
    rows = await session.execute(
        select(links.c.user_id, SchoolClass.id, SchoolClass.name).join(SchoolClass, SchoolClass.id == links.c.class_id)
        .order_by(SchoolClass.grade_level, SchoolClass.name, SchoolClass.id))
    found: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for user_id, class_id, name in rows:
        found[user_id].append((class_id, name))
    return found


async def family_links(session: AsyncSession, user_ids: Collection[int]) -> list[tuple[int, int]]:
    """(parent id, child id) of every link that has one of these users on either side."""
    ids = list(user_ids)
    rows = await session.execute(select(ParentChild.parent_id, ParentChild.child_id).where(
        or_(ParentChild.parent_id.in_(ids), ParentChild.child_id.in_(ids))))
    return [(p, c) for p, c in rows]


async def pending_invitations(session: AsyncSession, user_ids: Collection[int]) -> dict[int, datetime]:
    """Users who were invited and have not set a password yet, with when their newest invitation link expires.
    Setting a password (by any link) marks every link of the account used, so an unused invitation among only
    unused links means the first password is still to come."""
    used = aliased(PasswordResetToken)
    rows = await session.execute(
        select(PasswordResetToken.user_id, func.max(PasswordResetToken.expires_at))
        .where(PasswordResetToken.user_id.in_(list(user_ids)),
               PasswordResetToken.purpose == TokenPurpose.INVITE.value,
               ~exists().where(and_(used.user_id == PasswordResetToken.user_id, used.used_at.is_not(None))))
        .group_by(PasswordResetToken.user_id))
    return {user_id: expires for user_id, expires in rows}


async def insert_link_token(session: AsyncSession, *, user_id: int, token_hash: str, expires_at: datetime,
                            purpose: str) -> None:
    session.add(PasswordResetToken(user_id=user_id, token_hash=token_hash, expires_at=expires_at, purpose=purpose))
    await session.flush()
