"""Moderation of chats: mutes for a time, slow mode, deletion with a reason, reports of messages.

Who moderates a room (`governs`): superusers; the school's admins in every room of their school; the class teacher
in their class's rooms (class:, parents:, class-announcements:); a group's creator in their group. Private chats
have no moderators. Every action is written to chat_moderation_log and shown to the person it concerns: a
`moderation` notification on their feed (a mute, its end, a deleted message), or a `chat.slow_mode` frame on the
channel for everyone in it. Sends check mutes and slow mode over REST here and over /ws through the node's cache
(realtime/moderation.py), which a `moderation.changed` control event on the channel drops at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors, events
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.i18n import N_, _, use_locale
from edutrack.queries import chat as q
from edutrack.queries import chat_moderation as mq
from edutrack.queries import chat_rooms as rq
from edutrack.queries import membership as m
from edutrack.queries import notifications as nq
from edutrack.security.tokens import Principal
from edutrack.services import chat_channels as cc
from edutrack.services import chat_notify
from edutrack.services.chat_channels import STAFF, Channel, parse_channel
from edutrack.uow import UnitOfWork, unit_of_work

MAX_MUTE_MINUTES = 30 * 24 * 60
MAX_SLOW_MODE = 3600
MAX_PAGE = 200


async def governs(session: AsyncSession, who: Principal, channel: Channel) -> bool:
    if who.is_superuser:
        return True
    if channel.kind in ("dm", "user"):
        return False
    if who.role == Role.ADMIN.value:
        return who.school_id is not None and await cc.school_of_channel(session, channel) == who.school_id
    class_id = cc.class_of(channel)
    if who.role == Role.TEACHER.value and class_id is not None:
        return await rq.class_teacher_of(session, class_id) == who.user_id
    if channel.kind == "group":
        group = await rq.group_by_id(session, channel.ids[0])
        return group is not None and group.created_by == who.user_id
    return False


async def moderators(session: AsyncSession, channel: Channel) -> set[int]:
    """Who `governs` the chat, superusers aside: its school's admins, its class's class teacher, its group's
    creator. Their report inboxes follow the chat's reports live."""
    found: set[int] = set()
    school = await cc.school_of_channel(session, channel)
    if school is not None:
        found.update(await mq.admin_ids(session, school))
    class_id = cc.class_of(channel)
    teacher = None if class_id is None else await rq.class_teacher_of(session, class_id)
    if teacher is not None:
        found.add(teacher)
    group = await rq.group_by_id(session, channel.ids[0]) if channel.kind == "group" else None
    if group is not None and group.created_by is not None:
        found.add(group.created_by)
    return found


async def reports_changed(uow: UnitOfWork, channel: Channel, message_id: int, what: str) -> None:
    """After the commit, the inboxes of the chat's moderators re-read (events.REPORTS_CHANGED on their feeds)."""
    uow.publish_many(events.reports_changed_event(uid, chat=channel.name, message_id=message_id, what=what)
                     for uid in sorted(await moderators(uow.session, channel)))


async def _governed(session: AsyncSession, who: Principal, channel_name: str) -> Channel:
    channel = parse_channel(channel_name)
    if not channel.is_chat:
        raise errors.BadRequest(_("Messages go to chats, not to user:{id}"), code="invalid_channel")
    if not await governs(session, who, channel):
        raise errors.Forbidden(_("Only the class teacher and the school's administrators moderate this chat"),
                               code="not_a_moderator", details={"channel": channel.name})
    return channel


async def can_moderate(session: AsyncSession, who: Principal, channel: Channel) -> bool:
    """Who may delete others' messages: superusers; the school's admins in its rooms; the class's teachers in
    its class-bound rooms."""
    if who.is_superuser:
        return True
    if channel.kind in ("dm", "user"):
        return False
    if who.role == Role.ADMIN.value:
        return who.school_id is not None and await cc.school_of_channel(session, channel) == who.school_id
    if who.role == Role.TEACHER.value and channel.kind in cc.CLASS_BOUND:
        return await m.teaches(session, who.user_id, channel.ids[0])
    return False


# --- what a send must pass ------------------------------------------------------------------------------


def refuse_if_muted(channel: Channel, until: datetime | None, now: datetime) -> None:
    if until is not None and until > now:
        raise errors.Forbidden(_("You are muted in this chat until %(until)s", until=until.isoformat()),
                               code="muted", details={"channel": channel.name, "until": until.isoformat()})


def refuse_if_slow(channel: Channel, seconds: int, last_sent: datetime | None, now: datetime) -> None:
    if seconds and last_sent is not None:
        wait = seconds - (now - last_sent).total_seconds()
        if wait > 0:
            refused = errors.TooManyRequests(int(wait) + 1, _("Slow mode: one message every %(seconds)s s in this "
                                                              "chat", seconds=seconds))
            refused.code = "slow_mode"
            refused.details = {"channel": channel.name, "retry_after": int(wait) + 1, "slow_mode_seconds": seconds}
            raise refused


