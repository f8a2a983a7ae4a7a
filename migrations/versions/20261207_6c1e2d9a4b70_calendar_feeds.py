"""each user's own iCal feed, its secret token kept as a hash

Revision ID: 6c1e2d9a4b70
Revises: abe1290c2f9c
Create Date: 2026-12-07 08:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '6c1e2d9a4b70'
down_revision = 'abe1290c2f9c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'calendar_feeds',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_calendar_feeds')),
        sa.UniqueConstraint('token_sha256', name=op.f('uq_calendar_feeds_token_sha256')),
    )


def downgrade():
    op.drop_table('calendar_feeds')
