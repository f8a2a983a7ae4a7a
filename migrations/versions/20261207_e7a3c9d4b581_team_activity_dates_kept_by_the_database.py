"""TEAM-5's dates kept by the database beside each team, in their own table (no team row written)

Revision ID: e7a3c9d4b581
Revises: d5f9b2c8e136
Create Date: 2026-12-07 07:00:00

``team_activity_dates`` holds each team's last online meeting and site visit, rewritten by triggers on ``activities``
(insert, delete, and a change of team, kind or date) in the same transaction, whoever writes: the home page counts
quiet teams by a join instead of two index probes per team. A team has a row while it has activities. The same
statements serve PostgreSQL and SQLite.
"""
import sqlalchemy as sa
from alembic import op


revision = 'e7a3c9d4b581'
down_revision = 'd5f9b2c8e136'
branch_labels = None
depends_on = None

LAST = "(SELECT max(started_on) FROM activities WHERE team_id = {team} AND kind = '{kind}')"
ANY = "EXISTS (SELECT 1 FROM activities WHERE team_id = {team})"
# A team's row while it has activities (upserted), none once it has none (a team without one reads as never met)
REFRESH = ("INSERT INTO team_activity_dates (team_id, last_meeting_on, last_visit_on) SELECT {team}, "
           + LAST.replace("{kind}", "online_meeting") + ", " + LAST.replace("{kind}", "site_visit")
           + " WHERE " + ANY + " ON CONFLICT (team_id) DO UPDATE SET last_meeting_on = excluded.last_meeting_on, "
           "last_visit_on = excluded.last_visit_on;\n"
           "DELETE FROM team_activity_dates WHERE team_id = {team} AND NOT " + ANY)
EVENTS = {"INSERT": ["NEW"], "DELETE": ["OLD"], "UPDATE OF team_id, kind, started_on": ["OLD", "NEW"]}


def upgrade():
    op.create_table(
        'team_activity_dates',
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('last_meeting_on', sa.Date(), nullable=True),
        sa.Column('last_visit_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_activity_dates_team_id_teams'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('team_id', name=op.f('pk_team_activity_dates')),
    )
    op.execute("INSERT INTO team_activity_dates (team_id, last_meeting_on, last_visit_on) SELECT id, "
               + LAST.format(team="teams.id", kind="online_meeting") + ", " + LAST.format(team="teams.id", kind="site_visit")
               + " FROM teams WHERE " + ANY.format(team="teams.id"))
    if op.get_bind().dialect.name == "postgresql":
        body = ("IF TG_OP <> 'INSERT' THEN " + REFRESH.format(team="OLD.team_id") + "; END IF;\n"
                "IF TG_OP <> 'DELETE' THEN " + REFRESH.format(team="NEW.team_id") + "; END IF;")
        op.execute(f"CREATE FUNCTION activity_dates() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\nRETURN NULL;\nEND\n$$")
        op.execute("CREATE TRIGGER activity_dates AFTER INSERT OR DELETE OR UPDATE OF team_id, kind, started_on "
                   "ON activities FOR EACH ROW EXECUTE FUNCTION activity_dates()")
    else:
        for event, rows in EVENTS.items():
            statements = ";\n".join(REFRESH.format(team=f"{row}.team_id") for row in rows)
            op.execute(f"CREATE TRIGGER activity_dates_{event.split()[0].lower()} AFTER {event} ON activities "
                       f"FOR EACH ROW\nBEGIN\n{statements};\nEND")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER activity_dates ON activities")
        op.execute("DROP FUNCTION activity_dates()")
    else:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER activity_dates_{event.split()[0].lower()}")
    op.drop_table('team_activity_dates')
