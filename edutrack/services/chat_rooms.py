"""The rooms a person has (every channel kind, with titles and unread counts), staff-made groups, and each
school's private-chat policy. Membership itself is decided in chat_channels.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.events import grade_board
from edutrack.i18n import _, ngettext
from edutrack.queries import chat as q
from edutrack.queries import chat_rooms as rq
from edutrack.queries import membership as m
from edutrack.security.tokens import Principal
from edutrack.services.chat_channels import STAFF, parse_channel
from edutrack.services.diary.permissions import require_school_admin
from edutrack.uow import unit_of_work

MAX_GROUP_MEMBERS = 500


async def _room_names(session: AsyncSession, who: Principal) -> dict[str, str]:
    """The rooms (not private chats) the user belongs to now: channel -> title, class-bound ones first."""
    if who.is_superuser:
        classes = await q.class_names(session, None)
        return {f"class:{cid}": name for cid, name in sorted(classes.items())}
    role, school = who.role, who.school_id
    chat_ids: set[int] = set()
    room_ids: set[int] = set()  # classes whose parents' room the user is in
    board_ids: set[int] = set()  # classes whose announcements the user reads
    if role == Role.PARENT.value:
        chat_ids = await q.parent_chat_class_ids(session, who.user_id)
        room_ids = board_ids = await m.visible_class_ids(session, who) or set()
    else:
        chat_ids = board_ids = await m.visible_class_ids(session, who) or set()
        if role in STAFF:
            room_ids = chat_ids
    classes = await q.class_names(session, sorted(chat_ids | room_ids | board_ids))
    titles: dict[str, str] = {}
    for cid, name in sorted(classes.items()):
        if cid in chat_ids:
            titles[f"class:{cid}"] = name
        if cid in room_ids:
            titles[f"parents:{cid}"] = _("Parents of %(class_name)s", class_name=name)
        if cid in board_ids:
            titles[f"class-announcements:{cid}"] = _("Announcements of %(class_name)s", class_name=name)
    for school_id, grade in sorted(await rq.parallels_of(session, sorted(board_ids), this_year_only=True)):
        titles[grade_board(school_id, grade)] = _("Announcements of grade %(grade)s", grade=grade)
    if school is not None:
        titles[f"announcements:{school}"] = _("School announcements")
        if role in STAFF:
            titles[f"staff:{school}"] = _("Staff room")
        groups = await (rq.group_ids_of_school(session, school) if role == Role.ADMIN.value
                        else rq.group_ids_of(session, who.user_id))
        for gid, title in sorted((await rq.group_titles(session, groups)).items()):
            titles[f"group:{gid}"] = title
    return titles


async def list_channels(ctx: AppContext, who: Principal) -> list[dict[str, Any]]:
    """Every chat of the user: the rooms they belong to now and their private chats, newest activity first."""
    async with ctx.reads() as session:
        titles = await _room_names(session, who)
        summaries = {s["channel"]: s for s in await q.channel_summaries(session, who.user_id, list(titles),
                                                                          dm_of_user=True)}
        others = {n: next(i for i in parse_channel(n).ids if i != who.user_id)
                  for n in summaries if n.startswith("dm:")}
        people = await q.user_names(session, list(others.values()))
    items: list[dict[str, Any]] = []
    for name, title in titles.items():
        items.append({"channel": name, "kind": parse_channel(name).kind, "title": title,
                      **_summary_fields(summaries.get(name))})
    for name, other in others.items():
        items.append({"channel": name, "kind": "dm", "title": people.get(other, ""), "with_user_id": other,
                      **_summary_fields(summaries[name])})
    items.sort(key=lambda i: (i["last_message_at"] is None, -(i["last_message_at"].timestamp())
                              if i["last_message_at"] else 0, i["channel"]))
    return items


async def readable_channels(session: AsyncSession, who: Principal) -> list[str]:
    """Every channel whose messages the user may read now: their rooms and the private chats whose other person
    is still active and of the same school (what `is_member` says of each)."""
    titles = await _room_names(session, who)
    names = list(titles)
    dms = [s["channel"] for s in await q.channel_summaries(session, who.user_id, [], dm_of_user=True)]
    others = {n: next(i for i in parse_channel(n).ids if i != who.user_id) for n in dms}
    facts = await q.user_facts(session, [who.user_id, *others.values()])
    mine = facts.get(who.user_id)
    for name, other in others.items():
        theirs = facts.get(other)
        if mine is None or theirs is None or not theirs[2]:
            continue
        if who.is_superuser or theirs[1] or (mine[0] is not None and mine[0] == theirs[0]):
            names.append(name)
    return names


def _summary_fields(summary: dict[str, Any] | None) -> dict[str, Any]:
    if summary is None:
        return {"last_message_id": 0, "last_message_at": None, "last_read_id": 0, "unread": 0}
    return {k: summary[k] for k in ("last_message_id", "last_message_at", "last_read_id", "unread")}


# --- groups ---------------------------------------------------------------------------------------------


def _group_view(group: Any, members: list[int]) -> dict[str, Any]:
    return {"id": group.id, "channel": f"group:{group.id}", "school_id": group.school_id, "title": group.title,
            "created_by": group.created_by, "created_at": group.created_at, "member_ids": members}


async def _require_valid_members(session: AsyncSession, school_id: int, user_ids: list[int]) -> None:
    if len(user_ids) > MAX_GROUP_MEMBERS:
        raise errors.ValidationFailed(details={"member_ids": [ngettext(
            "At most %(num)s member.", "At most %(num)s members.", MAX_GROUP_MEMBERS)]})
    unknown = sorted(set(user_ids) - await rq.users_of_school(session, user_ids, school_id))
    if unknown:
        raise errors.ValidationFailed(details={"member_ids": [_("Not active members of this school: %(ids)s",
                                                                ids=", ".join(map(str, unknown)))]})


def _require_staff(who: Principal) -> int:
    if not who.is_superuser and (who.role not in STAFF or who.school_id is None):
        raise errors.Forbidden(_("Only teachers and administrators create groups"))
    if who.school_id is None:
        raise errors.ValidationFailed(details={"school_id": [_("A superuser creates groups as a school's member "
                                                               "only.")]})
    return who.school_id


async def create_group(ctx: AppContext, who: Principal, title: str, member_ids: list[int]) -> dict[str, Any]:
    school_id = _require_staff(who)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        wanted = sorted(set(member_ids) | {who.user_id})
        await _require_valid_members(session, school_id, wanted)
        group = await rq.create_group(session, school_id, title, who.user_id)
        await rq.add_group_members(session, group.id, wanted)
        return _group_view(group, wanted)


async def _managed_group(session: AsyncSession, who: Principal, group_id: int) -> Any:
    """A group its creator or the school's admins manage; anyone else gets 404 (others' groups are not listed)."""
    group = await rq.group_by_id(session, group_id, for_update=True)
    if group is None or not (who.is_superuser or (who.school_id == group.school_id and (
            group.created_by == who.user_id or who.role == Role.ADMIN.value))):
        raise errors.NotFound(_("No such group"))
    return group


async def get_group(ctx: AppContext, who: Principal, group_id: int) -> dict[str, Any]:
    async with ctx.reads() as session:
        group = await rq.group_by_id(session, group_id)
        members = [] if group is None else await rq.chosen_member_ids(session, group_id)
        readable = group is not None and (who.is_superuser or who.user_id in await rq.group_member_ids(
            session, group_id))
    if group is None or not readable:
        raise errors.NotFound(_("No such group"))
    return _group_view(group, members)


async def update_group(ctx: AppContext, who: Principal, group_id: int, *, title: str | None,
                       add: list[int], remove: list[int]) -> dict[str, Any]:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        group = await _managed_group(session, who, group_id)
        await _require_valid_members(session, group.school_id, add)
        if title is not None:
            group.title = title
        await rq.add_group_members(session, group_id, sorted(set(add)))
        await rq.remove_group_members(session, group_id, sorted(set(remove) - set(add)))
        members = await rq.chosen_member_ids(session, group_id)
        if add or remove:
            uow.membership_changed_channels([f"group:{group_id}"])
        return _group_view(group, members)


async def delete_group(ctx: AppContext, who: Principal, group_id: int) -> None:
    async with unit_of_work(ctx) as uow:
        await _managed_group(uow.session, who, group_id)
        await rq.delete_group(uow.session, group_id)
        uow.membership_changed_channels([f"group:{group_id}"])


# --- the private-chat policy ---------------------------------------------------------------------------------


async def get_policy(ctx: AppContext, who: Principal, school_id: int) -> dict[str, Any]:
    require_school_admin(who, school_id)
    async with ctx.reads() as session:
        if not await rq.school_exists(session, school_id):
            raise errors.NotFound(_("No such school"))
        student_student, parent_parent = await rq.chat_policy(session, school_id)
    return {"school_id": school_id, "parent_teacher": True, "student_student": student_student,
            "parent_parent": parent_parent}


async def set_policy(ctx: AppContext, who: Principal, school_id: int, changes: dict[str, bool]) -> dict[str, Any]:
    require_school_admin(who, school_id)
    async with unit_of_work(ctx) as uow:
        if not await rq.school_exists(uow.session, school_id):
            raise errors.NotFound(_("No such school"))
        if changes:
            await rq.set_chat_policy(uow.session, school_id, changes)
    return await get_policy(ctx, who, school_id)


async def rooms_of_account(session: AsyncSession, user_id: int, schools: set[int | None],
                           admin: bool) -> list[str]:
    """The school-wide rooms and groups an account's role, school or activity decides (beyond its classes'):
    the staff rooms and announcements of its schools, its groups, and every group of them for an admin."""
    rooms = [f"{kind}:{school}" for school in sorted(s for s in schools if s is not None)
             for kind in ("staff", "announcements")]
    groups = set(await rq.groups_with_member(session, user_id))
    if admin:
        for school in schools:
            if school is not None:
                groups.update(await rq.group_ids_of_school(session, school))
    return rooms + [f"group:{gid}" for gid in sorted(groups)]
