"""Users, sign-in (password, then the second factor where enrolled), the slow-down after repeated failures, and
the single-use links that set a password (invitation, reset): nobody but the user ever sees a password."""
from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask import current_app
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import undefer

from banso.clock import now
from banso.extensions import db
from banso.formatting import jst_datetime
from banso.models import AccountLink, AuditEntry, LastSignIn, Role, SignInThrottle, User
from banso.services import InputError, NotPermitted, RuleViolation, audit, notifications, offboarding, two_factor

_HASHERS: dict[str, PasswordHasher] = {}
_FIELDS = ["email", "name", "role", "active", "post"]
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
    turns and never check more than the limit before the wait begins. Past its limit an account at this address
    waits, longer each time (1, 2, 4 … up to LOGIN_LOCK_MINUTES minutes): someone failing at an account slows it
    only from their own address. Past its limit an address (an office behind one NAT address) is slowed, not
    locked: each attempt from it waits LOGIN_ADDRESS_DELAY_SECONDS with the address's row held, so guesses from
    there go one at a time, and colleagues who type their right password still sign in. Only failures count: a
    sign-in that succeeds gives its claim back. A refused sign-in is counted, audited and committed here, before
    refusing: the request that refuses it rolls back (banso/request_path.py), the count and the audit row must stay."""
    address = (source or "unknown")[:100]
    normalized = (email or "").strip().lower()[:254]
    user = find_by_email(normalized)
    at = now()
    keys = [(f"account:{user.id if user else 'unknown:' + normalized}@{address}", user.id if user else None),
            (f"address:{address}", None)]
    limits = [current_app.config["LOGIN_MAX_FAILURES"], current_app.config["LOGIN_MAX_FAILURES"] * 10]
    claimed = [_claim_attempt(key, user_id, at) for key, user_id in keys]
    account_waits, address_waits = (locked is not None and locked > at for _failures, locked in claimed)
    if account_waits:
        _verify(None, password)  # the same work as a real check
        _refused(user, normalized, source, "試行回数の超過により待機中")
        raise RuleViolation("AUTH", SIGN_IN_REFUSED)
    if address_waits:
        time.sleep(current_app.config["LOGIN_ADDRESS_DELAY_SECONDS"])
    if not _verify(user, password) or not user.active:
        for (key, _user_id), (failures, _locked), limit in zip(keys, claimed, limits):
            if failures >= limit:
                _wait(key, at, failures - limit)
        _refused(user, normalized, source, "パスワードの誤り" if user is not None and user.active else "利用者なし・無効")
        raise RuleViolation("AUTH", SIGN_IN_REFUSED)
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.key == keys[0][0]))
    db.session.execute(update(SignInThrottle).where(SignInThrottle.key == keys[1][0], SignInThrottle.failures > 0)
                       .values(failures=SignInThrottle.failures - 1).execution_options(synchronize_session=False))
    if not user.has_two_factor:
        record_sign_in(user, source, "パスワード")
    return user  # with two factors enrolled, not signed in until verify_second_factor


SECOND_FACTOR_REFUSED = "確認コードが正しくありません。認証アプリの6桁の数字か、回復コードを入力してください。"


def verify_second_factor(user: User, code: str, *, source: str = "") -> None:
    """The second step of a sign-in for an account with two factors: a current authenticator code (each good
    once) or an unused recovery code. Failures are counted per account, whatever the address (whoever is here
    already knows the password): LOGIN_MAX_FAILURES, then waits as for passwords."""
    at = now()
    key = f"second-factor:{user.id}"
    failures, locked = _claim_attempt(key, user.id, at)
    if locked is not None and locked > at:
        _refused(user, user.email, source, "確認コード：試行回数の超過により待機中")
        raise RuleViolation("AUTH", SECOND_FACTOR_REFUSED)
    used = two_factor.check(user, code)
    if used is None:
        if failures >= current_app.config["LOGIN_MAX_FAILURES"]:
            _wait(key, at, failures - current_app.config["LOGIN_MAX_FAILURES"])
        _refused(user, user.email, source, "確認コードの誤り")
        raise RuleViolation("AUTH", SECOND_FACTOR_REFUSED)
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))
    record_sign_in(user, source, "パスワード＋回復コード" if used == "recovery" else "パスワード＋確認コード")


def record_sign_in(user: User, source: str, factors: str) -> None:
    at = now()
    statement = _upsert(LastSignIn.__table__).values(user_id=user.id, at=at)
    db.session.execute(statement.on_conflict_do_update(index_elements=["user_id"], set_={"at": at}))
    db.session.expire(user, ["last_login_at"])
    audit.record("sign_in", user, actor=user, summary=f"サインイン（{factors}、{source or '接続元不明'}）",
                 after={"source": source, "factors": factors})


FAILURE_WINDOW = timedelta(hours=1)  # failures older than this are forgotten


def _claim_attempt(key: str, user_id: int | None, at) -> tuple[int, object]:
    """Count this attempt (an upsert, atomic on PostgreSQL and SQLite alike) and return (failures, locked_until)."""
    table = SignInThrottle.__table__
    stale = table.c.updated_at < at - FAILURE_WINDOW
    statement = _upsert(table).values(key=key, user_id=user_id, failures=1, updated_at=at)
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


def _upsert(table):
    """INSERT … ON CONFLICT, atomic on PostgreSQL and SQLite alike."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


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


