"""Who belongs where: classes, children, teachers. Used by authorization (REST and websocket channels),
notification fan-out and digests. Every function answers in one query, whatever the number of rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import ClassStudent, ParentChild, School, SchoolClass, TeachingAssignment
from edutrack.db.models import Role, User
from edutrack.security.tokens import Principal


async def school_of_class(session: AsyncSession, class_id: int) -> int | None:
    return (await session.execute(select(SchoolClass.school_id).where(SchoolClass.id == class_id))).scalar()


async def class_ids_of_student(session: AsyncSession, student_id: int) -> set[int]:
    rows = await session.execute(select(ClassStudent.class_id).where(ClassStudent.student_id == student_id))
    return set(rows.scalars())


async def class_ids_of_school(session: AsyncSession, school_id: int) -> set[int]:
    rows = await session.execute(select(SchoolClass.id).where(SchoolClass.school_id == school_id))
    return set(rows.scalars())


async def children_of(session: AsyncSession, parent_id: int) -> list[int]:
    rows = await session.execute(
        select(ParentChild.child_id).where(ParentChild.parent_id == parent_id).order_by(ParentChild.child_id)
    )
    return list(rows.scalars())


async def is_parent_of(session: AsyncSession, parent_id: int, child_id: int) -> bool:
    row = await session.execute(
        select(ParentChild.child_id).where(ParentChild.parent_id == parent_id, ParentChild.child_id == child_id)
    )
    return row.first() is not None


async def parent_ids_of(session: AsyncSession, student_id: int) -> list[int]:
    """Every linked parent of one student, active or not (as `is_parent_of` decides visibility)."""
    rows = await session.execute(
        select(ParentChild.parent_id).where(ParentChild.child_id == student_id).order_by(ParentChild.parent_id)
    )
    return list(rows.scalars())


async def class_access_facts(session: AsyncSession, class_id: int) -> Any:
    """What `visible_class_ids` decides one class's visibility from, in one row: its school, its class
    teacher, and the ids of its teachers, students and their parents (None for an unknown class)."""
    teachers = select(func.array_agg(TeachingAssignment.teacher_id)).where(
        TeachingAssignment.class_id == class_id).scalar_subquery()
    students = select(func.array_agg(ClassStudent.student_id)).where(
        ClassStudent.class_id == class_id).scalar_subquery()
    parents = (
        select(func.array_agg(ParentChild.parent_id))
        .join(ClassStudent, ClassStudent.student_id == ParentChild.child_id)
        .where(ClassStudent.class_id == class_id)
        .scalar_subquery()
    )
    stmt = select(SchoolClass.school_id, SchoolClass.class_teacher_id, teachers.label("teachers"),
                  students.label("students"), parents.label("parents")).where(SchoolClass.id == class_id)
    return (await session.execute(stmt)).first()


async def parents_of(session: AsyncSession, student_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = list(set(student_ids))
    result: dict[int, list[int]] = defaultdict(list)
    if not ids:
        return result
    rows = await session.execute(
        select(ParentChild.child_id, ParentChild.parent_id)
        .join(User, User.id == ParentChild.parent_id)
        .where(ParentChild.child_id.in_(ids), User.is_active.is_(True))
        .order_by(ParentChild.child_id, ParentChild.parent_id)
    )
    for child_id, parent_id in rows:
        result[child_id].append(parent_id)
    return result


async def class_ids_taught_by(session: AsyncSession, teacher_id: int) -> set[int]:
    taught = union(
        select(TeachingAssignment.class_id.label("class_id")).where(TeachingAssignment.teacher_id == teacher_id),
        select(SchoolClass.id).where(SchoolClass.class_teacher_id == teacher_id),
    ).subquery()
    rows = await session.execute(select(taught.c.class_id))
    return {int(class_id) for class_id in rows.scalars()}


async def teaches(session: AsyncSession, teacher_id: int, class_id: int, subject_id: int | None = None) -> bool:
    """Does the teacher teach this class (this subject, if given)? The class teacher counts for the class."""
    stmt = select(TeachingAssignment.id).where(
        TeachingAssignment.teacher_id == teacher_id, TeachingAssignment.class_id == class_id
    )
    if subject_id is not None:
        stmt = stmt.where(TeachingAssignment.subject_id == subject_id)
    if (await session.execute(stmt.limit(1))).first() is not None:
        return True
    if subject_id is None:
        row = await session.execute(
            select(SchoolClass.id).where(SchoolClass.id == class_id, SchoolClass.class_teacher_id == teacher_id)
        )
        return row.first() is not None
    return False


async def visible_class_ids(session: AsyncSession, who: Principal) -> set[int] | None:
    """Classes whose data (and chat) the caller may see; None means "every class" (superuser).

    students: their classes; parents: their children's classes; teachers: classes they teach or lead;
    admins: every class of their school.
    """
    if who.is_superuser:
        return None
    if who.role == Role.ADMIN.value:
        if who.school_id is None:
            return set()
        rows = await session.execute(select(SchoolClass.id).where(SchoolClass.school_id == who.school_id))
        return set(rows.scalars())
    if who.role == Role.TEACHER.value:
        return await class_ids_taught_by(session, who.user_id)
    if who.role == Role.STUDENT.value:
        return await class_ids_of_student(session, who.user_id)
    if who.role == Role.PARENT.value:
        rows = await session.execute(
            select(ClassStudent.class_id)
            .join(ParentChild, ParentChild.child_id == ClassStudent.student_id)
            .where(ParentChild.parent_id == who.user_id)
        )
        return set(rows.scalars())
    return set()


async def class_chat_member_ids(session: AsyncSession, class_id: int) -> set[int]:
    """Everyone in a class chat: students, their parents when the school allows it, the class's teachers
    and the class teacher, and the school's admins. One query."""
    students = select(ClassStudent.student_id.label("user_id")).where(ClassStudent.class_id == class_id)
    parents = (
        select(ParentChild.parent_id)
        .join(ClassStudent, ClassStudent.student_id == ParentChild.child_id)
        .join(SchoolClass, SchoolClass.id == ClassStudent.class_id)
        .join(School, School.id == SchoolClass.school_id)
        .where(ClassStudent.class_id == class_id, School.parents_in_class_chat.is_(True))
    )
    teachers = select(TeachingAssignment.teacher_id).where(TeachingAssignment.class_id == class_id)
    lead = select(SchoolClass.class_teacher_id).where(
        SchoolClass.id == class_id, SchoolClass.class_teacher_id.is_not(None)
    )
    admins = (
        select(User.id)
        .join(SchoolClass, SchoolClass.school_id == User.school_id)
        .where(SchoolClass.id == class_id, User.role == Role.ADMIN.value)
    )
    everyone = union(students, parents, teachers, lead, admins).subquery()
    rows = await session.execute(
        select(everyone.c.user_id).join(User, User.id == everyone.c.user_id).where(User.is_active.is_(True))
    )
    return set(rows.scalars())


