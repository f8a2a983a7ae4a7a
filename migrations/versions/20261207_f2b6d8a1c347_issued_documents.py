"""the documents Banso issues (辞令, 決定通知, 不成立通知, 交代通知): numbers per fiscal year, files as issued, batches

Revision ID: f2b6d8a1c347
Revises: e7a3c9d4b581
Create Date: 2026-12-07 10:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = 'f2b6d8a1c347'
down_revision = 'e7a3c9d4b581'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'document_counters',
        sa.Column('fiscal_year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('fiscal_year', name=op.f('pk_document_counters')),
    )
    op.create_table(
        'document_batches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('phase_id', sa.Integer(), nullable=False),
        sa.Column('subject_ids', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_document_batches_status_known')),
        sa.CheckConstraint('done <= total', name=op.f('ck_document_batches_progress_bounded')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_document_batches_created_by_id_users')),
        sa.ForeignKeyConstraint(['phase_id'], ['phases.id'], name=op.f('fk_document_batches_phase_id_phases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_document_batches')),
    )
    op.create_table(
        'issued_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('phase_id', sa.Integer(), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('serial', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('recipient', sa.String(length=200), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.Column('docx_sha256', sa.String(length=64), nullable=False),
        sa.Column('docx_bytes', sa.Integer(), nullable=False),
        sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
        sa.Column('pdf_bytes', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['document_batches.id'], name=op.f('fk_issued_documents_batch_id_document_batches')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_issued_documents_created_by_id_users')),
        sa.ForeignKeyConstraint(['phase_id'], ['phases.id'], name=op.f('fk_issued_documents_phase_id_phases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_documents')),
        sa.UniqueConstraint('fiscal_year', 'serial', name=op.f('uq_issued_documents_fiscal_year')),
    )
    op.create_index('ix_issued_documents_batch_id', 'issued_documents', ['batch_id'])
    op.create_index('ix_issued_documents_phase_id', 'issued_documents', ['phase_id'])
    op.create_index('ix_issued_documents_subject', 'issued_documents', ['kind', 'subject_id'])


def downgrade():
    op.drop_table('issued_documents')
    op.drop_table('document_batches')
    op.drop_table('document_counters')
