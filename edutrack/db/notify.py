"""Who gets which notification over which channel, and when (docs/notifications.md).

The notification row is the one source. When it is written, a trigger (migration 0016) stamps its `channels`: a
bit mask of the channels that consume it, computed from the recipient's choice for that kind
(`notification_settings.kinds`), else their role's default (SQL function `notification_default(role, kind)`),
the master email switch
(`profiles.email_notifications`) and chat mutes. Live delivery, the immediate email, the daily digest and web push
each read only that mask, so a later change of preferences never re-routes rows already written.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Identity, SmallInteger, String, Time, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from edutrack.db.base import Base

# Channel bits of notifications.channels.
LIVE = 1  # pushed to open sockets (the `notification` frame) and replayed on resume
EMAIL = 2  # "email immediately": once DIGEST_DELAY passed unread, the user offline and outside quiet hours
DIGEST = 4  # the daily digest at the user's chosen local time
PUSH = 8  # web push to each subscribed browser of a user without an open socket, outside quiet hours
CHANNELS = {"live": LIVE, "email": EMAIL, "digest": DIGEST, "push": PUSH}
ALL_CHANNELS = LIVE | EMAIL | DIGEST | PUSH


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


class PushSubscription(Base):
    """One browser's push subscription (RFC 8030): where its push service takes messages for it, and the keys
    (RFC 8291) that only that browser can decrypt with. An endpoint belongs to one user."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1024), unique=True)
    p256dh: Mapped[str] = mapped_column(String(100))  # base64url of the browser's P-256 public key (65 bytes)
    auth: Mapped[str] = mapped_column(String(40))  # base64url of its 16-byte authentication secret
    user_agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class VapidKey(Base):
    """The application server's VAPID key (RFC 8292) when VAPID_PRIVATE_KEY is not set: generated once, shared
    by every API node (the public key browsers subscribe with) and notifier (which signs with it)."""

    __tablename__ = "vapid_keys"
    __table_args__ = (CheckConstraint("id = 1", name="single"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    private_key: Mapped[str] = mapped_column(String(64))  # base64url of the raw 32-byte P-256 private scalar
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
