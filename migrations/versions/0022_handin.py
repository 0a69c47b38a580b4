"""Homework hand-in: a student's submission per lesson (text, files, late or not), its check (returned with a
comment, or graded with a normal grade); files attached to a submission; the new notification kinds' defaults

Revision ID: 0022_handin
Revises: 0021_files
Create Date: 2026-12-06 07:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022_handin'
down_revision = '0021_files'
branch_labels = None
depends_on = None

# The roles' defaults as 0016_notify left them, plus the hand-in kinds: live 1, email 2, digest 4.
OLD_KINDS = ('grade', 'grade_changed', 'grade_deleted', 'homework', 'attendance', 'news', 'message', 'reminder',
             'absence_note', 'lesson_changed', 'final_mark')
STAFF = {**dict.fromkeys(OLD_KINDS, 1), 'message': 3, 'absence_note': 3, 'reminder': 3, 'news': 5,
         # A class hands in 25 pieces of work: the teacher sees them in the app, not 25 emails.
         'homework_submitted': 1, 'homework_returned': 1}
FAMILY = {**dict.fromkeys(OLD_KINDS, 3), 'homework_submitted': 3, 'homework_returned': 3}
DEFAULTS = {'student': FAMILY, 'parent': FAMILY, 'teacher': STAFF, 'admin': STAFF}
OLD_DEFAULTS = {'student': dict.fromkeys(OLD_KINDS, 3), 'parent': dict.fromkeys(OLD_KINDS, 3),
                'teacher': {k: v for k, v in STAFF.items() if k in OLD_KINDS},
                'admin': {k: v for k, v in STAFF.items() if k in OLD_KINDS}}


def _defaults_function(defaults: dict[str, dict[str, int]]) -> str:
    values = ", ".join(f"('{role}', '{kind}', {mask})" for role, kinds in defaults.items()
                       for kind, mask in kinds.items())
    return (
        "CREATE OR REPLACE FUNCTION notification_default(role text, kind text) RETURNS integer LANGUAGE sql "
        f"IMMUTABLE AS $$ SELECT coalesce((SELECT d.mask FROM (VALUES {values}) AS d(role, kind, mask) "
        "WHERE d.role = $1 AND d.kind = $2), 3) $$"
    )


def upgrade() -> None:
    op.create_table(
        'homework_submissions',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('school_id', sa.BigInteger(), nullable=False),
        sa.Column('lesson_id', sa.BigInteger(), nullable=False),
        sa.Column('student_id', sa.BigInteger(), nullable=False),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('late', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('submitted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('versions', sa.Integer(), server_default=sa.text('1'), nullable=False),
        sa.Column('teacher_comment', sa.Text(), nullable=True),
        sa.Column('checked_by', sa.BigInteger(), nullable=True),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('grade_id', sa.BigInteger(), nullable=True),
        sa.CheckConstraint("status IN ('submitted', 'returned', 'graded')",
                           name=op.f('ck_homework_submissions_status')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_homework_submissions_school_id_schools'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_homework_submissions_lesson_id_lessons'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_homework_submissions_student_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['checked_by'], ['users.id'], name=op.f('fk_homework_submissions_checked_by_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['grade_id'], ['grades.id'], name=op.f('fk_homework_submissions_grade_id_grades'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_homework_submissions')),
        sa.UniqueConstraint('lesson_id', 'student_id', name='uq_homework_submissions_lesson_student'),
    )
    op.create_index('ix_homework_submissions_student_id', 'homework_submissions', ['student_id'])
    op.add_column('files', sa.Column('submission_id', sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f('fk_files_submission_id_homework_submissions'), 'files', 'homework_submissions',
                          ['submission_id'], ['id'], ondelete='CASCADE')
    op.create_index('ix_files_submission_id', 'files', ['submission_id'],
                    postgresql_where=sa.text('submission_id IS NOT NULL'))
    op.drop_constraint(op.f('ck_files_one_owner'), 'files', type_='check')
    op.create_check_constraint(op.f('ck_files_one_owner'), 'files',
                               'num_nonnulls(message_id, news_id, lesson_id, submission_id) <= 1')
    op.execute(_defaults_function(DEFAULTS))


def downgrade() -> None:
    op.execute(_defaults_function(OLD_DEFAULTS))
    op.drop_constraint(op.f('ck_files_one_owner'), 'files', type_='check')
    op.create_check_constraint(op.f('ck_files_one_owner'), 'files', 'num_nonnulls(message_id, news_id, lesson_id) <= 1')
    op.drop_index('ix_files_submission_id', table_name='files')
    op.drop_constraint(op.f('fk_files_submission_id_homework_submissions'), 'files', type_='foreignkey')
    op.drop_column('files', 'submission_id')
    op.drop_index('ix_homework_submissions_student_id', table_name='homework_submissions')
    op.drop_table('homework_submissions')
