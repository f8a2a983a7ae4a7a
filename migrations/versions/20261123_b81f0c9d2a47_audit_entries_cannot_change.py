"""audit rows cannot be changed or deleted (PostgreSQL)

Revision ID: b81f0c9d2a47
Revises: 7d2a41c0e5b3
Create Date: 2026-11-23 21:40:00

"""
from alembic import op


revision = 'b81f0c9d2a47'
down_revision = '7d2a41c0e5b3'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # the embedded SQLite is for development; production runs on PostgreSQL
    op.execute("""
        CREATE FUNCTION audit_entries_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '監査ログは変更・削除できません (audit_entries is append-only)' USING ERRCODE = 'insufficient_privilege';
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
        FOR EACH ROW EXECUTE FUNCTION audit_entries_are_append_only()
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
    op.execute("DROP FUNCTION audit_entries_are_append_only()")
