"""SQL of classes, enrolment, parent links, subjects, teaching assignments and classmate search.

Every list is one query (plus one count), joined with the names it shows: no query per row.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, delete, exists, func, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by, array_agg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from edutrack.db.diary import (
    AcademicYear,
    ClassStudent,
    Grade,
    Lesson,
    ParentChild,
    SchoolClass,
    Subject,
    TeachingAssignment,
)
from edutrack.db.models import Profile, User


def full_name_sql(profile: Any = Profile) -> Any:
    return func.concat_ws(" ", profile.last_name, profile.first_name, profile.middle_name)


# Classes

_student_counts = (
    select(ClassStudent.class_id, func.count().label("students"))
    .group_by(ClassStudent.class_id)
    .subquery()
)


def _class_select() -> Any:
    lead = aliased(Profile)
    return (
        select(
            SchoolClass,
            AcademicYear.name.label("year_name"),
            full_name_sql(lead).label("class_teacher_name"),
            func.coalesce(_student_counts.c.students, 0).label("students"),
        )
        .outerjoin(AcademicYear, AcademicYear.id == SchoolClass.academic_year_id)
        .outerjoin(lead, lead.user_id == SchoolClass.class_teacher_id)
        .outerjoin(_student_counts, _student_counts.c.class_id == SchoolClass.id)
    )


async def class_by_id(session: AsyncSession, class_id: int, *, for_update: bool = False) -> SchoolClass | None:
    stmt = select(SchoolClass).where(SchoolClass.id == class_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def class_row(session: AsyncSession, class_id: int) -> Row[Any] | None:
    return (await session.execute(_class_select().where(SchoolClass.id == class_id))).first()


async def list_classes(session: AsyncSession, *, school_id: int | None, ids: Collection[int] | None,
                       grade_level: int | None, academic_year_id: int | None, q: str | None,
                       limit: int, offset: int) -> tuple[list[Row[Any]], int]:
    conditions: list[Any] = []
    if school_id is not None:
        conditions.append(SchoolClass.school_id == school_id)
    if ids is not None:
        conditions.append(SchoolClass.id.in_(list(ids)))
    if grade_level is not None:
        conditions.append(SchoolClass.grade_level == grade_level)
    if academic_year_id is not None:
        conditions.append(SchoolClass.academic_year_id == academic_year_id)
    if q:
        conditions.append(func.lower(SchoolClass.name).contains(q.lower(), autoescape=True))
    total = (await session.execute(select(func.count()).select_from(SchoolClass).where(*conditions))).scalar_one()
    rows = await session.execute(
        _class_select().where(*conditions)
        .order_by(SchoolClass.grade_level, SchoolClass.name, SchoolClass.id).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total)


async def class_name_taken(session: AsyncSession, school_id: int, academic_year_id: int | None, name: str,
                           except_id: int | None = None) -> bool:
    stmt = select(SchoolClass.id).where(
        SchoolClass.school_id == school_id,
        SchoolClass.academic_year_id.is_not_distinct_from(academic_year_id),
        SchoolClass.name == name,
    )
    if except_id is not None:
        stmt = stmt.where(SchoolClass.id != except_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def insert_class(session: AsyncSession, fields: dict[str, Any]) -> SchoolClass:
    row = SchoolClass(**fields)
    session.add(row)
    await session.flush()
    return row


async def class_has_grades(session: AsyncSession, class_id: int) -> bool:
    return bool((await session.execute(select(exists().where(Grade.class_id == class_id)))).scalar())


async def delete_class(session: AsyncSession, class_id: int) -> None:
    await session.execute(delete(SchoolClass).where(SchoolClass.id == class_id))


# People


async def users_by_ids(session: AsyncSession, ids: Collection[int]) -> dict[int, User]:
    if not ids:
        return {}
    rows = await session.execute(select(User).where(User.id.in_(list(ids))))
    return {u.id: u for u in rows.scalars()}


async def class_students(session: AsyncSession, class_id: int) -> list[Row[Any]]:
    rows = await session.execute(
        select(User.id, User.email, full_name_sql().label("full_name"), ClassStudent.enrolled_at)
        .join(ClassStudent, ClassStudent.student_id == User.id)
        .join(Profile, Profile.user_id == User.id)
        .where(ClassStudent.class_id == class_id)
        .order_by(Profile.last_name, Profile.first_name, User.id)
    )
    return list(rows.all())


async def enrol(session: AsyncSession, class_id: int, student_ids: Sequence[int]) -> int:
    stmt = pg_insert(ClassStudent).values([{"class_id": class_id, "student_id": s} for s in student_ids])
    result = await session.execute(stmt.on_conflict_do_nothing().returning(ClassStudent.student_id))
    return len(result.all())


async def unenrol(session: AsyncSession, class_id: int, student_id: int) -> bool:
    result = await session.execute(
        delete(ClassStudent).where(ClassStudent.class_id == class_id, ClassStudent.student_id == student_id)
        .returning(ClassStudent.student_id)
    )
    return result.first() is not None


async def link_parent(session: AsyncSession, parent_id: int, child_id: int) -> bool:
    result = await session.execute(
        pg_insert(ParentChild).values(parent_id=parent_id, child_id=child_id).on_conflict_do_nothing()
        .returning(ParentChild.parent_id)
    )
    return result.first() is not None


async def unlink_parent(session: AsyncSession, parent_id: int, child_id: int) -> bool:
    result = await session.execute(
        delete(ParentChild).where(ParentChild.parent_id == parent_id, ParentChild.child_id == child_id)
        .returning(ParentChild.parent_id)
    )
    return result.first() is not None


async def parent_links(session: AsyncSession, *, school_id: int | None, parent_id: int | None,
                       child_id: int | None, limit: int, offset: int) -> tuple[list[Row[Any]], int]:
    parent, child = aliased(User), aliased(User)
    parent_profile, child_profile = aliased(Profile), aliased(Profile)
    conditions: list[Any] = []
    if school_id is not None:
        conditions.append(child.school_id == school_id)
    if parent_id is not None:
        conditions.append(ParentChild.parent_id == parent_id)
    if child_id is not None:
        conditions.append(ParentChild.child_id == child_id)
    base = select(ParentChild.parent_id).join(child, child.id == ParentChild.child_id).where(*conditions)
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    rows = await session.execute(
        select(ParentChild.parent_id, full_name_sql(parent_profile).label("parent_name"),
               ParentChild.child_id, full_name_sql(child_profile).label("child_name"))
        .join(parent, parent.id == ParentChild.parent_id)
        .join(child, child.id == ParentChild.child_id)
        .join(parent_profile, parent_profile.user_id == parent.id)
        .join(child_profile, child_profile.user_id == child.id)
        .where(*conditions)
        .order_by(ParentChild.child_id, ParentChild.parent_id).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total)


# Subjects


async def subject_by_id(session: AsyncSession, subject_id: int, *, for_update: bool = False) -> Subject | None:
    stmt = select(Subject).where(Subject.id == subject_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_subjects(session: AsyncSession, *, school_id: int | None, q: str | None, limit: int,
                        offset: int) -> tuple[list[Subject], int]:
    conditions: list[Any] = []
    if school_id is not None:
        conditions.append(Subject.school_id == school_id)
    if q:
        conditions.append(func.lower(Subject.name).contains(q.lower(), autoescape=True))
    total = (await session.execute(select(func.count()).select_from(Subject).where(*conditions))).scalar_one()
    rows = await session.execute(
        select(Subject).where(*conditions).order_by(Subject.name, Subject.id).limit(limit).offset(offset)
    )
    return list(rows.scalars()), int(total)


async def subject_name_taken(session: AsyncSession, school_id: int, name: str, except_id: int | None = None) -> bool:
    stmt = select(Subject.id).where(Subject.school_id == school_id, func.lower(Subject.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(Subject.id != except_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def insert_subject(session: AsyncSession, fields: dict[str, Any]) -> Subject:
    row = Subject(**fields)
    session.add(row)
    await session.flush()
    return row


async def subject_in_use(session: AsyncSession, subject_id: int) -> bool:
    used = exists().where(Lesson.subject_id == subject_id) | exists().where(Grade.subject_id == subject_id)
    return bool((await session.execute(select(used))).scalar())


async def delete_subject(session: AsyncSession, subject_id: int) -> None:
    await session.execute(delete(Subject).where(Subject.id == subject_id))


# Teaching assignments


def _assignment_select() -> Any:
    return (
        select(
            TeachingAssignment,
            SchoolClass.name.label("class_name"),
            SchoolClass.school_id.label("school_id"),
            Subject.name.label("subject_name"),
            full_name_sql().label("teacher_name"),
        )
        .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
        .join(Subject, Subject.id == TeachingAssignment.subject_id)
        .join(Profile, Profile.user_id == TeachingAssignment.teacher_id)
    )


async def assignment_row(session: AsyncSession, assignment_id: int) -> Row[Any] | None:
    return (await session.execute(_assignment_select().where(TeachingAssignment.id == assignment_id))).first()


async def list_assignments(session: AsyncSession, *, school_id: int | None, class_ids: Collection[int] | None,
                           class_id: int | None, teacher_id: int | None, subject_id: int | None,
                           limit: int, offset: int) -> tuple[list[Row[Any]], int]:
    conditions: list[Any] = []
    if school_id is not None:
        conditions.append(SchoolClass.school_id == school_id)
    if class_ids is not None:
        conditions.append(TeachingAssignment.class_id.in_(list(class_ids)))
    if class_id is not None:
        conditions.append(TeachingAssignment.class_id == class_id)
    if teacher_id is not None:
        conditions.append(TeachingAssignment.teacher_id == teacher_id)
    if subject_id is not None:
        conditions.append(TeachingAssignment.subject_id == subject_id)
    count = (select(func.count()).select_from(TeachingAssignment)
             .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id).where(*conditions))
    total = (await session.execute(count)).scalar_one()
    rows = await session.execute(
        _assignment_select().where(*conditions)
        .order_by(SchoolClass.name, Subject.name, TeachingAssignment.id).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total)


async def assignment_exists(session: AsyncSession, class_id: int, subject_id: int, teacher_id: int) -> bool:
    stmt = select(TeachingAssignment.id).where(
        TeachingAssignment.class_id == class_id, TeachingAssignment.subject_id == subject_id,
        TeachingAssignment.teacher_id == teacher_id,
    )
    return (await session.execute(stmt.limit(1))).first() is not None


async def insert_assignment(session: AsyncSession, class_id: int, subject_id: int, teacher_id: int) -> int | None:
    result = await session.execute(
        pg_insert(TeachingAssignment)
        .values(class_id=class_id, subject_id=subject_id, teacher_id=teacher_id)
        .on_conflict_do_nothing()
        .returning(TeachingAssignment.id)
    )
    return result.scalar()


async def delete_assignment(session: AsyncSession, assignment_id: int) -> None:
    await session.execute(delete(TeachingAssignment).where(TeachingAssignment.id == assignment_id))


# Classmates


async def classmates(session: AsyncSession, student_id: int, q: str | None, limit: int,
                     offset: int) -> tuple[list[Row[Any]], int]:
    """Students sharing a class with `student_id` (not the student), with the classes they share."""
    mine = select(ClassStudent.class_id).where(ClassStudent.student_id == student_id).scalar_subquery()
    conditions: list[Any] = [ClassStudent.class_id.in_(mine), ClassStudent.student_id != student_id,
                             User.is_active.is_(True)]
    if q:
        needle = q.lower()
        conditions.append(or_(
            func.lower(Profile.first_name).contains(needle, autoescape=True),
            func.lower(Profile.last_name).contains(needle, autoescape=True),
            func.lower(full_name_sql()).contains(needle, autoescape=True),
        ))
    base = (
        select(ClassStudent.student_id)
        .join(User, User.id == ClassStudent.student_id)
        .join(Profile, Profile.user_id == User.id)
        .where(*conditions)
    )
    total = (await session.execute(select(func.count(func.distinct(base.subquery().c.student_id))))).scalar_one()
    rows = await session.execute(
        select(
            User.id,
            Profile.first_name,
            Profile.last_name,
            full_name_sql().label("full_name"),
            Profile.avatar_url,
            Profile.birthday,
            Profile.show_birthday,
            array_agg(aggregate_order_by(SchoolClass.name, SchoolClass.name)).label(  # type: ignore[no-untyped-call]
                "class_names"),
        )
        .select_from(ClassStudent)
        .join(User, User.id == ClassStudent.student_id)
        .join(Profile, Profile.user_id == User.id)
        .join(SchoolClass, SchoolClass.id == ClassStudent.class_id)
        .where(*conditions)
        .group_by(User.id, Profile.user_id)
        .order_by(Profile.last_name, Profile.first_name, User.id)
        .limit(limit)
        .offset(offset)
    )
    found: list[Row[Any]] = list(rows.all())  # type: ignore[arg-type]
    return found, int(total)

