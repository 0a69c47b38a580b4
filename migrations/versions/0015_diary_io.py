"""Calendar feeds (a hashed secret per user) and public news (news.is_public)

Revision ID: 0015_diary_io
Revises: 0014_invitations
Create Date: 2026-12-06 01:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015_diary_io'
down_revision = '0014_invitations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calendar_feeds',
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_calendar_feeds')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash')),
    )
    op.add_column('news', sa.Column('is_public', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.create_check_constraint(op.f('ck_news_public_school_audience'), 'news',
                               "NOT is_public OR audience = 'school'")
    op.create_index('ix_news_public', 'news', ['school_id', 'published_at'], unique=False,
                    postgresql_where=sa.text('is_public'))


def downgrade() -> None:
    op.drop_index('ix_news_public', table_name='news', postgresql_where=sa.text('is_public'))
    op.drop_constraint(op.f('ck_news_public_school_audience'), 'news', type_='check')
    op.drop_column('news', 'is_public')
    op.drop_table('calendar_feeds')
