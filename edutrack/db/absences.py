"""Parents' absence notes: a parent says ahead (or on the day) that their child will miss school, for whole days
or for some lessons; the class teacher accepts or questions the note. Attendance taken for a lesson an accepted
note covers is an excused absence with the note's reason (services/diary/absence_notes.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, Date, ForeignKey, Identity, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from edutrack.db.base import Base

NOTE_STATUSES = ("pending", "accepted", "questioned")
# A parent's reasons: the ones that excuse an absence (db.diary.ABSENCE_REASONS without "unexcused").
NOTE_REASONS = ("illness", "excused")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class AbsenceNote(Base):
    __tablename__ = "absence_notes"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates"),
        CheckConstraint(f"status IN ({_in(NOTE_STATUSES)})", name="status"),
        CheckConstraint(f"reason IN ({_in(NOTE_REASONS)})", name="reason"),
        Index("ix_absence_notes_student_dates", "student_id", "starts_on", "ends_on"),
        Index("ix_absence_notes_class_status", "class_id", "status"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The class whose class teacher decides (the student's class when the note was written).
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Days in the school's time zone, inclusive. With lesson_ids only those lessons are covered.
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    lesson_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    reason: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision_comment: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
