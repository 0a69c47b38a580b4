"""Chat search reads the newest matches of many chats in date windows: a btree on (channel, created_at) bounds a
window's messages in the caller's chats before the heap is read (edutrack/queries/chat_search.py,
docs/benchmarks.md). Built CONCURRENTLY: on an existing database chat_messages keeps taking messages meanwhile.

Revision ID: 0030_chat_search_dates
Revises: 0029_chat_search_fastupdate_off
Create Date: 2026-12-06 12:05:00
"""

from __future__ import annotations

from alembic import op

revision = '0030_chat_search_dates'
down_revision = '0029_chat_search_fastupdate_off'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index('ix_chat_messages_channel_created_at', 'chat_messages', ['channel', 'created_at'],
                        postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index('ix_chat_messages_channel_created_at', table_name='chat_messages',
                      postgresql_concurrently=True, if_exists=True)
