"""TRV-2, property-based: after any sequence of requests, reviews, claims, settlements, cancellations
and cap revisions, the budget's figures equal the sums of the records, and national-borne
committed + spent never passes the cap."""
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from banso.extensions import db
from banso.models import Phase, TripRequest, User
from banso.models.travel import COMMITTED
from banso.services import RuleViolation, travel
from tests.conftest import rolled_back
from tests.factories import make_rates, make_team, make_user, trip_data

ACTIONS = st.lists(st.tuples(
    st.sampled_from(["file", "approve", "return", "reject", "cancel", "claim", "settle", "bearer", "revise"]),
    st.integers(0, 7), st.integers(0, 60_000)), min_size=1, max_size=24)


@pytest.fixture(scope="module")
def world(app):
    """A team, rates and the three roles, built once; every example runs on it and is rolled back."""
    with rolled_back(app):
        with app.app_context():
            make_rates(2026)
            team = make_team()
            team.phase.travel_budget_cap_yen = 400_000
            make_user("secretariat", email="staff@x.example"), make_user("finance", email="finance@x.example")
            make_user("admin", email="admin@x.example")
            db.session.commit()
        yield


def _user(email):
    return db.session.scalar(select(User).where(User.email == email))


def _act(action: str, index: int, amount: int) -> None:
    phase = db.session.scalar(select(Phase))
    trips = list(db.session.scalars(select(TripRequest).order_by(TripRequest.id)))
    # Mostly a trip where the action makes sense, sometimes any trip (the refusals are part of the test).
    fitting = {"approve": ("submitted",), "return": ("submitted",), "reject": ("submitted",), "claim": ("approved", "claim_returned"),
               "settle": ("claim_submitted",), "bearer": ("submitted", "returned")}.get(action)
    candidates = [t for t in trips if fitting and t.status in fitting and index % 4] or trips
    trip = candidates[index % len(candidates)] if candidates else None
    staff, finance, admin = _user("staff@x.example"), _user("finance@x.example"), _user("admin@x.example")
    if action == "file" or trip is None:
        from banso.models import Team

        team = db.session.scalar(select(Team))
        day = date(2026, 5, 1) + timedelta(days=index * 9)
        travel.file_request(team, trip_data(team, depart_on=day, return_on=day + timedelta(days=1), rail_yen=amount),
                            actor=staff)
    elif action in ("approve", "return", "reject"):
        travel.review_request(trip, action, "確認のため" if action != "approve" else "", actor=finance)
    elif action == "cancel":
        travel.cancel_request(trip, actor=staff)
    elif action == "claim":
        lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen + (amount % 7_000 if line.category == "rail" else 0))
                 for line in trip.estimate_lines]
        travel.file_claim(trip, lines, [("r.pdf", b"%PDF-1.4 r")], actor=staff)
    elif action == "settle":
        approvals = {line.id: (max(0, line.claimed_yen - amount % 3_000), "領収書の額による") for line in trip.claim.lines} \
            if trip.claim else {}
        travel.review_claim(trip, "settle", approvals, actor=finance)
    elif action == "bearer":
        travel.decide_bearer(trip, "municipality" if amount % 2 else "national", "計画外の訪問", actor=staff)
    elif action == "revise":
        travel.revise_cap(phase, amount * 10, "補正", actor=admin)


def _check_figures() -> None:
    db.session.expire_all()
    phase = db.session.scalar(select(Phase))
    trips = list(db.session.scalars(select(TripRequest)))
    committed = sum(line.amount_yen for t in trips if t.status in COMMITTED and t.cost_bearer == "national"
                    for line in t.estimate_lines)
    spent = sum(line.approved_yen if line.approved_yen is not None else line.claimed_yen
                for t in trips if t.status == "settled" and t.cost_bearer == "national" for line in t.claim.lines)
    figures = travel.budget(phase)
    assert (figures.committed, figures.spent, figures.cap) == (committed, spent, phase.travel_budget_cap_yen)
    assert figures.available == figures.cap - committed - spent >= 0
    assert travel.check_kept(phase) == []  # the kept totals and breakdown equal a fresh sum after every step


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ACTIONS)
def test_trv_2_budget_figures_equal_the_records_after_any_sequence(app, world, clock, steps):
    with rolled_back(app), app.app_context():
        for action, index, amount in steps:
            try:
                _act(action, index, amount)
            except RuleViolation:
                db.session.rollback()  # as every view does: a refused action changes nothing
            else:
                db.session.commit()
            _check_figures()
        db.session.remove()
