"""Sign-in through the ministries' identity providers (OpenID Connect, several at once: the government's common tenant,
a ministry's AD FS …). Authlib does the protocol — discovery, PKCE (S256), the ID token's signature against the
provider's published keys (fetched again when a token names a key it has not seen: key rotation), its issuer,
audience, expiry and nonce. What is Banso's is here: which account a person is.

An account is found by the provider's issuer, the tenant and the subject — never by e-mail: a person is linked once,
through the invitation link Banso e-mailed them, and another provider (or tenant) asserting the same address finds
nothing and is refused. Roles stay Banso's: a provider's app-roles claim is recorded as a proposal for an admin to
decide (ROLES_FROM_PROVIDER=propose) or ignored. Password + TOTP stays beside it (a ministry that cannot federate, a
break-glass admin when every provider is down): the sign-in page lists providers without asking them anything."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from banso.clock import now
from banso.extensions import db
from banso.models import Role, SignInIdentity, User
from banso.services import NotPermitted, RuleViolation, audit, users


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    kind: str = "oidc"  # or "saml" (services/saml.py), for a ministry whose provider has no OpenID Connect
    discovery: str = ""  # OpenID Connect: the provider's discovery document
    client_id: str = ""
    client_secret: str = ""
    idp_metadata: str = ""  # SAML: the IdP's metadata, as a file's path or the XML itself
    email_attribute: str = "mail"  # SAML: the attribute holding the address
    tenant: str = ""  # the tenant an ID token must name (tid), when the provider has several
    roles_claim: str = "roles"
    roles: dict = field(default_factory=dict)  # the claim's values Banso reads as a proposal of its own roles
    scim_token_sha256: str = ""  # the directory's bearer token for SCIM (services/directory.py), as its SHA-256
    domains: tuple = ()  # the mail domains whose accounts its directory may keep
    id_claim: str = "oid"  # the claim naming the person as the directory's SCIM externalId does (Entra ID: oid)


def providers() -> list[Provider]:
    known = Provider.__dataclass_fields__
    return [Provider(**{k: tuple(v) if k == "domains" else v for k, v in entry.items() if k in known})
            for entry in current_app.config["IDENTITY_PROVIDERS"]]


def provider(name: str) -> Provider | None:
    return next((p for p in providers() if p.name == name), None)


def client(app, name: str):
    """The Authlib client of a provider, registered once per application."""
    from authlib.integrations.flask_client import OAuth

    oauth = app.extensions.get("banso_oauth")
    if oauth is None:
        oauth = app.extensions["banso_oauth"] = OAuth(app)
    if oauth.create_client(name) is None:  # not registered yet in this application
        p = provider(name)
        oauth.register(name=p.name, client_id=p.client_id, client_secret=p.client_secret or None,
                       server_metadata_url=p.discovery,
                       client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "timeout": 10})
    return oauth.create_client(name)


NOT_LINKED = ("この府省アカウントは、伴走支援システムの利用者に結び付いていません。初めての方は、事務局から届いた招待メールの"
              "リンクを開き、そこから所属府省のアカウントでサインインしてください。心当たりがない場合は事務局にご連絡ください。")
WRONG_TENANT = "このテナントのアカウントではサインインできません。所属府省の認証基盤を選び直してください。"


def sign_in(p: Provider, claims: dict, *, link=None, source: str = "") -> User:
    """The account this provider's ID token (already verified by Authlib) names. Linked through ``link`` (an unused
    invitation or reset link of the account, from the e-mail) the first time; refused otherwise."""
    issuer, subject = str(claims.get("iss") or ""), str(claims.get("sub") or "")
    tenant = str(claims.get("tid") or "")
    if not issuer or not subject:
        raise RuleViolation("AUTH", "認証基盤の応答に利用者の識別子がありません。事務局にご連絡ください。")
    if p.tenant and tenant != p.tenant:
        record_refusal(p, claims, "tenant")
        raise NotPermitted(WRONG_TENANT)
    identity = db.session.scalar(select(SignInIdentity).where(
        SignInIdentity.issuer == issuer, SignInIdentity.tenant == tenant, SignInIdentity.subject == subject))
    if identity is None:
        identity = _link(p, issuer, tenant, subject, claims, link)
    user = db.session.get(User, identity.user_id)
    if not user.active:
        record_refusal(p, claims, "inactive")
        raise NotPermitted("このアカウントは無効になっています。事務局管理者にお問い合わせください。")
    identity.last_used_at, identity.email_seen = now(), str(claims.get("email") or "")[:254]
    _propose_role(p, identity, claims)
    users.record_sign_in(user, source, f"{p.label}（{', '.join(map(str, claims.get('amr') or [])) or '認証基盤'}）")
    return user


def _link(p: Provider, issuer: str, tenant: str, subject: str, claims: dict, link) -> SignInIdentity:
    kept = _kept_by_directory(p, claims) if link is None else None
    if link is None and kept is None:
        record_refusal(p, claims, "not_linked")
        raise NotPermitted(NOT_LINKED)
    user = kept or db.session.get(User, link.user_id)
    if db.session.scalar(select(SignInIdentity.id).where(SignInIdentity.user_id == user.id,
                                                         SignInIdentity.provider == p.name)) is not None:
        record_refusal(p, claims, "already_linked")
        raise NotPermitted("このアカウントには、この認証基盤の別の利用者が既に結び付いています。事務局管理者にご連絡ください。")
    if kept is not None:  # the directory made the account: its own id for the person (SCIM externalId) links it
        return _add_identity(p, user, issuer, tenant, subject, "ディレクトリの外部IDで")
    users.claim_link(link)
    return _add_identity(p, user, issuer, tenant, subject, "招待のリンクから")


def _kept_by_directory(p: Provider, claims: dict) -> User | None:
    """The account this provider's own directory created for the person (SCIM externalId = the token's id claim)."""
    value = str(claims.get(p.id_claim) or "")
    if not value:
        return None
    return db.session.scalar(select(User).where(User.directory == p.name, User.external_id == value))


def _add_identity(p: Provider, user: User, issuer: str, tenant: str, subject: str, how: str) -> SignInIdentity:
    identity = SignInIdentity(user_id=user.id, provider=p.name, issuer=issuer, tenant=tenant, subject=subject)
    db.session.add(identity)
    db.session.flush()
    audit.record("link_identity", user, actor=user, summary=f"{p.label}のアカウントを結び付け（初回サインイン、{how}）",
                 after={"provider": p.name, "issuer": issuer, "tenant": tenant})
    return identity


def _propose_role(p: Provider, identity: SignInIdentity, claims: dict) -> None:
    if current_app.config["ROLES_FROM_PROVIDER"] != "propose":
        return
    values = claims.get(p.roles_claim) or []
    proposed = next((p.roles[v] for v in (values if isinstance(values, list) else [values]) if v in p.roles), None)
    if proposed is not None and proposed not in set(Role):
        proposed = None
    user = db.session.get(User, identity.user_id)
    if proposed == user.role:
        proposed = None
    if proposed != identity.proposed_role:
        identity.proposed_role = proposed
        if proposed:
            audit.record("propose_role", user, actor=None, summary=f"{p.label}が役割「{Role(proposed).label}」を提案",
                         after={"provider": p.name, "role": proposed})


def record_refusal(p: Provider, claims: dict, why: str) -> None:
    """A refused sign-in is audited with what the provider said (never the token) and committed at once, as a
    refused password is (services/users.py): the refusal that follows rolls the request back."""
    audit.record("sign_in_refused", None, object_type="User", actor=None, summary=f"{p.label}からのサインインを拒否（{why}）",
                 after={"provider": p.name, "issuer": str(claims.get("iss") or ""), "tenant": str(claims.get("tid") or ""),
                        "email": str(claims.get("email") or "")[:254], "why": why})
    db.session.commit()


MULTI_FACTOR = {"mfa", "otp", "hwk", "swk", "sc", "fido", "pop"}  # RFC 8176 methods that are a second factor or two


def multi_factor(claims: dict) -> bool:
    """Whether the provider says it signed the person in with more than a password (the ID token's ``amr``)."""
    methods = claims.get("amr") or []
    return bool(MULTI_FACTOR & {str(m).lower() for m in (methods if isinstance(methods, list) else [methods])})


def identities_of(user: User) -> list[SignInIdentity]:
    return list(db.session.scalars(select(SignInIdentity).where(SignInIdentity.user_id == user.id)
                                   .order_by(SignInIdentity.created_at)))


def take_proposal(identity: SignInIdentity, *, actor: User) -> User:
    """The admin decides for the provider's proposal: the account takes the role (audited like any role change)."""
    user = db.session.get(User, identity.user_id)
    if not identity.proposed_role:
        raise RuleViolation("AUTH", "採用できる役割の提案はありません。")
    users.update_user(user, name=user.name, role=identity.proposed_role, active=user.active, actor=actor)
    identity.proposed_role = None
    return user


def unlink(identity: SignInIdentity, *, actor: User) -> None:
    user = db.session.get(User, identity.user_id)
    db.session.delete(identity)
    user.session_version += 1
    audit.record("unlink_identity", user, actor=actor, summary=f"{identity.provider} のアカウントの結び付けを解除")
