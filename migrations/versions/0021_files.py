"""Attachments: files stored in PostgreSQL as chunks, their thumbnails, and what each is attached to (a chat
message, a news item, a lesson's homework)

Revision ID: 0021_files
Revises: 0020_push
Create Date: 2026-12-06 07:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0021_files'
down_revision = '0020_push'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'files',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('owner_id', sa.BigInteger(), nullable=False),
        sa.Column('school_id', sa.BigInteger(), nullable=True),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False, server_default=sa.text('0')),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('is_thumbnail', sa.Boolean(), nullable=False, server_default=sa.text('false')),
        sa.Column('thumbnail_id', sa.BigInteger(), nullable=True),
        sa.Column('channel', sa.String(length=64), nullable=True),
        sa.Column('message_id', sa.BigInteger(), nullable=True),
        sa.Column('news_id', sa.BigInteger(), nullable=True),
        sa.Column('lesson_id', sa.BigInteger(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('attached_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('(channel IS NULL) = (message_id IS NULL)', name=op.f('ck_files_message_ref')),
        sa.CheckConstraint('num_nonnulls(message_id, news_id, lesson_id) <= 1', name=op.f('ck_files_one_owner')),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_files_owner_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_files_school_id_schools'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['thumbnail_id'], ['files.id'], name=op.f('fk_files_thumbnail_id_files'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['news_id'], ['news.id'], name=op.f('fk_files_news_id_news'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_files_lesson_id_lessons'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_files')),
    )
    op.create_index('ix_files_school_id', 'files', ['school_id'])
    op.create_index('ix_files_owner_id', 'files', ['owner_id'])
    op.create_index('ix_files_message', 'files', ['channel', 'message_id'],
                    postgresql_where=sa.text('message_id IS NOT NULL'))
    op.create_index('ix_files_news_id', 'files', ['news_id'], postgresql_where=sa.text('news_id IS NOT NULL'))
    op.create_index('ix_files_lesson_id', 'files', ['lesson_id'], postgresql_where=sa.text('lesson_id IS NOT NULL'))
    op.create_table(
        'file_chunks',
        sa.Column('file_id', sa.BigInteger(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('data', postgresql.BYTEA(), nullable=False),
        sa.ForeignKeyConstraint(['file_id'], ['files.id'], name=op.f('fk_file_chunks_file_id_files'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('file_id', 'n', name=op.f('pk_file_chunks')),
    )
    # The chunks are already compressed or small: TOAST compression would only cost CPU on every read.
    op.execute("ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL")
    op.add_column('chat_messages', sa.Column('attachments', postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column('chat_messages', 'attachments')
    op.drop_table('file_chunks')
    op.drop_index('ix_files_lesson_id', table_name='files')
    op.drop_index('ix_files_news_id', table_name='files')
    op.drop_index('ix_files_message', table_name='files')
    op.drop_index('ix_files_owner_id', table_name='files')
    op.drop_index('ix_files_school_id', table_name='files')
    op.drop_table('files')
