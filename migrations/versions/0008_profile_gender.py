"""profiles.gender: the grammatical gender of a person's name (male, female, or null: inferred from the name)

Revision ID: 0008_profile_gender
Revises: 0007_refresh_revoked_at
Create Date: 2026-12-06 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_profile_gender'
down_revision = '0007_refresh_revoked_at'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('profiles', sa.Column('gender', sa.String(length=6), nullable=True))
    op.create_check_constraint(op.f('ck_profiles_gender'), 'profiles', "gender IN ('male', 'female')")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_profiles_gender'), 'profiles', type_='check')
    op.drop_column('profiles', 'gender')
