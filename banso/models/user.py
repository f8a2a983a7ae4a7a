from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

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
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the id in the session cookie: raised on sign-out, password change or reset, deactivation and role
    # change, so every copy of an older cookie stops working at once.
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[Role(self.role)]

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def get_id(self) -> str:  # Flask-Login: what the session (and a remembered cookie) holds
        return f"{self.id}.{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


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
