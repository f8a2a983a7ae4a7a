"""Sign-in through the ministries' identity providers (issue: every user had a Banso password; an account was found by
nothing a ministry's directory knows). Two OpenID Connect providers on loopback, different tenants, spoken to over
real HTTP by Authlib."""
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from banso.extensions import db
from banso.models import AuditEntry, SignInIdentity, User
from banso.services import users
from tests.blueprints.test_account_security import _link_in_mail
from tests.conftest import login
from tests.factories import make_user
from tests.oidc_provider import Provider
from joserfc.jwk import RSAKey


@pytest.fixture
def providers(app):
    gov, mlit = Provider(tenant="gov-common"), Provider(tenant="mlit-adfs")
    app.config["IDENTITY_PROVIDERS"] = [
        gov.config("gov", "政府共通認証基盤", roles={"Banso.Finance": "finance", "Banso.Secretariat": "secretariat"}),
        mlit.config("mlit", "国土交通省認証基盤")]
    app.extensions.pop("banso_oauth", None)
    yield gov, mlit
    app.config["IDENTITY_PROVIDERS"] = []
    app.extensions.pop("banso_oauth", None)
    gov.stop()
    mlit.stop()


def _through(client, provider: Provider, name: str, person: dict, *, link: str | None = None):
    """Sign in at ``provider`` as ``person``: Banso's redirect, the provider's answer, Banso's callback."""
    provider.person = person
    started = client.post(f"/login/sso/{name}", data={"link": link}) if link else client.get(f"/login/sso/{name}")
    assert started.status_code == 302, started.get_data(as_text=True)
    query = dict(p.split("=", 1) for p in urlsplit(started.location).query.split("&"))
    assert query["code_challenge_method"] == "S256" and query["nonce"]  # PKCE and a nonce, always
    answered = requests.get(started.location, allow_redirects=False, timeout=10)
    back = urlsplit(answered.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def _invite(app, client, email: str, role: str = "officer") -> str:
    with app.app_context():
        admin = make_user("admin")
        db.session.commit()
        admin_email = admin.email
    login(client, admin_email)
    client.post("/admin/users", data={"email": email, "name": "招待 太郎", "role": role})
    client.post("/logout")
    return _link_in_mail(app, email).rsplit("/", 1)[1]


def test_an_invited_person_links_on_first_sign_in_and_signs_in_by_subject_after(app, client, providers):
    gov, _ = providers
    token = _invite(app, client, "taro@mlit.example")
    invited = app.test_client()
    page = invited.get(f"/account/setup/{token}").get_data(as_text=True)
    assert "政府共通認証基盤でサインインして結び付ける" in page
    first = _through(invited, gov, "gov", {"sub": "pairwise-1", "email": "taro@mlit.example", "amr": ["mfa"]}, link=token)
    assert first.status_code == 302 and first.location.endswith("/")
    assert invited.get("/").status_code == 200
    with app.app_context():
        identity = db.session.scalar(select(SignInIdentity))
        assert (identity.issuer, identity.tenant, identity.subject) == (gov.url, "gov-common", "pairwise-1")
        assert db.session.get(User, identity.user_id).email == "taro@mlit.example"
        assert users.link_for(token) is None  # the invitation is used up
    later = app.test_client()
    # The provider may change the address it asserts: the subject is what names the account.
    assert _through(later, gov, "gov", {"sub": "pairwise-1", "email": "t.banso@cas.example"}).status_code == 302
    assert "招待 太郎" in later.get("/").get_data(as_text=True)


def test_another_provider_asserting_the_same_address_cannot_take_the_account_over(app, client, providers):
    gov, mlit = providers
    token = _invite(app, client, "hanako@mlit.example")
    _through(app.test_client(), gov, "gov", {"sub": "g-7", "email": "hanako@mlit.example"}, link=token)
    intruder = app.test_client()
    refused = _through(intruder, mlit, "mlit", {"sub": "m-99", "email": "hanako@mlit.example", "email_verified": True})
    assert refused.status_code == 403 and "結び付いていません" in refused.get_data(as_text=True)
    assert intruder.get("/").status_code == 302  # not signed in
    # The same subject at another tenant is another person.
    assert _through(app.test_client(), gov, "gov", {"sub": "g-7", "tid": "other-tenant"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(SignInIdentity)) == 1
        whys = [e.after["why"] for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action == "sign_in_refused"))]
        assert whys == ["not_linked", "tenant"]


