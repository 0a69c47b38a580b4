"""Parents' absence notes; one-off changes of a lesson (a cover teacher, a cancellation, a note); year marks

Revision ID: 0019_diary_ops
Revises: 0015_diary_io
Create Date: 2026-12-06 03:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0019_diary_ops'
down_revision = '0015_diary_io'
branch_labels = None
depends_on = None

OVERLAPS = {"no_class_overlap": "class_id WITH =", "no_teacher_overlap": "teacher_id WITH =",
            "no_room_overlap": "school_id WITH =, room WITH ="}


def upgrade() -> None:
    op.create_table(
        'absence_notes',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('school_id', sa.BigInteger(), nullable=False),
        sa.Column('student_id', sa.BigInteger(), nullable=False),
        sa.Column('class_id', sa.BigInteger(), nullable=False),
        sa.Column('author_id', sa.BigInteger(), nullable=True),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('lesson_ids', postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column('reason', sa.String(length=10), nullable=False),
        sa.Column('comment', sa.String(length=500), nullable=True),
        sa.Column('status', sa.String(length=10), server_default='pending', nullable=False),
        sa.Column('decided_by', sa.BigInteger(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_comment', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_absence_notes_dates')),
        sa.CheckConstraint("status IN ('pending', 'accepted', 'questioned')", name=op.f('ck_absence_notes_status')),
        sa.CheckConstraint("reason IN ('illness', 'excused')", name=op.f('ck_absence_notes_reason')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_absence_notes_school_id_schools'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_absence_notes_student_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_absence_notes_class_id_classes'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_absence_notes_author_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_absence_notes_decided_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_absence_notes')),
    )
    op.create_index('ix_absence_notes_student_dates', 'absence_notes', ['student_id', 'starts_on', 'ends_on'])
    op.create_index('ix_absence_notes_class_status', 'absence_notes', ['class_id', 'status'])

    op.add_column('lessons', sa.Column('regular_teacher_id', sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f('fk_lessons_regular_teacher_id_users'), 'lessons', 'users', ['regular_teacher_id'],
                          ['id'], ondelete='RESTRICT')
    op.add_column('lessons', sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('lessons', sa.Column('change_note', sa.String(length=300), nullable=True))
    # A cancelled lesson keeps its place in the schedule (shown as cancelled) but no longer books its class,
    # teacher or room.
    for name, columns in OVERLAPS.items():
        op.drop_constraint(name, 'lessons')
        op.execute(f"ALTER TABLE lessons ADD CONSTRAINT {name} EXCLUDE USING gist ({columns}, "
                   "tstzrange(starts_at, ends_at) WITH &&) WHERE (cancelled_at IS NULL)")

    op.add_column('schools', sa.Column('year_mark_rule', sa.String(length=10), server_default='mean', nullable=False))
    op.create_check_constraint(op.f('ck_schools_year_mark_rule'), 'schools', "year_mark_rule IN ('mean', 'last_term')")
    op.create_table(
        'year_marks',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('school_id', sa.BigInteger(), nullable=False),
        sa.Column('student_id', sa.BigInteger(), nullable=False),
        sa.Column('class_id', sa.BigInteger(), nullable=False),
        sa.Column('subject_id', sa.BigInteger(), nullable=False),
        sa.Column('academic_year_id', sa.BigInteger(), nullable=False),
        sa.Column('proposed', sa.String(length=10), nullable=False),
        sa.Column('final', sa.String(length=10), nullable=False),
        sa.Column('is_override', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('comment', sa.String(length=500), nullable=True),
        sa.Column('confirmed_by', sa.BigInteger(), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_year_marks_school_id_schools'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_year_marks_student_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_year_marks_class_id_classes'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_year_marks_subject_id_subjects'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['academic_year_id'], ['academic_years.id'],
                                name=op.f('fk_year_marks_academic_year_id_academic_years'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['confirmed_by'], ['users.id'], name=op.f('fk_year_marks_confirmed_by_users'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_year_marks')),
        sa.UniqueConstraint('student_id', 'subject_id', 'academic_year_id', name=op.f('uq_year_marks_student_id')),
    )
    op.create_index('ix_year_marks_academic_year_id', 'year_marks', ['academic_year_id'])


def downgrade() -> None:
    op.drop_table('year_marks')
    op.drop_constraint(op.f('ck_schools_year_mark_rule'), 'schools', type_='check')
    op.drop_column('schools', 'year_mark_rule')
    for name, columns in OVERLAPS.items():
        op.drop_constraint(name, 'lessons')
        op.execute(f"ALTER TABLE lessons ADD CONSTRAINT {name} EXCLUDE USING gist ({columns}, "
                   "tstzrange(starts_at, ends_at) WITH &&)")
    op.drop_column('lessons', 'change_note')
    op.drop_column('lessons', 'cancelled_at')
    op.drop_constraint(op.f('fk_lessons_regular_teacher_id_users'), 'lessons', type_='foreignkey')
    op.drop_column('lessons', 'regular_teacher_id')
    op.drop_table('absence_notes')
