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

# The roles' defaults as 0020_push left them (a migration is a snapshot: the table is repeated, not imported),
# plus the hand-in kinds. Live 1, email 2, digest 4, push 8.
LIVE, EMAIL, DIGEST, PUSH = 1, 2, 4, 8
KINDS = ('grade', 'grade_changed', 'grade_deleted', 'homework', 'attendance', 'news', 'message', 'reminder',
         'absence_note', 'lesson_changed', 'final_mark', 'moderation', 'mention')
FAMILY_PUSH = ('grade', 'grade_changed', 'homework', 'attendance', 'final_mark', 'lesson_changed', 'message',
               'reminder', 'mention')
STAFF_PUSH = ('message', 'absence_note', 'reminder', 'mention')


def _before() -> dict[str, dict[str, int]]:
    family = dict.fromkeys(KINDS, LIVE | EMAIL)
    staff = {**dict.fromkeys(KINDS, LIVE), 'message': LIVE | EMAIL, 'absence_note': LIVE | EMAIL,
             'reminder': LIVE | EMAIL, 'news': LIVE | DIGEST, 'mention': LIVE | EMAIL, 'moderation': LIVE | EMAIL}
    student, parent = dict(family), dict(family)
    for kind in FAMILY_PUSH:
        student[kind] |= PUSH
        parent[kind] |= PUSH
    parent['news'] |= PUSH
    for kind in STAFF_PUSH:
        staff[kind] |= PUSH
    return {'student': student, 'parent': parent, 'teacher': staff, 'admin': dict(staff)}


def _after() -> dict[str, dict[str, int]]:
    table = _before()
    for role in ('student', 'parent'):
        # Handed in: the family is told in the app and by email; returned for rework: the student has something to
        # do, so also by push.
        table[role] = {**table[role], 'homework_submitted': LIVE | EMAIL, 'homework_returned': LIVE | EMAIL | PUSH}
    for role in ('teacher', 'admin'):
        # A class hands in 25 pieces of work: the teacher sees them in the app, not 25 emails.
        table[role] = {**table[role], 'homework_submitted': LIVE, 'homework_returned': LIVE}
    return table


DEFAULTS = _after()
OLD_DEFAULTS = _before()


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
