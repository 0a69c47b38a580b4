"""Announcements that ask for confirmation ("ознакомлен"): a teacher or admin posting in an announcements room
(`announcements:{school}`, `class-announcements:{class}`) may ask parents, students and/or staff to confirm.
The rules are the news items' (services/ack_table.py): each person counts once whether they confirm on the chat
page, over /ws or by REST; the author (and the school's admins) see per class who has and has not, each new
confirmation arriving live on the author's feed (`chat.ack`); a reminder goes only to those who have not, at most
once per ACK_REMIND_INTERVAL. Whoever is asked gets an `ack_request` notification (as a news item asking the same
does) with `channel`, `message_id` and `ack: true`: the feed's button, the digest's and the push's links carry it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.acks import ChatAckRequest
from edutrack.db.models import Notification, Role
from edutrack.i18n import _, use_locale
from edutrack.queries import chat_acks as q
from edutrack.queries import lessons as lesson_q
from edutrack.security.tokens import Principal
from edutrack.services import chat_channels as cc
from edutrack.services.ack_table import ACK_ROLES, AckState, ack_group, ack_state, ack_table
from edutrack.services.diary.notify import notify_users
from edutrack.uow import unit_of_work

ACKS_PER_HOUR = 600
ACK_EVENT = "chat.ack"


@dataclass(frozen=True, slots=True)
class AckAsk:
    """What a send asks of its readers: the groups that must confirm and whether each parent must."""

    roles: tuple[str, ...]
    each_parent: bool = False


def _no_such() -> errors.ApiError:
    return errors.NotFound(_("No such announcement"))


def ask_of(roles: Sequence[str] | None, each_parent: bool) -> AckAsk | None:
    wanted = tuple(sorted(set(roles or ())))
    if not wanted:
        return None
    if any(r not in ACK_ROLES for r in wanted):
        raise errors.ValidationFailed(details={"ack": [_("Must be any of: %(choices)s",
                                                         choices=", ".join(ACK_ROLES))]})
    return AckAsk(wanted, each_parent)


async def _state(session: AsyncSession, request: ChatAckRequest) -> AckState:
    channel = cc.parse_channel(request.channel)
    audience = await cc.member_ids(session, channel) - {request.author_id}
    class_id = cc.class_of(channel)
    children_in = None if class_id is None else set(await lesson_q.student_ids_of_class(session, class_id))
    return await ack_state(session, audience, request.ack_roles, request.ack_each_parent,
                           await q.acks(session, request.channel, request.message_id), children_in=children_in)


async def request_acks(session: AsyncSession, who: Principal, channel: cc.Channel, message_id: int, sender: str,
                       text: str, ask: AckAsk) -> list[Notification]:
    """In the send's transaction: store the request and notify everyone asked (not the author)."""
    if channel.kind not in cc.READ_ONLY:
        raise errors.ValidationFailed(details={"ack": [_("Only announcements can ask for confirmation.")]})
    await q.insert_request(session, channel.name, message_id, who.user_id, ask.roles, ask.each_parent)
    request = await q.request_of(session, channel.name, message_id)
    assert request is not None
    state = await _state(session, request)
    with use_locale(None):
        title = _("%(name)s asks you to confirm an announcement", name=sender)
    payload = {"title": title, "summary": text[:200], "channel": channel.name, "message_id": message_id,
               "ack": True}
    return await notify_users(session, "ack_request", sorted(state.required), payload)


async def _reads(session: AsyncSession, who: Principal, channel: cc.Channel) -> bool:
    """Whether `who` is in the room. A school's announcements are read by everyone of the school, which the token
    says (a change of school, role or activity cuts the account's tokens): no query of the school's thousands of
    members on each of the hundreds of confirmations a minute that follow an announcement."""
    if channel.kind == "announcements" and not who.is_superuser:
        return who.school_id == channel.ids[0]
    return await cc.is_member(session, who, channel)


