"""PUB-2 by construction: a phase confirmed and noticed in advance but not released, with a team, its visit
plan, a trip with a claim and receipt, activity and a member replaced out of it. A crawler requests every GET
route (with the phase, each export format, a search, htmx fragments) as anonymous, finance, an officer of another
team and the replaced officer, reads HTML, CSV and every sheet of every Excel file: the matched municipality
appears nowhere. The same crawler finds it as the secretariat, so the detector works. Posts to every
state-changing route of the team change nothing."""
import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from banso.extensions import db
from banso.models import Role, TeamTravelPlan, TripRequest
from banso.services import calendar_feed, publication, teams, travel
from tests.conftest import login, rolled_back
from tests.factories import (MINISTRY_CYCLE, make_municipality, make_rates, make_ready_officer, make_team,
                             make_trip, make_user)

SECRET_TOWN, SECRET_OFFICER, SECRET_SUCCESSOR = "秘匿町", "秘匿 一郎", "後任 伏見"
# The public inquiry form offers every municipality of a prefecture to choose from: the master list, not the matching.
MASTER_LISTS = ("/contact",)
VIEWERS = [None, "finance", "officer", "replaced"]


@pytest.fixture(scope="module")
def embargo(app):
    from banso.clock import jst
    from tests.conftest import Clock

    app.config["CLOCK"] = Clock(jst(2026, 11, 23, 10))  # the May replacement has taken effect, February's is planned
    with rolled_back(app):
        with app.app_context():
            users = {role: make_user(role, email=f"{role}@banso.example")
                     for role in ("admin", "secretariat", "finance", "officer")}
            users["replaced"] = make_user(Role.OFFICER, email="replaced@banso.example")
            team = make_team(municipality=make_municipality(name=SECRET_TOWN))
            phase = team.phase
            leaving, staying = team.current_members[0].officer, team.current_members[1].officer
            leaving.user = users["replaced"]
            staying.name = SECRET_OFFICER
            other_team = make_team(phase)  # an officer of another team of the same phase
            other_team.current_members[0].officer.user = users["officer"]
            joining = make_ready_officer(phase, MINISTRY_CYCLE[0])
            teams.replace_member(team, leaving, joining, effective=date(2026, 5, 1), reason="人事異動", actor=None)
            # A member to be replaced after the notice, before the release: they see their own team, not who joins it
            users["planned"] = make_user(Role.OFFICER, email="planned@banso.example")
            going = team.current_members[2].officer
            going.user = users["planned"]
            successor = make_ready_officer(phase, going.ministry.name, name=SECRET_SUCCESSOR)
            teams.replace_member(team, going, successor, effective=date(2027, 2, 1), reason="人事異動", actor=None)
            make_rates(2026)
            trip = make_trip(team, actor=users["secretariat"])
            travel.review_request(trip, "approve", actor=users["finance"])
            lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
            claim = travel.file_claim(trip, lines, [("receipt.pdf", b"%PDF-1.4 held receipt")], actor=users["secretariat"])
            travel.set_plan(team, 5, 90_000, "市と合意", actor=users["finance"])
            teams.record_activity(team, {"kind": "online_meeting", "started_on": date(2026, 5, 12), "summary": "定例会議"},
                                  actor=users["secretariat"])
            publication.confirm(phase, actor=users["secretariat"])
            publication.send_advance_notices(phase, actor=users["secretariat"])
            ids = {"team_id": team.id, "municipality_id": team.municipality_id, "application_id": team.application_id,
                   "officer_id": staying.id, "phase_id": phase.id, "number": phase.number, "trip_id": trip.id,
                   "receipt_id": claim.receipts[0].id,
                   # each viewer's own calendar feed (its address signs it, with no session): read in their scope
                   "calendar": {role: calendar_feed.renew(user, actor=None) for role, user in users.items()}}
            db.session.commit()
        yield ids
    app.config.pop("CLOCK", None)


