"""each mail's own Date beside the moment Banso took it in: a spreadsheet mailed in is received when it was sent

Revision ID: a3c5e7f9b1d2
Revises: f2b6d8a1c347
Create Date: 2026-12-07 10:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = 'a3c5e7f9b1d2'
down_revision = 'f2b6d8a1c347'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('inquiry_messages', sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column('inquiry_messages', 'sent_at')