def test_a_provider_proposes_a_role_and_an_admin_decides(app, client, providers):
    gov, _ = providers
    token = _invite(app, client, "kaikei@cao.example", role="officer")
    person = {"sub": "g-42", "email": "kaikei@cao.example", "roles": ["Banso.Finance"]}
    _through(app.test_client(), gov, "gov", person, link=token)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "kaikei@cao.example"))
        assert user.role == "officer"  # proposed, not taken
        identity = db.session.scalar(select(SignInIdentity))
        assert identity.proposed_role == "finance"
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        user_id, identity_id, admin_email = user.id, identity.id, admin.email
    login(client, admin_email)
    edit = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "政府共通認証基盤" in edit and "会計担当" in edit and "提案" in edit
    taken = client.post(f"/admin/users/{user_id}/identities/{identity_id}/take-proposal")
    assert taken.status_code == 302
    with app.app_context():
        assert db.session.get(User, user_id).role == "finance"
        assert db.session.get(SignInIdentity, identity_id).proposed_role is None


def test_rotated_keys_are_fetched_again_and_a_forged_token_is_refused(app, client, providers):
    gov, _ = providers
    token = _invite(app, client, "rot@cao.example")
    _through(app.test_client(), gov, "gov", {"sub": "g-1"}, link=token)
    gov.rotate()  # the provider's new key: Banso has only seen the old one
    assert _through(app.test_client(), gov, "gov", {"sub": "g-1"}).status_code == 302
    signing = Provider._key()  # a token signed by a key whose id the published set gives to another key
    gov.keys, gov.published = [signing], [RSAKey.generate_key(2048, parameters={"kid": signing.kid, "alg": "RS256"})]
    forged = app.test_client()
    response = _through(forged, gov, "gov", {"sub": "g-1"})
    assert response.status_code == 302 and response.location.endswith("/login")
    assert forged.get("/").status_code == 302


def test_break_glass_password_sign_in_with_every_provider_down(app, client, providers):
    gov, mlit = providers
    gov.down = mlit.down = True
    page = client.get("/login")
    assert page.status_code == 200 and "政府共通認証基盤でサインイン" in page.get_data(as_text=True)
    tried = client.get("/login/sso/gov")
    assert tried.status_code == 302 and tried.location.endswith("/login")
    assert "認証基盤に接続できませんでした" in client.get("/login").get_data(as_text=True)
    with app.app_context():
        admin = make_user("admin")
        db.session.commit()
        email = admin.email
    login(client, email)  # the local password (and TOTP where required) still works
    assert client.get("/").status_code == 200


def test_a_role_that_requires_two_factors_takes_the_providers_or_else_banso_s(app, client, providers):
    gov, _ = providers
    token = _invite(app, client, "kaikei2@cao.example", role="finance")
    app.config["MFA_REQUIRED_ROLES"] = ("admin", "finance")
    first = app.test_client()
    _through(first, gov, "gov", {"sub": "g-mfa", "amr": ["mfa"]}, link=token)
    assert first.get("/").status_code == 200  # the provider's multi-factor sign-in stands for Banso's
    second = app.test_client()
    _through(second, gov, "gov", {"sub": "g-mfa", "amr": ["pwd"]})
    enrol = second.get("/")
    assert enrol.status_code == 302 and enrol.location.endswith("/account/two-factor")  # a password alone: Banso's own
