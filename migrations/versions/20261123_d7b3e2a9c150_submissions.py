"""one-time keys of creating forms

Revision ID: d7b3e2a9c150
Revises: c4e9a1f07b32
Create Date: 2026-11-23 22:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd7b3e2a9c150'
down_revision = 'c4e9a1f07b32'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('result_url', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_submissions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions')),
    sa.UniqueConstraint('key', name=op.f('uq_submissions_key'))
    )


def downgrade():
    op.drop_table('submissions')
