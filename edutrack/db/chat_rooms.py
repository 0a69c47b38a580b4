"""Chat rooms beyond the class chat: staff-made groups and their members, each school's private-chat policy,
and moderation (mutes, slow mode, reports, the moderation log). See edutrack/services/chat_channels.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from edutrack.db.base import Base


class ChatGroup(Base):
    __tablename__ = "chat_groups"
    __table_args__ = (Index("ix_chat_groups_school_id", "school_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ChatGroupMember(Base):
    __tablename__ = "chat_group_members"
    __table_args__ = (Index("ix_chat_group_members_user_id", "user_id"),)

    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class SchoolChatPolicy(Base):
    """Who may start a private chat with whom, per school (no row: the defaults)."""

    __tablename__ = "school_chat_policies"

    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)
    student_student: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    parent_parent: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ChatModerationMute(Base):
    __tablename__ = "chat_moderation_mutes"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    until: Mapped[datetime]
    muted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ChatChannelSetting(Base):
    __tablename__ = "chat_channel_settings"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ChatReport(Base):
    __tablename__ = "chat_reports"
    __table_args__ = (UniqueConstraint("channel", "message_id", "reporter_id", name="uq_chat_reports_once"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int] = mapped_column(BigInteger)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # dismiss, delete or mute (services/chat_reports.py); null when closed without one (the per-chat resolve).
    resolution: Mapped[str | None] = mapped_column(String(16))


class ChatModerationAction(Base):
    """Every moderation action (mute, unmute, slow mode, delete, report resolved): who, to whom, why."""

    __tablename__ = "chat_moderation_log"
    __table_args__ = (Index("ix_chat_moderation_log_channel", "channel", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)
    until: Mapped[datetime | None]
    seconds: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ChatReaction(Base):
    """One person's reaction to a message (REACTIONS in services/chat_reactions.py); `check` acknowledges."""

    __tablename__ = "chat_reactions"
    __table_args__ = (ForeignKeyConstraint(["channel", "message_id"], ["chat_messages.channel", "chat_messages.id"],
                                           name="fk_chat_reactions_message", ondelete="CASCADE"),)

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    reaction: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ChatPin(Base):
    __tablename__ = "chat_pins"
    __table_args__ = (ForeignKeyConstraint(["channel", "message_id"], ["chat_messages.channel", "chat_messages.id"],
                                           name="fk_chat_pins_message", ondelete="CASCADE"),)

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pinned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    pinned_at: Mapped[datetime] = mapped_column(server_default=func.now())
