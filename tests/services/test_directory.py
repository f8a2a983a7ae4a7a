"""An officer's account ends with their 併任 (issue 36): when the last 併任 has ended the account becomes claims-only
for OFFICER_CLAIMS_GRACE_DAYS — their own trips, their claims and receipts, nothing else — then ends; a new 併任 gives
the officer's account back. Walked through the year on the daily run."""
from datetime import date, timedelta

from sqlalchemy import select

from banso.extensions import db
from banso.models import ConcurrentAppointment, TripStatus
from banso.policies import roles
from banso.policies import travel as travel_policy
from banso.services import directory
from tests.factories import make_phase, make_publication, make_rates, make_team, make_trip, make_user


def _officer_on_a_trip():
    make_rates(2026)
    team = make_team()
    member = team.current_members[0].officer
    user = make_user("officer", email=member.email)
    member.user = user
    trip = make_trip(team)
    trip.status = TripStatus.APPROVED
    appointment = db.session.scalar(select(ConcurrentAppointment).where(ConcurrentAppointment.officer_id == member.id))
    appointment.state, appointment.effective_to = "issued", date(2027, 3, 31)
    db.session.flush()
    return user, trip, team, member


def test_the_last_appointment_ends_claims_only_for_the_grace_then_the_account_ends(app, ctx):
    user, trip, team, member = _officer_on_a_trip()
    assert directory.daily(date(2027, 3, 31)) == {"claims_only": 0, "restored": 0, "ended": 0}
    assert roles.is_officer(user) and travel_policy.may_file_for(team, user)
    version = user.session_version
    assert directory.daily(date(2027, 4, 1))["claims_only"] == 1
    grace = app.config["OFFICER_CLAIMS_GRACE_DAYS"]
    assert user.claims_until == date(2027, 3, 31) + timedelta(days=grace)
    assert user.session_version == version + 1  # open sessions take the narrower account at once
    assert not roles.is_officer(user) and roles.is_claimant(user)
    assert travel_policy.may_claim(trip, user) and travel_policy.may_view(trip, user)
    assert not travel_policy.may_file_for(team, user) and not travel_policy.may_correct(trip, user)
    assert not travel_policy.may_cancel(trip, user)
    assert directory.daily(user.claims_until)["ended"] == 0  # the last day of the grace still works
    assert directory.daily(user.claims_until + timedelta(days=1))["ended"] == 1
    assert not user.active


def test_a_new_appointment_gives_the_officer_account_back(app, ctx):
    user, trip, team, member = _officer_on_a_trip()
    directory.daily(date(2027, 4, 1))
    assert roles.is_claimant(user)
    db.session.add(ConcurrentAppointment(officer=member, phase=make_phase(number=3, name="第3期", fiscal_year=2027),
                                         state="planned", order_number=None,
                                         post="地方創生支援官", order_date=None,
                                         effective_from=date(2027, 5, 1), effective_to=date(2028, 3, 31)))
    db.session.flush()
    assert directory.daily(date(2027, 4, 2))["restored"] == 1
    assert roles.is_officer(user) and user.active


def test_a_claimant_sees_their_trips_and_claims_and_nothing_else(app, client):
    from tests.conftest import login

    with app.app_context():
        user, trip, team, _ = _officer_on_a_trip()
        make_publication(team.phase)  # the team is published: an officer sees it (PUB-2)
        directory.daily(date(2027, 4, 1))
        db.session.commit()
        email, trip_id, team_id, user_id = user.email, trip.id, team.id, user.id
    login(client, email)
    assert client.get("/").status_code == 200
    listing = client.get("/travel/")
    assert listing.status_code == 200 and trip.number in listing.get_data(as_text=True)
    page = client.get(f"/travel/{trip_id}")
    assert page.status_code == 200 and f"/travel/{trip_id}/claim" in page.get_data(as_text=True)
    assert client.get(f"/travel/{trip_id}/claim").status_code == 200
    assert client.get(f"/teams/{team_id}").status_code in (403, 404)
    assert client.get("/travel/new").status_code in (302, 403) and "出張を申請する" not in listing.get_data(as_text=True)
    client.post("/logout")
    with app.app_context():
        admin_email = make_user("admin").email
        db.session.commit()
    login(client, admin_email)
    assert "旅費の精算だけを行えます" in client.get(f"/admin/users/{user_id}").get_data(as_text=True)
