"""a closed team's records reopened by an admin until a day; each user's chosen phase per kind of work

Revision ID: 8f3b2c7d1e54
Revises: 6c1e2d9a4b70
Create Date: 2026-12-07 10:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '8f3b2c7d1e54'
down_revision = '6c1e2d9a4b70'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('teams') as batch_op:
        batch_op.add_column(sa.Column('reopened_until', sa.Date(), nullable=True))
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('phase_choice', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('phase_choice')
    with op.batch_alter_table('teams') as batch_op:
        batch_op.drop_column('reopened_until')
