"""Files attached to parents' absence notes (files.absence_note_id)

Revision ID: 0026_note_files
Revises: 0023_diary_more
Create Date: 2026-12-06 08:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0026_note_files'
down_revision = '0023_diary_more'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('files', sa.Column('absence_note_id', sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f('fk_files_absence_note_id_absence_notes'), 'files', 'absence_notes',
                          ['absence_note_id'], ['id'], ondelete='CASCADE')
    op.create_index('ix_files_absence_note_id', 'files', ['absence_note_id'],
                    postgresql_where=sa.text('absence_note_id IS NOT NULL'))
    op.drop_constraint(op.f('ck_files_one_owner'), 'files', type_='check')
    op.create_check_constraint(op.f('ck_files_one_owner'), 'files',
                               'num_nonnulls(message_id, news_id, lesson_id, submission_id, absence_note_id) <= 1')


def downgrade() -> None:
    op.drop_constraint(op.f('ck_files_one_owner'), 'files', type_='check')
    op.create_check_constraint(op.f('ck_files_one_owner'), 'files',
                               'num_nonnulls(message_id, news_id, lesson_id, submission_id) <= 1')
    op.drop_index('ix_files_absence_note_id', table_name='files')
    op.drop_constraint(op.f('fk_files_absence_note_id_absence_notes'), 'files', type_='foreignkey')
    op.drop_column('files', 'absence_note_id')
