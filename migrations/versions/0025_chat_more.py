"""Chat replies: a message may quote an earlier message of its channel (chat_messages.reply_to); how a report was
resolved from the moderators' inbox (chat_reports.resolution)

Revision ID: 0025_chat_more
Revises: 0022_handin
Create Date: 2026-12-06 07:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025_chat_more'
down_revision = '0022_handin'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('chat_messages', sa.Column('reply_to', sa.BigInteger(), nullable=True))
    # Same channel by construction: the key is (channel, reply_to). Messages are only ever soft-deleted, so the
    # quoted row stays; a channel deleted as a whole takes its replies with it in the same statement.
    op.create_foreign_key('fk_chat_messages_reply_to', 'chat_messages', 'chat_messages',
                          ['channel', 'reply_to'], ['channel', 'id'])
    op.add_column('chat_reports', sa.Column('resolution', sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column('chat_reports', 'resolution')
    op.drop_constraint('fk_chat_messages_reply_to', 'chat_messages', type_='foreignkey')
    op.drop_column('chat_messages', 'reply_to')
