"""the inbox epoch

Each user's inbox gets an epoch, a name for the current run of seqs: a
client holding a position from another epoch (a re-created database, a reset
of the seqs) starts again instead of waiting for numbers that never come.

Revision ID: b16c0d1e2f3a
Revises: b2c3d4e5f6a7
Create Date: 2026-12-01 10:40:00.000000
"""
from secrets import token_hex

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b16c0d1e2f3a'
down_revision = 'b2c3d4e5f6a7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inbox_epoch', sa.String(length=16), nullable=True))
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('inbox_epoch', sa.String))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(users.update().where(users.c.id == user_id).values(inbox_epoch=token_hex(8)))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('inbox_epoch', existing_type=sa.String(length=16), nullable=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('inbox_epoch')
