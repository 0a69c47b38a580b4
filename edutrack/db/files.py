"""Attachments stored in PostgreSQL: one `files` row per file, its bytes as `file_chunks` rows of
CHUNK_BYTES (docs/files.md says why PostgreSQL). A file belongs to its uploader until it is attached to one chat
message, news item, lesson (homework), homework submission or absence note; from then on whoever can read that
can download it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Identity, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import BYTEA
from sqlalchemy.orm import Mapped, mapped_column

from edutrack.db.base import Base

CHUNK_BYTES = 256 * 1024


class StoredFile(Base):
    __tablename__ = "files"
    __table_args__ = (
        CheckConstraint("(channel IS NULL) = (message_id IS NULL)", name="message_ref"),
        CheckConstraint("num_nonnulls(message_id, news_id, lesson_id, submission_id, absence_note_id) <= 1",
                        name="one_owner"),
        Index("ix_files_message", "channel", "message_id", postgresql_where=text("message_id IS NOT NULL")),
        Index("ix_files_news_id", "news_id", postgresql_where=text("news_id IS NOT NULL")),
        Index("ix_files_lesson_id", "lesson_id", postgresql_where=text("lesson_id IS NOT NULL")),
        Index("ix_files_submission_id", "submission_id", postgresql_where=text("submission_id IS NOT NULL")),
        Index("ix_files_absence_note_id", "absence_note_id", postgresql_where=text("absence_note_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    # Told by the content (services/files/sniff.py), never by the name or the client's header.
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    sha256: Mapped[str | None] = mapped_column(String(64))
    is_thumbnail: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    thumbnail_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    # What it is attached to: at most one of a chat message (channel, message_id), a news item, a lesson.
    channel: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    news_id: Mapped[int | None] = mapped_column(ForeignKey("news.id", ondelete="CASCADE"))
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    # A student's hand-in (services/diary/handin.py).
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("homework_submissions.id", ondelete="CASCADE"))
    # A parent's absence note (a doctor's certificate: services/diary/absence_notes.py).
    absence_note_id: Mapped[int | None] = mapped_column(ForeignKey("absence_notes.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    attached_at: Mapped[datetime | None]


class FileChunk(Base):
    __tablename__ = "file_chunks"

    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(BYTEA)
