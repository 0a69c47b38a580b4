"""Homework hand-in: one submission per student and lesson (the lesson whose homework it answers). It is
replaced while `submitted` or `returned`; `graded` is final (the grade is a normal `grades` row)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Identity, Integer, String, Text, UniqueConstraint, func
from sqlalchemy import text as sql  # the column `text` would shadow it in the class body
from sqlalchemy.orm import Mapped, mapped_column

from edutrack.db.base import Base

SUBMISSION_STATUSES = ("submitted", "returned", "graded")


class HomeworkSubmission(Base):
    __tablename__ = "homework_submissions"
    __table_args__ = (
        CheckConstraint("status IN ('submitted', 'returned', 'graded')", name="status"),
        UniqueConstraint("lesson_id", "student_id", name="uq_homework_submissions_lesson_student"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    # Handed in after the deadline (the start of the class's next lesson of the subject), as of the last hand-in.
    late: Mapped[bool] = mapped_column(Boolean, server_default=sql("false"))
    due_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime] = mapped_column(server_default=func.now())
    versions: Mapped[int] = mapped_column(Integer, server_default=sql("1"))
    teacher_comment: Mapped[str | None] = mapped_column(Text)
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    checked_at: Mapped[datetime | None]
    grade_id: Mapped[int | None] = mapped_column(ForeignKey("grades.id", ondelete="SET NULL"))
