"""Notification preferences: channels per kind (role defaults, the user's choice), quiet hours, the daily digest
time, chat mutes; every notification row stamped with the channels that consume it

Revision ID: 0016_notify
Revises: 0019_diary_ops
Create Date: 2026-12-06 03:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0016_notify'
down_revision = '0019_diary_ops'
branch_labels = None
depends_on = None

KINDS = ('grade', 'grade_changed', 'grade_deleted', 'homework', 'attendance', 'news', 'message', 'reminder',
         'absence_note', 'lesson_changed', 'final_mark')
# live 1, email 2, digest 4. Students and parents: everything live and by email, as before this revision.
# Staff: private messages, absence notes and reminders by email, news in the daily digest, the rest live only.
STAFF = {**dict.fromkeys(KINDS, 1), 'message': 3, 'absence_note': 3, 'reminder': 3, 'news': 5}
DEFAULTS = {
    'student': dict.fromkeys(KINDS, 3),
    'parent': dict.fromkeys(KINDS, 3),
    'teacher': STAFF,
    'admin': STAFF,
}

# The one place a row's channels are decided: the kind's choice or the role's default; the master email switch
# ('off': no email; 'daily': the kinds without a choice of their own go to the digest instead of email); a
# muted chat's messages reach no channel.
CHANNELS_FUNCTION = """
CREATE FUNCTION notification_channels() RETURNS trigger LANGUAGE plpgsql AS $$
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
        mask := coalesce(mask, 3);  -- not a user (cannot happen: the foreign key)
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
END $$;
"""


def _defaults_function() -> str:
    values = ", ".join(f"('{role}', '{kind}', {mask})" for role, kinds in DEFAULTS.items()
                       for kind, mask in kinds.items())
    return (
        "CREATE FUNCTION notification_default(role text, kind text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ "
        f"SELECT coalesce((SELECT d.mask FROM (VALUES {values}) AS d(role, kind, mask) "
        "WHERE d.role = $1 AND d.kind = $2), 3) $$"
    )


def upgrade() -> None:
    # The roles' defaults are a function, not a table: the one source for the trigger and the API.
    op.execute(_defaults_function())
    op.create_table(
        'notification_settings',
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('kinds', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"),
                  nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=True),
        sa.Column('quiet_start', sa.Time(), nullable=True),
        sa.Column('quiet_end', sa.Time(), nullable=True),
        sa.Column('quiet_weekends', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('digest_time', sa.Time(), server_default=sa.text("'19:00'"), nullable=False),
        sa.Column('digest_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint('(quiet_start IS NULL) = (quiet_end IS NULL)',
                           name=op.f('ck_notification_settings_quiet_both')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_settings_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_settings')),
    )
    op.create_table(
        'chat_mutes',
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('until', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_mutes_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'channel', name=op.f('pk_chat_mutes')),
    )
    # Rows written before this revision went to live and email, as the old code did; nothing re-routes them.
    op.add_column('notifications', sa.Column('channels', sa.SmallInteger(), nullable=True))
    op.execute("UPDATE notifications SET channels = 3")
    op.alter_column('notifications', 'channels', nullable=False)
    op.drop_index('ix_notifications_digest', table_name='notifications')
    op.create_index('ix_notifications_digest', 'notifications', ['user_id', 'created_at'], unique=False,
                    postgresql_where=sa.text('read_at IS NULL AND emailed_at IS NULL AND channels & 6 <> 0'))
    op.add_column('email_outbox', sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('news', sa.Column('urgent', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('news', sa.Column('ack_roles', postgresql.ARRAY(sa.String(length=8)), server_default=sa.text("'{}'"),
                                    nullable=False))
    op.add_column('news', sa.Column('ack_each_parent', sa.Boolean(), server_default=sa.text('false'),
                                    nullable=False))
    op.add_column('news', sa.Column('ack_reminded_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'news_acks',
        sa.Column('news_id', sa.BigInteger(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('via', sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(['news_id'], ['news.id'], name=op.f('fk_news_acks_news_id_news'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_news_acks_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('news_id', 'user_id', name=op.f('pk_news_acks')),
    )
    op.create_index(op.f('ix_news_acks_user_id'), 'news_acks', ['user_id'], unique=False)
    op.execute(CHANNELS_FUNCTION)
    op.execute("CREATE TRIGGER notifications_channels BEFORE INSERT ON notifications "
               "FOR EACH ROW EXECUTE FUNCTION notification_channels()")


def downgrade() -> None:
    op.execute("DROP TRIGGER notifications_channels ON notifications")
    op.execute("DROP FUNCTION notification_channels()")
    op.drop_index(op.f('ix_news_acks_user_id'), table_name='news_acks')
    op.drop_table('news_acks')
    op.drop_column('news', 'ack_reminded_at')
    op.drop_column('news', 'ack_each_parent')
    op.drop_column('news', 'ack_roles')
    op.drop_column('news', 'urgent')
    op.drop_column('email_outbox', 'headers')
    op.drop_index('ix_notifications_digest', table_name='notifications')
    op.drop_column('notifications', 'channels')
    op.create_index('ix_notifications_digest', 'notifications', ['user_id', 'created_at'], unique=False,
                    postgresql_where=sa.text('read_at IS NULL AND emailed_at IS NULL'))
    op.drop_table('chat_mutes')
    op.drop_table('notification_settings')
    op.execute("DROP FUNCTION notification_default(text, text)")
