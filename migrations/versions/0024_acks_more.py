"""Acknowledgement of chat announcements, diary weeks marked seen by parents, and when each parent or student
last opened a child's diary

Revision ID: 0024_acks_more
Revises: 0025_chat_more
Create Date: 2026-12-06 07:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024_acks_more'
down_revision = '0025_chat_more'
branch_labels = None
depends_on = None


def _now() -> sa.TextClause:
    return sa.text('now()')


def upgrade() -> None:
    op.create_table(
        'chat_ack_requests',
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('author_id', sa.BigInteger(), nullable=False),
        sa.Column('ack_roles', sa.ARRAY(sa.String(length=8)), nullable=False),
        sa.Column('ack_each_parent', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_chat_ack_requests_author_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['channel', 'message_id'], ['chat_messages.channel', 'chat_messages.id'],
                                name=op.f('fk_chat_ack_requests_channel_chat_messages'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('channel', 'message_id', name=op.f('pk_chat_ack_requests')),
    )
    op.create_index(op.f('ix_chat_ack_requests_author_id'), 'chat_ack_requests', ['author_id'])
    op.create_table(
        'chat_acks',
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column('via', sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(['channel', 'message_id'], ['chat_ack_requests.channel',
                                                            'chat_ack_requests.message_id'],
                                name=op.f('fk_chat_acks_channel_chat_ack_requests'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_acks_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('channel', 'message_id', 'user_id', name=op.f('pk_chat_acks')),
    )
    op.create_index(op.f('ix_chat_acks_user_id'), 'chat_acks', ['user_id'])
    op.create_table(
        'diary_week_seen',
        sa.Column('parent_id', sa.BigInteger(), nullable=False),
        sa.Column('child_id', sa.BigInteger(), nullable=False),
        sa.Column('week_start', sa.Date(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(['parent_id'], ['users.id'], name=op.f('fk_diary_week_seen_parent_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['child_id'], ['users.id'], name=op.f('fk_diary_week_seen_child_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('parent_id', 'child_id', 'week_start', name=op.f('pk_diary_week_seen')),
    )
    op.create_index(op.f('ix_diary_week_seen_child_id'), 'diary_week_seen', ['child_id'])
    op.create_table(
        'diary_opens',
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('child_id', sa.BigInteger(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_diary_opens_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['child_id'], ['users.id'], name=op.f('fk_diary_opens_child_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'child_id', name=op.f('pk_diary_opens')),
    )
    op.create_index(op.f('ix_diary_opens_child_id'), 'diary_opens', ['child_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_diary_opens_child_id'), table_name='diary_opens')
    op.drop_table('diary_opens')
    op.drop_index(op.f('ix_diary_week_seen_child_id'), table_name='diary_week_seen')
    op.drop_table('diary_week_seen')
    op.drop_index(op.f('ix_chat_acks_user_id'), table_name='chat_acks')
    op.drop_table('chat_acks')
    op.drop_index(op.f('ix_chat_ack_requests_author_id'), table_name='chat_ack_requests')
    op.drop_table('chat_ack_requests')
