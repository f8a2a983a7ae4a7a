"""Queries per page do not grow with the data (DESIGN.md rule 8): the travel and inquiry pages run
the same number of SQL statements with a few rows as with many."""
from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import event

from banso.extensions import db
from banso.models import Role
from banso.models import User
from banso.services import inquiries, travel
from banso.services import teams as teams_service
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


def test_the_hold_is_added_once_to_a_relationship_load(app, client, clock):
    """Found by `make bench`: a selectin load carried its parent query's hold criteria and was given them again, and
    the trip inside each EXISTS got the trip's criteria twice more — PostgreSQL planned every copy (the trip list's
    travellers: 9 ms, 1 ms with one copy). Each held row is asked once."""
    with app.app_context():
        make_rates(2026)
        make_publication(make_phase())
        make_user(Role.FINANCE, email="finance@banso.example")
        db.session.commit()
    _add(app, teams=1, trips_per_team=2)
    login(client, "finance@banso.example")
    sql = []
    with app.app_context():
        engine = db.engine

    def keep(_conn, _cursor, statement, *_):
        sql.append(statement)

    event.listen(engine, "before_cursor_execute", keep)
    try:
        assert client.get("/travel/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    travellers = [s for s in sql if s.lstrip().startswith("SELECT trip_travellers.")]
    assert travellers and all(s.count("EXISTS") == 1 and s.count("held_trip.phase_id IN") == 1 for s in travellers), travellers


# --- every page the benchmark measures, at two sizes ------------------------------------------------------------

# Statements per page, at most: 12 (the target), or today's count for the pages that still run more — a ceiling that
# only comes down (the benchmark's table and the README name them).
TARGET = 12
ABOVE_TARGET = {  # counted here with the test's two SAVEPOINT statements (`make bench`, on PostgreSQL, counts two fewer)
    # and with nothing kept, the budget's money sums included (computed afresh, finance's trip page runs 13 of its own;
    # every other page at most 12)
    "admin /": 14, "secretariat /": 13, "finance /travel/": 13, "finance /travel/budget": 13, "finance /travel/{trip}": 15,
    "officer /officers/me": 13, "officer /travel/{own_trip}": 13,
}


def _grow(app, teams: int) -> None:
    """``teams`` more teams of this phase, each with activity, a settled trip, a report and an inquiry."""
    from banso.models import Phase

    with app.app_context():
        phase = db.session.scalar(db.select(Phase).where(Phase.number == 2))
        reviewer, staff = make_user(Role.FINANCE), make_user(Role.SECRETARIAT)
        for _ in range(teams):
            team = make_team(phase)
            teams_service.record_activity(team, {"kind": "online_meeting", "started_on": date(2026, 5, 1), "summary": "定例"},
                                          actor=staff)
            trip = make_trip(team, depart_on=date(2026, 5, 10), return_on=date(2026, 5, 11), purpose="company_visit")
            travel.review_request(trip, "approve", actor=reviewer)
            lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
            travel.file_claim(trip, lines, [("r.pdf", b"%PDF-1.4 r")], actor=staff)
            travel.review_claim(trip, "settle", {}, actor=reviewer)
            inquiry = inquiries.receive({"org_type": "other", "category": "travel", "name": "問合 太郎", "email": "q@example.jp",
                                         "subject": "精算について", "body": "本文"}, channel="form", actor=None)
            inquiry.phase_id = phase.id
        db.session.commit()


def test_every_benchmarked_page_runs_as_many_statements_for_many_rows_as_for_few(app, clock):
    """DESIGN rule 8 and issue 19's guard: the pages `make bench` measures, each as the role that uses it, run the same
    number of statements with five teams as with one, and no more than the target (or their recorded ceiling)."""
    from bench.pages import PAGES

    from banso.models import Inquiry, Team, TripRequest

    with app.app_context():
        make_rates(2026)
        make_publication(make_phase())
        emails = {"admin": make_user(Role.ADMIN).email, "secretariat": make_user(Role.SECRETARIAT).email,
                  "finance": make_user(Role.FINANCE).email, "officer": make_user(Role.OFFICER).email}
        db.session.commit()
    _grow(app, 1)
    with app.app_context():
        team = db.session.scalar(db.select(Team).order_by(Team.id))
        officer = team.current_members[0].officer
        officer.user_id = db.session.scalar(db.select(User.id).where(User.email == emails["officer"]))
        ids = {"phase": 2, "team": team.id, "application": team.application_id, "municipality": team.municipality_id,
               "officer": officer.id, "inquiry": db.session.scalar(db.select(Inquiry.id).order_by(Inquiry.id)),
               "trip": db.session.scalar(db.select(TripRequest.id).order_by(TripRequest.id)),
               "own_trip": db.session.scalar(db.select(TripRequest.id).where(TripRequest.team_id == team.id))}
        db.session.commit()
    clients = {}
    for role, email in emails.items():
        clients[role] = app.test_client()
        login(clients[role], email)
    clients["anonymous"] = app.test_client()

    def measure() -> dict[str, int]:
        result = {}
        for role, template in PAGES:
            path = template.format(**ids)
            clients[role].get(path)  # warm: sessions renewed, caches filled
            with counted(app) as statements:
                response = clients[role].get(path)
            assert response.status_code == 200, (role, path, response.status_code)
            result[f"{role} {template}"] = len(statements)
        return result

    few = measure()
    _grow(app, 4)
    many = measure()
    assert many == few, {page: (few[page], many[page]) for page in few if few[page] != many[page]}
    over = {page: n for page, n in many.items() if n > ABOVE_TARGET.get(page, TARGET)}
    assert over == {}, over


def test_a_municipalitys_page_runs_as_many_statements_after_years_of_phases(app, client):
    """Found by `make bench`: the page asked each phase's population on its own (18 statements at N = 1, 22 at N = 10)."""
    from banso.models import OfficialPopulation
    from tests.factories import make_application, make_municipality

    with app.app_context():
        municipality = make_municipality()
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        first = make_phase(number=1, name="第1期", fiscal_year=2025)
        make_application(first, municipality)
        db.session.add(OfficialPopulation(municipality=municipality, reference_date=first.population_reference_date, population=8000))
        municipality_id = municipality.id
        db.session.commit()
    login(client, "staff@banso.example")

    def statements() -> int:
        client.get(f"/municipalities/{municipality_id}")
        with counted(app) as found:
            assert client.get(f"/municipalities/{municipality_id}").status_code == 200
        return len(found)

    few = statements()
    with app.app_context():
        for number in (2, 3, 4):
            make_phase(number=number, name=f"第{number}期", fiscal_year=2024 + number,
                       population_reference_date=date(2023 + number, 1, 1))
        db.session.commit()
    assert statements() == few
