"""Queries per page do not grow with the data (DESIGN.md rule 8): the travel and inquiry pages run
the same number of SQL statements with a few rows as with many."""
from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import event

from banso.extensions import db
from banso.models import Role
from banso.services import inquiries, travel
from tests.conftest import login
from tests.factories import make_phase, make_publication, make_rates, make_team, make_trip, make_user

PAGES = ["/travel/", "/travel/?stage=settled", "/travel/budget", "/inquiries/", "/inquiries/counts", "/"]


@contextmanager
def counted(app):
    statements = []
    with app.app_context():
        engine = db.engine

    def count(*_):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _add(app, teams: int, trips_per_team: int) -> None:
    with app.app_context():
        reviewer, staff = make_user(Role.FINANCE), make_user(Role.SECRETARIAT)
        for _ in range(teams):
            team = make_team()
            for i in range(trips_per_team):
                day = date(2026, 5, 1) + timedelta(days=7 * i)
                trip = make_trip(team, depart_on=day, return_on=day + timedelta(days=1), purpose="company_visit")
                travel.review_request(trip, "approve", actor=reviewer)
                lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
                travel.file_claim(trip, lines, [("r.pdf", b"%PDF-1.4 r")], actor=staff)
                travel.review_claim(trip, "settle", {}, actor=reviewer)
            inquiries.receive({"org_type": "other", "category": "travel", "name": "問合 太郎", "email": "q@example.jp",
                               "subject": "精算について", "body": "本文"}, channel="form", actor=None)
        db.session.commit()


def _statements(app, client) -> dict[str, int]:
    result = {}
    for page in PAGES:
        with counted(app) as statements:
            assert client.get(page).status_code == 200, page
        result[page] = len(statements)
    return result


def test_travel_and_inquiry_pages_run_as_many_statements_for_many_rows_as_for_few(app, client, clock):
    with app.app_context():
        make_rates(2026)
        make_publication(make_phase())  # released: finance sees every team's trips
        make_user(Role.FINANCE, email="finance@banso.example")
        db.session.commit()
    _add(app, teams=1, trips_per_team=2)
    login(client, "finance@banso.example")
    few = _statements(app, client)
    _add(app, teams=4, trips_per_team=5)
    many = _statements(app, client)
    assert many == few, {page: (few[page], many[page]) for page in PAGES if few[page] != many[page]}
    assert max(many.values()) <= 25, many
