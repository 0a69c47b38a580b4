"""email_outbox.dedupe_key: an explicit send asked twice emails nobody twice

Revision ID: 0005_outbox_dedupe
Revises: 0004_merge
Create Date: 2026-11-27 04:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_outbox_dedupe'
down_revision = '0004_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('email_outbox', sa.Column('dedupe_key', sa.String(length=200), nullable=True))
    op.create_unique_constraint(op.f('uq_email_outbox_dedupe_key'), 'email_outbox', ['dedupe_key'])


def downgrade() -> None:
    op.drop_constraint(op.f('uq_email_outbox_dedupe_key'), 'email_outbox', type_='unique')
    op.drop_column('email_outbox', 'dedupe_key')
