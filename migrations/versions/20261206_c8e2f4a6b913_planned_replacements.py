"""member replacements recorded ahead of their date take effect on it (applied_at)

Revision ID: c8e2f4a6b913
Revises: b5d1e9a7c342
Create Date: 2026-12-06 03:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c8e2f4a6b913'
down_revision = 'b5d1e9a7c342'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('member_replacements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE member_replacements SET applied_at = created_at")  # every earlier one took effect at once


def downgrade():
    with op.batch_alter_table('member_replacements', schema=None) as batch_op:
        batch_op.drop_column('applied_at')
