"""SCIM 2.0 provisioning and the end of an account (issue: accounts lived until an admin deactivated them; a person who
left kept every session, the calendar feed and their open work). A directory with its own bearer token creates and
updates accounts; active=false ends, in that request, every session and the calendar feed's address, and hands the
person's open inquiries and 決裁 steps to their deputy — or back to the secretariat."""
import hashlib
from datetime import date

import pytest
from sqlalchemy import select

from banso.clock import today_jst
from banso.extensions import db
from banso.models import Absence, AuditEntry, CalendarFeed, Inquiry, Notification, SignInIdentity, User
from banso.services import approvals, calendar_feed, inquiries
from tests.conftest import login
from tests.factories import inquiry_data, make_user
from tests.oidc_provider import Provider

TOKEN, OTHER_TOKEN = "directory-token-mlit-0123456789", "directory-token-cao-9876543210"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def directories(app):
    mlit = Provider(tenant="mlit")
    app.config["IDENTITY_PROVIDERS"] = [
        mlit.config("mlit", "国土交通省認証基盤", scim_token_sha256=_sha(TOKEN), domains=["mlit.example"]),
        {"name": "cao", "label": "内閣府認証基盤", "discovery": "http://127.0.0.1:9/none", "client_id": "x",
         "scim_token_sha256": _sha(OTHER_TOKEN), "domains": ["cao.example"]}]
    app.extensions.pop("banso_oauth", None)
    yield mlit
    app.config["IDENTITY_PROVIDERS"] = []
    app.extensions.pop("banso_oauth", None)
    mlit.stop()


def _scim(client, method: str, path: str, body=None, token: str = TOKEN):
    return client.open(f"/scim/v2{path}", method=method, json=body, headers={"Authorization": f"Bearer {token}"})


def _create(client, email: str, external_id: str, name: str = "国交 次郎"):
    return _scim(client, "POST", "/Users", {"schemas": [USER], "userName": email, "externalId": external_id,
                                             "name": {"formatted": name}, "emails": [{"value": email, "primary": True}],
                                             "active": True})


