"""travel expenses

Revision ID: 301b055101af
Revises: ed085e9b80ad
Create Date: 2026-11-23 11:57:48.592071

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '301b055101af'
down_revision = 'ed085e9b80ad'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lodging_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('band', sa.String(length=10), nullable=False),
    sa.Column('prefecture', sa.String(length=10), nullable=False),
    sa.Column('cap_yen', sa.Integer(), nullable=False),
    sa.CheckConstraint("band IN ('課長級以下', '指定職')", name=op.f('ck_lodging_rates_band_known')),
    sa.CheckConstraint('cap_yen > 0 AND cap_yen <= 200000', name=op.f('ck_lodging_rates_cap_plausible')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lodging_rates')),
    sa.UniqueConstraint('fiscal_year', 'band', 'prefecture', name='uq_lodging_rates_key')
    )
    op.create_table('night_allowance_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('meals', sa.Integer(), nullable=False),
    sa.Column('amount_yen', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_yen >= 0 AND amount_yen <= 100000', name=op.f('ck_night_allowance_rates_amount_plausible')),
    sa.CheckConstraint('meals IN (0, 1, 2)', name=op.f('ck_night_allowance_rates_meals_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_night_allowance_rates')),
    sa.UniqueConstraint('fiscal_year', 'meals', name='uq_night_allowance_rates_key')
    )
    op.create_table('budget_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    sa.Column('previous_cap_yen', sa.Integer(), nullable=False),
    sa.Column('new_cap_yen', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('revised_by_id', sa.Integer(), nullable=True),
    sa.Column('revised_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('new_cap_yen >= 0', name=op.f('ck_budget_revisions_cap_not_negative')),
    sa.ForeignKeyConstraint(['phase_id'], ['phases.id'], name=op.f('fk_budget_revisions_phase_id_phases')),
    sa.ForeignKeyConstraint(['revised_by_id'], ['users.id'], name=op.f('fk_budget_revisions_revised_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_revisions'))
    )
    with op.batch_alter_table('budget_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_revisions_phase_id'), ['phase_id'], unique=False)

    op.create_table('team_travel_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('planned_site_visits', sa.Integer(), nullable=False),
    sa.Column('standard_visit_cost_yen', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint('planned_site_visits BETWEEN 0 AND 52', name=op.f('ck_team_travel_plans_visits_plausible')),
    sa.CheckConstraint('standard_visit_cost_yen BETWEEN 0 AND 10000000', name=op.f('ck_team_travel_plans_cost_plausible')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_travel_plans_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_travel_plans')),
    sa.UniqueConstraint('team_id', name=op.f('uq_team_travel_plans_team_id'))
    )
    op.create_table('trip_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('destination_prefecture', sa.String(length=10), nullable=False),
    sa.Column('destination', sa.String(length=200), nullable=False),
    sa.Column('depart_on', sa.Date(), nullable=False),
    sa.Column('return_on', sa.Date(), nullable=False),
    sa.Column('itinerary', sa.Text(), nullable=False),
    sa.Column('room_rate_yen', sa.Integer(), nullable=False),
    sa.Column('meals', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('cost_bearer', sa.String(length=20), nullable=False),
    sa.Column('over_plan', sa.Boolean(), nullable=False),
    sa.Column('bearer_reason', sa.Text(), nullable=False),
    sa.Column('bearer_decided_by_id', sa.Integer(), nullable=True),
    sa.Column('bearer_decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_round', sa.Integer(), nullable=False),
    sa.Column('review_comment', sa.Text(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("cost_bearer IN ('national', 'municipality')", name=op.f('ck_trip_requests_bearer_known')),
    sa.CheckConstraint("purpose IN ('site_visit', 'company_visit', 'other')", name=op.f('ck_trip_requests_purpose_known')),
    sa.CheckConstraint("status IN ('submitted', 'returned', 'approved', 'rejected', 'claim_submitted', 'claim_returned', 'settled', 'cancelled')", name=op.f('ck_trip_requests_status_known')),
    sa.CheckConstraint('depart_on <= return_on', name=op.f('ck_trip_requests_dates_ordered')),
    sa.CheckConstraint('meals IN (0, 1, 2)', name=op.f('ck_trip_requests_meals_known')),
    sa.CheckConstraint('room_rate_yen >= 0', name=op.f('ck_trip_requests_room_rate_not_negative')),
    sa.ForeignKeyConstraint(['bearer_decided_by_id'], ['users.id'], name=op.f('fk_trip_requests_bearer_decided_by_id_users')),
    sa.ForeignKeyConstraint(['filed_by_id'], ['users.id'], name=op.f('fk_trip_requests_filed_by_id_users')),
    sa.ForeignKeyConstraint(['phase_id'], ['phases.id'], name=op.f('fk_trip_requests_phase_id_phases')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_trip_requests_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_trip_requests_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trip_requests'))
    )
    with op.batch_alter_table('trip_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trip_requests_filed_by_id'), ['filed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trip_requests_phase_id'), ['phase_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trip_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_trip_requests_team_id'), ['team_id'], unique=False)

    op.create_table('travel_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trip_id', sa.Integer(), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=True),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('review_comment', sa.Text(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['filed_by_id'], ['users.id'], name=op.f('fk_travel_claims_filed_by_id_users')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_travel_claims_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['trip_id'], ['trip_requests.id'], name=op.f('fk_travel_claims_trip_id_trip_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_travel_claims')),
    sa.UniqueConstraint('trip_id', name=op.f('uq_travel_claims_trip_id'))
    )
    op.create_table('trip_estimate_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trip_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('amount_yen', sa.Integer(), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.CheckConstraint("category IN ('rail', 'ship', 'air', 'other_transport', 'lodging', 'package', 'night_allowance')", name=op.f('ck_trip_estimate_lines_category_known')),
    sa.CheckConstraint('amount_yen >= 0', name=op.f('ck_trip_estimate_lines_amount_not_negative')),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_trip_estimate_lines_officer_id_officers')),
    sa.ForeignKeyConstraint(['trip_id'], ['trip_requests.id'], name=op.f('fk_trip_estimate_lines_trip_id_trip_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trip_estimate_lines'))
    )
    with op.batch_alter_table('trip_estimate_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trip_estimate_lines_trip_id'), ['trip_id'], unique=False)

    op.create_table('trip_travellers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trip_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('band', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_trip_travellers_officer_id_officers')),
    sa.ForeignKeyConstraint(['trip_id'], ['trip_requests.id'], name=op.f('fk_trip_travellers_trip_id_trip_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trip_travellers')),
    sa.UniqueConstraint('trip_id', 'officer_id', name='uq_trip_travellers_once')
    )
    with op.batch_alter_table('trip_travellers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trip_travellers_officer_id'), ['officer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trip_travellers_trip_id'), ['trip_id'], unique=False)

    op.create_table('receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=50), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['travel_claims.id'], name=op.f('fk_receipts_claim_id_travel_claims')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_receipts_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts'))
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipts_claim_id'), ['claim_id'], unique=False)

    op.create_table('travel_claim_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('estimate_yen', sa.Integer(), nullable=False),
    sa.Column('claimed_yen', sa.Integer(), nullable=False),
    sa.Column('approved_yen', sa.Integer(), nullable=True),
    sa.Column('cap_yen', sa.Integer(), nullable=True),
    sa.Column('exception_reason', sa.Text(), nullable=False),
    sa.Column('reduction_reason', sa.Text(), nullable=False),
    sa.CheckConstraint("category IN ('rail', 'ship', 'air', 'other_transport', 'lodging', 'package', 'night_allowance')", name=op.f('ck_travel_claim_lines_category_known')),
    sa.CheckConstraint('approved_yen IS NULL OR (approved_yen >= 0 AND approved_yen <= claimed_yen)', name=op.f('ck_travel_claim_lines_approved_within_claimed')),
    sa.CheckConstraint('claimed_yen >= 0 AND estimate_yen >= 0', name=op.f('ck_travel_claim_lines_amounts_not_negative')),
    sa.ForeignKeyConstraint(['claim_id'], ['travel_claims.id'], name=op.f('fk_travel_claim_lines_claim_id_travel_claims')),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_travel_claim_lines_officer_id_officers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_travel_claim_lines'))
    )
    with op.batch_alter_table('travel_claim_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_travel_claim_lines_claim_id'), ['claim_id'], unique=False)

    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('travel_standard_visit_yen', sa.Integer(), server_default='150000', nullable=False))
        batch_op.create_check_constraint(op.f('ck_phases_standard_visit_not_negative'), 'travel_standard_visit_yen >= 0')



def downgrade():
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_phases_standard_visit_not_negative'), type_='check')
        batch_op.drop_column('travel_standard_visit_yen')

    with op.batch_alter_table('travel_claim_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_travel_claim_lines_claim_id'))

    op.drop_table('travel_claim_lines')
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipts_claim_id'))

    op.drop_table('receipts')
    with op.batch_alter_table('trip_travellers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trip_travellers_trip_id'))
        batch_op.drop_index(batch_op.f('ix_trip_travellers_officer_id'))

    op.drop_table('trip_travellers')
    with op.batch_alter_table('trip_estimate_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trip_estimate_lines_trip_id'))

    op.drop_table('trip_estimate_lines')
    op.drop_table('travel_claims')
    with op.batch_alter_table('trip_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trip_requests_team_id'))
        batch_op.drop_index(batch_op.f('ix_trip_requests_status'))
        batch_op.drop_index(batch_op.f('ix_trip_requests_phase_id'))
        batch_op.drop_index(batch_op.f('ix_trip_requests_filed_by_id'))

    op.drop_table('trip_requests')
    op.drop_table('team_travel_plans')
    with op.batch_alter_table('budget_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budget_revisions_phase_id'))

    op.drop_table('budget_revisions')
    op.drop_table('night_allowance_rates')
    op.drop_table('lodging_rates')
