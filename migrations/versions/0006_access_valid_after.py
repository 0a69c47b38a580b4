"""users.access_valid_after: access tokens issued before it are refused (deactivation, role change, logout)

Revision ID: 0006_access_valid_after
Revises: 0005_outbox_dedupe
Create Date: 2026-11-27 07:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_access_valid_after'
down_revision = '0005_outbox_dedupe'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('access_valid_after', sa.DateTime(timezone=True), nullable=True))
    # A node starting up reads the cut-offs of the last access-token lifetime: a short range of this index.
    op.create_index(op.f('ix_users_access_valid_after'), 'users', ['access_valid_after'])


def downgrade() -> None:
    op.drop_index(op.f('ix_users_access_valid_after'), table_name='users')
    op.drop_column('users', 'access_valid_after')