def exempt_from_slow_mode(who: Principal) -> bool:
    return who.is_superuser or who.role in STAFF


async def require_may_speak(session: AsyncSession, who: Principal, channel: Channel) -> Any:
    """A mute, or slow mode (staff are exempt), refuses the send; one query, whose row (with the class teacher
    and the sender's name: queries/chat_moderation.speak_facts) it returns."""
    facts = await mq.speak_facts(session, channel.name, who.user_id, cc.class_of(channel))
    refuse_if_muted(channel, facts.muted_until, facts.now)
    if not exempt_from_slow_mode(who):
        refuse_if_slow(channel, int(facts.slow), facts.last_sent, facts.now)
    return facts


async def channel_states(ctx: AppContext, names: Sequence[str]) -> dict[str, tuple[int, dict[int, datetime]]]:
    """(slow mode seconds, {muted user: until}) of each chat: what a node caches for its sockets' sends."""
    async with ctx.reads() as session:
        return await mq.channel_states(session, names)


async def last_sent(ctx: AppContext, channel: Channel, user_id: int) -> tuple[datetime | None, datetime]:
    async with ctx.reads() as session:
        facts = await mq.speak_facts(session, channel.name, user_id)
    return facts.last_sent, facts.now


# --- actions ----------------------------------------------------------------------------------------------


async def record(uow: UnitOfWork, who: Principal, channel: Channel, action: str, *, target: int | None = None,
                  message_id: int | None = None, reason: str | None = None, until: datetime | None = None,
                  seconds: int | None = None) -> dict[str, Any]:
    """The log row, and the notification of the person it concerns (in the default language, as every feed row)."""
    session = uow.session
    row = await mq.log_action(session, channel=channel.name, actor_id=who.user_id, target_user_id=target,
                              action=action, message_id=message_id, reason=reason, until=until, seconds=seconds)
    if target is not None and target != who.user_id:
        actor = await q.sender_name(session, who.user_id)
        with use_locale(None):
            title = _(TITLES[action], name=actor)
        payload = {"title": title, "action": action, "channel": channel.name, "actor_id": who.user_id,
                   "actor": actor, "reason": reason, "message_id": message_id,
                   "until": until.isoformat() if until else None}
        uow.publish_notifications([await nq.insert_notification(session, target, "moderation", payload)])
    uow.publish_many(events.channel_moderation_events([channel.name]))
    return _log_view(row)


TITLES = {
    "mute": N_("%(name)s muted you in a chat"),
    "unmute": N_("%(name)s lifted your mute in a chat"),
    "delete": N_("%(name)s deleted your message"),
    "report_dismissed": N_("%(name)s reviewed your report: the message stays"),
    "report_upheld": N_("%(name)s reviewed your report and acted on it"),
}


def _log_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "channel": row.channel, "actor_id": row.actor_id, "target_user_id": row.target_user_id,
            "action": row.action, "message_id": row.message_id, "reason": row.reason, "until": row.until,
            "seconds": row.seconds, "created_at": row.created_at}


async def mute(ctx: AppContext, who: Principal, channel_name: str, user_id: int, minutes: int,
               reason: str | None) -> dict[str, Any]:
    async with unit_of_work(ctx) as uow:
        channel = await _governed(uow.session, who, channel_name)
        return await mute_in(uow, who, channel, user_id, minutes, reason)


async def mute_in(uow: UnitOfWork, who: Principal, channel: Channel, user_id: int, minutes: int,
                  reason: str | None) -> dict[str, Any]:
    """Mute a member of a chat the caller moderates (checked by the caller), in the caller's transaction."""
    session = uow.session
    if user_id not in await cc.member_ids(session, channel):
        raise errors.NotFound(_("No such member in this chat"))
    target = await q.user_facts(session, [user_id])
    if user_id == who.user_id or target[user_id][1]:
        raise errors.Forbidden(_("This member cannot be muted"), code="cannot_mute")
    until = datetime.now(UTC) + timedelta(minutes=minutes)
    await mq.mute(session, channel.name, user_id, until, who.user_id, reason)
    return await record(uow, who, channel, "mute", target=user_id, reason=reason, until=until)


async def unmute(ctx: AppContext, who: Principal, channel_name: str, user_id: int) -> None:
    async with unit_of_work(ctx) as uow:
        channel = await _governed(uow.session, who, channel_name)
        if not await mq.unmute(uow.session, channel.name, user_id):
            raise errors.NotFound(_("This member is not muted here"))
        await record(uow, who, channel, "unmute", target=user_id)


async def mutes(ctx: AppContext, who: Principal, channel_name: str) -> list[dict[str, Any]]:
    async with ctx.reads() as session:
        channel = await _governed(session, who, channel_name)
        rows = await mq.active_mutes(session, channel.name)
    return [{"user_id": r.user_id, "until": r.until, "muted_by": r.muted_by, "reason": r.reason} for r in rows]


