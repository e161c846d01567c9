"""web push: subscriptions, the pushes decided for them, and what was decided

A row per browser that turned push on (its endpoint and keys, tied to its login
session), a row per push decided for one of them with its topic, attempts,
lease and outcome, and on each user the highest seq the push planner decided
about. Existing users start at their last seq, so that nothing from before is
pushed.

Revision ID: f15b0c1d2e3f
Revises: a17c0d1e2f3a
Create Date: 2026-12-01 15:50:00.000000
"""
from alembic import op
import sqlalchemy as sa

import shop.models.types  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'f15b0c1d2e3f'
down_revision = 'a17c0d1e2f3a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('push_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('login_token', sa.String(length=64), nullable=False),
    sa.Column('endpoint', sa.String(length=1000), nullable=False),
    sa.Column('p256dh', sa.String(length=100), nullable=False),
    sa.Column('auth', sa.String(length=50), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('device', sa.String(length=80), nullable=False),
    sa.Column('created_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_success_at', shop.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['login_token'], ['login_sessions.token'], name=op.f('fk_push_subscriptions_login_token_login_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscriptions')),
    sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscriptions_endpoint'))
    )
    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_subscriptions_login_token'), ['login_token'], unique=False)
        batch_op.create_index(batch_op.f('ix_push_subscriptions_user_id'), ['user_id'], unique=False)

    op.create_table('push_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=32), nullable=False),
    sa.Column('urgency', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', shop.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', shop.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('shown_at', shop.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_push_messages_notification_id_notifications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['push_subscriptions.id'], name=op.f('fk_push_messages_subscription_id_push_subscriptions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_messages_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_messages'))
    )
    with op.batch_alter_table('push_messages', schema=None) as batch_op:
        batch_op.create_index('ix_push_messages_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_push_messages_topic', ['subscription_id', 'topic'], unique=False)
        batch_op.create_index(batch_op.f('ix_push_messages_notification_id'), ['notification_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_push_messages_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pushed_seq', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE users SET pushed_seq = last_seq")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('pushed_seq', server_default=None)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('pushed_seq')
    with op.batch_alter_table('push_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_messages_user_id'))
        batch_op.drop_index(batch_op.f('ix_push_messages_notification_id'))
        batch_op.drop_index('ix_push_messages_topic')
        batch_op.drop_index('ix_push_messages_due')
    op.drop_table('push_messages')
    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_subscriptions_user_id'))
        batch_op.drop_index(batch_op.f('ix_push_subscriptions_login_token'))
    op.drop_table('push_subscriptions')
