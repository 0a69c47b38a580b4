"""Parents' absence notes

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


def downgrade() -> None:
    op.drop_table('absence_notes')
