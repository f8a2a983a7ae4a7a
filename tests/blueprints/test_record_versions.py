"""Every edited record carries the version its page was opened at; a stale save never overwrites (issue: two staff
on one record, the second save silently reverted the first). Officers, applications and phases:
tests/blueprints/test_officers.py and friends; here trips and their claims, visit plans, rates, teams,
inquiries, reply templates and prefecture contacts."""
import re
from datetime import date

from sqlalchemy import select

from banso.extensions import db
from banso.models import Inquiry, PrefectureContact, ReplyTemplate, Team, TeamTravelPlan, TripRequest
from banso.services import inquiries, publication, travel
from tests.conftest import login
from tests.factories import make_phase, make_publication, make_rates, make_team, make_trip, make_user

STALE = "他の方が先に"


def _in_db(app, fn):
    with app.app_context():
        result = fn()
        db.session.commit()
        return result


def _hidden(page: str, name: str, form_action: str | None = None) -> str:
    if form_action:
        page = page[page.index(f'action="{form_action}"'):]
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
    return re.search(r'value="([^"]*)"', tag).group(1)


def _two(app, role):
    first, second = app.test_client(), app.test_client()
    login(first, _in_db(app, lambda: make_user(role).email))
    login(second, _in_db(app, lambda: make_user(role).email))
    return first, second


def _trip(app):
    def build():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)  # released: finance sees the team's trips (the hold has its own tests)
        return make_trip(team, depart_on=date(2026, 7, 1), return_on=date(2026, 7, 2)).id
    return _in_db(app, build)


def test_finance_approving_a_trip_corrected_meanwhile_is_refused_not_approved_unseen(app):
    trip_id = _trip(app)
    finance, _ = _two(app, "finance")
    staff, _ = _two(app, "secretariat")
    opened = finance.get(f"/travel/{trip_id}").get_data(as_text=True)
    version = _hidden(opened, "version", f"/travel/{trip_id}/review")
    with app.app_context():
        form = {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in travel.request_form_data(db.session.get(TripRequest, trip_id)).items()}
    assert staff.post(f"/travel/{trip_id}/edit", data=dict(form, destination="別の用務先")).status_code == 302
    refused = finance.post(f"/travel/{trip_id}/review", data={"decision": "approve", "version": version}, follow_redirects=True)
    assert STALE in refused.get_data(as_text=True) and "用務先「別の用務先」" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(TripRequest, trip_id).status == "submitted"
    # Reading the page again gives the new version: now the approval goes through.
    version = _hidden(finance.get(f"/travel/{trip_id}").get_data(as_text=True), "version", f"/travel/{trip_id}/review")
    finance.post(f"/travel/{trip_id}/review", data={"decision": "approve", "version": version})
    with app.app_context():
        assert db.session.get(TripRequest, trip_id).status == "approved"


def test_a_stale_trip_edit_is_409_with_what_was_typed_and_the_next_save_goes_on(app):
    trip_id = _trip(app)
    with app.app_context():
        trip = db.session.get(TripRequest, trip_id)
        data = travel.request_form_data(trip)
    first, second = _two(app, "secretariat")

    def post(client, **changes):
        form = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in dict(data, **changes).items()}
        return client.post(f"/travel/{trip_id}/edit", data=form)

    assert post(second, itinerary="二人目の行程").status_code == 302
    stale = post(first, itinerary="一人目の行程")
    body = stale.get_data(as_text=True)
    assert stale.status_code == 409 and STALE in body and "一人目の行程" in body
    with app.app_context():
        assert db.session.get(TripRequest, trip_id).itinerary == "二人目の行程"
    assert post(first, itinerary="一人目の行程", version=_hidden(body, "version")).status_code == 302


def test_two_replies_on_one_page_version_send_one_and_tell_the_second(app):
    inquiry_id = _in_db(app, lambda: inquiries.receive({"org_type": "other", "category": "general", "name": "問合 太郎",
                                                         "email": "taro@example.jp", "subject": "件名", "body": "本文"},
                                                        channel="form", actor=None).id)
    first, second = _two(app, "secretariat")
    page = first.get(f"/inquiries/{inquiry_id}").get_data(as_text=True)
    version = _hidden(page, "version", f"/inquiries/{inquiry_id}/reply")
    assert second.post(f"/inquiries/{inquiry_id}/reply", data={"body": "二人目の回答", "version": version}).status_code == 302
    late = first.post(f"/inquiries/{inquiry_id}/reply", data={"body": "一人目の回答", "version": version}, follow_redirects=True)
    assert STALE in late.get_data(as_text=True)
    with app.app_context():
        bodies = [m.body for m in db.session.get(Inquiry, inquiry_id).messages]
    assert "二人目の回答" in bodies and "一人目の回答" not in bodies
    # The status select of the same stale page changes nothing either.
    first.post(f"/inquiries/{inquiry_id}/status", data={"status": "closed", "version": version})
    with app.app_context():
        assert db.session.get(Inquiry, inquiry_id).status == "answered"


