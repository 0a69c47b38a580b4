"""The rows about one chat message, `chat_message` and `mention` alike, found by (channel, message_id): an edit
rewrites their quoted text and a deletion removes them (services/chat_notify.py), so no digest, push or feed
quotes words the author changed or a moderator removed. Replaces 0028's index of `chat_message` rows only; built
CONCURRENTLY so notifications keep being written meanwhile.

Revision ID: 0031_message_rows_index
Revises: 0030_chat_search_dates
Create Date: 2026-12-06 13:40:00
"""

from __future__ import annotations

from alembic import op

revision = '0031_message_rows_index'
down_revision = '0030_chat_search_dates'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_notifications_about_message ON notifications "
                   "((payload ->> 'channel'), ((payload ->> 'message_id')::bigint)) "
                   "WHERE kind IN ('chat_message', 'mention')")
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_notifications_chat_message")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_notifications_chat_message ON notifications "
                   "((payload ->> 'channel'), ((payload ->> 'message_id')::bigint)) WHERE kind = 'chat_message'")
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_notifications_about_message")
