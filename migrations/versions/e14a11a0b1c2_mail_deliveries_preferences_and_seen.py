"""email: deliveries, preferences, and what each person has seen

A row per email decided (confirmation, cancellation, digest, password reset)
with its Message-ID, attempts, lease and outcome; a switch per person, channel
and topic that was turned off; and on each user the highest seq they were
shown and the highest the email planner decided about. Existing users start
with both at their last seq, so that nothing from before is emailed. And on
each notification whether it was pushed, for the outbox relay.

Revision ID: e14a11a0b1c2
Revises: c13a5e55a9e1
Create Date: 2026-12-01 12:40:00.000000
"""
from alembic import op
import sqlalchemy as sa

import shop.models.types  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'e14a11a0b1c2'
down_revision = 'c13a5e55a9e1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mail_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('message_id', sa.String(length=100), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', shop.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', shop.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_mail_deliveries_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mail_deliveries_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_deliveries')),
    sa.UniqueConstraint('message_id', name=op.f('uq_mail_deliveries_message_id'))
    )
    with op.batch_alter_table('mail_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_mail_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_deliveries_user_id'), ['user_id'], unique=False)

    op.create_table('notification_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('topic', sa.String(length=30), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'channel', 'topic', name=op.f('pk_notification_preferences'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seen_seq', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('mailed_seq', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE users SET seen_seq = last_seq, mailed_seq = last_seq")
    # The outbox relay: what is there already counts as pushed (no one is waiting for it).
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pushed', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('pushed', server_default=None)
        batch_op.create_index('ix_notifications_unpushed', ['pushed', 'created_at'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('seen_seq', server_default=None)
        batch_op.alter_column('mailed_seq', server_default=None)


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_unpushed')
        batch_op.drop_column('pushed')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('mailed_seq')
        batch_op.drop_column('seen_seq')
    op.drop_table('notification_preferences')
    with op.batch_alter_table('mail_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_deliveries_user_id'))
        batch_op.drop_index('ix_mail_deliveries_due')
    op.drop_table('mail_deliveries')
