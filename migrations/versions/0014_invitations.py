"""password_reset_tokens.purpose: an invitation (an account an administrator created, whose owner sets the first
password through the link) or a reset of a password the owner had

Revision ID: 0014_invitations
Revises: 0008_profile_gender
Create Date: 2026-12-07 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014_invitations'
down_revision = '0008_profile_gender'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('password_reset_tokens', sa.Column('purpose', sa.String(length=10), server_default='reset',
                                                     nullable=False))
    op.create_check_constraint(op.f('ck_password_reset_tokens_purpose'), 'password_reset_tokens',
                               "purpose IN ('reset', 'invite')")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_password_reset_tokens_purpose'), 'password_reset_tokens', type_='check')
    op.drop_column('password_reset_tokens', 'purpose')
