"""login session lifetimes and the account page

A public id for each login session (the account page names sessions by it,
never by their secret token), when it was last seen, and the browser and
address it signed in from.

Revision ID: b2c3d4e5f6a7
Revises: a1b2c3d4e5f6
Create Date: 2026-12-01 08:58:41.548365
"""
from secrets import token_urlsafe

from alembic import op
import sqlalchemy as sa

import shop.models.types  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'b2c3d4e5f6a7'
down_revision = 'a1b2c3d4e5f6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('last_seen_at', shop.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('ip', sa.String(length=45), nullable=False, server_default=''))

    # Sessions from before: each gets its own public id, and counts as last
    # seen when it signed in (so the idle limit ends the ones long unused).
    sessions = sa.table('login_sessions', sa.column('token', sa.String), sa.column('public_id', sa.String))
    connection = op.get_bind()
    for (token,) in connection.execute(sa.select(sessions.c.token)).all():
        connection.execute(
            sessions.update().where(sessions.c.token == token).values(public_id=token_urlsafe(16))
        )
    op.execute('UPDATE login_sessions SET last_seen_at = created_at')

    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.alter_column('public_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column(
            'last_seen_at', existing_type=shop.models.types.UTCDateTime(timezone=True), nullable=False
        )
        # the models give these defaults in Python, as every other column's
        batch_op.alter_column('user_agent', existing_type=sa.String(length=300), server_default=None)
        batch_op.alter_column('ip', existing_type=sa.String(length=45), server_default=None)
        batch_op.create_unique_constraint(batch_op.f('uq_login_sessions_public_id'), ['public_id'])


def downgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_login_sessions_public_id'), type_='unique')
        batch_op.drop_column('ip')
        batch_op.drop_column('user_agent')
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('public_id')
