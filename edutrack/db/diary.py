"""Tables of the diary domain: schools, classes, subjects, the schedule, grades, attestations,
attendance, news, and the audit trail."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edutrack.db.base import Base, TimestampMixin
from edutrack.i18n import N_

# Non-numeric marks of the Russian diary and how they are stored.
# Non-numeric marks: code -> the message shown for it (translated where shown).
MARKS = {"na": N_("n/a"), "pass": N_("pass"), "fail": N_("fail"), "exempt": N_("exempt")}
ATTENDANCE_STATUSES = ("present", "absent", "late")
ABSENCE_REASONS = ("unexcused", "illness", "excused")
ABSENCE_REASON_TITLES = {"unexcused": N_("without a valid reason"), "illness": N_("because of illness"),
                         "excused": N_("for a valid reason")}
NEWS_AUDIENCES = ("school", "class", "role")
NEWS_STATUSES = ("draft", "scheduled", "published")
# The year mark from the term marks: their rounded mean (by the school's rounding threshold), or the last term's.
YEAR_MARK_RULES = ("mean", "last_term")


def _in(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class School(TimestampMixin, Base):
    __tablename__ = "schools"
    __table_args__ = (CheckConstraint(f"year_mark_rule IN ({_in(YEAR_MARK_RULES)})", name="year_mark_rule"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str | None] = mapped_column(String(300))
    timezone: Mapped[str] = mapped_column(String(64), server_default="Europe/Moscow")
    # School policy knobs.
    parents_in_class_chat: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    min_marks_for_attestation: Mapped[int] = mapped_column(SmallInteger, server_default=text("3"))
    # A weighted average whose fractional part is >= this rounds up (default: x.5 rounds up).
    rounding_threshold: Mapped[Decimal] = mapped_column(Numeric(3, 2), server_default=text("0.5"))
    at_risk_average: Mapped[Decimal] = mapped_column(Numeric(3, 2), server_default=text("3.0"))
    at_risk_unexcused_absences: Mapped[int] = mapped_column(SmallInteger, server_default=text("5"))
    # How the proposed year mark comes from the term marks (services/diary/final_marks.py).
    year_mark_rule: Mapped[str] = mapped_column(String(10), server_default="mean")


class AcademicYear(Base):
    __tablename__ = "academic_years"
    __table_args__ = (
        UniqueConstraint("school_id", "name"),
        CheckConstraint("ends_on > starts_on", name="dates"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(20))  # "2026/2027"
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


class Term(Base):
    __tablename__ = "terms"
    __table_args__ = (
        UniqueConstraint("academic_year_id", "name"),
        CheckConstraint("ends_on > starts_on", name="dates"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))  # "1 четверть", "1 полугодие"
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


class SchoolClass(TimestampMixin, Base):
    __tablename__ = "classes"
    __table_args__ = (
        UniqueConstraint("school_id", "academic_year_id", "name"),
        CheckConstraint("grade_level BETWEEN 1 AND 11", name="grade_level"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    academic_year_id: Mapped[int | None] = mapped_column(ForeignKey("academic_years.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(20))  # "10А"
    grade_level: Mapped[int] = mapped_column(SmallInteger)
    class_teacher_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)


class ClassStudent(Base):
    __tablename__ = "class_students"
    __table_args__ = (PrimaryKeyConstraint("class_id", "student_id"),)

    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ParentChild(Base):
    __tablename__ = "parent_children"
    __table_args__ = (PrimaryKeyConstraint("parent_id", "child_id"),)

    parent_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    child_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class Subject(Base):
    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))


class TeachingAssignment(Base):
    __tablename__ = "teaching_assignments"
    __table_args__ = (UniqueConstraint("class_id", "subject_id", "teacher_id"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class WorkType(Base):
    """Kinds of graded work with their weight in the weighted average (per school)."""

    __tablename__ = "work_types"
    __table_args__ = (
        UniqueConstraint("school_id", "name"),
        CheckConstraint("weight BETWEEN 1 AND 10", name="weight"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    weight: Mapped[int] = mapped_column(SmallInteger)


class Lesson(TimestampMixin, Base):
    __tablename__ = "lessons"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="times"),
        # No double-booking, enforced by PostgreSQL itself so concurrent writers cannot race past it.
        # A cancelled lesson books nothing (migration 0019).
        ExcludeConstraint(("class_id", "="), (text("tstzrange(starts_at, ends_at)"), "&&"),
                          name="no_class_overlap", using="gist", where=text("cancelled_at IS NULL")),
        ExcludeConstraint(("teacher_id", "="), (text("tstzrange(starts_at, ends_at)"), "&&"),
                          name="no_teacher_overlap", using="gist", where=text("cancelled_at IS NULL")),
        ExcludeConstraint(("school_id", "="), ("room", "="), (text("tstzrange(starts_at, ends_at)"), "&&"),
                          name="no_room_overlap", using="gist", where=text("cancelled_at IS NULL")),
        Index("ix_lessons_class_starts", "class_id", "starts_at"),
        Index("ix_lessons_teacher_starts", "teacher_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    room: Mapped[str | None] = mapped_column(String(30))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    topic: Mapped[str | None] = mapped_column(String(300))
    homework: Mapped[str | None] = mapped_column(Text)
    # One-off changes (services/diary/lesson_changes.py): with a cover teacher, teacher_id is the cover and
    # regular_teacher_id the teacher it replaces; a cancelled lesson stays in the schedule, marked.
    regular_teacher_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    cancelled_at: Mapped[datetime | None]
    change_note: Mapped[str | None] = mapped_column(String(300))
    # A moved lesson's first planned start (a move back there clears it), so exports and pages can say
    # "перенесён с ..."; set by PATCH /lessons/{id} (services/diary/lessons.py).
    moved_from: Mapped[datetime | None]


class Grade(TimestampMixin, Base):
    __tablename__ = "grades"
    __table_args__ = (
        CheckConstraint("value BETWEEN 1 AND 5", name="value"),
        CheckConstraint(f"mark IN ({_in(list(MARKS))})", name="mark"),
        CheckConstraint("(value IS NULL) <> (mark IS NULL)", name="value_or_mark"),
        Index("ix_grades_student_subject_date", "student_id", "subject_id", "date",
              postgresql_where=text("deleted_at IS NULL")),
        Index("ix_grades_class_subject_date", "class_id", "subject_id", "date",
              postgresql_where=text("deleted_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id", ondelete="SET NULL"), index=True)
    work_type_id: Mapped[int] = mapped_column(ForeignKey("work_types.id", ondelete="RESTRICT"))
    date: Mapped[date] = mapped_column(Date)
    value: Mapped[int | None] = mapped_column(SmallInteger)
    mark: Mapped[str | None] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(String(500))
    # Deleted grades stay for the audit trail and drop out of every list and average.
    deleted_at: Mapped[datetime | None]


class Attestation(Base):
    """A term mark: proposed by the system from the weighted average, confirmed or overridden by a teacher."""

    __tablename__ = "attestations"
    __table_args__ = (UniqueConstraint("student_id", "subject_id", "term_id"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    term_id: Mapped[int] = mapped_column(ForeignKey("terms.id", ondelete="CASCADE"), index=True)
    proposed: Mapped[str] = mapped_column(String(10))  # "1".."5" or "na"
    final: Mapped[str] = mapped_column(String(10))
    is_override: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    average: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    comment: Mapped[str | None] = mapped_column(String(500))
    confirmed_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    confirmed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class YearMark(Base):
    """A year mark: proposed from the term marks by the school's `year_mark_rule`, confirmed or overridden."""

    __tablename__ = "year_marks"
    __table_args__ = (UniqueConstraint("student_id", "subject_id", "academic_year_id"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    academic_year_id: Mapped[int] = mapped_column(ForeignKey("academic_years.id", ondelete="CASCADE"), index=True)
    proposed: Mapped[str] = mapped_column(String(10))
    final: Mapped[str] = mapped_column(String(10))
    is_override: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    comment: Mapped[str | None] = mapped_column(String(500))
    confirmed_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    confirmed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("lesson_id", "student_id"),
        CheckConstraint(f"status IN ({_in(ATTENDANCE_STATUSES)})", name="status"),
        CheckConstraint(f"reason IN ({_in(ABSENCE_REASONS)})", name="reason"),
        CheckConstraint("status = 'absent' OR reason IS NULL", name="reason_only_if_absent"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(300))
    marked_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class News(TimestampMixin, Base):
    __tablename__ = "news"
    __table_args__ = (
        CheckConstraint(f"audience IN ({_in(NEWS_AUDIENCES)})", name="audience"),
        CheckConstraint(f"status IN ({_in(NEWS_STATUSES)})", name="status"),
        CheckConstraint("audience <> 'class' OR class_id IS NOT NULL", name="class_audience"),
        CheckConstraint("audience <> 'role' OR role IS NOT NULL", name="role_audience"),
        CheckConstraint("NOT is_public OR audience = 'school'", name="public_school_audience"),
        Index("ix_news_school_published", "school_id", "published_at"),
        Index("ix_news_public", "school_id", "published_at", postgresql_where=text("is_public")),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(10))
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    role: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), server_default="draft")
    publish_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    # Shown without login on the school's public page and Atom feed once published (school audience only).
    is_public: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Its notifications pass the recipients' quiet hours (rate-limited per school, audited: services/diary/news.py).
    urgent: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Who must confirm they read it ("ознакомлен"): any of parent, student, staff (services/diary/news_acks.py);
    # for parents one per child counts unless ack_each_parent.
    ack_roles: Mapped[list[str]] = mapped_column(ARRAY(String(8)), server_default=text("'{}'"))
    ack_each_parent: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    ack_reminded_at: Mapped[datetime | None]


class AuditLog(Base):
    """Who changed what, when, from what to what (grades, attestation overrides). Readable by admins."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    old: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(server_default=func.now())