def create_user(*, email: str, name: str, role: str, password: str | None = None, actor: User | None,
                must_change: bool = False, invite: bool = True) -> User:
    """A new account. Without a password (the admin's page, an officer's sign-in) the user is invited: a link to
    set their own password is e-mailed, and nobody else ever knows it. With one (the demo, `flask banso
    create-user`), ``must_change`` makes the user replace it at first sign-in."""
    email = email.strip().lower()
    if find_by_email(email) is not None:
        raise InputError("このメールアドレスは既に登録されています。", "email")
    Role(role)
    if password is not None:
        _check_password(password, about=(email, name))
    user = User(email=email, name=name.strip(), role=role, password_must_change=must_change,
                password_hash=hash_password(password) if password is not None else _unusable_hash())
    db.session.add(user)
    audit.record("create", user, actor=actor, summary=f"利用者 {email} を作成", after=audit.snapshot(user, _FIELDS))
    if role == Role.ADMIN:
        _tell_admins(user, actor, "made", "を事務局管理者として作成")
    if password is None and invite:  # not invited: an account a ministry's directory made signs in through its provider
        send_link(user, actor=actor)
    return user


def _tell_admins(user: User, actor: User | None, code: str, how: str) -> None:
    """Every other admin hears of a new admin (made, or given the role): nobody adds a second admin unseen."""
    db.session.flush()
    at = now()
    by = actor.name if actor else "コマンド"
    for admin in db.session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)):
        notifications.notify(
            key=f"admin-{code}-{user.id}-{admin.id}-{int(at.timestamp())}", kind="admin_added", obj=user,
            recipient_email=admin.email, recipient_name=admin.name, recipient_user=admin,
            subject="【伴走支援システム】事務局管理者が追加されました",
            body=(f"{admin.name} 様\n\n{jst_datetime(at)}、{by}が「{user.name}」（{user.email}）{how}しました。"
                  "心当たりがない場合は、直ちに他の管理者と確認し、アカウントを無効にしてください。\n\n" + SIGNATURE))


INDEPENDENCE_ACTIONS = ("create", "update", "send_account_link", "reset_password", "reset_two_factor")


def made_by(user: User, other: User, *, days: int) -> bool:
    """Whether ``other`` created, invited, reset, changed or gave a role to ``user``'s account within ``days`` (the
    audit says): then ``user`` cannot act as a check on ``other`` (PUB-3's second admin)."""
    since = now() - timedelta(days=days)
    return db.session.scalar(select(AuditEntry.id).where(
        AuditEntry.actor_id == other.id, AuditEntry.object_type == "User", AuditEntry.object_id == user.id,
        AuditEntry.action.in_(INDEPENDENCE_ACTIONS), AuditEntry.at >= since).limit(1)) is not None


def _unusable_hash() -> str:
    """Not an argon2 hash: no password matches it (``_verify`` answers False)."""
    return "!" + secrets.token_hex(16)


def update_user(user: User, *, name: str, role: str, active: bool, actor: User, post: str | None = None) -> User:
    Role(role)
    if user.id == actor.id and (role != user.role or not active):
        raise NotPermitted("ご自身の役割の変更や無効化はできません。別の管理者に依頼してください。")
    before = audit.snapshot(user, _FIELDS)
    if user.active and not active:
        offboarding.end(user, actor=actor, why="事務局管理者が無効化")  # sessions, feed, open work handed over
    if role != user.role or not active:
        user.session_version += 1  # a new role or a deactivation takes effect on every open session at once
    user.name, user.role, user.active = name.strip(), role, active
    if post is not None:
        user.post = post.strip()[:50]  # 役職: whoever holds it decides a 決裁 step naming it
    after = audit.snapshot(user, _FIELDS)
    if before != after:
        audit.record("update", user, actor=actor, summary=f"利用者 {user.email} を更新", before=before, after=after)
        if user.role == Role.ADMIN and before.get("role") != Role.ADMIN:
            _tell_admins(user, actor, "role", "の役割を事務局管理者に変更")
    return user


