"""決裁, second part: the team a case concerns (held like the team, PUB-2), when its current step began (its due
date in business days), reminders sent, its steps as an admin changed them while it ran; a trip's departure from its 旅行命令 (旅費法第5条)

Revision ID: c8e2a4f6b017
Revises: b4d6f8a2c913
Create Date: 2026-12-07 12:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = 'c8e2a4f6b017'
down_revision = 'b4d6f8a2c913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('approval_cases') as batch:
        batch.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('step_since', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('reminded', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('rerouted', sa.JSON(), nullable=True))
        batch.create_foreign_key(op.f('fk_approval_cases_team_id_teams'), 'teams', ['team_id'], ['id'])
        batch.create_index(op.f('ix_approval_cases_team_id'), ['team_id'])
        batch.create_index('ix_approval_cases_status', ['status'])
    op.execute("UPDATE approval_cases SET step_since = submitted_at")
    # Added in place (no table copy on SQLite: the budget's triggers name trip_requests).
    op.add_column('trip_requests', sa.Column('departure_note', sa.Text(), nullable=False, server_default=''))
    if op.get_bind().dialect.name == 'postgresql':
        op.add_column('trip_requests', sa.Column('departure_recorded_by_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_trip_requests_departure_recorded_by_id_users'), 'trip_requests', 'users',
                              ['departure_recorded_by_id'], ['id'])
    else:  # SQLite adds a column with its reference in place, never a constraint after
        op.execute("ALTER TABLE trip_requests ADD COLUMN departure_recorded_by_id INTEGER "
                   "CONSTRAINT fk_trip_requests_departure_recorded_by_id_users REFERENCES users (id)")
    op.add_column('trip_requests', sa.Column('departure_recorded_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('fk_trip_requests_departure_recorded_by_id_users'), 'trip_requests', type_='foreignkey')
    for column in ('departure_recorded_at', 'departure_recorded_by_id', 'departure_note'):
        op.drop_column('trip_requests', column)
    with op.batch_alter_table('approval_cases') as batch:
        batch.drop_index('ix_approval_cases_status')
        batch.drop_index(op.f('ix_approval_cases_team_id'))
        batch.drop_constraint(op.f('fk_approval_cases_team_id_teams'), type_='foreignkey')
        batch.drop_column('rerouted')
        batch.drop_column('reminded')
        batch.drop_column('step_since')
        batch.drop_column('team_id')
