"""SQL of the chat rooms derived from the diary (the class's parents, the staff room, announcements), staff-made
groups and the schools' private-chat policy. Every member list is one query; active users only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.chat_rooms import ChatGroup, ChatGroupMember, SchoolChatPolicy

# The parts every class-bound room is made of (:class_id); a room is a UNION of some of them.
_STUDENTS = "SELECT student_id AS user_id FROM class_students WHERE class_id = :class_id"
_PARENTS = ("SELECT pc.parent_id FROM parent_children pc JOIN class_students cs ON cs.student_id = pc.child_id "
            "WHERE cs.class_id = :class_id")
_TEACHERS = ("SELECT teacher_id FROM teaching_assignments WHERE class_id = :class_id "
             "UNION SELECT class_teacher_id FROM classes WHERE id = :class_id AND class_teacher_id IS NOT NULL")
_ADMINS = ("SELECT u.id FROM users u JOIN classes c ON c.school_id = u.school_id "
           "WHERE c.id = :class_id AND u.role = 'admin'")


def _active(*parts: str) -> Any:
    union = " UNION ".join(parts)
    # The parts are this module's constants; every value is a bound parameter.
    return text(f"SELECT m.user_id FROM ({union}) AS m(user_id) JOIN users u ON u.id = m.user_id WHERE u.is_active")  # noqa: S608


_PARENTS_ROOM = _active(_PARENTS, _TEACHERS, _ADMINS)
_CLASS_BOARD = _active(_STUDENTS, _PARENTS, _TEACHERS, _ADMINS)
# A class belongs to its grade's parallel while its academic year is the school's current one (the year that holds
# today, else the next to start, else the last to end) or it has none: last year's 5А, kept for its diary, is not
# this year's fifth grade, and its pupils (now in the sixth) must not read the fifth grade's announcements.
_THIS_YEAR = ("(c.academic_year_id IS NULL OR c.academic_year_id = (SELECT y.id FROM academic_years y "
              "WHERE y.school_id = c.school_id ORDER BY y.ends_on < current_date, "
              "CASE WHEN y.ends_on >= current_date THEN y.starts_on END, y.ends_on DESC LIMIT 1))")
_IN_PARALLEL = f"c.school_id = :school_id AND c.grade_level = :grade AND {_THIS_YEAR}"
# A parallel: the same parts over every class of one grade of a school (:school_id, :grade), and its admins.
_GRADE_BOARD = _active(  # the f-strings hold this module's constants only; every value is a bound parameter
    f"SELECT cs.student_id FROM class_students cs JOIN classes c ON c.id = cs.class_id WHERE {_IN_PARALLEL}",  # noqa: S608
    "SELECT pc.parent_id FROM parent_children pc JOIN class_students cs ON cs.student_id = pc.child_id "  # noqa: S608
    f"JOIN classes c ON c.id = cs.class_id WHERE {_IN_PARALLEL}",
    f"SELECT ta.teacher_id FROM teaching_assignments ta JOIN classes c ON c.id = ta.class_id WHERE {_IN_PARALLEL}",  # noqa: S608
    f"SELECT c.class_teacher_id FROM classes c WHERE {_IN_PARALLEL} AND c.class_teacher_id IS NOT NULL",  # noqa: S608
    "SELECT id FROM users WHERE school_id = :school_id AND role = 'admin'")
_STAFF = text("SELECT id FROM users WHERE school_id = :school_id AND is_active AND role IN ('teacher', 'admin')")
_SCHOOL = text("SELECT id FROM users WHERE school_id = :school_id AND is_active")
_GROUP = text(
    "SELECT m.user_id FROM (SELECT gm.user_id FROM chat_group_members gm WHERE gm.group_id = :group_id "
    "UNION SELECT u.id FROM users u JOIN chat_groups g ON g.school_id = u.school_id "
    "WHERE g.id = :group_id AND u.role = 'admin') m "
    "JOIN users u ON u.id = m.user_id JOIN chat_groups g ON g.id = :group_id "
    "WHERE u.is_active AND u.school_id = g.school_id")


async def _ids(session: AsyncSession, stmt: Any, **params: int) -> set[int]:
    return {int(i) for i in (await session.execute(stmt, params)).scalars()}


async def parents_room_member_ids(session: AsyncSession, class_id: int) -> set[int]:
    """The class's parents, its teachers and class teacher, the school's admins (no students)."""
    return await _ids(session, _PARENTS_ROOM, class_id=class_id)


async def class_board_member_ids(session: AsyncSession, class_id: int) -> set[int]:
    """Who reads a class's announcements: its students and their parents, its teachers, the school's admins."""
    return await _ids(session, _CLASS_BOARD, class_id=class_id)


async def grade_board_member_ids(session: AsyncSession, school_id: int, grade: int) -> set[int]:
    """Who reads a parallel's announcements: the students of every class of that grade in the school, their
    parents, those classes' teachers and class teachers, the school's admins."""
    return await _ids(session, _GRADE_BOARD, school_id=school_id, grade=grade)


async def parallels_of(session: AsyncSession, class_ids: Sequence[int], *,
                       this_year_only: bool = False) -> set[tuple[int, int]]:
    """(school, grade) of each of these classes: the parallels whose announcements they feed (with
    `this_year_only`, only of those in the school's current academic year, the ones a parallel counts)."""
    if not class_ids:
        return set()
    where = f"c.id = ANY(:ids) AND {_THIS_YEAR}" if this_year_only else "c.id = ANY(:ids)"
    rows = await session.execute(text(f"SELECT DISTINCT c.school_id, c.grade_level FROM classes c WHERE {where}"),  # noqa: S608
                                 {"ids": list(class_ids)})
    return {(int(s), int(g)) for s, g in rows}


async def staff_member_ids(session: AsyncSession, school_id: int) -> set[int]:
    return await _ids(session, _STAFF, school_id=school_id)


async def school_member_ids(session: AsyncSession, school_id: int) -> set[int]:
    return await _ids(session, _SCHOOL, school_id=school_id)


async def group_member_ids(session: AsyncSession, group_id: int) -> set[int]:
    """The group's chosen members still in its school, and the school's admins."""
    return await _ids(session, _GROUP, group_id=group_id)


async def school_exists(session: AsyncSession, school_id: int) -> bool:
    return (await session.execute(text("SELECT 1 FROM schools WHERE id = :id"), {"id": school_id})).first() \
        is not None


async def class_teacher_of(session: AsyncSession, class_id: int) -> int | None:
    row = await session.execute(text("SELECT class_teacher_id FROM classes WHERE id = :id"), {"id": class_id})
    return row.scalar()


# --- private chats ------------------------------------------------------------------------------------------

_DM_FACTS = text("""
SELECT a.role AS role_a, b.role AS role_b, a.school_id AS school,
       coalesce(p.student_student, false) AS student_student, coalesce(p.parent_parent, true) AS parent_parent,
       EXISTS (SELECT 1 FROM parent_children WHERE (parent_id = a.id AND child_id = b.id)
                                                OR (parent_id = b.id AND child_id = a.id)) AS family,
       EXISTS (SELECT 1 FROM parent_children pa JOIN class_students ca ON ca.student_id = pa.child_id
               JOIN class_students cb ON cb.class_id = ca.class_id
               JOIN parent_children pb ON pb.child_id = cb.student_id
               WHERE pa.parent_id = a.id AND pb.parent_id = b.id) AS parents_share_class
FROM users a JOIN users b ON b.id = :b
LEFT JOIN school_chat_policies p ON p.school_id = a.school_id
WHERE a.id = :a
""")


async def dm_facts(session: AsyncSession, a: int, b: int) -> Any:
    """What the school's policy decides a private chat between a and b from (None if either is unknown)."""
    return (await session.execute(_DM_FACTS, {"a": a, "b": b})).first()


async def chat_policy(session: AsyncSession, school_id: int) -> tuple[bool, bool]:
    """(student_student, parent_parent) of a school: its row, or the defaults."""
    row = (await session.execute(select(SchoolChatPolicy.student_student, SchoolChatPolicy.parent_parent)
                                 .where(SchoolChatPolicy.school_id == school_id))).first()
    return (False, True) if row is None else (bool(row[0]), bool(row[1]))


async def set_chat_policy(session: AsyncSession, school_id: int, values: dict[str, bool]) -> None:
    stmt = insert(SchoolChatPolicy).values(school_id=school_id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=[SchoolChatPolicy.school_id],
                                                     set_={**values, "updated_at": text("now()")}))


