"""Sign-in through the ministries' identity providers, and accounts their directories keep (SCIM)

Revision ID: a1c3e5f7b902
Revises: e4a6c8d0f219
Create Date: 2026-12-07 15:10:00
"""
import sqlalchemy as sa
from alembic import op


revision = 'a1c3e5f7b902'
down_revision = 'e4a6c8d0f219'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('directory', sa.String(length=40), nullable=True))
    op.add_column('users', sa.Column('external_id', sa.String(length=200), nullable=True))
    op.add_column('users', sa.Column('claims_until', sa.Date(), nullable=True))
    op.create_table(
        'sign_in_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=40), nullable=False),
        sa.Column('issuer', sa.String(length=300), nullable=False),
        sa.Column('tenant', sa.String(length=100), server_default='', nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('email_seen', sa.String(length=254), server_default='', nullable=False),
        sa.Column('proposed_role', sa.String(length=20), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_in_identities_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_identities')),
        sa.UniqueConstraint('issuer', 'tenant', 'subject', name=op.f('uq_sign_in_identities_issuer')),
    )
    op.create_index(op.f('ix_sign_in_identities_user_id'), 'sign_in_identities', ['user_id'])


def downgrade():
    op.drop_index(op.f('ix_sign_in_identities_user_id'), table_name='sign_in_identities')
    op.drop_table('sign_in_identities')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('claims_until')
        batch.drop_column('external_id')
        batch.drop_column('directory')
