"""Web push: subscriptions per browser, the shared VAPID key, the `pushed_at` marker of notification rows, and
role defaults with the push channel (bit 8)

Revision ID: 0020_push
Revises: 0017_chat_rooms
Create Date: 2026-12-06 07:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020_push'
down_revision = '0017_chat_rooms'
branch_labels = None
depends_on = None

KINDS = ('grade', 'grade_changed', 'grade_deleted', 'homework', 'attendance', 'news', 'message', 'reminder',
         'absence_note', 'lesson_changed', 'final_mark', 'moderation', 'mention')
OLD_KINDS = KINDS[:11]  # 0016's table; the others fell to its fallback (3)
LIVE, EMAIL, DIGEST, PUSH = 1, 2, 4, 8
# Students and parents: what they act on today (a grade, an absence, tomorrow's homework, a changed lesson, a
# message to them, a reminder to confirm) also by push; parents news too (the school's announcements reach
# families). Staff: what is addressed to them personally. Push takes effect only once a browser subscribed.
FAMILY_PUSH = ('grade', 'grade_changed', 'homework', 'attendance', 'final_mark', 'lesson_changed', 'message',
               'reminder', 'mention')
STAFF_PUSH = ('message', 'absence_note', 'reminder', 'mention')


def _table(push: bool) -> dict[str, dict[str, int]]:
    family = dict.fromkeys(KINDS, LIVE | EMAIL)
    staff = {**dict.fromkeys(KINDS, LIVE), 'message': LIVE | EMAIL, 'absence_note': LIVE | EMAIL,
             'reminder': LIVE | EMAIL, 'news': LIVE | DIGEST, 'mention': LIVE | EMAIL, 'moderation': LIVE | EMAIL}
    student, parent = dict(family), dict(family)
    if push:
        for kind in FAMILY_PUSH:
            student[kind] |= PUSH
            parent[kind] |= PUSH
        parent['news'] |= PUSH
        for kind in STAFF_PUSH:
            staff[kind] |= PUSH
    table = {'student': student, 'parent': parent, 'teacher': staff, 'admin': dict(staff)}
    if not push:
        table = {role: {k: m for k, m in kinds.items() if k in OLD_KINDS} for role, kinds in table.items()}
    return table


def _defaults_function(push: bool) -> str:
    values = ", ".join(f"('{role}', '{kind}', {mask})" for role, kinds in _table(push).items()
                       for kind, mask in kinds.items())
    return (
        "CREATE OR REPLACE FUNCTION notification_default(role text, kind text) RETURNS integer LANGUAGE sql "
        f"IMMUTABLE AS $$ SELECT coalesce((SELECT d.mask FROM (VALUES {values}) AS d(role, kind, mask) "
        "WHERE d.role = $1 AND d.kind = $2), 3) $$"
    )


def upgrade() -> None:
    op.execute(_defaults_function(push=True))
    op.create_table(
        'push_subscriptions',
        sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('endpoint', sa.String(length=1024), nullable=False),
        sa.Column('p256dh', sa.String(length=100), nullable=False),
        sa.Column('auth', sa.String(length=40), nullable=False),
        sa.Column('user_agent', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_subscriptions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscriptions')),
        sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscriptions_endpoint')),
    )
    op.create_index(op.f('ix_push_subscriptions_user_id'), 'push_subscriptions', ['user_id'], unique=False)
    op.create_table(
        'vapid_keys',
        sa.Column('id', sa.SmallInteger(), nullable=False),
        sa.Column('private_key', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_vapid_keys_single')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_vapid_keys')),
    )
    op.add_column('notifications', sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=True))
    # Rows written before push existed are not pushed afterwards.
    op.create_index('ix_notifications_push', 'notifications', ['user_id', 'id'], unique=False,
                    postgresql_where=sa.text('pushed_at IS NULL AND read_at IS NULL AND channels & 8 <> 0'))


def downgrade() -> None:
    op.drop_index('ix_notifications_push', table_name='notifications')
    op.drop_column('notifications', 'pushed_at')
    op.drop_table('vapid_keys')
    op.drop_index(op.f('ix_push_subscriptions_user_id'), table_name='push_subscriptions')
    op.drop_table('push_subscriptions')
    op.execute("UPDATE notifications SET channels = channels & 7 WHERE channels & 8 <> 0")
    op.execute(_defaults_function(push=False))
