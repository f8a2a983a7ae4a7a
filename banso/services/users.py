"""Users, sign-in and the lockout after repeated failures."""
from __future__ import annotations

import secrets
from datetime import timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask import current_app
from sqlalchemy import func, select

from banso.clock import JST, now
from banso.extensions import db
from banso.models import Role, User
from banso.services import InputError, NotPermitted, RuleViolation, audit, notifications

_HASHERS: dict[str, PasswordHasher] = {}
_FIELDS = ["email", "name", "role", "active"]
MIN_PASSWORD_LENGTH = 10


def _hasher() -> PasswordHasher:
    """argon2id with the configured profile (PASSWORD_HASH_PROFILE): RFC 9106's low-memory one (t=3, 64 MiB,
    p=4); the test suite alone uses argon2-cffi's cheapest, which production refuses (banso.config)."""
    name = current_app.config["PASSWORD_HASH_PROFILE"]
    if name not in _HASHERS:
        _HASHERS[name] = PasswordHasher.from_parameters(getattr(profiles, name))
    return _HASHERS[name]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _verify(user: User | None, password: str) -> bool:
    if user is None:
        # Spend the same time as a real check so timing does not reveal accounts.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str, *, source: str = "") -> User:
    """Return the user, or raise RuleViolation('AUTH', …) with a message for the form. Every attempt is audited
    (who, from where, what happened). A refused sign-in is counted and committed here, before refusing: the
    request that refuses it rolls back (banso/request_path.py), the count and the audit row must stay."""
    user = find_by_email(email)
    at = now()
    if user is not None and user.is_locked(at):
        until = user.locked_until.astimezone(JST).strftime("%H:%M")
        _refused(user, email, source, "ロック中")
        raise RuleViolation(
            "AUTH-LOCK",
            f"サインインの失敗が続いたため、このアカウントは{until}までロックされています。"
            "時間をおいて再度お試しいただくか、事務局管理者にご連絡ください。",
        )
    if not _verify(user, password) or not user.active:
        if user is not None and user.active:
            user.failed_logins += 1
            if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
                user.locked_until = at + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
                user.failed_logins = 0
                audit.record("lock", user, actor=None, summary="サインイン失敗の繰り返しによりロック")
        _refused(user, email, source, "パスワードの誤り" if user is not None and user.active else "利用者なし・無効")
        raise RuleViolation("AUTH", "メールアドレスまたはパスワードが正しくありません。")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = at
    audit.record("sign_in", user, actor=user, summary=f"サインイン（{source or '接続元不明'}）", after={"source": source})
    return user


def _refused(user: User | None, email: str, source: str, why: str) -> None:
    """A refused sign-in, audited and committed at once (see ``authenticate``)."""
    audit.record("sign_in_failed", user, object_type="User", actor=None, summary=f"サインイン失敗（{why}、{source or '接続元不明'}）",
                 after={"email": (email or "").strip().lower()[:254], "source": source})
    db.session.commit()


def record_sign_out(user: User, *, source: str = "") -> None:
    audit.record("sign_out", user, actor=user, summary=f"サインアウト（{source or '接続元不明'}）", after={"source": source})


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。", "password")


def create_user(*, email: str, name: str, role: str, password: str, actor: User | None) -> User:
    email = email.strip().lower()
    if find_by_email(email) is not None:
        raise InputError("このメールアドレスは既に登録されています。", "email")
    Role(role)
    _check_password(password)
    user = User(email=email, name=name.strip(), role=role, password_hash=hash_password(password))
    db.session.add(user)
    audit.record("create", user, actor=actor, summary=f"利用者 {email} を作成", after=audit.snapshot(user, _FIELDS))
    if actor is not None:
        notifications.notify(
            key=f"user-created-{user.id}",
            recipient_email=user.email, recipient_name=user.name, recipient_user=user, obj=user,
            kind="user_created",
            subject="【地方創生伴走支援】事務局システムの利用者登録のお知らせ",
            body=(
                f"{user.name} 様\n\n"
                f"地方創生伴走支援 事務局システム（Banso）の利用者として登録しました（役割: {user.role_label}）。\n"
                f"サインイン: {current_app.config['BASE_URL']}/login\n"
                "初期パスワードは事務局管理者から別途お伝えします。サインイン後に変更してください。\n\n"
                "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室"
            ),
        )
    return user


def update_user(user: User, *, name: str, role: str, active: bool, actor: User) -> User:
    Role(role)
    if user.id == actor.id and (role != user.role or not active):
        raise NotPermitted("ご自身の役割の変更や無効化はできません。別の管理者に依頼してください。")
    before = audit.snapshot(user, _FIELDS)
    user.name, user.role, user.active = name.strip(), role, active
    after = audit.snapshot(user, _FIELDS)
    if before != after:
        audit.record("update", user, actor=actor, summary=f"利用者 {user.email} を更新", before=before, after=after)
    return user


def generate_password() -> str:
    return secrets.token_urlsafe(9)


def reset_password(user: User, *, actor: User) -> str:
    """Give the user a new one-time password, shown once to the admin; unlocks the account."""
    password = generate_password()
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    audit.record("reset_password", user, actor=actor, summary=f"利用者 {user.email} のパスワードを再設定")
    notifications.notify(
        key=f"password-reset-{user.id}-{now().timestamp()}",
        recipient_email=user.email, recipient_name=user.name, recipient_user=user, obj=user,
        kind="password_reset",
        subject="【地方創生伴走支援】パスワード再設定のお知らせ",
        body=(
            f"{user.name} 様\n\n"
            "事務局管理者があなたのパスワードを再設定しました。仮パスワードは管理者から別途お伝えします。\n"
            "お心当たりがない場合は、至急事務局までご連絡ください。\n\n"
            "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室"
        ),
    )
    return password


def change_password(user: User, *, current: str, new: str) -> None:
    if not _verify(user, current):
        raise InputError("現在のパスワードが正しくありません。", "current")
    _check_password(new)
    user.password_hash = hash_password(new)
    audit.record("change_password", user, actor=user, summary="パスワードを変更")


def list_query(*, q: str | None = None, role: str | None = None, active: str | None = None):
    stmt = select(User)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(User.name.ilike(like) | User.email.ilike(like))
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.role == role)
    if active in ("1", "0"):
        stmt = stmt.where(User.active.is_(active == "1"))
    return stmt


def all_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.name)))
