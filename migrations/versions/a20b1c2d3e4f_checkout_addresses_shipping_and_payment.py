"""checkout: addresses, shipping methods, payment status

The address book, shipping methods (with the two a new shop offers), and on
each order what checkout now records: the items and shipping totals beside
the grand total, how it is paid and whether it is, a copy of where and how it
is delivered, and a payment timeline.

Orders from before keep their total as the items' total with no shipping,
count as paid on delivery (what the checkout page said then) and unpaid, get
one payment step for that, and no delivery copy (they had none).

Revision ID: a20b1c2d3e4f
Revises: b16c0d1e2f3a
Create Date: 2026-12-01 10:04:18.262963

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

import shop.models.types  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'a20b1c2d3e4f'
down_revision = 'b16c0d1e2f3a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('shipping_methods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('price_cents', sa.BigInteger(), nullable=False),
    sa.Column('free_from_cents', sa.BigInteger(), nullable=True),
    sa.Column('min_days', sa.Integer(), nullable=False),
    sa.Column('max_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('free_from_cents IS NULL OR free_from_cents >= 0', name=op.f('ck_shipping_methods_free_from_not_negative')),
    sa.CheckConstraint('min_days >= 0 AND max_days >= min_days', name=op.f('ck_shipping_methods_days_in_order')),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_shipping_methods_price_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipping_methods')),
    sa.UniqueConstraint('code', name=op.f('uq_shipping_methods_code'))
    )
    op.create_table('addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('line1', sa.String(length=120), nullable=False),
    sa.Column('line2', sa.String(length=120), nullable=False),
    sa.Column('postcode', sa.String(length=12), nullable=False),
    sa.Column('city', sa.String(length=80), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_addresses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_addresses'))
    )
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_addresses_user_id'), ['user_id'], unique=False)

    op.create_table('order_deliveries',
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('shipping_code', sa.String(length=30), nullable=False),
    sa.Column('shipping_name', sa.String(length=60), nullable=False),
    sa.Column('shipping_min_days', sa.Integer(), nullable=False),
    sa.Column('shipping_max_days', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('line1', sa.String(length=120), nullable=False),
    sa.Column('line2', sa.String(length=120), nullable=False),
    sa.Column('postcode', sa.String(length=12), nullable=False),
    sa.Column('city', sa.String(length=80), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_deliveries_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_order_deliveries'))
    )
    op.create_table('order_payment_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_order_payment_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_payment_events_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_payment_events'))
    )
    with op.batch_alter_table('order_payment_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_payment_events_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('items_cents', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('shipping_cents', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('payment_method', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('payment_status', sa.String(length=20), nullable=True))

    op.execute(
        "UPDATE orders SET items_cents = total_cents, shipping_cents = 0,"
        " payment_method = 'pay_on_delivery', payment_status = 'unpaid'"
    )
    op.execute(
        "INSERT INTO order_payment_events (order_id, from_status, to_status, actor_id, note, created_at)"
        " SELECT id, NULL, 'unpaid', user_id, '', created_at FROM orders ORDER BY id"
    )

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('items_cents', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('shipping_cents', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('payment_method', existing_type=sa.String(length=30), nullable=False)
        batch_op.alter_column('payment_status', existing_type=sa.String(length=20), nullable=False)
        batch_op.create_index('ix_orders_payment_status_created', ['payment_status', 'created_at'], unique=False)
        batch_op.create_check_constraint(
            batch_op.f('ck_orders_total_is_items_and_shipping'), 'total_cents = items_cents + shipping_cents'
        )

    # What a new shop offers (shop/services/shipping.py DEFAULT_METHODS, as of this revision).
    now = datetime.now(timezone.utc)
    methods = sa.table(
        'shipping_methods',
        sa.column('code', sa.String), sa.column('name', sa.String), sa.column('price_cents', sa.BigInteger),
        sa.column('free_from_cents', sa.BigInteger), sa.column('min_days', sa.Integer),
        sa.column('max_days', sa.Integer), sa.column('active', sa.Boolean), sa.column('position', sa.Integer),
        sa.column('created_at', shop.models.types.UTCDateTime(timezone=True)),
        sa.column('updated_at', shop.models.types.UTCDateTime(timezone=True)),
    )
    op.bulk_insert(methods, [
        {'code': 'standard', 'name': 'Standard', 'price_cents': 490, 'free_from_cents': 5000,
         'min_days': 2, 'max_days': 4, 'active': True, 'position': 1, 'created_at': now, 'updated_at': now},
        {'code': 'express', 'name': 'Express', 'price_cents': 990, 'free_from_cents': None,
         'min_days': 1, 'max_days': 1, 'active': True, 'position': 2, 'created_at': now, 'updated_at': now},
    ])


def downgrade():
    # Shipping charged is lost: the total stays what the order cost.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_orders_total_is_items_and_shipping'), type_='check')
        batch_op.drop_index('ix_orders_payment_status_created')
        batch_op.drop_column('payment_status')
        batch_op.drop_column('payment_method')
        batch_op.drop_column('shipping_cents')
        batch_op.drop_column('items_cents')

    with op.batch_alter_table('order_payment_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_payment_events_order_id'))

    op.drop_table('order_payment_events')
    op.drop_table('order_deliveries')
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_addresses_user_id'))

    op.drop_table('addresses')
    op.drop_table('shipping_methods')
