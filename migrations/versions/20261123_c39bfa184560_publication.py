"""publication

Revision ID: c39bfa184560
Revises: 68badf66749c
Create Date: 2026-11-23 12:47:48.385884

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c39bfa184560'
down_revision = '68badf66749c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('prefecture_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prefecture', sa.String(length=10), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prefecture_contacts')),
    sa.UniqueConstraint('prefecture', name=op.f('uq_prefecture_contacts_prefecture'))
    )
    op.create_table('publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('unlocked', sa.Boolean(), nullable=False),
    sa.Column('share_before_release', sa.Boolean(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notified_by_id', sa.Integer(), nullable=True),
    sa.Column('early_reason', sa.String(length=1000), nullable=False),
    sa.Column('early_requested_by_id', sa.Integer(), nullable=True),
    sa.Column('early_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(status = 'released') = (released_at IS NOT NULL)", name=op.f('ck_publications_released_when_released')),
    sa.CheckConstraint("status IN ('preparing', 'confirmed', 'notified', 'released')", name=op.f('ck_publications_status_known')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_publications_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['early_requested_by_id'], ['users.id'], name=op.f('fk_publications_early_requested_by_id_users')),
    sa.ForeignKeyConstraint(['notified_by_id'], ['users.id'], name=op.f('fk_publications_notified_by_id_users')),
    sa.ForeignKeyConstraint(['phase_id'], ['phases.id'], name=op.f('fk_publications_phase_id_phases')),
    sa.ForeignKeyConstraint(['released_by_id'], ['users.id'], name=op.f('fk_publications_released_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publications')),
    sa.UniqueConstraint('phase_id', name=op.f('uq_publications_phase_id'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('release_phase_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_release_phase_id'), ['release_phase_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_notifications_release_phase_id_phases'), 'phases', ['release_phase_id'], ['id'])



def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notifications_release_phase_id_phases'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notifications_release_phase_id'))
        batch_op.drop_column('release_phase_id')

    op.drop_table('publications')
    op.drop_table('prefecture_contacts')
