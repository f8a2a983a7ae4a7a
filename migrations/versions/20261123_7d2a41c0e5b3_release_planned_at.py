"""the release time fixed at confirmation (PUB-3)

Revision ID: 7d2a41c0e5b3
Revises: c39bfa184560
Create Date: 2026-11-23 21:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7d2a41c0e5b3'
down_revision = 'c39bfa184560'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('release_planned_at', sa.DateTime(timezone=True), nullable=True))
    # Phases confirmed before this column existed keep the time their phase held then.
    op.execute("UPDATE publications SET release_planned_at = (SELECT publication_at FROM phases WHERE phases.id = publications.phase_id) "
               "WHERE status IN ('confirmed', 'notified', 'released')")


def downgrade():
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_column('release_planned_at')
