"""Acknowledgements beyond news, and what parents have seen of the diary (docs/notifications.md).

- chat_ack_requests / chat_acks: a staff member's announcement in an announcements room that asks its readers to
  confirm ("ознакомлен"); the same shape as news (news.ack_roles, news_acks): who must, whether each parent must,
  when the last reminder went, and one row per person who confirmed.
- diary_week_seen: a parent marked a week of a child's diary as seen ("Просмотрено").
- diary_opens: when a parent or student last opened a child's diary (written at most once an hour per person and
  child; the throttle is in Redis, the record here).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, Date, ForeignKey, ForeignKeyConstraint, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from edutrack.db.base import Base


class ChatAckRequest(Base):
    __tablename__ = "chat_ack_requests"
    __table_args__ = (
        ForeignKeyConstraint(["channel", "message_id"], ["chat_messages.channel", "chat_messages.id"],
                             ondelete="CASCADE"),
    )

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    ack_roles: Mapped[list[str]] = mapped_column(ARRAY(String(8)))
    ack_each_parent: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ChatAck(Base):
    """One person's confirmation of an announcement: at most one, however many paths they confirm by."""

    __tablename__ = "chat_acks"
    __table_args__ = (
        ForeignKeyConstraint(["channel", "message_id"], ["chat_ack_requests.channel", "chat_ack_requests.message_id"],
                             ondelete="CASCADE"),
    )

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    via: Mapped[str] = mapped_column(String(8))  # page, socket, rest


class DiaryWeekSeen(Base):
    __tablename__ = "diary_week_seen"

    parent_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)  # a Monday
    at: Mapped[datetime] = mapped_column(server_default=func.now())


class DiaryOpen(Base):
    __tablename__ = "diary_opens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    at: Mapped[datetime] = mapped_column(server_default=func.now())
