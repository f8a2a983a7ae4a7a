"""決裁: routes as data (versioned), cases on them, every action kept, absences with their 代決者

Revision ID: b4d6f8a2c913
Revises: a3c5e7f9b1d2
Create Date: 2026-12-07 11:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = 'b4d6f8a2c913'
down_revision = 'a3c5e7f9b1d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'approval_routes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('steps', sa.JSON(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_approval_routes_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_routes')),
        sa.UniqueConstraint('kind', 'version', name=op.f('uq_approval_routes_kind')),
    )
    op.create_table(
        'approval_cases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('route_id', sa.Integer(), nullable=False),
        sa.Column('drafter_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('in_progress', 'approved', 'returned', 'withdrawn', 'rejected')", name=op.f('ck_approval_cases_status_known')),
        sa.ForeignKeyConstraint(['drafter_id'], ['users.id'], name=op.f('fk_approval_cases_drafter_id_users')),
        sa.ForeignKeyConstraint(['route_id'], ['approval_routes.id'], name=op.f('fk_approval_cases_route_id_approval_routes')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_cases')),
    )
    op.create_index('ix_approval_cases_subject', 'approval_cases', ['kind', 'subject_id'])
    op.create_table(
        'approval_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('verb', sa.String(length=12), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('on_behalf_of_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_approval_actions_actor_id_users')),
        sa.ForeignKeyConstraint(['case_id'], ['approval_cases.id'], name=op.f('fk_approval_actions_case_id_approval_cases')),
        sa.ForeignKeyConstraint(['on_behalf_of_id'], ['users.id'], name=op.f('fk_approval_actions_on_behalf_of_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_actions')),
    )
    op.create_index('ix_approval_actions_case_id', 'approval_actions', ['case_id'])
    op.create_index('ix_approval_actions_on_behalf_of_id', 'approval_actions', ['on_behalf_of_id'])
    op.create_table(
        'absences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('deputy_id', sa.Integer(), nullable=True),
        sa.Column('kinds', sa.JSON(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('starts_on <= ends_on', name=op.f('ck_absences_period_ordered')),
        sa.CheckConstraint('deputy_id IS NULL OR deputy_id <> user_id', name=op.f('ck_absences_not_oneself')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_absences_created_by_id_users')),
        sa.ForeignKeyConstraint(['deputy_id'], ['users.id'], name=op.f('fk_absences_deputy_id_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_absences_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_absences')),
    )
    op.create_index('ix_absences_user_id', 'absences', ['user_id'])


def downgrade():
    op.drop_table('absences')
    op.drop_table('approval_actions')
    op.drop_table('approval_cases')
    op.drop_table('approval_routes')
