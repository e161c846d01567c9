"""money columns are BIGINT

An order total above 2**31 - 1 cents (about €21.5 million) did not fit a
32-bit INTEGER: PostgreSQL refused it ("integer out of range"). Every cents
column becomes a BIGINT. On SQLite (batch mode) each table is copied; see
migrations/env.py for why foreign keys are off while that happens.

Downgrading refuses (on PostgreSQL) while any amount is too large for an
INTEGER, rather than truncate money.

Revision ID: a1b2c3d4e5f6
Revises: c186789e14da
Create Date: 2026-12-01 08:56:00.000000

"""
from alembic import op
import sqlalchemy as sa

import shop.models.types  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e5f6'
down_revision = 'c186789e14da'
branch_labels = None
depends_on = None

MONEY_COLUMNS = [
    ('products', 'price_cents'),
    ('orders', 'total_cents'),
    ('order_items', 'unit_price_cents'),
]


def upgrade():
    for table, column in MONEY_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False
            )


def downgrade():
    for table, column in reversed(MONEY_COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False
            )
