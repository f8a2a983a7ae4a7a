"""a phase's money kept by the database (totals and a breakdown, maintained by triggers on trips and their lines); a
closed phase's figures stored once

Revision ID: 9a4e6b2f7c13
Revises: 8f3b2c7d1e54
Create Date: 2026-12-07 12:00:00

Every change of a trip's status, bearer, date, destination, team or phase, of an estimate line or of a claim line adds
its difference to ``budget_totals`` (one row a phase) and ``budget_breakdown`` in the same transaction, as an upsert
of a difference (``x = x + excluded.x``), so concurrent writers never lose each other's change. The same statements
serve PostgreSQL (a plpgsql function per trigger) and SQLite (the trigger's body); they are written here, not imported
from the app, so this migration stays as it was run.
"""
import sqlalchemy as sa
from alembic import op


revision = '9a4e6b2f7c13'
down_revision = '8f3b2c7d1e54'
branch_labels = None
depends_on = None

COMMITTED = "('approved', 'claim_submitted', 'claim_returned')"
MONTH = "substr(CAST({t}.depart_on AS TEXT), 1, 7)"


def _upsert(phase, team, month, prefecture, bearer, committed, spent, source):
    """The two upserts adding (committed, spent) yen under a trip's key; ``source`` is the FROM/WHERE that gives them."""
    national = f"CASE WHEN {bearer} = 'national' THEN 1 ELSE 0 END"
    return [
        "INSERT INTO budget_totals (phase_id, national_committed_yen, national_spent_yen, municipality_committed_yen, "
        f"municipality_spent_yen) SELECT {phase}, {national} * ({committed}), {national} * ({spent}), "
        f"(1 - {national}) * ({committed}), (1 - {national}) * ({spent}) {source} "
        "ON CONFLICT (phase_id) DO UPDATE SET "
        + ", ".join(f"{c} = budget_totals.{c} + excluded.{c}" for c in (
            "national_committed_yen", "national_spent_yen", "municipality_committed_yen", "municipality_spent_yen")),
        "INSERT INTO budget_breakdown (phase_id, team_id, month, prefecture, bearer, committed_yen, spent_yen) "
        f"SELECT {phase}, {team}, {month}, {prefecture}, {bearer}, {committed}, {spent} {source} "
        "ON CONFLICT (phase_id, team_id, month, prefecture, bearer) DO UPDATE SET "
        "committed_yen = budget_breakdown.committed_yen + excluded.committed_yen, "
        "spent_yen = budget_breakdown.spent_yen + excluded.spent_yen",
    ]


def _by_trip(committed, spent, where):
    """Add yen under the key of the trip ``t`` found by ``where``."""
    return _upsert("t.phase_id", "t.team_id", MONTH.format(t="t"), "t.destination_prefecture", "t.cost_bearer",
                   committed, spent, f"FROM trip_requests t WHERE {where}")


def _trip_row(row, sign):
    """A whole trip's contribution under the key of ``row`` (OLD or NEW), its lines as they stand, times ``sign``."""
    committed = (f"CASE WHEN {row}.status IN {COMMITTED} THEN (SELECT COALESCE(SUM(amount_yen), 0) FROM trip_estimate_lines "
                 f"WHERE trip_id = {row}.id) ELSE 0 END")
    spent = (f"CASE WHEN {row}.status = 'settled' THEN (SELECT COALESCE(SUM(COALESCE(l.approved_yen, l.claimed_yen)), 0) "
             f"FROM travel_claim_lines l JOIN travel_claims c ON c.id = l.claim_id WHERE c.trip_id = {row}.id) ELSE 0 END")
    return _upsert(f"{row}.phase_id", f"{row}.team_id", MONTH.format(t=row), f"{row}.destination_prefecture",
                   f"{row}.cost_bearer", f"{sign} * ({committed})", f"{sign} * ({spent})",
                   f"WHERE {row}.status IN {COMMITTED} OR {row}.status = 'settled'")


def _estimate(row, sign):
    return _by_trip(f"{sign} * {row}.amount_yen", "0", f"t.id = {row}.trip_id AND t.status IN {COMMITTED}")


def _claim_line(row, sign):
    return _by_trip("0", f"{sign} * COALESCE({row}.approved_yen, {row}.claimed_yen)",
                    f"t.id = (SELECT trip_id FROM travel_claims WHERE id = {row}.claim_id) AND t.status = 'settled'")


def _claim(row, sign):
    spent = f"(SELECT COALESCE(SUM(COALESCE(approved_yen, claimed_yen)), 0) FROM travel_claim_lines WHERE claim_id = {row}.id)"
    return _by_trip("0", f"{sign} * {spent}", f"t.id = {row}.trip_id AND t.status = 'settled'")


TRIP_KEY = ("status", "cost_bearer", "depart_on", "destination_prefecture", "team_id", "phase_id")

