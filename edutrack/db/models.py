"""Tables of the foundation: accounts, tokens, the email outbox and the notification feed.

Later features add their own model modules; every model module is imported by `edutrack.db.all_models`
so that Alembic and the tests see one complete metadata.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    FetchedValue,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from edutrack.db.base import Base, TimestampMixin


class Role(enum.StrEnum):
    ADMIN = "admin"
    TEACHER = "teacher"
    STUDENT = "student"
    PARENT = "parent"


class EmailPreference(enum.StrEnum):
    OFF = "off"
    IMMEDIATE = "immediate"  # a digest as soon as the digest delay has passed
    DAILY = "daily"  # one digest a day


class TokenPurpose(enum.StrEnum):
    RESET = "reset"
    INVITE = "invite"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    SENT = "sent"
    DEAD = "dead"


def _values(e: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{m.value}'" for m in e)


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN ({_values(Role)})", name="role"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_superuser: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # The school a user belongs to (admins administer it); the schools table lives in edutrack.db.diary.
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="SET NULL"), index=True)
    # Access tokens issued at or before this moment are refused (deactivation, a new role or school, a password
    # change, "log out everywhere"): a JWT is otherwise valid until it expires. See security/tokens.py.
    access_valid_after: Mapped[datetime | None] = mapped_column(index=True)

    profile: Mapped[Profile] = relationship(back_populates="user", lazy="joined", uselist=False)


class Profile(Base):
    __tablename__ = "profiles"
    __table_args__ = (
        CheckConstraint(f"email_notifications IN ({_values(EmailPreference)})", name="email_notifications"),
        CheckConstraint("gender IN ('male', 'female')", name="gender"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    # The grammatical gender of the name ("опоздал" / "опоздала"); null: inferred from the name (i18n/names.py).
    gender: Mapped[str | None] = mapped_column(String(6))
    birthday: Mapped[date | None] = mapped_column(Date)
    show_birthday: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    email_notifications: Mapped[str] = mapped_column(String(16), server_default=EmailPreference.IMMEDIATE.value)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    user: Mapped[User] = relationship(back_populates="profile")


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # sha256 of the token; the token itself is only ever known to the client.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # All tokens descending from one login share a family: reuse of a rotated token revokes the family.
    family_id: Mapped[Any] = mapped_column(UUID(as_uuid=True), index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    # Indexed: nodes read the families ended within an access token's lifetime (services/access.py).
    revoked_at: Mapped[datetime | None] = mapped_column(index=True)
    user_agent: Mapped[str | None] = mapped_column(String(300))


class PasswordResetToken(Base):
    __tablename__ = "password_reset_tokens"
    __table_args__ = (CheckConstraint(f"purpose IN ({_values(TokenPurpose)})", name="purpose"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # An invitation's link sets the first password of an account an administrator created; it lives longer.
    purpose: Mapped[str] = mapped_column(String(10), server_default=TokenPurpose.RESET.value)


class EmailOutbox(Base):
    """One row per email, written in the transaction of the change that causes it."""

    __tablename__ = "email_outbox"
    __table_args__ = (
        CheckConstraint(f"status IN ({_values(OutboxStatus)})", name="status"),
        # The relay's claim query walks only the rows that still need work.
        Index("ix_email_outbox_claimable", "id", postgresql_where=text("status IN ('pending', 'publishing')")),
        Index("ix_email_outbox_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), server_default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    published_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set for emails a person asks for explicitly (a chat message emailed by a teacher): asking twice must not
    # email anyone twice. Unique; NULLs (password resets, digests) never collide.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Extra header fields (a digest's Message-ID, threading, List-Unsubscribe); the notifier adds them as they are.
    headers: Mapped[dict[str, str] | None] = mapped_column(JSONB)


class Notification(Base):
    """A user's feed entry (grade, homework, attendance, news, message): pushed live, read, or emailed in a digest."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_id", "user_id", "id"),
        # The digest scheduler looks only at unread, un-emailed rows meant for email (EMAIL | DIGEST).
        Index(
            "ix_notifications_digest",
            "user_id",
            "created_at",
            postgresql_where=text("read_at IS NULL AND emailed_at IS NULL AND channels & 6 <> 0"),
        ),
        # The push dispatcher looks only at unread rows with PUSH that it has not handled yet.
        Index("ix_notifications_push", "user_id", "id",
              postgresql_where=text("pushed_at IS NULL AND read_at IS NULL AND channels & 8 <> 0")),
        # Reading a chat room marks its unread `chat_message` rows read: most readers have none. (Migration 0028
        # also indexes those rows by channel and message, for a deleted message: an expression index.)
        Index("ix_notifications_chat_unread", "user_id", "id",
              postgresql_where=text("kind = 'chat_message' AND read_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    # The student the event is about (for a parent: which child); null for news and messages.
    about_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]
    # Set when the push dispatcher handled the row: pushed, or not needed (no subscription, the user online).
    pushed_at: Mapped[datetime | None]
    # The channels that consume this row (edutrack/db/notify.py bits), stamped by a trigger when it is written.
    channels: Mapped[int] = mapped_column(SmallInteger, server_default=FetchedValue())
