"""Chat tables: channels with a per-channel message counter, messages, and per-user read markers.

A message's `id` is its sequence number inside its channel (1, 2, 3, ... without holes). Senders take the
channel row's lock to draw the next number, so numbers commit in order: when a node sees message n+1 it knows
message n is already committed, and a gap in what it received can always be filled from PostgreSQL.
That is what makes resume and Redis outages lossless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Computed,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from edutrack.db.base import Base


class ChatChannel(Base):
    __tablename__ = "chat_channels"

    # Logical channel name: "class:{id}", "parents:{id}", "group:{id}", "dm:{a}:{b}", ... (services/chat_channels.py).
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_message_id: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_message_at: Mapped[datetime | None]


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        # A client retrying a send (lost ack, reconnect) must not create a second message.
        UniqueConstraint("sender_id", "client_msg_id", name="uq_chat_messages_sender_client_msg"),
        Index("ix_chat_messages_sender_id", "sender_id"),
        Index("ix_chat_messages_search", "channel", "search", postgresql_using="gin"),  # btree_gin
        # Chat search reads the newest matches of many chats in date windows (queries/chat_search.py).
        Index("ix_chat_messages_channel_created_at", "channel", "created_at"),
        # A reply quotes a message of its own channel: the key says so.
        ForeignKeyConstraint(["channel", "reply_to"], ["chat_messages.channel", "chat_messages.id"],
                             name="fk_chat_messages_reply_to"),
    )

    channel: Mapped[str] = mapped_column(
        String(64), ForeignKey("chat_channels.name", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_msg_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    delete_reason: Mapped[str | None] = mapped_column(Text)
    # The sender's label when they wrote it: student, parent, teacher, class_teacher, admin (null: older rows).
    sender_role: Mapped[str | None] = mapped_column(String(16))
    # Metadata of its attachments as sent (id, name, type, size, has_thumbnail): read with the message, no join.
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    # The earlier message of this channel this one replies to (its quote is read with it, as it is now).
    reply_to: Mapped[int | None] = mapped_column(BigInteger)
    # Full-text search (Russian stemming); never loaded with a message.
    search: Mapped[Any] = mapped_column(TSVECTOR, Computed("to_tsvector('russian'::regconfig, text)", persisted=True),
                                        deferred=True)


class ChatReadMarker(Base):
    """The last message a user has read in a channel; shared by all of the user's devices."""

    __tablename__ = "chat_read_markers"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(
        String(64), ForeignKey("chat_channels.name", ondelete="CASCADE"), primary_key=True
    )
    last_read_id: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