async def share_a_school(session: AsyncSession, a: int, b: int) -> bool:
    rows = await session.execute(select(User.school_id).where(User.id.in_((a, b))))
    schools = list(rows.scalars())
    return len(schools) == 2 and schools[0] is not None and schools[0] == schools[1]


async def class_chats_member_ids(session: AsyncSession, class_ids: Iterable[int]) -> dict[int, set[int]]:
    """`class_chat_member_ids` of many class chats in one query (a node reading the rooms it serves at once)."""
    ids = sorted(set(class_ids))
    students = select(ClassStudent.class_id.label("class_id"), ClassStudent.student_id.label("user_id")).where(
        ClassStudent.class_id.in_(ids))
    parents = (
        select(ClassStudent.class_id, ParentChild.parent_id)
        .join(ClassStudent, ClassStudent.student_id == ParentChild.child_id)
        .join(SchoolClass, SchoolClass.id == ClassStudent.class_id)
        .join(School, School.id == SchoolClass.school_id)
        .where(ClassStudent.class_id.in_(ids), School.parents_in_class_chat.is_(True))
    )
    teachers = select(TeachingAssignment.class_id, TeachingAssignment.teacher_id).where(
        TeachingAssignment.class_id.in_(ids))
    lead = select(SchoolClass.id, SchoolClass.class_teacher_id).where(
        SchoolClass.id.in_(ids), SchoolClass.class_teacher_id.is_not(None))
    admins = (
        select(SchoolClass.id, User.id)
        .join(SchoolClass, SchoolClass.school_id == User.school_id)
        .where(SchoolClass.id.in_(ids), User.role == Role.ADMIN.value)
    )
    everyone = union(students, parents, teachers, lead, admins).subquery()
    found: dict[int, set[int]] = {class_id: set() for class_id in ids}
    if ids:
        rows = await session.execute(select(everyone.c.class_id, everyone.c.user_id)
                                     .join(User, User.id == everyone.c.user_id).where(User.is_active.is_(True)))
        for class_id, user_id in rows:
            found[int(class_id)].add(int(user_id))
    return found