# name, timing, event, table, a condition on OLD/NEW (PostgreSQL spelling; SQLite's is made from it), statements
TRIGGERS = [
    ("budget_estimate_insert", "AFTER", "INSERT", "trip_estimate_lines", None, _estimate("NEW", 1)),
    ("budget_estimate_delete", "AFTER", "DELETE", "trip_estimate_lines", None, _estimate("OLD", -1)),
    ("budget_estimate_update", "AFTER", "UPDATE", "trip_estimate_lines", None, _estimate("OLD", -1) + _estimate("NEW", 1)),
    ("budget_claim_line_insert", "AFTER", "INSERT", "travel_claim_lines", None, _claim_line("NEW", 1)),
    ("budget_claim_line_delete", "AFTER", "DELETE", "travel_claim_lines", None, _claim_line("OLD", -1)),
    ("budget_claim_line_update", "AFTER", "UPDATE", "travel_claim_lines", None, _claim_line("OLD", -1) + _claim_line("NEW", 1)),
    ("budget_claim_delete", "BEFORE", "DELETE", "travel_claims", None, _claim("OLD", -1)),
    ("budget_trip_update", "AFTER", "UPDATE", "trip_requests",
     " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in TRIP_KEY), _trip_row("OLD", -1) + _trip_row("NEW", 1)),
    ("budget_trip_delete", "BEFORE", "DELETE", "trip_requests", None, _trip_row("OLD", -1)),
]


def _create_triggers(dialect):
    for name, timing, event, table, when, statements in TRIGGERS:
        body = ";\n".join(statements) + ";"
        if dialect == "postgresql":
            returned = "OLD" if timing == "BEFORE" else "NULL"
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\n"
                       f"RETURN {returned};\nEND\n$$")
            condition = f" WHEN ({when})" if when else ""
            op.execute(f"CREATE TRIGGER {name} {timing} {event} ON {table} FOR EACH ROW{condition} EXECUTE FUNCTION {name}()")
        else:
            condition = f" WHEN {when.replace('IS DISTINCT FROM', 'IS NOT')}" if when else ""
            op.execute(f"CREATE TRIGGER {name} {timing} {event} ON {table} FOR EACH ROW{condition}\nBEGIN\n{body}\nEND")


def _backfill():
    """The figures of the trips already recorded, summed once."""
    op.execute(f"""
        INSERT INTO budget_breakdown (phase_id, team_id, month, prefecture, bearer, committed_yen, spent_yen)
        SELECT phase_id, team_id, month, prefecture, bearer, SUM(committed), SUM(spent) FROM (
            SELECT t.phase_id, t.team_id, {MONTH.format(t='t')} AS month, t.destination_prefecture AS prefecture,
                   t.cost_bearer AS bearer, e.amount_yen AS committed, 0 AS spent
            FROM trip_requests t JOIN trip_estimate_lines e ON e.trip_id = t.id WHERE t.status IN {COMMITTED}
            UNION ALL
            SELECT t.phase_id, t.team_id, {MONTH.format(t='t')}, t.destination_prefecture, t.cost_bearer, 0,
                   COALESCE(l.approved_yen, l.claimed_yen)
            FROM trip_requests t JOIN travel_claims c ON c.trip_id = t.id JOIN travel_claim_lines l ON l.claim_id = c.id
            WHERE t.status = 'settled'
        ) AS money GROUP BY phase_id, team_id, month, prefecture, bearer
    """)
    op.execute("""
        INSERT INTO budget_totals (phase_id, national_committed_yen, national_spent_yen, municipality_committed_yen,
                                   municipality_spent_yen)
        SELECT p.id,
               COALESCE(SUM(CASE WHEN b.bearer = 'national' THEN b.committed_yen END), 0),
               COALESCE(SUM(CASE WHEN b.bearer = 'national' THEN b.spent_yen END), 0),
               COALESCE(SUM(CASE WHEN b.bearer <> 'national' THEN b.committed_yen END), 0),
               COALESCE(SUM(CASE WHEN b.bearer <> 'national' THEN b.spent_yen END), 0)
        FROM phases p LEFT JOIN budget_breakdown b ON b.phase_id = p.id GROUP BY p.id
    """)


def upgrade():
    op.create_table(
        'budget_totals',
        sa.Column('phase_id', sa.Integer(), nullable=False),
        sa.Column('national_committed_yen', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('national_spent_yen', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('municipality_committed_yen', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('municipality_spent_yen', sa.BigInteger(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['phase_id'], ['phases.id'], name=op.f('fk_budget_totals_phase_id_phases'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('phase_id', name=op.f('pk_budget_totals')),
    )
    op.create_table(
        'budget_breakdown',
        sa.Column('phase_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('prefecture', sa.String(length=10), nullable=False),
        sa.Column('bearer', sa.String(length=20), nullable=False),
        sa.Column('committed_yen', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('spent_yen', sa.BigInteger(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('phase_id', 'team_id', 'month', 'prefecture', 'bearer', name=op.f('pk_budget_breakdown')),
    )
    _backfill()
    _create_triggers(op.get_bind().dialect.name)
    with op.batch_alter_table('phases') as batch_op:  # the budget lock no longer writes the phase
        batch_op.drop_column('travel_revision')
    op.create_table(
        'phase_figures',
        sa.Column('phase_id', sa.Integer(), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['phase_id'], ['phases.id'], name=op.f('fk_phase_figures_phase_id_phases'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('phase_id', name=op.f('pk_phase_figures')),
    )


def downgrade():
    op.drop_table('phase_figures')
    with op.batch_alter_table('phases') as batch_op:
        batch_op.add_column(sa.Column('travel_revision', sa.String(length=32), nullable=False, server_default=''))
    dialect = op.get_bind().dialect.name
    for name, _timing, _event, table, _when, _statements in TRIGGERS:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
        else:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table('budget_breakdown')
    op.drop_table('budget_totals')
