"""inquiries

Revision ID: 68badf66749c
Revises: 301b055101af
Create Date: 2026-11-23 12:27:24.170514

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '68badf66749c'
down_revision = '301b055101af'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('receipt_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_receipt_counters'))
    )
    op.create_table('reply_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_templates')),
    sa.UniqueConstraint('title', name=op.f('uq_reply_templates_title'))
    )
    op.create_table('inquiries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_number', sa.String(length=20), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('org_type', sa.String(length=20), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=True),
    sa.Column('prefecture', sa.String(length=10), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('follows_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("category IN ('general', 'application', 'matching', 'travel', 'activity', 'other')", name=op.f('ck_inquiries_category_known')),
    sa.CheckConstraint("channel IN ('form', 'email', 'phone', 'other')", name=op.f('ck_inquiries_channel_known')),
    sa.CheckConstraint("org_type IN ('municipality', 'prefecture', 'officer', 'other')", name=op.f('ck_inquiries_org_type_known')),
    sa.CheckConstraint("status IN ('new', 'in_progress', 'waiting', 'answered', 'closed')", name=op.f('ck_inquiries_status_known')),
    sa.CheckConstraint('merged_into_id IS NULL OR merged_into_id <> id', name=op.f('ck_inquiries_not_merged_into_itself')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_inquiries_application_id_applications')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_inquiries_assignee_id_users')),
    sa.ForeignKeyConstraint(['follows_id'], ['inquiries.id'], name=op.f('fk_inquiries_follows_id_inquiries')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['inquiries.id'], name=op.f('fk_inquiries_merged_into_id_inquiries')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_inquiries_municipality_id_municipalities')),
    sa.ForeignKeyConstraint(['phase_id'], ['phases.id'], name=op.f('fk_inquiries_phase_id_phases')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_inquiries_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_inquiries_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inquiries')),
    sa.UniqueConstraint('receipt_number', name=op.f('uq_inquiries_receipt_number'))
    )
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inquiries_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiries_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiries_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiries_municipality_id'), ['municipality_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiries_phase_id'), ['phase_id'], unique=False)
        batch_op.create_index('ix_inquiries_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiries_submitted_by_id'), ['submitted_by_id'], unique=False)

    op.create_table('faq_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('source_inquiry_id', sa.Integer(), nullable=True),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("category IN ('general', 'application', 'matching', 'travel', 'activity', 'other')", name=op.f('ck_faq_entries_category_known')),
    sa.ForeignKeyConstraint(['source_inquiry_id'], ['inquiries.id'], name=op.f('fk_faq_entries_source_inquiry_id_inquiries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entries'))
    )
    op.create_table('inquiry_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inquiry_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('from_email', sa.String(length=254), nullable=False),
    sa.Column('email_message_id', sa.String(length=250), nullable=True),
    sa.Column('notification_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('incoming', 'reply', 'note')", name=op.f('ck_inquiry_messages_kind_known')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_inquiry_messages_author_id_users')),
    sa.ForeignKeyConstraint(['inquiry_id'], ['inquiries.id'], name=op.f('fk_inquiry_messages_inquiry_id_inquiries')),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_inquiry_messages_notification_id_notifications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inquiry_messages')),
    sa.UniqueConstraint('email_message_id', name=op.f('uq_inquiry_messages_email_message_id'))
    )
    with op.batch_alter_table('inquiry_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inquiry_messages_inquiry_id'), ['inquiry_id'], unique=False)



def downgrade():
    with op.batch_alter_table('inquiry_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inquiry_messages_inquiry_id'))

    op.drop_table('inquiry_messages')
    op.drop_table('faq_entries')
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inquiries_submitted_by_id'))
        batch_op.drop_index('ix_inquiries_status_due')
        batch_op.drop_index(batch_op.f('ix_inquiries_phase_id'))
        batch_op.drop_index(batch_op.f('ix_inquiries_municipality_id'))
        batch_op.drop_index(batch_op.f('ix_inquiries_email'))
        batch_op.drop_index(batch_op.f('ix_inquiries_category'))
        batch_op.drop_index(batch_op.f('ix_inquiries_assignee_id'))

    op.drop_table('inquiries')
    op.drop_table('reply_templates')
    op.drop_table('receipt_counters')