LINK_HOURS = 24
SIGNATURE = "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def send_link(user: User, *, actor: User | None) -> AccountLink:
    """E-mail the user a single-use link (LINK_HOURS hours) to set their password: an invitation if they have never
    signed in, a reset otherwise. Any earlier unused link stops working. Only the token's hash is kept."""
    at = now()
    purpose = "invite" if user.last_login_at is None else "reset"
    db.session.execute(delete(AccountLink).where(AccountLink.user_id == user.id, AccountLink.used_at.is_(None)))
    token = secrets.token_urlsafe(32)
    link = AccountLink(user_id=user.id, purpose=purpose, token_hash=_digest(token), expires_at=at + timedelta(hours=LINK_HOURS),
                       created_by_id=actor.id if actor is not None else None)
    db.session.add(link)
    db.session.flush()
    url = f"{current_app.config['BASE_URL']}/account/setup/{token}"
    until = jst_datetime(at + timedelta(hours=LINK_HOURS))
    if purpose == "invite":
        subject = "【地方創生伴走支援】事務局システムの利用者登録とパスワード設定のお願い"
        lead = (f"地方創生伴走支援 事務局システム（Banso）の利用者として登録しました（役割: {user.role_label}）。\n"
                "次のリンクを開き、ご自身でパスワードを設定してください。")
    else:
        subject = "【地方創生伴走支援】パスワード再設定のお願い"
        lead = ("事務局システム（Banso）のパスワードを再設定できるようにしました。これまでのパスワードは使えません。\n"
                "次のリンクを開き、新しいパスワードを設定してください。")
    notifications.notify(
        key=f"account-link-{link.id}", kind=f"account_{purpose}", obj=user,
        recipient_email=user.email, recipient_name=user.name, recipient_user=user,
        subject=subject,
        body=(f"{user.name} 様\n\n{lead}\n\n{url}\n\n"
              f"このリンクは1回限り、{until}まで有効です。期限を過ぎた場合は事務局管理者に再発行を依頼してください。\n"
              "お心当たりがない場合は、リンクを開かずに事務局までご連絡ください。\n\n" + SIGNATURE),
    )
    audit.record("send_account_link", user, actor=actor,
                 summary=f"利用者 {user.email} に{'招待' if purpose == 'invite' else 'パスワード再設定'}のリンクを送信",
                 after={"purpose": purpose, "expires_at": link.expires_at.isoformat()})
    return link


def link_for(token: str) -> AccountLink | None:
    """The unused, unexpired link this token opens, for an active user; None otherwise."""
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(select(AccountLink).where(AccountLink.token_hash == _digest(token)))
    if link is None or link.used_at is not None or link.expires_at <= now():
        return None
    user = db.session.get(User, link.user_id)
    return link if user is not None and user.active else None


LINK_USED = "このリンクは使用済みか、有効期限（24時間）を過ぎています。事務局管理者に再発行を依頼してください。"


def claim_link(link: AccountLink) -> None:
    """Use the link once: a conditional UPDATE, so two arrivals of the same link (a password set, a provider's
    first sign-in) use it at most once."""
    claimed = db.session.execute(update(AccountLink).where(AccountLink.id == link.id, AccountLink.used_at.is_(None))
                                 .values(used_at=now()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise RuleViolation("AUTH", LINK_USED)


def set_password_by_link(link: AccountLink, password: str) -> User:
    """Set the password from an invitation or reset link, once: the link is claimed by a conditional UPDATE, so two
    arrivals of the same link set at most one password. Every session of the user ends; they then sign in as
    usual (with their second factor, if enrolled)."""
    user = db.session.get(User, link.user_id)
    _check_password(password, about=(user.email, user.name))
    claim_link(link)
    user.password_hash = hash_password(password)
    user.password_must_change = False
    user.session_version += 1
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.user_id == user.id))
    audit.record("set_password", user, actor=user,
                 summary="招待のリンクでパスワードを設定" if link.purpose == "invite" else "再設定のリンクでパスワードを再設定")
    return user


def reset_password(user: User, *, actor: User) -> AccountLink:
    """The admin's reset: the old password stops working at once, every session ends, the waits on the account
    are lifted, and the user is e-mailed a link to set a new one. The admin never sees a password."""
    user.password_hash = _unusable_hash()
    user.session_version += 1
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.user_id == user.id))
    audit.record("reset_password", user, actor=actor, summary=f"利用者 {user.email} のパスワードを再設定（リンクを送信）")
    return send_link(user, actor=actor)


def change_password(user: User, *, current: str, new: str) -> None:
    if not _verify(user, current):
        raise InputError("現在のパスワードが正しくありません。", "current")
    _check_password(new, about=(user.email, user.name))
    user.password_hash = hash_password(new)
    user.session_version += 1  # every other session of this user ends; the caller signs this one in again
    user.password_must_change = False
    audit.record("change_password", user, actor=user, summary="パスワードを変更")


def list_query(*, q: str | None = None, role: str | None = None, active: str | None = None):
    stmt = select(User).options(undefer(User.last_login_at))
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