CHOICES = {"fmt": "docx", "template_kind": "appointment"}  # arguments that name one of a few (documents' files)


def _urls(app, ids) -> list[str]:
    """Every GET route, filled from the held team; each also with the phase, each export, a search (matching the town
    and the officer, and not the town's full name, which a search box shows back) and filters."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        values = {name: ids.get(name, CHOICES.get(name, 999_999)) for name in rule.arguments}
        path = app.url_map.bind("localhost").build(rule.endpoint, values)
        phase = f"{path}?phase={ids['number']}"
        urls += [path, phase, f"{phase}&format=csv", f"{phase}&format=xlsx", f"{phase}&q=秘匿",
                 f"{phase}&team_id={ids['team_id']}", f"{phase}&prefecture=岩手県"]
    return urls


def _text(response) -> str:
    if response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        workbook = load_workbook(io.BytesIO(response.data), read_only=True)
        return "\n".join(str(cell) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)
                         for cell in row if cell is not None)
    return response.get_data(as_text=True) if response.mimetype.startswith(("text", "application/json")) else ""


def _leaks(client, urls, town: str = SECRET_TOWN) -> list[str]:
    """The urls whose page or export shows ``town`` (or any text held: the successor's name)."""
    found = []
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            assert response.status_code < 500 or url.startswith("/readyz"), (url, response.status_code)  # readiness: a worker
            if town in _text(response) and not url.startswith(MASTER_LISTS):
                found.append(url)
    return found


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.crawl
def test_pub_2_no_get_route_shows_a_held_pairing_in_any_format(app, client, embargo, viewer):
    if viewer:
        login(client, f"{viewer}@banso.example")
    assert _leaks(client, _urls(app, dict(embargo, token=embargo["calendar"].get(viewer, "none")))) == []


@pytest.mark.crawl
def test_pub_2_a_member_replaced_before_the_release_does_not_learn_their_successor(app, client, embargo):
    """Issue 31: with the phase noticed, not released, a member to be replaced saw on their own team page 「予定 …付で
    …さんから後任 伏見さんに交代します」. Who joins a held team is held like the team, on every route and format."""
    login(client, "planned@banso.example")
    assert client.get(f"/teams/{embargo['team_id']}").status_code == 200  # their own team, noticed
    assert _leaks(client, _urls(app, dict(embargo, token=embargo["calendar"]["planned"])), town=SECRET_SUCCESSOR) == []
    client.post("/logout")
    login(client, "secretariat@banso.example")  # the detector works: the secretariat sees the plan
    assert SECRET_SUCCESSOR in client.get(f"/teams/{embargo['team_id']}").get_data(as_text=True)


@pytest.mark.crawl
def test_pub_2_the_crawler_finds_the_pairing_as_the_secretariat(app, client, embargo):
    login(client, "secretariat@banso.example")
    found = set(_leaks(client, _urls(app, dict(embargo, token=embargo["calendar"]["secretariat"]))))
    number, team_id, trip_id = embargo["number"], embargo["team_id"], embargo["trip_id"]
    assert {f"/teams/{team_id}", f"/travel/{trip_id}", f"/travel/?phase={number}&format=csv",
            f"/travel/budget?phase={number}&format=xlsx", f"/travel/budget?phase={number}"} <= found


def _state(app, embargo) -> tuple:
    with app.app_context():
        trip = db.session.get(TripRequest, embargo["trip_id"])
        plan = db.session.scalar(select(TeamTravelPlan).where(TeamTravelPlan.team_id == embargo["team_id"]))
        tables = tuple(db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables)
        return trip.status, trip.cost_bearer, plan.planned_site_visits, tables


POSTS = [
    ("/teams/{team_id}/activities", {"kind": "site_visit", "started_on": "2026-06-01", "summary": "訪問"}),
    ("/teams/{team_id}/reports/1", {"issues": "課題", "support": "支援", "results": "成果", "next_steps": "今後"}),
    ("/teams/{team_id}/extend", {"new_end": "2027-06-30", "reason": "延長"}),
    ("/travel/estimate?team_id={team_id}", {"depart_on": "2026-06-10", "return_on": "2026-06-11"}),
    ("/travel/new?team_id={team_id}", {"team_id": "{team_id}", "purpose": "site_visit", "depart_on": "2026-06-10",
                                       "return_on": "2026-06-11", "destination_prefecture": "岩手県", "room_rate_yen": "9000"}),
    ("/travel/{trip_id}/review", {"decision": "reject", "comment": "却下"}),
    ("/travel/{trip_id}/bearer", {"cost_bearer": "municipality", "bearer_reason": "市の負担"}),
    ("/travel/{trip_id}/cancel", {}),
    ("/travel/{trip_id}/claim", {}),
    ("/travel/{trip_id}/claim/review", {"decision": "settle"}),
    ("/travel/{trip_id}/receipts", {}),
    ("/travel/budget/plans/{team_id}", {"planned_site_visits": "0", "standard_visit_cost_yen": "0", "note": "変更"}),
]


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.crawl
def test_pub_2_posts_to_a_held_teams_routes_change_nothing(app, client, embargo, viewer):
    if viewer:
        login(client, f"{viewer}@banso.example")
    before = _state(app, embargo)
    for path, form in POSTS:
        response = client.post(path.format(**embargo), data={k: v.format(**embargo) for k, v in form.items()})
        assert response.status_code in (302, 403, 404, 422), (viewer, path, response.status_code)
    assert _state(app, embargo) == before


def test_pub_2_a_query_that_forgets_the_hold_is_still_held(app, embargo):
    """Whatever a new page's query looks like, a viewer outside the secretariat gets no held row; the opt-out is
    explicit (``hold.lifted``), and the secretariat and code outside a request (worker, CLI) see everything."""
    from flask_login import login_user

    from banso.models import Team, TeamMembership, TravelClaimLine, TripTraveller, User
    from banso.policies import hold

    def counts():
        return (db.session.scalar(select(func.count()).select_from(Team)),
                db.session.scalar(select(func.count(TripRequest.id))),
                len(db.session.scalars(select(TravelClaimLine).join(TravelClaimLine.claim)).all()),
                len(db.session.scalars(select(TripTraveller)).all()),
                db.session.get(Team, embargo["team_id"]) is not None,
                len(db.session.scalars(select(TeamMembership).where(TeamMembership.team_id == embargo["team_id"])).all()))

    with app.app_context():
        everything = counts()
    assert everything[:2] == (2, 1) and all(everything)  # the held team and the other officer's
    for email, held in (("finance@banso.example", True), ("replaced@banso.example", True),
                        ("secretariat@banso.example", False)):
        with app.test_request_context("/"):
            login_user(db.session.scalar(select(User).where(User.email == email)))
            assert counts() == ((0, 0, 0, 0, False, 0) if held else everything), email
            with hold.lifted("the test's own check of the opt-out"):
                assert counts() == everything
            moved = db.session.execute(db.update(TripRequest).where(TripRequest.id == embargo["trip_id"])
                                       .values(review_comment="変更").execution_options(synchronize_session=False))
            assert moved.rowcount == (0 if held else 1), email
            db.session.rollback()


@pytest.mark.parametrize("statement", ["text", "core", "core_join", "core_update"])
def test_pub_2_sql_text_or_core_on_a_held_table_is_refused_in_a_request_unless_lifted_by_name(app, embargo, statement):
    """Issue 31: the hold added its criteria to ORM statements only; ``text()`` and Core ``select(table)`` on held tables
    were not held. Inside a request, outside the secretariat, they are now refused unless the hold is lifted by name."""
    from flask_login import login_user
    from sqlalchemy import text, update

    from banso.models import Municipality, Team, User
    from banso.policies import hold

    teams_table, towns = Team.__table__, Municipality.__table__
    make = {"text": lambda: text("SELECT m.name FROM municipalities m JOIN teams t ON t.municipality_id = m.id"),
            "core": lambda: select(teams_table.c.municipality_id),
            "core_join": lambda: select(towns.c.name).select_from(towns.join(teams_table, teams_table.c.municipality_id == towns.c.id)),
            "core_update": lambda: update(teams_table).values(results="x")}[statement]
    for email, refused in (("finance@banso.example", True), ("replaced@banso.example", True),
                           ("secretariat@banso.example", False)):
        with app.test_request_context("/"):
            login_user(db.session.scalar(select(User).where(User.email == email)))
            if refused:
                with pytest.raises(hold.OutsideTheHold):
                    db.session.execute(make())
                db.session.rollback()
                login_user(db.session.scalar(select(User).where(User.email == email)))
                with hold.lifted("the test's own check of the opt-out"):
                    db.session.execute(make())
            else:
                db.session.execute(make())
            db.session.rollback()
    with app.app_context():  # outside a request (worker, CLI): the system's own reads
        db.session.execute(make())
        db.session.rollback()


def test_pub_2_every_view_and_export_of_held_results_is_audited_and_watermarked(app, client, embargo):
    """Found: the team list, travel list and trip pages, the budget page and workbook and the municipality page of an
    unreleased phase were mostly not audited or watermarked. The loader now records every held team or trip a
    request shows (one row per request and phase) and marks the page and every sheet of an export."""
    from banso.models import AuditEntry

    def views():
        with app.app_context():
            return db.session.scalars(select(AuditEntry.summary).where(AuditEntry.action == "view_confidential")
                                      .order_by(AuditEntry.id)).all()

    login(client, "secretariat@banso.example")
    number = embargo["number"]
    for url in (f"/teams/?phase={number}", f"/travel/?phase={number}", f"/travel/{embargo['trip_id']}",
                f"/travel/budget?phase={number}", f"/municipalities/{embargo['municipality_id']}",
                f"/teams/{embargo['team_id']}"):
        before = len(views())
        page = client.get(url).get_data(as_text=True)
        after = views()
        assert len(after) == before + 1 and url in after[-1] and SECRET_TOWN in after[-1], url
        assert 'class="watermark-page"' in page and "secretariat@banso.example" in page, url
    for url in (f"/applications/?phase={number}", f"/stats/?phase={number}"):  # "マッチング済" and the figures
        before = len(views())
        assert 'class="watermark-page"' in client.get(url).get_data(as_text=True), url
        assert len(views()) == before + 1 and url in views()[-1], url
    workbook = load_workbook(io.BytesIO(client.get(f"/travel/budget?phase={number}&format=xlsx").data), read_only=True)
    for sheet in workbook.worksheets:
        first = next(sheet.iter_rows(values_only=True))[0]
        assert first.startswith("公表前・取扱注意") and "secretariat@banso.example" in first, sheet.title
    csv = client.get(f"/travel/?phase={number}&format=csv").get_data(as_text=True)
    assert csv.lstrip("\ufeff").startswith("公表前・取扱注意")
    released = client.get("/travel/rates").get_data(as_text=True)  # a page showing no held team: no mark, no row
    assert 'class="watermark-page"' not in released


def test_every_export_of_a_list_is_audited_with_its_filters_and_rows(app, client, embargo):
    from banso.models import AuditEntry

    login(client, "admin@banso.example")
    for url in ("/officers/?format=csv&q=秘匿", "/inquiries/?format=xlsx", "/admin/users?format=csv", "/admin/audit?format=csv"):
        assert client.get(url).status_code == 200, url
    with app.app_context():
        exports = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id)).all()
        assert [e.after["path"] for e in exports] == ["/officers/", "/inquiries/", "/admin/users", "/admin/audit"]
        assert exports[0].after["filters"] == {"q": "秘匿"} and exports[0].after["rows"] == 1
        assert all(e.actor.email == "admin@banso.example" for e in exports)


