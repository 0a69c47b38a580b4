"""Chat channels: their names, who belongs to each (derived from the diary, so it follows enrolments, parent links,
teaching assignments and accounts), who may post in it, and the schools' private-chat policy.

- class:{class_id}: its students, their parents if the school allows, its teachers and class teacher, the
  school's admins; members post.
- parents:{class_id}: the class's parents, its teachers and class teacher, the school's admins (no students);
  members post.
- staff:{school_id}: the school's teachers and admins; members post.
- announcements:{school_id}: everyone of the school reads; teachers and admins post.
- class-announcements:{class_id}: the class's students and parents, its teachers, the school's admins read;
  teachers and admins post.
- grade-announcements:{school_id}:{grade}: the same for a parallel, every class of that grade (1..11) in the
  school in its current academic year (queries/chat_rooms.py); teachers and admins post.
- group:{group_id}: the members staff chose (while still in the school) and the school's admins; members post.
- dm:{a}:{b}: a and b, if they share a school; a send needs the school's policy (may_message).

Superusers may join any channel that exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.i18n import N_, _
from edutrack.queries import chat as q
from edutrack.queries import chat_rooms as rq
from edutrack.queries import membership as m
from edutrack.security.tokens import Principal

_ID = "([1-9][0-9]{0,17})"
# Matched whole (fullmatch: `$` would accept a final newline) and with ASCII digits only (int() reads any Unicode
# digit): anything else would be a second spelling of a channel, with a history of its own that nobody lists.
_GRADE = "(1[01]|[1-9])"
_CHANNEL = re.compile(rf"(class|parents|staff|announcements|class-announcements|group|user):{_ID}|dm:{_ID}:{_ID}"
                      rf"|grade-announcements:{_ID}:{_GRADE}")
CLASS_BOUND = frozenset({"class", "parents", "class-announcements"})
SCHOOL_BOUND = frozenset({"staff", "announcements", "grade-announcements"})  # ids[0] is the school
READ_ONLY = frozenset({"announcements", "class-announcements", "grade-announcements"})  # staff post, others read
STAFF = frozenset({Role.TEACHER.value, Role.ADMIN.value})


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    kind: str  # class | parents | staff | announcements | class-announcements | grade-announcements | group | dm
    # | user
    ids: tuple[int, ...]

    @property
    def is_chat(self) -> bool:
        return self.kind != "user"

    @property
    def derived(self) -> bool:
        """Membership computed from the diary (or a group's members): cached per node, re-read on a change."""
        return self.kind not in ("dm", "user")


def parse_channel(name: object) -> Channel:
    """A channel name in its one canonical spelling (dm:{a}:{b} with a < b), or a 400."""
    match = _CHANNEL.fullmatch(name) if isinstance(name, str) else None
    if match is None or not isinstance(name, str):
        raise errors.BadRequest(_("Channel must be class:{id}, parents:{id}, staff:{id}, announcements:{id}, "
                                  "class-announcements:{id}, grade-announcements:{school}:{grade} (grade 1..11), "
                                  "group:{id}, dm:{a}:{b} (a < b) or user:{id}"),
                                code="invalid_channel", details={"channel": str(name)[:80]})
    kind, one, a, b, school, grade = match.groups()
    if kind is not None:
        return Channel(name, kind, (int(one),))
    if school is not None:
        return Channel(name, "grade-announcements", (int(school), int(grade)))
    low, high = int(a), int(b)
    if low >= high:
        raise errors.BadRequest(_("A private channel is dm:{a}:{b} with a < b"), code="invalid_channel",
                                details={"channel": name})
    return Channel(name, "dm", (low, high))


def dm_channel(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"dm:{low}:{high}"


def not_a_member(channel: Channel) -> errors.ApiError:
    return errors.Forbidden(_("You are not a member of this channel"), code="not_a_member",
                            details={"channel": channel.name})


# --- membership -------------------------------------------------------------------------------------


async def member_ids(session: AsyncSession, channel: Channel) -> set[int]:
    """Everyone in a channel now (a private chat: its two people)."""
    kind, key = channel.kind, channel.ids[0]
    if kind == "class":
        return await m.class_chat_member_ids(session, key)
    if kind == "parents":
        return await rq.parents_room_member_ids(session, key)
    if kind == "class-announcements":
        return await rq.class_board_member_ids(session, key)
    if kind == "staff":
        return await rq.staff_member_ids(session, key)
    if kind == "announcements":
        return await rq.school_member_ids(session, key)
    if kind == "grade-announcements":
        return await rq.grade_board_member_ids(session, key, channel.ids[1])
    if kind == "group":
        return await rq.group_member_ids(session, key)
    return set(channel.ids)


async def _exists(session: AsyncSession, channel: Channel) -> bool:
    if channel.kind in CLASS_BOUND:
        return await q.class_exists(session, channel.ids[0])
    if channel.kind in SCHOOL_BOUND:
        return await rq.school_exists(session, channel.ids[0])
    if channel.kind == "group":
        return await rq.group_by_id(session, channel.ids[0]) is not None
    return True


async def is_member(session: AsyncSession, who: Principal, channel: Channel) -> bool:
    if channel.kind == "user":
        return who.user_id == channel.ids[0]
    if channel.kind != "dm":
        if who.is_superuser:
            return await _exists(session, channel)
        return who.user_id in await member_ids(session, channel)
    a, b = channel.ids
    if who.user_id not in (a, b):
        return False
    facts = await q.user_facts(session, (a, b))
    if len(facts) != 2 or not all(active for _s, _su, active in facts.values()):
        return False
    (school_a, su_a, _), (school_b, su_b, _) = facts[a], facts[b]
    return su_a or su_b or (school_a is not None and school_a == school_b)


async def require_member(session: AsyncSession, who: Principal, channel: Channel) -> None:
    if not await is_member(session, who, channel):
        raise not_a_member(channel)


async def check_member(ctx: AppContext, who: Principal, channel: Channel) -> None:
    async with ctx.reads() as session:
        await require_member(session, who, channel)


async def join(ctx: AppContext, who: Principal, channel: Channel) -> set[int]:
    """Authorize a subscription and return the channel's members (for presence), in one query."""
    async with ctx.reads() as session:
        if channel.derived and not who.is_superuser:
            members = await member_ids(session, channel)
            if who.user_id not in members:
                raise not_a_member(channel)
            return members
        await require_member(session, who, channel)
        return await member_ids(session, channel)


async def load_member_ids(ctx: AppContext, channel: Channel) -> set[int]:
    async with ctx.reads() as session:
        return await member_ids(session, channel)


# --- posting ------------------------------------------------------------------------------------------


def require_may_post_here(who: Principal, channel: Channel) -> None:
    """Announcement channels: staff post, everyone else reads (decided from the token alone, no query)."""
    if channel.kind in READ_ONLY and not who.is_superuser and who.role not in STAFF:
        raise errors.Forbidden(_("Only teachers and administrators post in announcements"), code="read_only",
                               details={"channel": channel.name})


async def may_message(session: AsyncSession, sender: int, recipient: int) -> bool:
    """The school's private-chat policy: staff (teachers, admins) write to and are written to by anyone of the
    school; a parent and their own child always; two parents whose children share a class unless the school turned
    it off; two students only if the school turned it on; a parent and another parent's child never."""
    facts = await rq.dm_facts(session, sender, recipient)
    if facts is None:
        return False
    roles = {facts.role_a, facts.role_b}
    if roles & STAFF or facts.family:
        return True
    if roles == {Role.STUDENT.value}:
        return bool(facts.student_student)
    if roles == {Role.PARENT.value}:
        return bool(facts.parent_parent and facts.parents_share_class)
    return False


async def require_may_send(session: AsyncSession, who: Principal, channel: Channel) -> None:
    """What a send needs beyond membership: the channel's posting rights, and for a private chat the policy."""
    require_may_post_here(who, channel)
    if channel.kind == "dm" and not who.is_superuser and who.role not in STAFF:
        other = next(uid for uid in channel.ids if uid != who.user_id)
        if not await may_message(session, who.user_id, other):
            raise errors.Forbidden(_("Your school does not allow this private chat"), code="dm_not_allowed",
                                   details={"channel": channel.name})


async def check_sender(ctx: AppContext, who: Principal, channel: Channel, *, known_member: bool) -> None:
    """Everything a send needs before it is stored; no query for a subscribed socket's send to a room, one for a
    private chat of a student or parent (the policy), one more when membership is not known yet."""
    require_may_post_here(who, channel)
    policy = channel.kind == "dm" and not who.is_superuser and who.role not in STAFF
    if known_member and not policy:
        return
    async with ctx.reads() as session:
        if not known_member:
            await require_member(session, who, channel)
        await require_may_send(session, who, channel)


async def school_of_channel(session: AsyncSession, channel: Channel) -> int | None:
    """The school a room belongs to (None for private chats and feeds)."""
    if channel.kind in CLASS_BOUND:
        return await m.school_of_class(session, channel.ids[0])
    if channel.kind in SCHOOL_BOUND:
        return channel.ids[0]
    if channel.kind == "group":
        group = await rq.group_by_id(session, channel.ids[0])
        return None if group is None else group.school_id
    return None


def class_of(channel: Channel) -> int | None:
    return channel.ids[0] if channel.kind in CLASS_BOUND else None


# Role labels on members and messages: the codes clients show, and their words.
LABELS = {
    "student": N_("student"),
    "parent": N_("parent"),
    "teacher": N_("teacher"),
    "class_teacher": N_("class teacher"),
    "admin": N_("administrator"),
}


def label_text(label: str | None) -> str:
    return _(LABELS[label]) if label in LABELS else ""
