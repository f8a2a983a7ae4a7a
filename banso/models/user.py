from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, column_property, mapped_column

from banso.clock import now
from banso.extensions import db


class Role(StrEnum):
    ADMIN = "admin"
    SECRETARIAT = "secretariat"
    FINANCE = "finance"
    OFFICER = "officer"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "事務局管理者",
    Role.SECRETARIAT: "事務局職員",
    Role.FINANCE: "会計担当",
    Role.OFFICER: "地方創生支援官",
}


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'secretariat', 'finance', 'officer')", name="role_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    post: Mapped[str] = mapped_column(String(50), default="", server_default="")  # 役職: a 決裁 route's "post:"
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the id in the session cookie: raised on sign-out, password change or reset, deactivation and role
    # change, so every copy of an older cookie stops working at once.
    session_version: Mapped[int] = mapped_column(default=1)
    # Set for an account whose password someone else typed (`flask banso create-user`): changed at first sign-in.
    password_must_change: Mapped[bool] = mapped_column(default=False)
    # Two-factor sign-in (RFC 6238 TOTP, banso/services/two_factor.py): the secret being enrolled, the enrolled
    # one, and the last time step accepted (a code is good once).
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    # Kept by a ministry's directory (SCIM, services/directory.py): which provider, and its id for the person.
    directory: Mapped[str | None] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(200))
    # An officer whose 併任 has ended keeps a claims-only account until this day (services/directory.py), then ends.
    claims_until: Mapped[date | None]
    phase_choice: Mapped[dict | None] = mapped_column(JSON)  # {work: phase number} chosen over the default (services/phases.py)
    created_at: Mapped[datetime] = mapped_column(default=now)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[Role(self.role)]

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    def get_id(self) -> str:  # Flask-Login: what the session (and a remembered cookie) holds
        return f"{self.id}.{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LastSignIn(db.Model):
    """When each account last signed in, kept in its own row: a sign-in writes nothing that is read with the account
    on every request (the audit keeps every sign-in with its source; this is the admin list's 最終サインイン)."""

    __tablename__ = "last_sign_ins"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime]


User.last_login_at = column_property(select(LastSignIn.at).where(LastSignIn.user_id == User.id)
                                     .correlate_except(LastSignIn).scalar_subquery(), deferred=True)


class SignInThrottle(db.Model):
    """Failed sign-ins counted per account at an address and per address, counted atomically (an upsert), so no
    more than the limit are ever checked; past it the key waits, longer each time. An account is slowed at the
    address that fails, not everywhere: anyone can fail at an account, only from their own address."""

    __tablename__ = "sign_in_throttles"
    __table_args__ = (CheckConstraint("failures >= 0", name="failures_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=now)


class Submission(db.Model):
    """A creating form's one-time key, consumed with the request that used it: the same form sent twice (a double
    click, a reload, a flaky network) creates once, and the second arrival is sent where the first one went."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    result_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)


class AccountLink(db.Model):
    """A single-use link, sent by e-mail, to set one's password: the invitation of a new account or a reset.
    Only a hash of the token is kept; it lasts 24 hours and a newer link replaces every older one."""

    __tablename__ = "account_links"
    __table_args__ = (CheckConstraint("purpose IN ('invite', 'reset')", name="purpose_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now)


class RecoveryCode(db.Model):
    """One of the ten codes that stand in for the authenticator once each (only their hashes are kept)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class CalendarFeed(db.Model):
    """A user's own iCal feed (banso/services/calendar_feed.py): the address holds a secret token, kept here only as its
    SHA-256; renewing it makes a new one and the old address stops working."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now)


class SignInIdentity(db.Model):
    """An account's sign-in through a ministry's identity provider (services/sso.py): the provider's issuer, the
    tenant and the subject it names the person by. Never an e-mail address: another provider asserting the same
    address finds no identity and is refused. Linked once, through the invitation the person received."""

    __tablename__ = "sign_in_identities"
    __table_args__ = (UniqueConstraint("issuer", "tenant", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))  # the configured provider's name
    issuer: Mapped[str] = mapped_column(String(300))
    tenant: Mapped[str] = mapped_column(String(100), default="", server_default="")
    subject: Mapped[str] = mapped_column(String(255))
    email_seen: Mapped[str] = mapped_column(String(254), default="", server_default="")
    # The role the provider's app-roles claim proposed at the last sign-in, for an admin to decide on.
    proposed_role: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_used_at: Mapped[datetime | None]
