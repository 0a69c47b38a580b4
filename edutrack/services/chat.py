"""Chats and the notification feed: who may join what, sending (idempotent), history, edits, read markers.

Every change commits first and is published after (edutrack.events); REST handlers and the websocket
gateway both call these functions, so both paths store, authorize and publish identically.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors, events
from edutrack.context import AppContext
from edutrack.db.chat import ChatMessage
from edutrack.db.models import Notification, Role
from edutrack.i18n import _, use_locale
from edutrack.queries import chat as q
from edutrack.queries import chat_heads as hq
from edutrack.queries import chat_rooms as rq
from edutrack.queries import files as fq
from edutrack.queries import notifications as nq
from edutrack.security.tokens import Principal
from edutrack.services import chat_acks, chat_moderation, chat_notify, chat_replies
from edutrack.services import chat_channels as cc
from edutrack.services.chat_channels import Channel as Channel
from edutrack.services.chat_channels import check_member as check_member
from edutrack.services.chat_channels import dm_channel as dm_channel
from edutrack.services.chat_channels import is_member as is_member
from edutrack.services.chat_channels import join as join
from edutrack.services.chat_channels import parse_channel as parse_channel
from edutrack.services.chat_channels import require_member as require_member
from edutrack.services.files.store import claim, file_view
from edutrack.uow import unit_of_work

log = logging.getLogger(__name__)

MAX_TEXT = 4000
MAX_PAGE = 200
MAX_MENTIONS = 50


async def member_ids(ctx: AppContext, channel: Channel) -> set[int]:
    """Everyone in a channel now: what a node's member cache reads (realtime/membership.py)."""
    return await cc.load_member_ids(ctx, channel)


# --- views and events ---------------------------------------------------------------------------------


