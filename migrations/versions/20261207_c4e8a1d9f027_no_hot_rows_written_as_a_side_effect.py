"""a sign-in and an activity write no row that others read: the last sign-in in its own table, TEAM-5's dates read
from the activities; the public snapshot also goes when an officer's kind changes

Revision ID: c4e8a1d9f027
Revises: b7d2e4f1a358
Create Date: 2026-12-07 05:00:00

``users.last_login_at`` moves to ``last_sign_ins`` (one row per account, upserted at each sign-in);
``teams.last_meeting_on`` and ``teams.last_visit_on`` go: the model reads them with one probe of
ix_activities_team_kind_date. The public results snapshot names secondees (officer_type), so its trigger on
``officers`` watches that column too.
"""
import sqlalchemy as sa
from alembic import op


revision = 'c4e8a1d9f027'
down_revision = 'b7d2e4f1a358'
branch_labels = None
depends_on = None

FORGET = ("DELETE FROM published_results WHERE phase_id IN "
          "(SELECT phase_id FROM team_memberships WHERE officer_id = {row}.id)")


def _officer_trigger(columns: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER results_officers ON officers")
        op.execute(f"CREATE TRIGGER results_officers AFTER UPDATE OF {columns} ON officers FOR EACH ROW "
                   "EXECUTE FUNCTION results_officers()")
    else:
        op.execute("DROP TRIGGER results_officers_update")
        op.execute(f"CREATE TRIGGER results_officers_update AFTER UPDATE OF {columns} ON officers FOR EACH ROW\nBEGIN\n"
                   f"{FORGET.format(row='OLD')};\n{FORGET.format(row='NEW')};\nEND")


def upgrade():
    op.create_table(
        'last_sign_ins',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_last_sign_ins_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_last_sign_ins')),
    )
    op.execute("INSERT INTO last_sign_ins (user_id, at) SELECT id, last_login_at FROM users WHERE last_login_at IS NOT NULL")
    # ALTER TABLE … DROP COLUMN on both (SQLite ≥ 3.35): a copied table would lose the triggers on it
    op.drop_column('users', 'last_login_at')
    op.drop_column('teams', 'last_visit_on')
    op.drop_column('teams', 'last_meeting_on')
    _officer_trigger("name, ministry_id, officer_type")


def downgrade():
    _officer_trigger("name, ministry_id")
    op.add_column('teams', sa.Column('last_meeting_on', sa.Date(), nullable=True))
    op.add_column('teams', sa.Column('last_visit_on', sa.Date(), nullable=True))
    op.execute("UPDATE teams SET last_meeting_on = (SELECT max(started_on) FROM activities a WHERE a.team_id = teams.id "
               "AND a.kind = 'online_meeting'), last_visit_on = (SELECT max(started_on) FROM activities a "
               "WHERE a.team_id = teams.id AND a.kind = 'site_visit')")
    op.add_column('users', sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET last_login_at = (SELECT at FROM last_sign_ins s WHERE s.user_id = users.id)")
    op.drop_table('last_sign_ins')
