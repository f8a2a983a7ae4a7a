"""Each user's post (役職): a 決裁 route's step may name a post, decided by whoever holds it when the case reaches it

Revision ID: e4a6c8d0f219
Revises: d9f3b5a7c128
Create Date: 2026-12-07 14:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = 'e4a6c8d0f219'
down_revision = 'd9f3b5a7c128'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('post', sa.String(length=50), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('post')
