"""catalogue: product photos and categories

Photos an admin uploads (the files live under MEDIA_ROOT, named by their
content; a row names them), categories, and which products are in which.
Products from before are in no category and have no photo.

Revision ID: f19a0b1c2d3e
Revises: a20b1c2d3e4f
Create Date: 2026-12-01 12:12:11.250929

"""
from alembic import op
import sqlalchemy as sa

import shop.models.types  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'f19a0b1c2d3e'
down_revision = 'a20b1c2d3e4f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('created_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('name', name=op.f('uq_categories_name')),
    sa.UniqueConstraint('slug', name=op.f('uq_categories_slug'))
    )
    op.create_table('product_categories',
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_product_categories_category_id_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_categories_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_id', 'category_id', name=op.f('pk_product_categories'))
    )
    with op.batch_alter_table('product_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_categories_category_id'), ['category_id'], unique=False)

    op.create_table('product_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('alt', sa.String(length=200), nullable=False),
    sa.Column('created_at', shop.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('width > 0 AND height > 0', name=op.f('ck_product_photos_size_positive')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_photos_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_photos'))
    )
    with op.batch_alter_table('product_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_photos_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_product_photos_product_id'), ['product_id'], unique=False)



def downgrade():
    with op.batch_alter_table('product_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_photos_product_id'))
        batch_op.drop_index(batch_op.f('ix_product_photos_key'))

    op.drop_table('product_photos')
    with op.batch_alter_table('product_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_categories_category_id'))

    op.drop_table('product_categories')
    op.drop_table('categories')
