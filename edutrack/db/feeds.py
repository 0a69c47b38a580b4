"""Calendar feeds: one secret URL per user serving their timetable as iCalendar.

Only the SHA-256 of the secret is stored: the URL is shown once, when it is made, and a leaked database does not
give anyone a working feed. Regenerating replaces the hash (the old URL stops working); revoking deletes the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from edutrack.db.base import Base


class CalendarFeed(Base):
    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