def message_dict(*, channel: str, id: int, sender_id: int, sender: str, text: str | None,
                 client_msg_id: str | None, created_at: datetime | None, edited_at: datetime | None,
                 deleted: bool, sender_role: str | None = None,
                 attachments: Sequence[dict[str, Any]] | None = None,
                 reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
    """A message as clients see it (REST and websocket), whichever layer read it; `reply_to`: the quote of the
    message it replies to (services/chat_replies.py)."""
    return {
        "channel": channel,
        "id": id,
        "sender_id": sender_id,
        "sender": sender,
        "sender_role": sender_role,
        "text": None if deleted else text,
        "client_msg_id": client_msg_id,
        "created_at": created_at.isoformat() if created_at else None,
        "edited_at": edited_at.isoformat() if edited_at else None,
        "deleted": deleted,
        "attachments": [] if deleted else list(attachments or ()),
        "reply_to": reply_to,
    }


def message_view(message: ChatMessage, sender: str, quotes: dict[int, Any] | None = None) -> dict[str, Any]:
    """`quotes`: the quoted messages read with it (chat_replies.quotes), needed when it is a reply."""
    return message_dict(channel=message.channel, id=message.id, sender_id=message.sender_id, sender=sender,
                        text=message.text, client_msg_id=message.client_msg_id, created_at=message.created_at,
                        edited_at=message.edited_at, deleted=message.deleted_at is not None,
                        sender_role=message.sender_role, attachments=message.attachments,
                        reply_to=_quote(message.reply_to, quotes))


def _quote(reply_to: int | None, quotes: dict[int, Any] | None) -> dict[str, Any] | None:
    return chat_replies.quote_view((quotes or {}).get(reply_to) if reply_to is not None else None, reply_to)


def _record_view(channel: str, row: Any, quotes: dict[int, Any]) -> dict[str, Any]:
    """message_view of a driver-level row (id, sender_id, client_msg_id, text, created_at, edited_at,
    deleted_at, sender_role, reply_to, sender)."""
    return message_dict(channel=channel, id=row["id"], sender_id=row["sender_id"], sender=row["sender"],
                        text=row["text"], client_msg_id=row["client_msg_id"], created_at=row["created_at"],
                        edited_at=row["edited_at"], deleted=row["deleted_at"] is not None,
                        sender_role=row["sender_role"],
                        attachments=json.loads(row["attachments"]) if row["attachments"] else None,
                        reply_to=_quote(row["reply_to"], quotes))


async def _views(session: AsyncSession, channel: str, rows: Sequence[tuple[ChatMessage, str]]) -> list[dict[str, Any]]:
    """A page of messages with the quotes of its replies (one more query only when some message replies)."""
    quotes = await chat_replies.quotes(session, channel, (msg.reply_to for msg, _name in rows))
    return [message_view(msg, name, quotes) for msg, name in rows]


def message_event(view: dict[str, Any]) -> dict[str, Any]:
    return {"type": "chat.message", **view}


def message_title(sender: str) -> str:
    """The title of a private message's notification: in the default language, as every feed row's."""
    with use_locale(None):
        return _("New message from %(name)s", name=sender)


def clean_text(raw: object) -> str:
    if not isinstance(raw, str):
        raise errors.ValidationFailed(details={"text": [_("Must be a string.")]})
    text = raw.strip()
    if not text or len(text) > MAX_TEXT:
        raise errors.ValidationFailed(details={"text": [_("Length must be between %(min)s and %(max)s.", min=1,
                                                          max=MAX_TEXT)]})
    return text


# --- sending ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendResult:
    message: dict[str, Any]
    duplicate: bool


async def send_message(ctx: AppContext, who: Principal, channel_name: str, raw_text: object,
                       client_msg_id: str | None, *, known_member: bool = False,
                       sender: str | None = None, mentions: Sequence[int] = (),
                       attachments: Sequence[int] = (), reply_to: int | None = None,
                       ack: chat_acks.AckAsk | None = None) -> SendResult:
    """Store and publish a message. `known_member`: the caller (a socket subscribed to the channel) has
    already checked membership; `sender`: the sender's display name if the caller has it; `mentions`: members
    the message names, each told by a `mention` notification (others of the list are ignored); `attachments`:
    ids of the sender's uploaded, not yet attached files (then the text may be empty); `reply_to`: the id of the
    earlier message of this channel it answers (services/chat_replies.py); `ack`: an announcement that asks its
    readers to confirm it (services/chat_acks.py)."""
    channel = parse_channel(channel_name)
    if not channel.is_chat:
        raise errors.BadRequest(_("Messages go to chats, not to user:{id}"), code="invalid_channel")
    text = "" if attachments and isinstance(raw_text, str) and not raw_text.strip() else clean_text(raw_text)
    try:
        return await _send(ctx, who, channel, text, client_msg_id, known_member, sender, mentions, attachments,
                           reply_to, ack)
    except IntegrityError:
        # Two sends with the same client_msg_id raced; the other one committed. Answer with it.
        if client_msg_id is None:
            raise
        async with ctx.reads() as session:
            existing = await q.message_by_client_id(session, who.user_id, client_msg_id)
            if existing is None:
                raise
            quotes = await chat_replies.quotes(session, channel.name, [existing.reply_to])
            return SendResult(message_view(existing, await q.sender_name(session, who.user_id), quotes), True)


async def _send(ctx: AppContext, who: Principal, channel: Channel, text: str, client_msg_id: str | None,
                known_member: bool, sender: str | None, mentions: Sequence[int] = (),
                attachments: Sequence[int] = (), reply_to: int | None = None,
                ack: chat_acks.AckAsk | None = None) -> SendResult:
    notes: list[Notification] = []
    async with unit_of_work(ctx) as uow:
        session = uow.session
        if not known_member:
            await require_member(session, who, channel)
        await cc.require_may_send(session, who, channel)
        facts = await chat_moderation.require_may_speak(session, who, channel)
        lead = who.role == Role.TEACHER.value and facts.lead == who.user_id
        role = "class_teacher" if lead else who.role
        if sender is None:
            sender = str(facts.sender_name or "")
        if client_msg_id is not None:
            existing = await q.message_by_client_id(session, who.user_id, client_msg_id)
            if existing is not None:
                if existing.channel != channel.name:
                    raise errors.Conflict(_("This client_msg_id was already used in another channel"),
                                          code="client_msg_id_reused")
                quotes = await chat_replies.quotes(session, channel.name, [existing.reply_to])
                return SendResult(message_view(existing, sender, quotes), True)
        quote = None if reply_to is None else await chat_replies.require_quotable(session, channel.name, reply_to)
        files = [file_view(f) for f in await claim(session, who, attachments)] if attachments else []
        message_id, created_at = await q.append_message(session, channel.name, who.user_id, client_msg_id, text,
                                                        role, files or None)
        if files:
            await fq.attach(session, [f["id"] for f in files], channel=channel.name, message_id=message_id)
        if quote is not None:
            await chat_replies.store(session, channel.name, message_id, quote["id"])
        view = message_dict(channel=channel.name, id=message_id, sender_id=who.user_id, sender=sender, text=text,
                            client_msg_id=client_msg_id, created_at=created_at, edited_at=None, deleted=False,
                            sender_role=role, attachments=files, reply_to=quote)
        if channel.kind == "dm":
            # The recipient's feed gets the message too, in this transaction, so an offline recipient
            # gets it in the email digest.
            recipient = next(uid for uid in channel.ids if uid != who.user_id)
            notes.append(await nq.insert_notification(session, recipient, "message", {
                "title": message_title(sender),
                "channel": channel.name,
                "message_id": message_id,
                "sender_id": who.user_id,
                "sender": sender,
                "text": text[:500],
            }))
        if mentions:
            notes += await _mention(session, who, channel, view, mentions)
        asked: list[Notification] = []
        if ack is not None:
            asked = await chat_acks.request_acks(session, who, channel, message_id, sender, text, ack)
        if channel.kind != "dm":
            notes += await chat_notify.notify_room(session, channel, message_id, who.user_id, sender, text,
                                                   {n.user_id for n in asked})
        notes += asked
        uow.publish(channel.name, message_event(view))
        uow.publish_notifications(notes)
    return SendResult(view, False)


async def _mention(session: AsyncSession, who: Principal, channel: Channel, view: dict[str, Any],
                   mentions: Sequence[int]) -> list[Notification]:
    """A `mention` notification for each member the message names (not the sender, nobody outside the chat)."""
    named = sorted(set(mentions[:MAX_MENTIONS]) & await cc.member_ids(session, channel) - {who.user_id})
    with use_locale(None):
        title = _("%(name)s mentioned you in a chat", name=view["sender"])
    payload = {"title": title, "channel": channel.name, "message_id": view["id"], "sender_id": who.user_id,
               "sender": view["sender"], "text": (view["text"] or "")[:chat_notify.TEXT_LIMIT]}
    return [await nq.insert_notification(session, uid, "mention", payload) for uid in named]


async def edit_message(ctx: AppContext, who: Principal, channel_name: str, message_id: int,
                       raw_text: object) -> dict[str, Any]:
    channel = parse_channel(channel_name)
    text = clean_text(raw_text)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        await require_member(session, who, channel)
        message = await q.message_by_id(session, channel.name, message_id, for_update=True)
        if message is None or message.deleted_at is not None:
            raise errors.NotFound(_("No such message"))
        if message.sender_id != who.user_id:
            raise errors.Forbidden(_("Only the author can edit a message"))
        await q.update_message(session, message, text=text, edited_at=func.now())
        await chat_notify.revise_message(session, channel.name, message.id, text)
        await session.refresh(message, ["edited_at"])
        quotes = await chat_replies.quotes(session, channel.name, [message.reply_to])
        view = message_view(message, await q.sender_name(session, message.sender_id), quotes)
        uow.publish(channel.name, {"type": "chat.edited", **view})
    return view


async def delete_message(ctx: AppContext, who: Principal, channel_name: str, message_id: int,
                         reason: str | None = None) -> None:
    """The author, or a moderator (audited, the author told why: services/chat_moderation.py)."""
    await chat_moderation.delete_with_reason(ctx, who, channel_name, message_id, reason)


# --- history and read markers -------------------------------------------------------------------------


async def members(ctx: AppContext, who: Principal, channel_name: str) -> list[dict[str, Any]]:
    """Who is in a chat, with names and roles: what a client needs to name people in presence and typing."""
    channel = parse_channel(channel_name)
    if not channel.is_chat:
        raise errors.BadRequest(_("Members exist for chats, not for user:{id}"), code="invalid_channel")
    ids = await join(ctx, who, channel)  # the same authorization as subscribing
    class_id = cc.class_of(channel)
    async with ctx.reads() as session:
        cards = await q.member_cards(session, sorted(ids))
        lead = None if class_id is None else await rq.class_teacher_of(session, class_id)
    items = []
    for i, name, role in cards:
        label = "class_teacher" if i == lead else role
        items.append({"id": i, "name": name, "role": role, "label": label, "label_text": cc.label_text(label)})
    return items


async def history(ctx: AppContext, who: Principal, channel_name: str, *, before: int | None, after: int | None,
                  limit: int) -> dict[str, Any]:
    channel = parse_channel(channel_name)
    if not channel.is_chat:
        raise errors.BadRequest(_("History exists for chats, not for user:{id}"), code="invalid_channel")
    async with ctx.reads() as session:
        await require_member(session, who, channel)
        rows = await q.messages_page(session, channel.name, before=before, after=after, limit=limit + 1)
        last_id = await q.last_message_id(session, channel.name)
        has_more = len(rows) > limit
        if has_more:
            # after=: oldest first, the extra one is at the end; otherwise newest page, the extra is the oldest.
            rows = rows[:limit] if after is not None else rows[1:]
        items = await _views(session, channel.name, rows)
    return {"channel": channel.name, "items": items,
            "has_more": has_more, "last_message_id": last_id}


async def mark_read(ctx: AppContext, who: Principal, channel_name: str, up_to: int) -> dict[str, Any]:
    channel = parse_channel(channel_name)
    if channel.kind == "user":
        if channel.ids[0] != who.user_id:
            raise errors.Forbidden(_("You are not a member of this channel"), code="not_a_member",
                                   details={"channel": channel.name})
        return await mark_feed_read(ctx, who, up_to)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        await require_member(session, who, channel)
        last_id = await q.last_message_id(session, channel.name)
        marker = await q.advance_read_marker(session, who.user_id, channel.name, min(up_to, last_id))
        if channel.kind != "dm":
            # Read in the chat: not again in the digest or a push.
            await chat_notify.mark_read(session, who.user_id, channel.name, marker)
        # Every device of the user moves its unread badge.
        uow.publish(f"user:{who.user_id}", {"type": "read", "channel": channel.name, "up_to": marker})
    return {"channel": channel.name, "last_read_id": marker}


# --- the notification feed ------------------------------------------------------------------------------


async def feed(ctx: AppContext, who: Principal, *, before: int | None, after: int | None, limit: int,
               unread_only: bool) -> dict[str, Any]:
    async with ctx.reads() as session:
        rows = await nq.notifications_page(session, who.user_id, before=before, after=after, limit=limit + 1,
                                          unread_only=unread_only)
        unread = await nq.unread_notifications(session, who.user_id)
    has_more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [events.notification_event(r) for r in rows], "has_more": has_more, "unread_count": unread}


