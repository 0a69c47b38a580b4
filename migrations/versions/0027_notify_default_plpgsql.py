"""notification_default() in PL/pgSQL: the channels trigger called the SQL function once per inserted row, and
PostgreSQL plans a non-inlined SQL function's query again on every call; PL/pgSQL keeps its plan for the session.
An announcement to 4,000 parents inserted its rows in 0.70-0.86 s, 0.18-0.23 s after (the same INSERT without
the trigger: 0.07 s). The defaults are not restated here: the function's current query is kept, only its language
changes, so 0022's table stays the one source. A later migration that changes the defaults must write PL/pgSQL.

Revision ID: 0027_notify_default_plpgsql
Revises: 0026_note_files
Create Date: 2026-12-06 10:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0027_notify_default_plpgsql'
down_revision = '0026_note_files'
branch_labels = None
depends_on = None

SIGNATURE = "notification_default(role text, kind text) RETURNS integer"


def _query() -> str:
    """The current function's `SELECT coalesce((SELECT d.mask FROM (VALUES ...) ... WHERE d.role = $1 AND d.kind
    = $2), 3)`, whichever language it is written in now."""
    body = str(op.get_bind().execute(sa.text(
        "SELECT prosrc FROM pg_proc WHERE proname = 'notification_default'")).scalar_one()).strip()
    if body.startswith("BEGIN RETURN "):
        return "SELECT " + body.removeprefix("BEGIN RETURN ").removesuffix("; END").strip()
    assert body.startswith("SELECT coalesce("), body[:80]
    return body


def upgrade() -> None:
    expression = _query().removeprefix("SELECT ")
    # Parameters by name in PL/pgSQL; qualified, since the VALUES list has columns called role and kind too.
    expression = expression.replace("$1", "notification_default.role").replace("$2", "notification_default.kind")
    op.execute(f"CREATE OR REPLACE FUNCTION {SIGNATURE} LANGUAGE plpgsql IMMUTABLE AS $$ "
               f"BEGIN RETURN {expression}; END $$")


def downgrade() -> None:
    query = _query().replace("notification_default.role", "$1").replace("notification_default.kind", "$2")
    op.execute(f"CREATE OR REPLACE FUNCTION {SIGNATURE} LANGUAGE sql IMMUTABLE AS $$ {query} $$")
