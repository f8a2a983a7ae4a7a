"""Users, sign-in and the lockout after repeated failures."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask import current_app
from sqlalchemy import case, delete, func, select, update

from banso.clock import now
from banso.extensions import db
from banso.models import Role, SignInThrottle, User
from banso.services import InputError, NotPermitted, RuleViolation, audit, notifications

_HASHERS: dict[str, PasswordHasher] = {}
_FIELDS = ["email", "name", "role", "active"]
MIN_PASSWORD_LENGTH = 10
DEMO_PASSWORD = "banso-demo"  # banso/demo.py


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


SIGN_IN_REFUSED = "メールアドレスまたはパスワードが正しくありません。続けて誤ると、しばらくの間この端末からサインインできなくなります。"


def authenticate(email: str, password: str, *, source: str = "") -> User:
    """Return the user, or refuse with one message whatever the reason (unknown account, wrong password, too many
    failures), after the same hashing work, so that neither the answer nor its time tells which.

    Failures are counted per account at this address and per address (``SignInThrottle``), atomically and before
    the password is checked: the count's row stays locked until the attempt commits, so parallel attempts take
    turns and never check more than the limit before the wait begins; past it the key waits, longer each time (1, 2, 4 … up to LOGIN_LOCK_MINUTES minutes). Someone failing at an account slows it only from their
    own address. A refused sign-in is counted, audited and committed here, before refusing: the request that
    refuses it rolls back (banso/request_path.py), the count and the audit row must stay."""
    address = (source or "unknown")[:100]
    normalized = (email or "").strip().lower()[:254]
    user = find_by_email(normalized)
    at = now()
    keys = [(f"account:{user.id if user else 'unknown:' + normalized}@{address}", user.id if user else None),
            (f"address:{address}", None)]
    limits = [current_app.config["LOGIN_MAX_FAILURES"], current_app.config["LOGIN_MAX_FAILURES"] * 10]
    claimed = [_claim_attempt(key, user_id, at) for key, user_id in keys]
    if any(locked is not None and locked > at for _failures, locked in claimed):
        _verify(None, password)  # the same work as a real check
        _refused(user, normalized, source, "試行回数の超過により待機中")
        raise RuleViolation("AUTH", SIGN_IN_REFUSED)
    if not _verify(user, password) or not user.active:
        for (key, _user_id), (failures, _locked), limit in zip(keys, claimed, limits):
            if failures >= limit:
                _wait(key, at, failures - limit)
        _refused(user, normalized, source, "パスワードの誤り" if user is not None and user.active else "利用者なし・無効")
        raise RuleViolation("AUTH", SIGN_IN_REFUSED)
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.key == keys[0][0]))
    user.last_login_at = at
    audit.record("sign_in", user, actor=user, summary=f"サインイン（{source or '接続元不明'}）", after={"source": source})
    return user


FAILURE_WINDOW = timedelta(hours=1)  # failures older than this are forgotten


def _claim_attempt(key: str, user_id: int | None, at) -> tuple[int, object]:
    """Count this attempt (an upsert, atomic on PostgreSQL and SQLite alike) and return (failures, locked_until)."""
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    table = SignInThrottle.__table__
    stale = table.c.updated_at < at - FAILURE_WINDOW
    statement = upsert(table).values(key=key, user_id=user_id, failures=1, updated_at=at)
    statement = statement.on_conflict_do_update(index_elements=[table.c.key], set_={
        "failures": case((stale, 1), else_=table.c.failures + 1),
        "locked_until": case((stale, None), else_=table.c.locked_until),
        "updated_at": at,
    }).returning(table.c.failures, table.c.locked_until)
    failures, locked = db.session.execute(statement).one()
    if locked is not None and locked.tzinfo is None:  # SQLite returns it naive, in UTC
        from datetime import timezone

        locked = locked.replace(tzinfo=timezone.utc)
    return failures, locked


def _wait(key: str, at, over: int) -> None:
    minutes = min(2 ** max(0, over), current_app.config["LOGIN_LOCK_MINUTES"])
    db.session.execute(update(SignInThrottle).where(SignInThrottle.key == key)
                       .values(locked_until=at + timedelta(minutes=minutes)).execution_options(synchronize_session=False))


def throttles_of(user: User) -> list[SignInThrottle]:
    """Where this account is being slowed down (for the admin's page)."""
    return list(db.session.scalars(select(SignInThrottle).where(SignInThrottle.user_id == user.id,
                                                                SignInThrottle.locked_until > now())))


def _refused(user: User | None, email: str, source: str, why: str) -> None:
    """A refused sign-in, audited and committed at once (see ``authenticate``)."""
    audit.record("sign_in_failed", user, object_type="User", actor=None, summary=f"サインイン失敗（{why}、{source or '接続元不明'}）",
                 after={"email": (email or "").strip().lower()[:254], "source": source})
    db.session.commit()


def record_sign_out(user: User, *, source: str = "") -> None:
    """Signing out ends every session of this user: copies of the cookie stop working (session_version)."""
    user.session_version += 1
    audit.record("sign_out", user, actor=user, summary=f"サインアウト（{source or '接続元不明'}）", after={"source": source})


def _check_password(password: str, *, about: tuple[str, ...] = ()) -> None:
    """At least MIN_PASSWORD_LENGTH characters and hard to guess: zxcvbn (Dropbox's estimator, with its lists of
    common passwords, words, names, keyboard runs and dates) must put it at 10⁸ guesses or more, counting the
    user's own e-mail address and name as known; the demo password never serves in production."""
    from zxcvbn import zxcvbn

    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。", "password")
    if password == DEMO_PASSWORD:  # the demo's sign-ins (development only); never in production
        if current_app.config["BANSO_ENV"] == "production":
            raise InputError("デモ用のパスワードは使えません。", "password")
        return
    hints = [part for text in about for part in re.split(r"[@.\s]+", text or "") if part]
    if zxcvbn(password[:100], user_inputs=hints)["score"] < 3:
        raise InputError("推測されやすいパスワードです。よく使われる語や並び（password、qwerty、1234 など）、"
                         "氏名・メールアドレス・日付を避け、複数の語を組み合わせた長めのものにしてください。", "password")


def create_user(*, email: str, name: str, role: str, password: str, actor: User | None) -> User:
    email = email.strip().lower()
    if find_by_email(email) is not None:
        raise InputError("このメールアドレスは既に登録されています。", "email")
    Role(role)
    _check_password(password, about=(email, name))
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
    if role != user.role or not active:
        user.session_version += 1  # a new role or a deactivation takes effect on every open session at once
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
    user.session_version += 1  # sessions signed in with the old password end
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.user_id == user.id))  # and the account is free again
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
    _check_password(new, about=(user.email, user.name))
    user.password_hash = hash_password(new)
    user.session_version += 1  # every other session of this user ends; the caller signs this one in again
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