async def mark_feed_read(ctx: AppContext, who: Principal, up_to: int) -> dict[str, Any]:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        updated = await nq.mark_notifications_read(session, who.user_id, up_to)
        unread = await nq.unread_notifications(session, who.user_id)
        channel = f"user:{who.user_id}"
        uow.publish(channel, {"type": "read", "channel": channel, "up_to": up_to, "unread_count": unread})
    return {"channel": channel, "updated": updated, "unread_count": unread}


# --- resume: what a socket missed -------------------------------------------------------------------------


async def head_ids(ctx: AppContext, channels: list[Channel]) -> dict[str, int]:
    """The newest id of each channel (chat: message id; user: the newest notification id)."""
    result: dict[str, int] = {}
    async with ctx.reads() as session:
        for channel in channels:
            if channel.kind == "user":
                result[channel.name] = await nq.last_notification_id(session, channel.ids[0])
            else:
                result[channel.name] = await q.last_message_id(session, channel.name)
    return result


async def chat_heads(ctx: AppContext, names: list[str]) -> dict[str, int]:
    """The newest message id of each of these chat channels, in one statement on the driver connection: what
    subscribes without `since` need, for many sockets at once (realtime/heads.py)."""
    async with ctx.engine.connect() as conn:
        return await hq.heads_raw(await q.driver(conn), names)


