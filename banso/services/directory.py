"""Accounts a ministry's directory keeps (SCIM 2.0, blueprints/scim) and accounts that end when the person's work
does (統一基準: an ID no longer needed is disabled promptly).

A directory (one per configured provider, with its own bearer token) creates and updates accounts and ends them.
It keeps only what it created, or an account of its own mail domains that no directory keeps yet (matched by
userName, as directories do): never an admin's account (the break-glass sign-in stays Banso's) and never another
directory's. Roles stay Banso's: a created account is an officer (SCIM_DEFAULT_ROLE) until an admin decides.

An account ends through services/offboarding.py, whoever asks (the directory's active=false, its DELETE, the
admin's page, the daily run below).

An officer whose last 併任 has ended keeps a claims-only account for OFFICER_CLAIMS_GRACE_DAYS (their trips and
claims, nothing else: policies/roles.is_claimant), then ends; a new 併任 gives the officer's account back."""
from __future__ import annotations

import hashlib
import hmac
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import case, func, or_, select

from banso.clock import today_jst
from banso.extensions import db
from banso.models import AppointmentState, ConcurrentAppointment, Officer, Role, User
from banso.services import InputError, NotPermitted, audit, offboarding, users
from banso.services.sso import Provider, providers


def provider_for_token(token: str) -> Provider | None:
    """The provider whose SCIM bearer token this is (only its SHA-256 is configured); compared in constant time."""
    if not token:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    return next((p for p in providers() if p.scim_token_sha256 and hmac.compare_digest(p.scim_token_sha256, digest)), None)


def _domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def keeps(p: Provider, user: User) -> bool:
    """Whether this directory keeps (or may take up) the account."""
    if user.directory is not None:
        return user.directory == p.name
    return user.role != Role.ADMIN and _domain_of(user.email) in {d.lower() for d in p.domains}


def accounts(p: Provider, *, user_name: str | None = None, external_id: str | None = None):
    """The accounts this directory may see: its own, and unkept ones of its mail domains (not admins)."""
    own = User.directory == p.name
    domains = [d.lower() for d in p.domains]
    unkept = (User.directory.is_(None) & (User.role != Role.ADMIN)
              & or_(*(func.lower(User.email).like(f"%@{d}") for d in domains))) if domains else None
    stmt = select(User).where(or_(own, unkept) if unkept is not None else own)
    if user_name is not None:
        stmt = stmt.where(func.lower(User.email) == user_name.strip().lower())
    if external_id is not None:
        stmt = stmt.where(User.external_id == external_id)
    return stmt.order_by(User.id)


def create(p: Provider, *, email: str, name: str, external_id: str | None, active: bool) -> User:
    email = (email or "").strip().lower()
    if _domain_of(email) not in {d.lower() for d in p.domains}:
        raise NotPermitted(f"{p.label}のディレクトリが登録できるのは、{('・'.join(p.domains)) or '（未設定）'} のアドレスだけです。")
    if users.find_by_email(email) is not None:
        raise InputError("このメールアドレスは既に登録されています。", "userName")
    user = users.create_user(email=email, name=name or email, role=current_app.config["SCIM_DEFAULT_ROLE"], actor=None,
                             invite=False)
    user.directory, user.external_id = p.name, external_id
    audit.record("provision", user, actor=None, summary=f"{p.label}のディレクトリが利用者 {email} を登録",
                 after={"directory": p.name, "external_id": external_id})
    if not active:
        offboarding.end(user, actor=None, why=f"{p.label}のディレクトリで無効")
    return user


def update(p: Provider, user: User, *, email: str | None, name: str | None, external_id: str | None,
           active: bool | None) -> User:
    if not keeps(p, user):
        raise NotPermitted("このディレクトリが管理する利用者ではありません。")
    before = audit.snapshot(user, ["email", "name", "external_id", "directory"])
    if email and email.strip().lower() != user.email:
        email = email.strip().lower()
        if _domain_of(email) not in {d.lower() for d in p.domains} or users.find_by_email(email) is not None:
            raise InputError("このメールアドレスには変更できません（他の利用者が使用中か、管理外のドメインです）。", "userName")
        user.email = email
    if name:
        user.name = name.strip()[:100]
    user.directory, user.external_id = p.name, external_id if external_id is not None else user.external_id
    after = audit.snapshot(user, ["email", "name", "external_id", "directory"])
    if before != after:
        audit.record("update", user, actor=None, summary=f"{p.label}のディレクトリが利用者 {user.email} を更新",
                     before=before, after=after)
    if active is False and user.active:
        offboarding.end(user, actor=None, why=f"{p.label}のディレクトリで無効")
    elif active is True and not user.active:
        offboarding.resume(user, actor=None, why=f"{p.label}のディレクトリで有効")
    return user


# --- officers whose 併任 has ended -------------------------------------------------------------------------

def daily(day: date | None = None) -> dict:
    """The worker's daily run: an officer whose last 併任 ended becomes claims-only for the grace days, then ends; a
    new 併任 in force gives the officer's account back."""
    day = day or today_jst()
    grace = timedelta(days=current_app.config["OFFICER_CLAIMS_GRACE_DAYS"])
    done = {"claims_only": 0, "restored": 0, "ended": 0}
    for user, last_end, in_force in _officer_accounts(day):
        if in_force and user.claims_until is not None:
            user.claims_until = None
            user.session_version += 1
            audit.record("update", user, actor=None, summary="併任の発令により支援官の権限に復帰", after={"claims_until": None})
            done["restored"] += 1
        elif not in_force and last_end is not None and user.claims_until is None:
            user.claims_until = last_end + grace
            user.session_version += 1
            audit.record("update", user, actor=None, summary=f"併任の終了により旅費の請求のみ可（{user.claims_until.isoformat()}まで）",
                         after={"claims_until": user.claims_until.isoformat()})
            done["claims_only"] += 1
    for user in db.session.scalars(select(User).where(User.active.is_(True), User.claims_until < day)):
        offboarding.end(user, actor=None, why="併任終了後の請求期間の満了")
        done["ended"] += 1
    return done


def _officer_accounts(day: date):
    """(account, the day its last 併任 ended, whether one is in force or to come) for each active officer's account."""
    ended_on = func.coalesce(ConcurrentAppointment.ended_on, ConcurrentAppointment.effective_to)
    rows = db.session.execute(
        select(User, func.max(ended_on),
               func.max(case(((ConcurrentAppointment.state != AppointmentState.ENDED) & (ended_on >= day), 1), else_=0)))
        .join(Officer, Officer.user_id == User.id)
        .join(ConcurrentAppointment, ConcurrentAppointment.officer_id == Officer.id)
        .where(User.active.is_(True), User.role == Role.OFFICER,
               ConcurrentAppointment.state.in_(tuple(AppointmentState)))
        .group_by(User.id))
    return [(user, last if last is not None and last < day else None, bool(live)) for user, last, live in rows]
