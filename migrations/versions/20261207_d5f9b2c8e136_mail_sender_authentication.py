"""each mail's sender as the ministry's mail server authenticated it (Authentication-Results)

Revision ID: d5f9b2c8e136
Revises: c4e8a1d9f027
Create Date: 2026-12-07 06:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = 'd5f9b2c8e136'
down_revision = 'c4e8a1d9f027'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('inquiry_messages', sa.Column('sender_check', sa.String(length=10), nullable=True))


def downgrade():
    op.drop_column('inquiry_messages', 'sender_check')
