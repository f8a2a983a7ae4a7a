"""activity entries carry a version (corrections)

Revision ID: d3f7a1c5e820
Revises: c8e2f4a6b913
Create Date: 2026-12-06 03:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd3f7a1c5e820'
down_revision = 'c8e2f4a6b913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.alter_column('version', server_default=None)


def downgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_column('version')
