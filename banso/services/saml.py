"""SAML 2.0 for a ministry whose provider has no OpenID Connect (its AD FS, say), with pysaml2: Banso is the service
provider, the ministry's metadata (a file, or the XML itself) names its identity provider and signing certificate.
pysaml2 (with the xmlsec1 program) verifies the response's signature, its audience, its time window and that it
answers a request Banso made; what the response says is then read as an OpenID Connect provider's claims are, and
services/sso.py decides the account the same way (issuer = the IdP's entity ID, subject = the persistent NameID).

The request Banso made is kept in Redis for ten minutes under its ID, not in the session: the response arrives as a
cross-site POST, which a SameSite=Lax session cookie does not come with. The response's InResponseTo takes the
request once (a replayed response finds nothing)."""
from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

from defusedxml import ElementTree
from flask import current_app, url_for
from redis.exceptions import RedisError

from banso import queue
from banso.services import RuleViolation
from banso.services.sso import Provider, record_refusal

PENDING = "banso:saml:request:{}"
PENDING_SECONDS = 600
REFUSED = "認証基盤の応答を確かめられませんでした。もう一度サインインしてください。続く場合は事務局にご連絡ください。"


def _metadata_xml(p: Provider) -> str:
    text = p.idp_metadata.strip()
    return text if text.startswith("<") else Path(text).read_text(encoding="utf-8")


def acs_url(p: Provider) -> str:
    return current_app.config["BASE_URL"] + url_for("auth.saml_acs", name=p.name)


def entity_id(p: Provider) -> str:
    return current_app.config["BASE_URL"] + url_for("auth.saml_metadata", name=p.name)


def _config(p: Provider):
    from saml2 import BINDING_HTTP_POST
    from saml2.config import SPConfig
    from saml2.saml import NAMEID_FORMAT_PERSISTENT

    config = SPConfig()
    config.load({
        "entityid": entity_id(p),
        "service": {"sp": {
            "endpoints": {"assertion_consumer_service": [(acs_url(p), BINDING_HTTP_POST)]},
            "allow_unsolicited": False, "authn_requests_signed": False,
            "want_assertions_signed": True, "want_response_signed": False,
            "name_id_format": NAMEID_FORMAT_PERSISTENT,
        }},
        "metadata": {"inline": [_metadata_xml(p)]},
        "xmlsec_binary": shutil.which("xmlsec1"),
        "allow_unknown_attributes": True,
    })
    return config


def _client(p: Provider):
    from saml2.client import Saml2Client

    clients = current_app.extensions.setdefault("banso_saml", {})
    if p.name not in clients:
        clients[p.name] = Saml2Client(config=_config(p))
    return clients[p.name]


def metadata(p: Provider) -> str:
    """Banso's own metadata for this provider: what the ministry registers on its side."""
    from saml2.metadata import create_metadata_string

    return create_metadata_string(None, config=_config(p), valid=24 * 7).decode()


def start(p: Provider, state: dict) -> str:
    """The address of the IdP's sign-in, with an AuthnRequest; ``state`` (next page, invitation link) waits in Redis."""
    request_id, info = _client(p).prepare_for_authenticate()
    queue.connection().set(PENDING.format(request_id), json.dumps({**state, "provider": p.name}), ex=PENDING_SECONDS)
    return dict(info["headers"])["Location"]


def finish(p: Provider, saml_response: str) -> tuple[dict, dict]:
    """The claims of a verified response, and the state its request left; RuleViolation for anything else."""
    from saml2 import BINDING_HTTP_POST

    try:
        answered = ElementTree.fromstring(base64.b64decode(saml_response or "", validate=False)).get("InResponseTo") or ""
    except (ValueError, ElementTree.ParseError):
        raise RuleViolation("AUTH", REFUSED) from None
    try:
        raw = queue.connection().getdel(PENDING.format(answered)) if answered else None
    except RedisError:
        raise RuleViolation("AUTH", "サインインを続けられませんでした（一時的な障害）。しばらくしてからもう一度お試しください。") from None
    state = json.loads(raw) if raw else None
    if state is None or state.get("provider") != p.name:
        record_refusal(p, {}, "saml_unsolicited_or_replayed")
        raise RuleViolation("AUTH", REFUSED)
    try:
        response = _client(p).parse_authn_request_response(saml_response, BINDING_HTTP_POST,
                                                           outstanding={answered: acs_url(p)})
    except Exception as error:  # pysaml2 raises many kinds (signature, audience, time, status): each is a refusal
        record_refusal(p, {}, f"saml_{type(error).__name__}")
        raise RuleViolation("AUTH", REFUSED) from None
    if response is None or response.name_id is None:
        raise RuleViolation("AUTH", REFUSED)
    attributes = response.ava or {}
    contexts = " ".join(str(info[0]) for info in response.authn_info() or [])
    claims = {"iss": response.issuer(), "sub": response.name_id.text, "tid": p.tenant,
              "amr": ["mfa"] if any(k in contexts for k in ("MultiFactor", "Smartcard", "TimeSyncToken", "MobileTwoFactor")) else ["pwd"],
              "email": (attributes.get(p.email_attribute) or [""])[0],
              p.roles_claim: list(attributes.get(p.roles_claim) or [])}
    return claims, state