async def acknowledge(ctx: AppContext, who: Principal, channel_name: str, message_id: int,
                      via: str) -> dict[str, Any]:
    channel = cc.parse_channel(channel_name)
    count, ttl = await ctx.limiter.hit(f"chat:ack:{who.user_id}", 3600)
    if count > ACKS_PER_HOUR:
        raise errors.TooManyRequests(ttl)
    async with unit_of_work(ctx) as uow:
        request = await q.request_of(uow.session, channel.name, message_id)
        if request is None or not await _reads(uow.session, who, channel):
            raise _no_such()
        if request.author_id == who.user_id or ack_group(who.role) not in request.ack_roles:
            raise errors.Conflict(_("This announcement does not ask you to confirm it."), code="no_ack_asked")
        at = await q.insert_ack(uow.session, channel.name, message_id, who.user_id, via)
        duplicate = at is None
        if at is None:
            at = (await q.acks_of_user(uow.session, channel.name, who.user_id, [message_id]))[message_id]
        else:
            feed = f"user:{request.author_id}"
            uow.publish(feed, {"type": ACK_EVENT, "channel": feed, "room": channel.name, "message_id": message_id,
                               "user_id": who.user_id, "at": at.isoformat()})
    return {"channel": channel.name, "message_id": message_id, "acknowledged_at": at, "duplicate": duplicate}


async def _admin_of_room(session: AsyncSession, who: Principal, channel: cc.Channel) -> bool:
    if who.is_superuser:
        return True
    if who.role != Role.ADMIN.value or who.school_id is None:
        return False
    return await cc.school_of_channel(session, channel) == who.school_id


async def _may_manage(session: AsyncSession, who: Principal, request: ChatAckRequest) -> bool:
    return request.author_id == who.user_id or await _admin_of_room(session, who, cc.parse_channel(request.channel))


async def _managed(session: AsyncSession, who: Principal, channel_name: str, message_id: int, *,
                   for_update: bool = False) -> ChatAckRequest:
    channel = cc.parse_channel(channel_name)
    request = await q.request_of(session, channel.name, message_id, for_update=for_update)
    if request is None or not await _may_manage(session, who, request):
        raise _no_such()
    return request


async def overview(ctx: AppContext, who: Principal, channel_name: str, message_id: int) -> dict[str, Any]:
    async with ctx.reads() as session:
        request = await _managed(session, who, channel_name, message_id)
        school = await cc.school_of_channel(session, cc.parse_channel(request.channel))
        table = await ack_table(session, await _state(session, request), school or 0)
    return {"channel": request.channel, "message_id": request.message_id, "ack": list(request.ack_roles),
            "each_parent": request.ack_each_parent, **table, "reminded_at": request.reminded_at}


async def remind(ctx: AppContext, who: Principal, channel_name: str, message_id: int) -> dict[str, Any]:
    """A `reminder` notification to each person who still owes a confirmation."""
    now = datetime.now(UTC)
    interval = timedelta(seconds=ctx.settings.ack_remind_interval)
    async with unit_of_work(ctx) as uow:
        request = await _managed(uow.session, who, channel_name, message_id, for_update=True)
        if request.reminded_at is not None and request.reminded_at > now - interval:
            wait = int((request.reminded_at + interval - now).total_seconds()) + 1
            raise errors.TooManyRequests(wait, _("A reminder was sent recently; try again later."))
        state = await _state(uow.session, request)
        owing = state.owing()
        with use_locale(None):
            title = _("Reminder: please confirm the announcement")
        payload = {"title": title, "channel": request.channel, "message_id": request.message_id, "ack": True}
        rows = await notify_users(uow.session, "reminder", owing, payload)
        await q.mark_reminded(uow.session, request.channel, request.message_id, now)
        uow.publish_notifications(rows)
    return {"channel": request.channel, "message_id": message_id, "reminded": len(owing), "reminded_at": now}


async def in_room(ctx: AppContext, who: Principal, channel_name: str) -> list[dict[str, Any]]:
    """The room's announcements that ask for confirmation (newest 200): whether they ask the caller, whether the
    caller confirmed, and whether the caller may see the table (what the chat page shows under each)."""
    channel = cc.parse_channel(channel_name)
    async with ctx.reads() as session:
        await cc.require_member(session, who, channel)
        requests = await q.requests_in(session, channel.name)
        mine = await q.acks_of_user(session, channel.name, who.user_id, [r.message_id for r in requests])
        admin = await _admin_of_room(session, who, channel)
    return [{"message_id": r.message_id, "author_id": r.author_id, "ack": list(r.ack_roles),
             "asks_me": r.author_id != who.user_id and ack_group(who.role) in r.ack_roles,
             "acknowledged_at": mine.get(r.message_id), "manage": admin or r.author_id == who.user_id}
            for r in requests]
