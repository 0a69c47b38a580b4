"""Who gets which notification over which channel, and when (docs/notifications.md).

The notification row is the one source. When it is written, a trigger (migration 0016) stamps its `channels`: a
bit mask of the channels that consume it, computed from the recipient's choice for that kind
(`notification_settings.kinds`), else their role's default (SQL function `notification_default(role, kind)`),
the master email switch
(`profiles.email_notifications`) and chat mutes. Live delivery, the immediate email and the daily digest each read
only that mask, so a later change of preferences never re-routes rows already written.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Time, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from edutrack.db.base import Base

# Channel bits of notifications.channels. Web push will be 8 once it exists; until then it is not offered.
LIVE = 1  # pushed to open sockets (the `notification` frame) and replayed on resume
EMAIL = 2  # "email immediately": once DIGEST_DELAY passed unread, the user offline and outside quiet hours
DIGEST = 4  # the daily digest at the user's chosen local time
CHANNELS = {"live": LIVE, "email": EMAIL, "digest": DIGEST}
ALL_CHANNELS = LIVE | EMAIL | DIGEST


class NotificationSettings(Base):
    """One row per user who changed anything; absent: role defaults, the school's time zone, no quiet hours."""

    __tablename__ = "notification_settings"
    __table_args__ = (
        CheckConstraint("(quiet_start IS NULL) = (quiet_end IS NULL)", name="quiet_both"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # kind -> channel mask chosen by the user; kinds not in it follow notification_defaults.
    kinds: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # An IANA zone; null: the school's.
    timezone: Mapped[str | None] = mapped_column(String(64))
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    quiet_weekends: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    digest_time: Mapped[time] = mapped_column(Time, server_default=text("'19:00'"))
    # The scheduler's clock when the last daily digest went out (it decides whether today's is due).
    digest_sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class ChatMute(Base):
    """A muted chat: its messages make no live notification and no email until `until` (null: for ever)."""

    __tablename__ = "chat_mutes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime | None]


class NewsAck(Base):
    """One person's acknowledgement of a news item: at most one each, however many paths they confirm by."""

    __tablename__ = "news_acks"

    news_id: Mapped[int] = mapped_column(ForeignKey("news.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    via: Mapped[str] = mapped_column(String(8))  # page, socket, email
