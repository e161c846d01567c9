"""versions on orders and products, and the admins' feed of changes

Each order and product gets a version (1 for those that exist), bumped by
every change; admin forms carry the one they were rendered from. Every change
to an order or a product is also a row of admin_changes, whose position
(gap-free, in commit order) is where an admin page catches up from.

Revision ID: a17c0d1e2f3a
Revises: e14a11a0b1c2
Create Date: 2026-12-01 15:40:00.000000
"""
from alembic import op
import sqlalchemy as sa

import shop.models.types  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'a17c0d1e2f3a'
down_revision = 'e14a11a0b1c2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('admin_changes',
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('position', name=op.f('pk_admin_changes'))
    )
    with op.batch_alter_table('admin_changes', schema=None) as batch_op:
        batch_op.create_index('ix_admin_changes_entity', ['kind', 'entity_id', 'version'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('version')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('version')

    with op.batch_alter_table('admin_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_changes_entity')

    op.drop_table('admin_changes')
