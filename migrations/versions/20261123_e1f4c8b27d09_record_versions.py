"""versions on edited records (officers, applications, phases)

Revision ID: e1f4c8b27d09
Revises: d7b3e2a9c150
Create Date: 2026-11-23 22:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e1f4c8b27d09'
down_revision = 'd7b3e2a9c150'
branch_labels = None
depends_on = None

TABLES = ("officers", "applications", "phases")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('version', server_default=None)


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')