# --- groups -----------------------------------------------------------------------------------------------


async def create_group(session: AsyncSession, school_id: int, title: str, created_by: int) -> ChatGroup:
    group = ChatGroup(school_id=school_id, title=title, created_by=created_by)
    session.add(group)
    await session.flush()
    await session.refresh(group, ["created_at"])
    return group


async def group_by_id(session: AsyncSession, group_id: int, *, for_update: bool = False) -> ChatGroup | None:
    stmt = select(ChatGroup).where(ChatGroup.id == group_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_group(session: AsyncSession, group_id: int) -> None:
    await session.execute(delete(ChatGroup).where(ChatGroup.id == group_id))


async def add_group_members(session: AsyncSession, group_id: int, user_ids: Sequence[int]) -> None:
    if user_ids:
        await session.execute(insert(ChatGroupMember).values(
            [{"group_id": group_id, "user_id": uid} for uid in user_ids]).on_conflict_do_nothing())


async def remove_group_members(session: AsyncSession, group_id: int, user_ids: Sequence[int]) -> None:
    if user_ids:
        await session.execute(delete(ChatGroupMember).where(ChatGroupMember.group_id == group_id,
                                                            ChatGroupMember.user_id.in_(list(user_ids))))


async def chosen_member_ids(session: AsyncSession, group_id: int) -> list[int]:
    rows = await session.execute(select(ChatGroupMember.user_id).where(ChatGroupMember.group_id == group_id)
                                 .order_by(ChatGroupMember.user_id))
    return [int(i) for i in rows.scalars()]


async def users_of_school(session: AsyncSession, user_ids: Sequence[int], school_id: int) -> set[int]:
    """Which of these users are active members of the school."""
    rows = await session.execute(text("SELECT id FROM users WHERE id = ANY(:ids) AND school_id = :school "
                                      "AND is_active"), {"ids": list(user_ids), "school": school_id})
    return {int(i) for i in rows.scalars()}


async def group_ids_of(session: AsyncSession, user_id: int) -> list[int]:
    rows = await session.execute(text(
        "SELECT gm.group_id FROM chat_group_members gm JOIN chat_groups g ON g.id = gm.group_id "
        "JOIN users u ON u.id = gm.user_id WHERE gm.user_id = :u AND u.school_id = g.school_id "
        "ORDER BY gm.group_id"), {"u": user_id})
    return [int(i) for i in rows.scalars()]


async def group_ids_of_school(session: AsyncSession, school_id: int) -> list[int]:
    rows = await session.execute(select(ChatGroup.id).where(ChatGroup.school_id == school_id).order_by(ChatGroup.id))
    return [int(i) for i in rows.scalars()]


async def group_titles(session: AsyncSession, group_ids: Sequence[int]) -> dict[int, str]:
    if not group_ids:
        return {}
    rows = await session.execute(select(ChatGroup.id, ChatGroup.title).where(ChatGroup.id.in_(list(group_ids))))
    return {int(i): str(t) for i, t in rows}


async def groups_with_member(session: AsyncSession, user_id: int) -> list[int]:
    """Every group the user was chosen for (whatever their school now): a change to the account changes them."""
    rows = await session.execute(select(ChatGroupMember.group_id).where(ChatGroupMember.user_id == user_id))
    return [int(i) for i in rows.scalars()]
