"""Reactions to chat messages (every member, in announcements too: `check` is how a parent acknowledges one) and
pinned messages (the chat's moderators pin; every member sees them). Both are told live on the channel
(`chat.reactions`, `chat.pinned`) and read over REST."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.i18n import _
from edutrack.queries import chat as q
from edutrack.queries import chat_reactions as rq
from edutrack.security.tokens import Principal
from edutrack.services import chat_channels as cc
from edutrack.services import chat_moderation
from edutrack.services.chat_channels import Channel
from edutrack.uow import unit_of_work

REACTIONS = ("thumbs_up", "heart", "laugh", "wow", "sad", "check")


async def _message_in(session: AsyncSession, who: Principal, channel_name: str, message_id: int) -> Channel:
    channel = cc.parse_channel(channel_name)
    if not channel.is_chat:
        raise errors.BadRequest(_("Messages go to chats, not to user:{id}"), code="invalid_channel")
    await cc.require_member(session, who, channel)
    message = await q.message_by_id(session, channel.name, message_id)
    if message is None or message.deleted_at is not None:
        raise errors.NotFound(_("No such message"))
    return channel


def _view(channel: str, message_id: int, who: Principal, users: dict[str, list[int]]) -> dict[str, Any]:
    return {"channel": channel, "id": message_id, "counts": {k: len(v) for k, v in users.items()},
            "mine": sorted(k for k, v in users.items() if who.user_id in v), "users": users}


async def react(ctx: AppContext, who: Principal, channel_name: str, message_id: int, reaction: str, *,
                add: bool) -> dict[str, Any]:
    if reaction not in REACTIONS:
        raise errors.NotFound(_("No such reaction; use one of: %(names)s", names=", ".join(REACTIONS)))
    async with unit_of_work(ctx) as uow:
        session = uow.session
        channel = await _message_in(session, who, channel_name, message_id)
        if add:
            await rq.add_reaction(session, channel.name, message_id, who.user_id, reaction)
        else:
            await rq.remove_reaction(session, channel.name, message_id, who.user_id, reaction)
        users = await rq.reactions_of(session, channel.name, message_id)
        view = _view(channel.name, message_id, who, users)
        uow.publish(channel.name, {"type": "chat.reactions", "channel": channel.name, "id": message_id,
                                   "counts": view["counts"], "user_id": who.user_id, "reaction": reaction,
                                   "added": add})
    return view


async def reactions(ctx: AppContext, who: Principal, channel_name: str, message_id: int) -> dict[str, Any]:
    async with ctx.reads() as session:
        channel = await _message_in(session, who, channel_name, message_id)
        return _view(channel.name, message_id, who, await rq.reactions_of(session, channel.name, message_id))


async def set_pinned(ctx: AppContext, who: Principal, channel_name: str, message_id: int, *, pinned: bool) -> None:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        channel = await _message_in(session, who, channel_name, message_id)
        if not (await chat_moderation.governs(session, who, channel)
                or await chat_moderation.can_moderate(session, who, channel)):
            raise errors.Forbidden(_("Only the chat's moderators pin messages"), code="not_a_moderator")
        changed = await (rq.pin(session, channel.name, message_id, who.user_id) if pinned
                         else rq.unpin(session, channel.name, message_id))
        if changed:
            uow.publish(channel.name, {"type": "chat.pinned", "channel": channel.name, "id": message_id,
                                       "pinned": pinned, "by": who.user_id})


async def pinned(ctx: AppContext, who: Principal, channel_name: str) -> list[dict[str, Any]]:
    async with ctx.reads() as session:
        channel = cc.parse_channel(channel_name)
        if not channel.is_chat:
            raise errors.BadRequest(_("Messages go to chats, not to user:{id}"), code="invalid_channel")
        await cc.require_member(session, who, channel)
        rows = await rq.pins(session, channel.name)
    return [{"id": r.message_id, "pinned_by": r.pinned_by, "pinned_at": r.pinned_at, "sender_id": r.sender_id,
             "text": r.text, "created_at": r.created_at} for r in rows]
