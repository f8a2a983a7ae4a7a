"""versions on trips (and their claims), visit plans, teams, inquiries, reply templates, prefecture contacts

Revision ID: a93c5e7d1b48
Revises: f2a8d4c61e37
Create Date: 2026-12-06 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a93c5e7d1b48'
down_revision = 'f2a8d4c61e37'
branch_labels = None
depends_on = None

TABLES = ("trip_requests", "team_travel_plans", "teams", "inquiries", "reply_templates", "prefecture_contacts")


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
