"""SQL of announcements that ask for confirmation ("ознакомлен") and who has confirmed them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.acks import ChatAck, ChatAckRequest

MAX_LISTED = 200


async def insert_request(session: AsyncSession, channel: str, message_id: int, author_id: int,
                         roles: Sequence[str], each_parent: bool) -> None:
    await session.execute(insert(ChatAckRequest).values(channel=channel, message_id=message_id, author_id=author_id,
                                                        ack_roles=list(roles), ack_each_parent=each_parent))


async def request_of(session: AsyncSession, channel: str, message_id: int, *,
                     for_update: bool = False) -> ChatAckRequest | None:
    stmt = select(ChatAckRequest).where(ChatAckRequest.channel == channel, ChatAckRequest.message_id == message_id)
    found = await session.execute(stmt.with_for_update() if for_update else stmt)
    return found.scalar_one_or_none()


async def requests_in(session: AsyncSession, channel: str) -> list[ChatAckRequest]:
    """The newest MAX_LISTED requests of a room."""
    found = await session.execute(select(ChatAckRequest).where(ChatAckRequest.channel == channel)
                                  .order_by(ChatAckRequest.message_id.desc()).limit(MAX_LISTED))
    return list(found.scalars())


async def insert_ack(session: AsyncSession, channel: str, message_id: int, user_id: int, via: str) -> datetime | None:
    """The moment of a new confirmation; None when this user had already confirmed (it counts once)."""
    found = await session.execute(
        insert(ChatAck).values(channel=channel, message_id=message_id, user_id=user_id, via=via)
        .on_conflict_do_nothing(index_elements=[ChatAck.channel, ChatAck.message_id, ChatAck.user_id])
        .returning(ChatAck.at)
    )
    return found.scalar()


async def acks(session: AsyncSession, channel: str, message_id: int) -> dict[int, datetime]:
    rows = await session.execute(select(ChatAck.user_id, ChatAck.at)
                                 .where(ChatAck.channel == channel, ChatAck.message_id == message_id))
    return {int(u): at for u, at in rows}


async def acks_of_user(session: AsyncSession, channel: str, user_id: int,
                       message_ids: Sequence[int]) -> dict[int, datetime]:
    rows = await session.execute(select(ChatAck.message_id, ChatAck.at).where(
        ChatAck.channel == channel, ChatAck.user_id == user_id, ChatAck.message_id.in_(list(message_ids))))
    return {int(m): at for m, at in rows}


async def mark_reminded(session: AsyncSession, channel: str, message_id: int, at: datetime) -> None:
    await session.execute(update(ChatAckRequest).where(ChatAckRequest.channel == channel,
                                                       ChatAckRequest.message_id == message_id)
                          .values(reminded_at=at))