def test_trv_2_finance_counts_and_budget_pages_name_no_held_trip_or_team(app, client, embargo):
    """Found: the stage counts on /travel/ counted hidden trips and the budget page listed every matched team."""
    login(client, "finance@banso.example")
    page = client.get(f"/travel/?phase={embargo['number']}").get_data(as_text=True)
    assert re.findall(r'<span class="badge">(\d+)</span>', page) == ["0"] * 5
    budget = client.get(f"/travel/budget?phase={embargo['number']}").get_data(as_text=True)
    assert SECRET_TOWN not in budget and f'id="plan-{embargo["team_id"]}"' not in budget


def test_team_4_an_officer_replaced_out_of_a_released_team_no_longer_opens_it(app, client, embargo):
    """Found: a replaced officer still opened the team, with the successor's e-mail and phone, the activity and
    the reports. After release the team is public (PUB-3), but its page is for its current members."""
    from banso.models import Phase, User
    from banso.services import publication as publishing

    with app.app_context():
        phase = db.session.get(Phase, embargo["phase_id"])
        publishing.release(phase, actor=db.session.scalar(select(User).where(User.email == "admin@banso.example")))
        db.session.commit()
    login(client, "replaced@banso.example")
    assert client.get(f"/teams/{embargo['team_id']}").status_code == 403
    assert client.get(f"/teams/{embargo['team_id']}/summary").status_code == 403
    assert f'href="/teams/{embargo["team_id"]}"' not in client.get(f"/teams/?phase={embargo['number']}").get_data(as_text=True)
    profile = client.get("/officers/me").get_data(as_text=True)
    past = profile[profile.index('id="past-teams"'):]
    assert SECRET_TOWN in past and "人事異動" in past and f'/teams/{embargo["team_id"]}' not in past  # their own period only


