"""the public results page as a snapshot, removed by the database when something it shows changes

Revision ID: b7d2e4f1a358
Revises: 9a4e6b2f7c13
Create Date: 2026-12-07 14:00:00

A phase's snapshot (``published_results``) is deleted by triggers when its teams or members change, an officer's name
or ministry, a municipality's name or prefecture, a ministry's name, the phase's candidacies or applications, or its
release — whoever writes. The page writes it again on its next view (services/public_results.py).
"""
import sqlalchemy as sa
from alembic import op


revision = 'b7d2e4f1a358'
down_revision = '9a4e6b2f7c13'
branch_labels = None
depends_on = None

FORGET = "DELETE FROM published_results WHERE phase_id IN ({phases})"

# name, events, table, which phases' snapshots go (OLD/NEW by event), per row
TRIGGERS = [
    ("results_teams", "INSERT OR DELETE OR UPDATE OF municipality_id, phase_id", "teams", "{row}.phase_id"),
    ("results_members", "INSERT OR DELETE OR UPDATE", "team_memberships", "{row}.phase_id"),
    ("results_officers", "UPDATE OF name, ministry_id", "officers",
     "SELECT phase_id FROM team_memberships WHERE officer_id = {row}.id"),
    ("results_municipalities", "UPDATE OF name, prefecture", "municipalities",
     "SELECT phase_id FROM teams WHERE municipality_id = {row}.id"),
    ("results_ministries", "UPDATE OF name, parent_id", "ministries", "SELECT phase_id FROM published_results"),
    ("results_candidacies", "INSERT OR DELETE OR UPDATE OF status, phase_id, officer_id", "officer_candidacies", "{row}.phase_id"),
    ("results_applications", "INSERT OR DELETE OR UPDATE OF is_continuing, phase_id", "applications", "{row}.phase_id"),
    ("results_release", "UPDATE OF released_at, status", "publications", "{row}.phase_id"),
]


def _events(events):
    return [e.strip() for e in events.split(" OR ")]


def upgrade():
    op.create_table(
        'published_results',
        sa.Column('phase_id', sa.Integer(), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('etag', sa.String(length=64), nullable=False),
        sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['phase_id'], ['phases.id'], name=op.f('fk_published_results_phase_id_phases'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('phase_id', name=op.f('pk_published_results')),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, events, table, phases in TRIGGERS:
        if postgresql:
            rows = [phases.format(row=r) for r in ("OLD", "NEW")]
            body = (f"IF TG_OP <> 'INSERT' THEN {FORGET.format(phases=rows[0])}; END IF;\n"
                    f"IF TG_OP <> 'DELETE' THEN {FORGET.format(phases=rows[1])}; END IF;")
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\nRETURN NULL;\nEND\n$$")
            op.execute(f"CREATE TRIGGER {name} AFTER {events} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
        else:  # SQLite: one trigger per event; OLD exists for UPDATE and DELETE, NEW for INSERT and UPDATE
            for event in _events(events):
                kind = event.split()[0]
                statements = [FORGET.format(phases=phases.format(row=r)) for r in ("OLD", "NEW")
                              if (r == "OLD" and kind != "INSERT") or (r == "NEW" and kind != "DELETE")]
                op.execute(f"CREATE TRIGGER {name}_{kind.lower()} AFTER {event} ON {table} FOR EACH ROW\nBEGIN\n"
                           + ";\n".join(statements) + ";\nEND")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, events, table, _phases in TRIGGERS:
        if postgresql:
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
        else:
            for event in _events(events):
                op.execute(f"DROP TRIGGER {name}_{event.split()[0].lower()}")
    op.drop_table('published_results')
