"""Two notification kinds of their own: `ack_request` (someone asks you to confirm a news item or an announcement;
these were `news` rows) and `chat_message` (a message in a chat room you belong to). Their role defaults, and the
channel rule moved from the trigger into `notification_mask(user, kind, channel)`, so the chat's send can ask the
same rule which members want a row before writing one (the trigger calls it for every other insert).

Defaults: `ack_request` the same as `news` for each role (parents live + email + push); `chat_message` parents
digest only, everyone else off (they read the chat itself). The defaults table is the one in the function now
(0022's, kept by 0027), extended, not restated; PL/pgSQL, as 0027 requires.

Revision ID: 0028_ack_chat_kinds
Revises: 0027_notify_default_plpgsql
Create Date: 2026-12-06 11:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0028_ack_chat_kinds'
down_revision = '0027_notify_default_plpgsql'
branch_labels = None
depends_on = None

SIGNATURE = "notification_default(role text, kind text) RETURNS integer"
ROLES = ('student', 'parent', 'teacher', 'admin')
DIGEST = 4
CHAT_MESSAGE = {'student': 0, 'parent': DIGEST, 'teacher': 0, 'admin': 0}
NEW_KINDS = ('ack_request', 'chat_message')

# The rule of 0016's trigger, unchanged but for the mute, which now covers room messages too.
MASK_FUNCTION = """
CREATE OR REPLACE FUNCTION notification_mask(uid bigint, kind text, chat text) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    mask integer;
    chosen jsonb;
    mode text;
BEGIN
    SELECT p.email_notifications, s.kinds -> notification_mask.kind, notification_default(u.role, notification_mask.kind)
      INTO mode, chosen, mask
      FROM users u
      LEFT JOIN profiles p ON p.user_id = u.id
      LEFT JOIN notification_settings s ON s.user_id = u.id
     WHERE u.id = uid;
    IF jsonb_typeof(chosen) = 'number' THEN
        mask := chosen::integer;
    ELSE
        mask := coalesce(mask, 3);  -- not a user (cannot happen: the foreign key)
        IF mode = 'daily' AND mask & 2 <> 0 THEN
            mask := (mask & ~2) | 4;
        END IF;
    END IF;
    IF mode = 'off' THEN
        mask := mask & ~6;
    END IF;
    IF mask <> 0 AND notification_mask.kind IN ('message', 'chat_message') AND EXISTS (
        SELECT 1 FROM chat_mutes m
         WHERE m.user_id = uid AND m.channel = chat AND (m.until IS NULL OR m.until > now())
    ) THEN
        mask := 0;
    END IF;
    RETURN mask;
END $$
"""
CHANNELS_FUNCTION = """
CREATE OR REPLACE FUNCTION notification_channels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.channels IS NULL THEN
        NEW.channels := notification_mask(NEW.user_id, NEW.kind, NEW.payload ->> 'channel');
    END IF;
    RETURN NEW;
END $$
"""
OLD_CHANNELS_FUNCTION = """
CREATE OR REPLACE FUNCTION notification_channels() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    mask integer;
    chosen jsonb;
    mode text;
BEGIN
    IF NEW.channels IS NOT NULL THEN
        RETURN NEW;
    END IF;
    SELECT p.email_notifications, s.kinds -> NEW.kind, notification_default(u.role, NEW.kind)
      INTO mode, chosen, mask
      FROM users u
      LEFT JOIN profiles p ON p.user_id = u.id
      LEFT JOIN notification_settings s ON s.user_id = u.id
     WHERE u.id = NEW.user_id;
    IF jsonb_typeof(chosen) = 'number' THEN
        mask := chosen::integer;
    ELSE
        mask := coalesce(mask, 3);
        IF mode = 'daily' AND mask & 2 <> 0 THEN
            mask := (mask & ~2) | 4;
        END IF;
    END IF;
    IF mode = 'off' THEN
        mask := mask & ~6;
    END IF;
    IF NEW.kind = 'message' AND EXISTS (
        SELECT 1 FROM chat_mutes m
         WHERE m.user_id = NEW.user_id AND m.channel = NEW.payload ->> 'channel'
           AND (m.until IS NULL OR m.until > now())
    ) THEN
        mask := 0;
    END IF;
    NEW.channels := mask;
    RETURN NEW;
END $$
"""


def _body() -> str:
    """The function's `BEGIN RETURN coalesce((SELECT d.mask FROM (VALUES ...) ...), 3); END` (0027)."""
    body = str(op.get_bind().execute(sa.text(
        "SELECT prosrc FROM pg_proc WHERE proname = 'notification_default'")).scalar_one()).strip()
    assert body.startswith("BEGIN RETURN coalesce((SELECT d.mask FROM (VALUES "), body[:80]
    return body


def _replace(body: str) -> None:
    op.execute(f"CREATE OR REPLACE FUNCTION {SIGNATURE} LANGUAGE plpgsql IMMUTABLE AS $$ {body} $$")


def upgrade() -> None:
    bind = op.get_bind()
    news = {role: int(bind.execute(sa.text("SELECT notification_default(:role, 'news')"), {"role": role})
                      .scalar_one()) for role in ROLES}
    added = [f"('{role}', 'ack_request', {news[role]})" for role in ROLES]
    added += [f"('{role}', 'chat_message', {CHAT_MESSAGE[role]})" for role in ROLES]
    _replace(_body().replace("(VALUES ", "(VALUES " + ", ".join(added) + ", ", 1))
    op.execute(MASK_FUNCTION)
    op.execute(CHANNELS_FUNCTION)
    # Every read marker of every user looks for its unread room rows; most have none.
    op.create_index('ix_notifications_chat_unread', 'notifications', ['user_id', 'id'], unique=False,
                    postgresql_where=sa.text("kind = 'chat_message' AND read_at IS NULL"))
    # A deleted message takes its rows with it: found by the message, whoever they are for.
    op.execute("CREATE INDEX ix_notifications_chat_message ON notifications "
               "((payload ->> 'channel'), ((payload ->> 'message_id')::bigint)) WHERE kind = 'chat_message'")
    # Rows written before this revision keep their kind: a confirmation asked by a `news` row is still recognised
    # by its payload (`ack: true`) everywhere, so no row is rewritten.


def downgrade() -> None:
    op.execute("DROP INDEX ix_notifications_chat_message")
    op.drop_index('ix_notifications_chat_unread', table_name='notifications')
    op.execute(OLD_CHANNELS_FUNCTION)
    op.execute("DROP FUNCTION notification_mask(bigint, text, text)")
    body = _body()
    for kind in NEW_KINDS:
        for role in ROLES:
            body = _strip(body, role, kind)
    _replace(body)


def _strip(body: str, role: str, kind: str) -> str:
    start = body.index(f"('{role}', '{kind}', ")
    end = body.index("), ", start) + 3
    return body[:start] + body[end:]