def test_pub_2_the_matching_proposal_of_a_held_phase_is_audited_and_marked(app, client, embargo):
    from banso.models import AuditEntry

    login(client, "secretariat@banso.example")
    page = client.get(f"/matching/?phase={embargo['number']}").get_data(as_text=True)
    assert 'class="watermark-page"' in page
    with app.app_context():
        last = db.session.scalar(select(AuditEntry.summary).where(AuditEntry.action == "view_confidential")
                                 .order_by(AuditEntry.id.desc()).limit(1))
    assert last.startswith("公表前のマッチング結果を閲覧: /matching/")


def test_pub_2_a_relationship_of_a_record_read_under_lifted_is_still_held_and_held_loads_carry_the_mark(app, embargo):
    """The hold skips a relationship load only when it carries the mark of its parent query's criteria (public
    SQLAlchemy API: a UserDefinedOption propagated to loaders); a record read under ``hold.lifted`` carries none, so
    its collections are held when read after."""
    from flask_login import login_user
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from banso.models import Team, User
    from banso.policies import hold

    marked = []

    def watch(state):
        if state.is_relationship_load:
            marked.append(any(isinstance(o, hold._Held) for o in state.user_defined_options))

    with app.test_request_context("/"):
        login_user(db.session.scalar(select(User).where(User.email == "finance@banso.example")))
        event.listen(Session, "do_orm_execute", watch, insert=True)  # before the hold adds its own
        try:
            with hold.lifted("the test reads the held team itself"):
                team = db.session.get(Team, embargo["team_id"])
            assert team is not None
            assert team.memberships == []  # read after the lift: held
            assert marked and not marked[-1]  # the load carried no mark: the hold added its criteria
            marked.clear()
            db.session.expunge_all()
            for other in db.session.scalars(select(Team)).all():  # a held query: its loads carry the mark
                assert other.memberships is not None
            assert all(marked)
        finally:
            event.remove(Session, "do_orm_execute", watch)