async def resume(ctx: AppContext, channel: Channel, since: int | None,
                 limit: int) -> tuple[int, int, list[dict[str, Any]]]:
    """(head, cursor, events after the cursor up to limit + 1) in one session. Without `since` (or with one
    beyond the head) the cursor is the head: nothing to replay."""
    if channel.is_chat:
        # The hot path of a reconnect storm: one statement on the driver connection, no ORM objects.
        async with ctx.engine.connect() as conn:
            db = await q.driver(conn)
            head, rows = await hq.head_and_after(db, channel.name, since, limit + 1)
            quotes = await chat_replies.quotes_raw(db, channel.name, (row["reply_to"] for row in rows))
        cursor = head if since is None or since > head else since
        return head, cursor, [message_event(_record_view(channel.name, row, quotes)) for row in rows
                              if row["id"] > cursor]
    async with ctx.reads() as session:
        if channel.kind == "user":
            head = await nq.last_notification_id(session, channel.ids[0])
        else:
            head = await q.last_message_id(session, channel.name)
        cursor = head if since is None or since > head else since
        if cursor >= head:
            return head, cursor, []
        if channel.kind == "user":
            notes = (await nq.notifications_after_many(session, {channel.ids[0]: cursor}, limit))[channel.ids[0]]
            return head, cursor, [events.notification_event(n) for n in notes]
        rows = await q.messages_page(session, channel.name, before=None, after=cursor, limit=limit + 1)
        return head, cursor, [message_event(view) for view in await _views(session, channel.name, rows)]


async def missed_events(ctx: AppContext, cursors: dict[str, int], limit: int) -> dict[str, list[dict[str, Any]]]:
    """For each channel, the events after its cursor in id order: up to limit + 1 (more than `limit` means
    the gap is too large to replay over the socket). One query for chats, one for feeds."""
    chats = {name: since for name, since in cursors.items() if not name.startswith("user:")}
    feeds = {int(name.split(":", 1)[1]): since for name, since in cursors.items() if name.startswith("user:")}
    result: dict[str, list[dict[str, Any]]] = {}
    async with ctx.reads() as session:
        for name, since in chats.items():  # one indexed range scan per channel (primary key order)
            rows = await q.messages_page(session, name, before=None, after=since, limit=limit + 1)
            result[name] = [message_event(view) for view in await _views(session, name, rows)]
        if feeds:
            for user_id, notes in (await nq.notifications_after_many(session, feeds, limit)).items():
                result[f"user:{user_id}"] = [events.notification_event(n) for n in notes]
    return result
