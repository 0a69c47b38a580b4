"""A moved lesson remembers the time it was planned for (lessons.moved_from)

Revision ID: 0023_diary_more
Revises: 0024_acks_more
Create Date: 2026-12-06 07:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023_diary_more'
down_revision = '0024_acks_more'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('lessons', sa.Column('moved_from', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('lessons', 'moved_from')
