"""Records that outlive the phase: the 保存期間表, the 行政文書ファイル (the register's rows, tombstones kept), people's
requests about their own data; officers and inquirers anonymised (when); audit entries deleted only by a 廃棄 run

Revision ID: d9f3b5a7c128
Revises: c8e2a4f6b017
Create Date: 2026-12-07 13:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = 'd9f3b5a7c128'
down_revision = 'c8e2a4f6b017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'retention_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('major', sa.String(length=100), nullable=False),
        sa.Column('middle', sa.String(length=100), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('years', sa.Integer(), nullable=False),
        sa.Column('disposition', sa.String(length=10), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('years >= 0 AND years <= 30', name=op.f('ck_retention_rules_years_known')),
        sa.CheckConstraint("disposition IN ('transfer', 'destroy')", name=op.f('ck_retention_rules_disposition_known')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_retention_rules_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_rules')),
        sa.UniqueConstraint('kind', name=op.f('uq_retention_rules_kind')),
    )
    op.create_table(
        'record_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('major', sa.String(length=100), nullable=False),
        sa.Column('middle', sa.String(length=100), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('years', sa.Integer(), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=False),
        sa.Column('disposition', sa.String(length=10), nullable=False),
        sa.Column('location', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('hold_reason', sa.Text(), nullable=False),
        sa.Column('extensions', sa.JSON(), nullable=False),
        sa.Column('consent_on', sa.Date(), nullable=True),
        sa.Column('consent_recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('consent_approved_by_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('removed', sa.JSON(), nullable=False),
        sa.Column('package_sha256', sa.String(length=64), nullable=True),
        sa.Column('skipped', sa.Text(), nullable=False),
        sa.CheckConstraint("status IN ('active', 'due', 'consented', 'destroyed', 'transferred')",
                           name=op.f('ck_record_files_status_known')),
        sa.ForeignKeyConstraint(['consent_approved_by_id'], ['users.id'], name=op.f('fk_record_files_consent_approved_by_id_users')),
        sa.ForeignKeyConstraint(['consent_recorded_by_id'], ['users.id'], name=op.f('fk_record_files_consent_recorded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_record_files')),
        sa.UniqueConstraint('kind', 'fiscal_year', name=op.f('uq_record_files_kind')),
    )
    op.create_index(op.f('ix_record_files_status'), 'record_files', ['status'])
    op.create_table(
        'personal_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('person_kind', sa.String(length=10), nullable=False),
        sa.Column('officer_id', sa.Integer(), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('requester', sa.String(length=200), nullable=False),
        sa.Column('details', sa.Text(), nullable=False),
        sa.Column('received_on', sa.Date(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('extension_reason', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('decision_note', sa.Text(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('disclosure', 'correction', 'suspension')", name=op.f('ck_personal_requests_kind_known')),
        sa.CheckConstraint("status IN ('open', 'granted', 'refused')", name=op.f('ck_personal_requests_status_known')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_personal_requests_created_by_id_users')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_personal_requests_decided_by_id_users')),
        sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_personal_requests_officer_id_officers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_requests')),
    )
    op.create_index(op.f('ix_personal_requests_status'), 'personal_requests', ['status'])
    op.add_column('officers', sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('inquiries', sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # Audit entries stay append-only; a 廃棄 run (services/records) alone deletes an expired audit file's rows, by
        # saying so for its own transaction.
        op.execute("""
            CREATE OR REPLACE FUNCTION audit_entries_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' AND current_setting('banso.disposal', true) = 'on' THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION '監査ログは変更・削除できません (audit_entries is append-only)' USING ERRCODE = 'insufficient_privilege';
            END
            $$
        """)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION audit_entries_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '監査ログは変更・削除できません (audit_entries is append-only)' USING ERRCODE = 'insufficient_privilege';
            END
            $$
        """)
    op.drop_column('inquiries', 'anonymised_at')
    op.drop_column('officers', 'anonymised_at')
    op.drop_index(op.f('ix_personal_requests_status'), table_name='personal_requests')
    op.drop_table('personal_requests')
    op.drop_index(op.f('ix_record_files_status'), table_name='record_files')
    op.drop_table('record_files')
    op.drop_table('retention_rules')
