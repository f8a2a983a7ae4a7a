"""the officer list by kana and a phase's orders by number, from indexes

Revision ID: abe1290c2f9c
Revises: 62d4e9cabe54
Create Date: 2026-12-06 08:54:00.849486

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'abe1290c2f9c'
down_revision = '62d4e9cabe54'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('concurrent_appointments', schema=None) as batch_op:
        batch_op.create_index('ix_concurrent_appointments_phase_order', ['phase_id', 'order_number'], unique=False)

    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.create_index('ix_officers_name_kana', ['name_kana'], unique=False)



def downgrade():
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.drop_index('ix_officers_name_kana')

    with op.batch_alter_table('concurrent_appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_concurrent_appointments_phase_order')

