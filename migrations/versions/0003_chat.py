"""chat: channels with per-channel message counters, messages, read markers

Revision ID: 0003_chat
Revises: 0001
Create Date: 2026-11-27 00:15:12.570368
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_chat'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chat_channels',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_message_id', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_chat_channels'))
    )
    op.create_table('chat_messages',
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('sender_id', sa.BigInteger(), nullable=False),
    sa.Column('client_msg_id', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['channel'], ['chat_channels.name'], name=op.f('fk_chat_messages_channel_chat_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['deleted_by'], ['users.id'], name=op.f('fk_chat_messages_deleted_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sender_id'], ['users.id'], name=op.f('fk_chat_messages_sender_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('channel', 'id', name=op.f('pk_chat_messages')),
    sa.UniqueConstraint('sender_id', 'client_msg_id', name='uq_chat_messages_sender_client_msg')
    )
    op.create_index('ix_chat_messages_sender_id', 'chat_messages', ['sender_id'], unique=False)
    op.create_table('chat_read_markers',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('last_read_id', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['channel'], ['chat_channels.name'], name=op.f('fk_chat_read_markers_channel_chat_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_read_markers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'channel', name=op.f('pk_chat_read_markers'))
    )


def downgrade() -> None:
    op.drop_table('chat_read_markers')
    op.drop_index('ix_chat_messages_sender_id', table_name='chat_messages')
    op.drop_table('chat_messages')
    op.drop_table('chat_channels')
