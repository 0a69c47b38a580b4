"""SQL of news: who may read what, who is notified, and the claim of due scheduled items.

Readers and recipients follow one rule, so a notification never points at news its reader cannot open:
  school audience: everyone of the school (members by `users.school_id`, and parents of its students);
  role audience:   those of them with that role;
  class audience:  the class's students, their parents, its teachers and its class teacher.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, delete, false, func, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.diary import ClassStudent, News, ParentChild, SchoolClass, TeachingAssignment
from edutrack.db.models import Profile, Role, User
from edutrack.queries.classes import full_name_sql
from edutrack.security.tokens import Principal


def _my_class_ids(who: Principal) -> Any:
    """A SELECT of the classes whose class news reach this reader."""
    if who.role == Role.STUDENT.value:
        return select(ClassStudent.class_id).where(ClassStudent.student_id == who.user_id)
    if who.role == Role.PARENT.value:
        return (select(ClassStudent.class_id)
                .join(ParentChild, ParentChild.child_id == ClassStudent.student_id)
                .where(ParentChild.parent_id == who.user_id))
    if who.role == Role.TEACHER.value:
        return union(
            select(TeachingAssignment.class_id).where(TeachingAssignment.teacher_id == who.user_id),
            select(SchoolClass.id).where(SchoolClass.class_teacher_id == who.user_id),
        )
    return select(SchoolClass.id).where(false())


def _reader_condition(who: Principal) -> Any:
    """WHERE clause of the news this (non-admin) reader may see."""
    class_ids = _my_class_ids(who).subquery()
    my_schools = union(
        select(User.school_id.label("school_id")).where(User.id == who.user_id, User.school_id.is_not(None)),
        select(SchoolClass.school_id).where(SchoolClass.id.in_(select(class_ids.c[0]))),
    ).subquery()
    in_my_school = News.school_id.in_(select(my_schools.c.school_id))
    return and_(
        News.status == "published",
        or_(
            and_(News.audience == "school", in_my_school),
            and_(News.audience == "role", News.role == who.role, in_my_school),
            and_(News.audience == "class", News.class_id.in_(select(class_ids.c[0]))),
        ),
    )


def _news_select() -> Any:
    return (
        select(News, full_name_sql().label("author_name"), SchoolClass.name.label("class_name"))
        .join(Profile, Profile.user_id == News.author_id)
        .outerjoin(SchoolClass, SchoolClass.id == News.class_id)
    )


async def news_row(session: AsyncSession, news_id: int) -> Row[Any] | None:
    return (await session.execute(_news_select().where(News.id == news_id))).first()


async def news_by_id(session: AsyncSession, news_id: int, *, for_update: bool = False) -> News | None:
    stmt = select(News).where(News.id == news_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def readable(session: AsyncSession, who: Principal, news_id: int) -> bool:
    stmt = select(News.id).where(News.id == news_id, _reader_condition(who))
    return (await session.execute(stmt)).first() is not None


async def list_news(session: AsyncSession, who: Principal, *, manage_school_id: int | None, everything: bool,
                    status: str | None, audience: str | None, class_id: int | None, q: str | None,
                    limit: int, offset: int) -> tuple[list[Row[Any]], int]:
    """Readers: what is addressed to them. Admins (`manage_school_id`) and superusers (`everything`): all."""
    conditions: list[Any] = []
    if everything:
        pass
    elif manage_school_id is not None:
        conditions.append(News.school_id == manage_school_id)
    else:
        conditions.append(_reader_condition(who))
    if status:
        conditions.append(News.status == status)
    if audience:
        conditions.append(News.audience == audience)
    if class_id is not None:
        conditions.append(News.class_id == class_id)
    if q:
        needle = q.lower()
        conditions.append(or_(func.lower(News.title).contains(needle, autoescape=True),
                              func.lower(News.body).contains(needle, autoescape=True)))
    total = (await session.execute(select(func.count()).select_from(News).where(*conditions))).scalar_one()
    order = (func.coalesce(News.published_at, News.publish_at, News.created_at).desc(), News.id.desc())
    rows = await session.execute(_news_select().where(*conditions).order_by(*order).limit(limit).offset(offset))
    return list(rows.all()), int(total)


async def insert_news(session: AsyncSession, fields: dict[str, Any]) -> News:
    row = News(**fields)
    session.add(row)
    await session.flush()
    return row


async def delete_news(session: AsyncSession, news_id: int) -> None:
    await session.execute(delete(News).where(News.id == news_id))


async def audience_user_ids(session: AsyncSession, news: News) -> list[int]:
    """Everyone the news item is addressed to (active users, the author excluded), in one query."""
    if news.audience == "class":
        assert news.class_id is not None
        students = select(ClassStudent.student_id.label("user_id")).where(ClassStudent.class_id == news.class_id)
        parents = (select(ParentChild.parent_id)
                   .join(ClassStudent, ClassStudent.student_id == ParentChild.child_id)
                   .where(ClassStudent.class_id == news.class_id))
        teachers = select(TeachingAssignment.teacher_id).where(TeachingAssignment.class_id == news.class_id)
        lead = select(SchoolClass.class_teacher_id).where(SchoolClass.id == news.class_id,
                                                          SchoolClass.class_teacher_id.is_not(None))
        everyone = union(students, parents, teachers, lead).subquery()
    else:
        members = select(User.id.label("user_id")).where(User.school_id == news.school_id)
        parents = (select(ParentChild.parent_id)
                   .join(ClassStudent, ClassStudent.student_id == ParentChild.child_id)
                   .join(SchoolClass, SchoolClass.id == ClassStudent.class_id)
                   .where(SchoolClass.school_id == news.school_id))
        everyone = union(members, parents).subquery()
    stmt = (select(User.id).join(everyone, everyone.c.user_id == User.id)
            .where(User.is_active.is_(True), User.id != news.author_id))
    if news.audience == "role":
        stmt = stmt.where(User.role == news.role)
    rows = await session.execute(stmt.order_by(User.id))
    return list(rows.scalars())


# Key of the transaction-scoped advisory lock held by the one scheduled-news publisher at work across all nodes.
PUBLISHER_LOCK = 0x6E657773  # "news"


async def try_lock_publisher(session: AsyncSession) -> bool:
    """Take the publisher's lock for this transaction, or False at once if another node holds it."""
    return bool((await session.execute(select(func.pg_try_advisory_xact_lock(PUBLISHER_LOCK)))).scalar_one())


async def claim_due(session: AsyncSession, now: datetime | None = None, limit: int = 100) -> list[News]:
    """Flip due scheduled items to published and return them. The row lock taken by UPDATE makes this
    safe with several API nodes: a row is published by exactly one of them; SKIP LOCKED lets the others
    move on to other rows instead of waiting."""
    due = (select(News.id)
           .where(News.status == "scheduled", News.publish_at <= (now or func.now()))
           .order_by(News.publish_at, News.id)
           .limit(limit)
           .with_for_update(skip_locked=True)
           .scalar_subquery())
    result = await session.execute(
        update(News).where(News.id.in_(due), News.status == "scheduled")
        .values(status="published", published_at=func.coalesce(News.publish_at, func.now()), updated_at=func.now())
        .returning(News)
    )
    return list(result.scalars())
