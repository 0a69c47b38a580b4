"""The chat search index without GIN's pending list (fastupdate off): with it, an insert now and then merges the
pending list into the index inside the chat send's transaction, a stall of tens of milliseconds (61-74 ms in a
test of 30,000 inserts against 8 ms without) for the whole group-committed batch and the sends queued behind it;
the realtime benchmark's p99 at 500 msg/s rose from 17-19 ms to 81-793 ms after the index came. Without the list
every insert updates the index at once: steady, a little more work per message.

Revision ID: 0029_chat_search_fastupdate_off
Revises: 0028_ack_chat_kinds
Create Date: 2026-12-06 11:55:00
"""
from __future__ import annotations

from alembic import op

revision = '0029_chat_search_fastupdate_off'
down_revision = '0028_ack_chat_kinds'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER INDEX ix_chat_messages_search SET (fastupdate = off)")
    # What is already pending goes into the index now, not at some later insert's expense.
    op.execute("SELECT gin_clean_pending_list('ix_chat_messages_search'::regclass)")


def downgrade() -> None:
    op.execute("ALTER INDEX ix_chat_messages_search RESET (fastupdate)")
