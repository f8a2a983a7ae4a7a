"""PUB-2 with two live phases, as every December: 第2期 released and in support beside 第3期, whose matching is
confirmed and told in advance but not released. The crawler of tests/blueprints/test_hold.py requests every GET route
(with either phase, each export, a search, htmx fragments) as anonymous, finance and an officer of 第2期, and reads
each viewer's own calendar feed: 第3期's matched municipality appears nowhere; as the secretariat it does."""
from datetime import date

import pytest

from banso.extensions import db
from banso.services import calendar_feed, publication
from tests.blueprints.test_hold import _leaks, _urls
from tests.conftest import login, rolled_back
from tests.factories import make_municipality, make_team, make_user

NEXT_TOWN = "翌期秘匿町"


@pytest.fixture(scope="module")
def two_live_phases(app):
    """第2期 released and in support (a team, an officer of it with a sign-in); 第3期 taking in, its matching confirmed and
    noticed but not released (its town held); today falls between 第3期's notice and its release."""
    from banso.clock import jst
    from tests.factories import make_phase, make_publication

    with rolled_back(app):
        with app.app_context():
            users = {role: make_user(role, email=f"{role}@banso.example") for role in ("secretariat", "finance", "officer")}
            running = make_team(municipality=make_municipality(name="公開町"))
            make_publication(running.phase)
            running.current_members[0].officer.user = users["officer"]
            third = make_phase(number=3, name="第3期", fiscal_year=2027, survey_opens_at=jst(2026, 10, 1, 10),
                               answer_deadline_at=jst(2026, 10, 20, 17), recruitment_opens_at=jst(2026, 10, 21, 10),
                               recruitment_closes_at=jst(2026, 11, 10, 17), matching_deadline_at=jst(2026, 11, 20, 17),
                               publication_at=jst(2027, 1, 15, 10), support_start=date(2027, 4, 1), support_end=date(2028, 3, 31))
            held = make_team(third, municipality=make_municipality(name=NEXT_TOWN))
            publication.confirm(third, actor=users["secretariat"])
            publication.send_advance_notices(third, actor=users["secretariat"])
            ids = {"team_id": held.id, "municipality_id": held.municipality_id, "application_id": held.application_id,
                   "officer_id": held.current_members[0].officer_id, "phase_id": third.id, "number": third.number,
                   "trip_id": 999_999, "receipt_id": 999_999,
                   "calendar": {role: calendar_feed.renew(user, actor=None) for role, user in users.items()}}
            db.session.commit()
        yield ids


@pytest.mark.parametrize("viewer", [None, "finance", "officer"])
@pytest.mark.crawl
def test_pub_2_with_two_live_phases_no_page_shows_the_next_phases_held_pairing(app, client, two_live_phases, viewer):
    if viewer:
        login(client, f"{viewer}@banso.example")
    ids = dict(two_live_phases, token=two_live_phases["calendar"].get(viewer, "none"))
    assert _leaks(client, _urls(app, ids), NEXT_TOWN) == []


@pytest.mark.crawl
def test_pub_2_with_two_live_phases_the_crawler_finds_the_next_phases_pairing_as_the_secretariat(app, client, two_live_phases):
    login(client, "secretariat@banso.example")
    found = set(_leaks(client, _urls(app, dict(two_live_phases, token="none")), NEXT_TOWN))
    assert {f"/teams/{two_live_phases['team_id']}", f"/teams/?phase={two_live_phases['number']}"} <= found
