"""order conversation: messages and each side's read state

A thread per order between its owner and the shop: the messages (one per
author and client id) and, per order, the last message of each side and how
far each side has read.

Revision ID: c13a5e55a9e1
Revises: f19a0b1c2d3e
Create Date: 2026-12-01 12:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import shop.models.types  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'c13a5e55a9e1'
down_revision = 'f19a0b1c2d3e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('order_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('is_shop', sa.Boolean(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('author_id', 'client_id', name='uq_order_messages_author_client')
    )
    op.create_index('ix_order_messages_order_id_id', 'order_messages', ['order_id', 'id'], unique=False)
    op.create_index('ix_order_messages_author_created', 'order_messages', ['author_id', 'created_at'], unique=False)
    op.create_table('order_threads',
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('last_customer_message_id', sa.Integer(), nullable=False),
    sa.Column('last_shop_message_id', sa.Integer(), nullable=False),
    sa.Column('customer_last_read', sa.Integer(), nullable=False),
    sa.Column('shop_last_read', sa.Integer(), nullable=False),
    sa.Column('last_message_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id')
    )
    op.create_index(op.f('ix_order_threads_last_message_at'), 'order_threads', ['last_message_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_order_threads_last_message_at'), table_name='order_threads')
    op.drop_table('order_threads')
    op.drop_index('ix_order_messages_author_created', table_name='order_messages')
    op.drop_index('ix_order_messages_order_id_id', table_name='order_messages')
    op.drop_table('order_messages')
