"""SQL of reactions to chat messages and of pinned messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.chat import ChatMessage
from edutrack.db.chat_rooms import ChatPin, ChatReaction


async def add_reaction(session: AsyncSession, channel: str, message_id: int, user_id: int, reaction: str) -> None:
    await session.execute(insert(ChatReaction).values(channel=channel, message_id=message_id, user_id=user_id,
                                                      reaction=reaction).on_conflict_do_nothing())


async def remove_reaction(session: AsyncSession, channel: str, message_id: int, user_id: int, reaction: str) -> None:
    await session.execute(delete(ChatReaction).where(
        ChatReaction.channel == channel, ChatReaction.message_id == message_id, ChatReaction.user_id == user_id,
        ChatReaction.reaction == reaction))


async def reactions_of(session: AsyncSession, channel: str, message_id: int) -> dict[str, list[int]]:
    """reaction -> the ids of who reacted so, oldest first."""
    rows = await session.execute(select(ChatReaction.reaction, ChatReaction.user_id).where(
        ChatReaction.channel == channel, ChatReaction.message_id == message_id)
        .order_by(ChatReaction.reaction, ChatReaction.created_at, ChatReaction.user_id))
    found: dict[str, list[int]] = {}
    for reaction, user_id in rows:
        found.setdefault(str(reaction), []).append(int(user_id))
    return found


async def pin(session: AsyncSession, channel: str, message_id: int, by: int) -> bool:
    found = await session.execute(insert(ChatPin).values(channel=channel, message_id=message_id, pinned_by=by)
                                  .on_conflict_do_nothing().returning(ChatPin.message_id))
    return found.first() is not None


async def unpin(session: AsyncSession, channel: str, message_id: int) -> bool:
    found = await session.execute(delete(ChatPin).where(ChatPin.channel == channel, ChatPin.message_id == message_id)
                                  .returning(ChatPin.message_id))
    return found.first() is not None


async def pins(session: AsyncSession, channel: str) -> list[Any]:
    """Pinned messages that are not deleted, newest pin first, with the message."""
    rows = await session.execute(
        select(ChatPin.message_id, ChatPin.pinned_by, ChatPin.pinned_at, ChatMessage.sender_id, ChatMessage.text,
               ChatMessage.created_at)
        .join(ChatMessage, (ChatMessage.channel == ChatPin.channel) & (ChatMessage.id == ChatPin.message_id))
        .where(ChatPin.channel == channel, ChatMessage.deleted_at.is_(None))
        .order_by(ChatPin.pinned_at.desc(), ChatPin.message_id.desc()))
    return list(rows)