async def set_slow_mode(ctx: AppContext, who: Principal, channel_name: str, seconds: int) -> dict[str, Any]:
    async with unit_of_work(ctx) as uow:
        channel = await _governed(uow.session, who, channel_name)
        await mq.set_slow_mode(uow.session, channel.name, seconds)
        await record(uow, who, channel, "slow_mode", seconds=seconds)
        # Everyone in the chat is concerned: told live on the channel.
        uow.publish(channel.name, {"type": "chat.slow_mode", "channel": channel.name, "seconds": seconds,
                                   "by": who.user_id})
    return {"channel": channel.name, "slow_mode_seconds": seconds}


async def delete_with_reason(ctx: AppContext, who: Principal, channel_name: str, message_id: int,
                             reason: str | None) -> None:
    """A message deleted by its author, or by a moderator (the class's teachers too, as before) with a reason
    that its author is shown."""
    async with unit_of_work(ctx) as uow:
        session = uow.session
        channel = parse_channel(channel_name)
        await cc.require_member(session, who, channel)
        message = await q.message_by_id(session, channel.name, message_id, for_update=True)
        if message is None or message.deleted_at is not None:
            raise errors.NotFound(_("No such message"))
        own = message.sender_id == who.user_id
        if not own and not await can_moderate(session, who, channel):
            raise errors.Forbidden(_("Only the author or a moderator (the class's teachers, the school's "
                                     "administrators) can delete a message"))
        await delete_in(uow, who, channel, message, None if own else reason)


async def delete_in(uow: UnitOfWork, who: Principal, channel: Channel, message: Any, reason: str | None) -> None:
    """Delete a message (locked, not deleted yet) that the caller may delete (checked by the caller), in the
    caller's transaction; someone else's is audited and its author told the reason."""
    own = message.sender_id == who.user_id
    await q.update_message(uow.session, message, deleted_at=func.now(), deleted_by=who.user_id,
                           delete_reason=None if own else reason)
    await chat_notify.forget_message(uow.session, channel.name, message.id)
    event: dict[str, Any] = {"type": "chat.deleted", "channel": channel.name, "id": message.id,
                             "deleted_by": who.user_id}
    if not own:
        if reason is not None:
            event["reason"] = reason
        await record(uow, who, channel, "delete", target=message.sender_id, message_id=message.id, reason=reason)
    uow.publish(channel.name, event)


async def report(ctx: AppContext, who: Principal, channel_name: str, message_id: int,
                 reason: str | None) -> dict[str, Any]:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        channel = parse_channel(channel_name)
        await cc.require_member(session, who, channel)
        message = await q.message_by_id(session, channel.name, message_id)
        if message is None or message.deleted_at is not None:
            raise errors.NotFound(_("No such message"))
        row = await mq.add_report(session, channel.name, message_id, who.user_id, reason)
        if row is None:
            raise errors.Conflict(_("You already reported this message"), code="already_reported")
        await reports_changed(uow, channel, message_id, "reported")
        return {"id": row.id, "channel": row.channel, "message_id": row.message_id, "created_at": row.created_at}


async def reports(ctx: AppContext, who: Principal, channel_name: str, *, open_only: bool) -> list[dict[str, Any]]:
    async with ctx.reads() as session:
        channel = await _governed(session, who, channel_name)
        rows = await mq.reports(session, channel.name, open_only=open_only, limit=MAX_PAGE)
    return [dict(r._mapping) for r in rows]


async def resolve(ctx: AppContext, who: Principal, channel_name: str, report_id: int) -> None:
    async with unit_of_work(ctx) as uow:
        channel = await _governed(uow.session, who, channel_name)
        row = await mq.resolve_report(uow.session, channel.name, report_id, who.user_id)
        if row is None:
            raise errors.NotFound(_("No such open report"))
        await record(uow, who, channel, "report_resolved", message_id=row.message_id)
        await reports_changed(uow, channel, row.message_id, "resolved")


async def log(ctx: AppContext, who: Principal, channel_name: str) -> list[dict[str, Any]]:
    async with ctx.reads() as session:
        channel = await _governed(session, who, channel_name)
        return [_log_view(r) for r in await mq.log_page(session, channel.name, MAX_PAGE)]


async def my_state(ctx: AppContext, who: Principal, channel_name: str) -> dict[str, Any]:
    """What a member is told of a chat's moderation: its slow mode, and whether (until when) they are muted."""
    async with ctx.reads() as session:
        channel = parse_channel(channel_name)
        if not channel.is_chat:
            raise errors.BadRequest(_("Messages go to chats, not to user:{id}"), code="invalid_channel")
        await cc.require_member(session, who, channel)
        facts = await mq.speak_facts(session, channel.name, who.user_id)
        moderator = await governs(session, who, channel)
    return {"channel": channel.name, "slow_mode_seconds": int(facts.slow), "muted_until": facts.muted_until,
            "moderator": moderator}