def test_a_reply_template_edited_meanwhile_is_neither_overwritten_nor_deleted(app):
    template_id = _in_db(app, lambda: inquiries.save_template("締切", "締切は{受付番号}", actor=make_user()).id)
    first, second = _two(app, "secretariat")
    version = _hidden(first.get(f"/inquiries/templates?template_id={template_id}").get_data(as_text=True), "version")
    assert second.post("/inquiries/templates", data={"template_id": template_id, "title": "締切", "body": "新しい本文",
                                                     "version": version}).status_code == 302
    stale = first.post("/inquiries/templates", data={"template_id": template_id, "title": "締切", "body": "古い本文", "version": version})
    assert stale.status_code == 409 and "本文「新しい本文」" in stale.get_data(as_text=True)
    gone = first.post("/inquiries/templates", data={"template_id": template_id, "title": "締切", "body": "x", "delete": "1",
                                                    "version": version})
    assert gone.status_code == 409
    with app.app_context():
        assert db.session.get(ReplyTemplate, template_id).body == "新しい本文"


def test_a_prefecture_contact_set_meanwhile_is_not_overwritten(app):
    _in_db(app, make_phase)
    first, second = _two(app, "secretariat")
    # Both opened the page when 北海道 had no contact ("0").
    assert second.post("/publication/prefectures", data={"prefecture": "北海道", "email": "a@pref.hokkaido.example",
                                                         "version": "0"}).status_code == 302
    late = first.post("/publication/prefectures", data={"prefecture": "北海道", "email": "b@pref.hokkaido.example",
                                                        "version": "0"}, follow_redirects=True)
    assert STALE in late.get_data(as_text=True)
    with app.app_context():
        contact = db.session.scalar(select(PrefectureContact).where(PrefectureContact.prefecture == "北海道"))
        assert contact.email == "a@pref.hokkaido.example"
        publication.set_prefecture_contact("北海道", "c@pref.hokkaido.example", actor=None, expected_version=str(contact.version))
        db.session.commit()


def test_a_visit_plan_and_a_team_extension_from_stale_pages_are_refused(app):
    def build():
        team = make_team()
        make_publication(team.phase)
        return team.id
    team_id = _in_db(app, build)
    first, second = _two(app, "finance")
    assert second.post(f"/travel/budget/plans/{team_id}", data={"planned_site_visits": "6", "standard_visit_cost_yen": "50000",
                                                                "version": "0"}).status_code == 302
    first.post(f"/travel/budget/plans/{team_id}", data={"planned_site_visits": "2", "standard_visit_cost_yen": "10000", "version": "0"})
    with app.app_context():
        assert db.session.scalar(select(TeamTravelPlan.planned_site_visits).where(TeamTravelPlan.team_id == team_id)) == 6
        team = db.session.get(Team, team_id)
        old_end, version = team.end_date, team.version

    staff, other = _two(app, "secretariat")
    new_end = date(old_end.year + 1, 3, 31).isoformat()
    assert other.post(f"/teams/{team_id}/extend", data={"new_end": new_end, "reason": "延長の決定", "version": version}).status_code == 302
    late = staff.post(f"/teams/{team_id}/extend", data={"new_end": date(old_end.year + 1, 1, 31).isoformat(), "reason": "別の延長",
                                                         "version": version}, follow_redirects=True)
    assert STALE in late.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Team, team_id).end_date.isoformat() == new_end


def test_a_rate_table_saved_meanwhile_is_409_and_the_typed_rates_stay_on_the_page(app):
    _in_db(app, lambda: make_rates(2026))
    first, second = _two(app, "finance")
    page = first.get("/travel/rates?year=2026").get_data(as_text=True)
    form = dict(re.findall(r'<input[^>]*name="((?:lodging|allowance|fingerprint)[^"]*)"[^>]*value="([^"]*)"', page))
    assert form["fingerprint"]
    assert second.post("/travel/rates?year=2026", data=dict(form, **{"allowance-0": "2500"})).status_code == 302
    stale = first.post("/travel/rates?year=2026", data=dict(form, **{"allowance-0": "2600"}))
    assert stale.status_code == 409 and STALE in stale.get_data(as_text=True) and 'value="2600"' in stale.get_data(as_text=True)
    with app.app_context():
        assert travel.rate_table(2026)[1][0] == 2500
    fresh = _hidden(stale.get_data(as_text=True), "fingerprint")
    assert first.post("/travel/rates?year=2026", data=dict(form, fingerprint=fresh, **{"allowance-0": "2600"})).status_code == 302
