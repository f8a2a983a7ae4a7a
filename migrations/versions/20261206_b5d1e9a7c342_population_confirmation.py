"""an admin's recorded confirmation of the population (APP-1 確認要 or 未確認)

Revision ID: b5d1e9a7c342
Revises: a93c5e7d1b48
Create Date: 2026-12-06 02:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b5d1e9a7c342'
down_revision = 'a93c5e7d1b48'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('population_confirmed_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('population_confirmed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('population_confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_applications_population_confirmed_by_id_users'), 'users',
                                    ['population_confirmed_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_applications_population_confirmed_by_id_users'), type_='foreignkey')
        for column in ('population_confirmed_at', 'population_confirmed_by_id', 'population_confirmed_reason'):
            batch_op.drop_column(column)
