"""SAML for a ministry whose provider has no OpenID Connect (issue 36): Banso as the service provider, pysaml2's IdP
side signing the responses. The same account rules as OpenID Connect — linked once through the invitation, by the
IdP's entity ID and the persistent NameID — and a response is taken once, only for a request Banso made, only when
signed by the key in the ministry's metadata."""
import pytest
from sqlalchemy import select

from banso.extensions import db
from banso.models import SignInIdentity, User
from tests.blueprints.test_sso import _invite
from tests.saml_idp import ENTITY, IdentityProvider, available

pytestmark = pytest.mark.skipif(not available(), reason="xmlsec1 が見つからないため SAML のテストを省略しました（apt-get install xmlsec1）")


@pytest.fixture
def idp(app, client, tmp_path):
    provider = IdentityProvider(tmp_path)
    app.config["IDENTITY_PROVIDERS"] = [{"name": "mof", "label": "財務省認証基盤", "kind": "saml",
                                         "idp_metadata": provider.metadata(), "roles": {"Banso.Secretariat": "secretariat"}}]
    app.extensions.pop("banso_saml", None)
    sp_metadata = client.get("/login/sso/mof/metadata")
    assert sp_metadata.status_code == 200 and b"AssertionConsumerService" in sp_metadata.data
    provider.trust(sp_metadata.get_data(as_text=True))
    provider.sp_entity = app.config["BASE_URL"] + "/login/sso/mof/metadata"
    yield provider
    app.config["IDENTITY_PROVIDERS"] = []
    app.extensions.pop("banso_saml", None)


def _answer(client, idp, subject, *, link=None, attributes=None):
    started = client.post("/login/sso/mof", data={"link": link}) if link else client.get("/login/sso/mof")
    assert started.status_code == 302 and started.location.startswith("https://adfs.mof.example/")
    return idp.answer(started.location, subject=subject, attributes=attributes or {"mail": ["ichiro@mof.example"]},
                      sp_entity=idp.sp_entity)


def test_an_invited_person_links_through_saml_and_a_response_is_taken_once(app, client, idp):
    token = _invite(app, client, "ichiro@mof.example")
    person = app.test_client()
    response = _answer(person, idp, "mof-persistent-1", link=token,
                       attributes={"mail": ["ichiro@mof.example"], "roles": ["Banso.Secretariat"]})
    signed = person.post("/login/sso/mof/acs", data={"SAMLResponse": response})
    assert signed.status_code == 302 and signed.location.endswith("/")
    assert person.get("/").status_code == 200
    with app.app_context():
        identity = db.session.scalar(select(SignInIdentity))
        assert (identity.issuer, identity.subject, identity.proposed_role) == (ENTITY, "mof-persistent-1", "secretariat")
        assert db.session.get(User, identity.user_id).email == "ichiro@mof.example"
    replayed = app.test_client().post("/login/sso/mof/acs", data={"SAMLResponse": response})
    assert replayed.status_code == 403  # the request it answers was taken by the first arrival
    later = app.test_client()
    again = later.post("/login/sso/mof/acs", data={"SAMLResponse": _answer(later, idp, "mof-persistent-1")})
    assert again.status_code == 302 and later.get("/").status_code == 200


def test_a_response_signed_by_another_key_or_unlinked_is_refused(app, client, idp, tmp_path):
    impostor = IdentityProvider(tmp_path, "impostor")  # same entity ID, its own key: not the one in the metadata
    impostor.trust(client.get("/login/sso/mof/metadata").get_data(as_text=True))
    impostor.sp_entity = idp.sp_entity
    forged = app.test_client()
    refused = forged.post("/login/sso/mof/acs", data={"SAMLResponse": _answer(forged, impostor, "mof-persistent-9")})
    assert refused.status_code == 403 and forged.get("/").status_code == 302
    stranger = app.test_client()
    unlinked = stranger.post("/login/sso/mof/acs", data={"SAMLResponse": _answer(stranger, idp, "mof-nobody")})
    assert unlinked.status_code == 403 and "結び付いていません" in unlinked.get_data(as_text=True)
    assert app.test_client().post("/login/sso/mof/acs", data={"SAMLResponse": "not base64 !!"}).status_code == 403