def test_a_directory_creates_finds_and_updates_only_its_own_accounts(app, client, directories):
    assert _scim(client, "GET", "/Users", token="wrong").status_code == 401
    created = _create(client, "jiro@mlit.example", "oid-jiro")
    assert created.status_code == 201 and created.mimetype == "application/scim+json"
    body = created.get_json()
    assert body["userName"] == "jiro@mlit.example" and body["active"] is True and body["externalId"] == "oid-jiro"
    assert _create(client, "jiro@mlit.example", "oid-2").status_code == 409  # uniqueness
    assert _create(client, "someone@cao.example", "oid-3").status_code == 403  # not its domain
    found = _scim(client, "GET", '/Users?filter=userName eq "Jiro@mlit.example"').get_json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == body["id"]
    assert _scim(client, "GET", f"/Users/{body['id']}", token=OTHER_TOKEN).status_code == 404  # another directory's
    renamed = _scim(client, "PATCH", f"/Users/{body['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "国交 次郎（統括官付）"}]})
    assert renamed.status_code == 200 and renamed.get_json()["displayName"] == "国交 次郎（統括官付）"
    with app.app_context():
        user = db.session.get(User, int(body["id"]))
        assert (user.role, user.directory, user.external_id) == ("officer", "mlit", "oid-jiro")  # roles stay Banso's
        admin = make_user("admin", email="boss@mlit.example")
        db.session.commit()
        admin_id = admin.id
    # An admin's account is never a directory's, even in its domain: the break-glass sign-in stays Banso's.
    assert _scim(client, "GET", f"/Users/{admin_id}").status_code == 404
    assert _scim(client, "GET", '/Users?filter=userName eq "boss@mlit.example"').get_json()["totalResults"] == 0
    groups = _scim(client, "GET", "/Groups").get_json()
    assert {g["displayName"] for g in groups["Resources"]} >= {"地方創生支援官", "事務局管理者"}
    assert _scim(client, "PATCH", "/Groups/admin", {"schemas": [PATCH], "Operations": []}).status_code == 403
    assert _scim(client, "GET", '/Users?filter=name co "x"').status_code == 400


def test_active_false_ends_sessions_feed_and_hands_over_open_work_in_that_request(app, client, directories):
    with app.app_context():
        person = make_user("secretariat", email="hana@mlit.example", name="国交 花")
        deputy = make_user("secretariat", name="代決 者")
        drafter = make_user("officer", name="起案 者")
        admin = make_user("admin")
        approvals.set_route("travel_order", [{"label": "係長", "who": [{"user": person.id}], "need": "one"}], actor=admin)
        approvals.record_absence(person, date(2026, 8, 1), date(2026, 8, 2), deputy, actor=admin)  # names the deputy
        case = approvals.start("travel_order", "現地訪問", drafter=drafter)
        inquiry = inquiries.receive(inquiry_data(), channel="form", actor=None)
        inquiry.assignee_id = person.id
        token = calendar_feed.renew(person, actor=None)
        db.session.commit()
        ids = {"person": person.id, "deputy": deputy.id, "case": case.id, "inquiry": inquiry.id, "email": person.email}
    login(client, ids["email"])
    assert client.get("/").status_code == 200
    assert app.test_client().get(f"/calendar/{token}.ics").status_code == 200
    directory = app.test_client()
    ended = _scim(directory, "PATCH", f"/Users/{ids['person']}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"}]})  # Entra ID sends the boolean as a string
    assert ended.status_code == 200 and ended.get_json()["active"] is False
    assert client.get("/").status_code == 302  # the open session ended with the request
    assert app.test_client().get(f"/calendar/{token}.ics").status_code == 404
    with app.app_context():
        assert db.session.get(Inquiry, ids["inquiry"]).assignee_id == ids["deputy"]
        away = db.session.scalar(select(Absence).where(Absence.user_id == ids["person"], Absence.starts_on == today_jst()))
        assert away is not None and away.deputy_id == ids["deputy"]
        deputy = db.session.get(User, ids["deputy"])
        from banso.models import ApprovalCase
        assert approvals.may_act(db.session.get(ApprovalCase, ids["case"]), deputy)[0]  # 代決 from today
        assert db.session.get(User, ids["person"]) is not None  # history kept
        assert db.session.get(CalendarFeed, ids["person"]) is None  # the feed's address is gone, not just refused
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "deprovision")).actor_id is None
    back = _scim(directory, "PATCH", f"/Users/{ids['person']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"active": True}}]})
    assert back.status_code == 200 and back.get_json()["active"] is True
    with app.app_context():  # back at work: the standing 代決 ends; the handed inquiry stays with the deputy
        assert db.session.scalar(select(Absence).where(Absence.user_id == ids["person"], Absence.starts_on == today_jst())) is None
        assert db.session.get(Inquiry, ids["inquiry"]).assignee_id == ids["deputy"]


def test_without_a_deputy_work_returns_to_the_secretariat_and_admins_are_asked_to_reroute(app, client, directories):
    with app.app_context():
        person = make_user("secretariat", email="solo@mlit.example")
        admin = make_user("admin")
        approvals.set_route("travel_order", [{"label": "係長", "who": [{"user": person.id}], "need": "one"}], actor=admin)
        approvals.start("travel_order", "現地訪問", drafter=make_user("officer"))
        inquiry = inquiries.receive(inquiry_data(), channel="form", actor=None)
        inquiry.assignee_id = person.id
        db.session.commit()
        person_id, inquiry_id, admin_email = person.id, inquiry.id, admin.email
    assert _scim(client, "DELETE", f"/Users/{person_id}").status_code == 204
    with app.app_context():
        user = db.session.get(User, person_id)
        assert user is not None and not user.active  # DELETE ends the account; the records keep the person
        assert db.session.get(Inquiry, inquiry_id).assignee_id is None
        asked = db.session.scalar(select(Notification).where(Notification.kind == "deprovision_reroute",
                                                             Notification.recipient_email == admin_email))
        assert asked is not None and "現地訪問" in asked.body


def test_an_account_the_directory_made_links_at_first_sign_in_by_its_external_id(app, client, directories):
    from tests.blueprints.test_sso import _through

    created = _create(client, "kei@mlit.example", "oid-kei").get_json()
    signed = _through(app.test_client(), directories, "mlit", {"sub": "pairwise-kei", "oid": "oid-kei"})
    assert signed.status_code == 302 and signed.location.endswith("/")
    refused = _through(app.test_client(), directories, "mlit", {"sub": "pairwise-x", "oid": "oid-unknown"})
    assert refused.status_code == 403
    with app.app_context():
        identity = db.session.scalar(select(SignInIdentity))
        assert identity.user_id == int(created["id"]) and identity.subject == "pairwise-kei"
