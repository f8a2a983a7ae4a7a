"""Server time and SQL statements per page, every list, detail and dashboard page, as the role that uses it."""
from __future__ import annotations

import time

from sqlalchemy import select

from banso import settle
from bench.common import count_statements, make_app, median, percentile

TARGET_P50_MS, TARGET_P95_MS, TARGET_STATEMENTS = 30, 100, 12
PASSWORD = "banso-demo"
ROLES = {
    "admin": "admin@banso.example",
    "secretariat": "staff@banso.example",
    "finance": "finance@banso.example",
    "officer": "officer@banso.example",
    "anonymous": None,
}
# (role, path); {…} are filled from this year's records.
PAGES = [
    ("admin", "/"), ("admin", "/admin/users"), ("admin", "/admin/audit"), ("admin", "/admin/phases"),
    ("admin", "/admin/notifications"), ("admin", "/publication/"),
    ("secretariat", "/"), ("secretariat", "/applications/"), ("secretariat", "/applications/{application}"),
    ("secretariat", "/applications/continuation"), ("secretariat", "/municipalities/"),
    ("secretariat", "/municipalities/{municipality}"), ("secretariat", "/officers/"), ("secretariat", "/officers/{officer}"),
    ("secretariat", "/officers/breakdown"), ("secretariat", "/officers/changes"), ("secretariat", "/appointments/"),
    ("secretariat", "/teams/"), ("secretariat", "/teams/{team}"), ("secretariat", "/teams/reports"),
    ("secretariat", "/matching/"), ("secretariat", "/inquiries/"), ("secretariat", "/inquiries/{inquiry}"),
    ("secretariat", "/inquiries/reports"), ("secretariat", "/stats/"), ("secretariat", "/publication/prefectures"),
    ("finance", "/"), ("finance", "/travel/"), ("finance", "/travel/{trip}"), ("finance", "/travel/budget"),
    ("finance", "/travel/rates"), ("finance", "/officers/"),
    ("officer", "/"), ("officer", "/officers/me"), ("officer", "/travel/"), ("officer", "/travel/{own_trip}"),
    ("officer", "/inquiries/mine"),
    ("anonymous", "/contact"), ("anonymous", "/faq"), ("anonymous", "/public/{phase}/results"),
]


def _ids() -> dict[str, int]:
    """This year's first team and what hangs off it: the same pages at every scale."""
    from banso.extensions import db
    from banso.models import Inquiry, Officer, Phase, Team, TeamMembership, User
    from banso.models.travel import TripRequest

    phase = db.session.scalar(select(Phase).order_by(Phase.number.desc()))
    team = db.session.scalar(select(Team).where(Team.phase_id == phase.id).order_by(Team.id))
    me = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id).where(User.email == ROLES["officer"]))
    mine = db.session.scalar(select(TripRequest.id).join(TeamMembership, TeamMembership.team_id == TripRequest.team_id)
                             .where(TeamMembership.officer_id == me.id, TripRequest.phase_id == phase.id).order_by(TripRequest.id))
    return {
        "phase": phase.number, "team": team.id, "application": team.application_id, "municipality": team.municipality_id,
        "officer": team.memberships[0].officer_id,
        "inquiry": db.session.scalar(select(Inquiry.id).where(Inquiry.phase_id == phase.id).order_by(Inquiry.id)),
        "trip": db.session.scalar(select(TripRequest.id).where(TripRequest.phase_id == phase.id).order_by(TripRequest.id)),
        "own_trip": mine,
    }


def measure(url: str, requests: int, warmup: int = 10) -> dict[tuple[str, str], dict]:
    """{(role, path): {p50, p95, statements, status}} for one database."""
    from banso.extensions import db

    # Nothing is kept between requests (no page or value cache): every view computes and renders what it shows.
    app = make_app(url)
    results = {}
    with app.app_context():
        ids = _ids()
        engine = db.engine
    settle(app)  # as wsgi.py does
    clients = {}
    for role, email in ROLES.items():
        client = app.test_client()
        if email:
            response = client.post("/login", data={"email": email, "password": PASSWORD})
            assert response.status_code == 302, f"{email} could not sign in"
        clients[role] = client
    for role, template in PAGES:
        path = template.format(**ids)
        client = clients[role]
        for _ in range(warmup):
            client.get(path)
        with count_statements(engine) as counter:
            response = client.get(path)
        statements = counter["n"]
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        results[(role, template)] = {"p50": median(times), "p95": percentile(times, 0.95), "statements": statements,
                                     "status": response.status_code}
    return results
