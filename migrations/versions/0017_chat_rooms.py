"""Chat rooms: groups and their members, the schools' private-chat policy, moderation (mutes, slow mode,
reports, the moderation log), role labels and full-text search of messages

Revision ID: 0017_chat_rooms
Revises: 0016_notify
Create Date: 2026-12-06 03:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0017_chat_rooms'
down_revision = '0016_notify'
branch_labels = None
depends_on = None


def _now() -> sa.TextClause:
    return sa.text('now()')


def upgrade() -> None:
    op.create_table(
        'chat_groups',
        sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column('school_id', sa.BigInteger(), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('created_by', sa.BigInteger(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_chat_groups_school_id_schools'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_chat_groups_created_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_groups')),
    )
    op.create_index('ix_chat_groups_school_id', 'chat_groups', ['school_id'])
    op.create_table(
        'chat_group_members',
        sa.Column('group_id', sa.BigInteger(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['chat_groups.id'],
                                name=op.f('fk_chat_group_members_group_id_chat_groups'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_group_members_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_chat_group_members')),
    )
    op.create_index('ix_chat_group_members_user_id', 'chat_group_members', ['user_id'])
    op.create_table(
        'school_chat_policies',
        sa.Column('school_id', sa.BigInteger(), nullable=False),
        sa.Column('student_student', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('parent_parent', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'],
                                name=op.f('fk_school_chat_policies_school_id_schools'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('school_id', name=op.f('pk_school_chat_policies')),
    )
    op.create_table(
        'chat_moderation_mutes',
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('muted_by', sa.BigInteger(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_moderation_mutes_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['muted_by'], ['users.id'], name=op.f('fk_chat_moderation_mutes_muted_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('channel', 'user_id', name=op.f('pk_chat_moderation_mutes')),
    )
    op.create_table(
        'chat_channel_settings',
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('slow_mode_seconds', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint('channel', name=op.f('pk_chat_channel_settings')),
    )
    op.create_table(
        'chat_reports',
        sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=False),
        sa.Column('reporter_id', sa.BigInteger(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_by', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_chat_reports_reporter_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['resolved_by'], ['users.id'], name=op.f('fk_chat_reports_resolved_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_reports')),
        sa.UniqueConstraint('channel', 'message_id', 'reporter_id', name=op.f('uq_chat_reports_once')),
    )
    op.create_table(
        'chat_moderation_log',
        sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('actor_id', sa.BigInteger(), nullable=True),
        sa.Column('target_user_id', sa.BigInteger(), nullable=True),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('seconds', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_chat_moderation_log_actor_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['target_user_id'], ['users.id'],
                                name=op.f('fk_chat_moderation_log_target_user_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_moderation_log')),
    )
    op.create_index('ix_chat_moderation_log_channel', 'chat_moderation_log', ['channel', 'id'])
    op.create_table(
        'chat_reactions',
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('reaction', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(['channel', 'message_id'], ['chat_messages.channel', 'chat_messages.id'],
                                name=op.f('fk_chat_reactions_message'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_reactions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('channel', 'message_id', 'user_id', 'reaction', name=op.f('pk_chat_reactions')),
    )
    op.create_table(
        'chat_pins',
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=False),
        sa.Column('pinned_by', sa.BigInteger(), nullable=True),
        sa.Column('pinned_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(['channel', 'message_id'], ['chat_messages.channel', 'chat_messages.id'],
                                name=op.f('fk_chat_pins_message'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['pinned_by'], ['users.id'], name=op.f('fk_chat_pins_pinned_by_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('channel', 'message_id', name=op.f('pk_chat_pins')),
    )
    op.add_column('chat_messages', sa.Column('sender_role', sa.String(length=16), nullable=True))
    op.add_column('chat_messages', sa.Column('delete_reason', sa.Text(), nullable=True))
    op.add_column('chat_messages', sa.Column(
        'search', postgresql.TSVECTOR(),
        sa.Computed("to_tsvector('russian'::regconfig, text)", persisted=True), nullable=True))
    # (channel, search) in one GIN index (btree_gin, a trusted contrib extension since PostgreSQL 13): a search
    # is always limited to the channels its user reads, and the index intersects both conditions itself instead
    # of building a bitmap of every message in the school that has the word (docs/benchmarks.md).
    op.execute('CREATE EXTENSION IF NOT EXISTS btree_gin')
    op.create_index('ix_chat_messages_search', 'chat_messages', ['channel', 'search'], postgresql_using='gin')


def downgrade() -> None:
    op.drop_index('ix_chat_messages_search', table_name='chat_messages', postgresql_using='gin')
    op.drop_column('chat_messages', 'search')
    op.drop_column('chat_messages', 'delete_reason')
    op.drop_column('chat_messages', 'sender_role')
    op.drop_table('chat_pins')
    op.drop_table('chat_reactions')
    op.drop_index('ix_chat_moderation_log_channel', table_name='chat_moderation_log')
    op.drop_table('chat_moderation_log')
    op.drop_table('chat_reports')
    op.drop_table('chat_channel_settings')
    op.drop_table('chat_moderation_mutes')
    op.drop_table('school_chat_policies')
    op.drop_index('ix_chat_group_members_user_id', table_name='chat_group_members')
    op.drop_table('chat_group_members')
    op.drop_index('ix_chat_groups_school_id', table_name='chat_groups')
    op.drop_table('chat_groups')
