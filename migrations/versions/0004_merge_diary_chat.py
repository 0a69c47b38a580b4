"""merge the diary and chat branches into one head

Revision ID: 0004_merge
Revises: 0002_diary, 0003_chat
Create Date: 2026-11-27 03:40:00

The diary (0002) and chat (0003) schemas were written in parallel on top of the foundation. This empty merge
gives the history one head again, so the plain `alembic upgrade head` works; databases already at both heads
move onto it without any change to their tables.
"""
from __future__ import annotations

revision = '0004_merge'
down_revision = ('0002_diary', '0003_chat')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
