"""refresh_tokens.revoked_at indexed: every API node reads the login sessions ended within an access-token lifetime

Revision ID: 0007_refresh_revoked_at
Revises: 0006_access_valid_after
Create Date: 2026-12-06 00:15:00
"""
from __future__ import annotations

from alembic import op

revision = '0007_refresh_revoked_at'
down_revision = '0006_access_valid_after'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A logout or a detected reuse ends one login (a family); the access tokens of that login are refused on every
    # node, which reads the families ended in the last token lifetime: a short range of this index.
    op.create_index(op.f('ix_refresh_tokens_revoked_at'), 'refresh_tokens', ['revoked_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_refresh_tokens_revoked_at'), table_name='refresh_tokens')
