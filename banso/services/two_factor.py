"""Two-factor sign-in: RFC 6238 time-based codes from an authenticator app (pyotp), enrolled with a QR code drawn
here (segno, no outside service), ten single-use recovery codes, and a reset by another admin. Required for the
roles in MFA_REQUIRED_ROLES (admin and finance in production), open to anyone."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata

import pyotp
import segno
from sqlalchemy import delete, or_, select, update

from banso.clock import now
from banso.extensions import db
from banso.models import RecoveryCode, User
from banso.policies import admin as policy
from banso.services import InputError, NotPermitted, WrongState, audit, notifications

ISSUER = "Banso 地方創生伴走支援"
RECOVERY_CODES = 10
WRONG_CODE = "確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。"


def start(user: User) -> None:
    """A new secret to enrol (kept on the account, not in the browser's cookie) until a code from it is confirmed."""
    if user.has_two_factor:
        raise WrongState("二要素認証は設定済みです。")
    user.totp_pending_secret = pyotp.random_base32()


def enrolment_qr_svg(user: User) -> str:
    """The pending secret as an otpauth:// QR code, inline SVG."""
    uri = pyotp.TOTP(user.totp_pending_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return segno.make(uri, error="m").svg_inline(scale=5, title="認証アプリで読み取るQRコード")


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def confirm(user: User, code: str) -> list[str]:
    """Enable two factors once a code from the pending secret is right; returns the recovery codes (shown once)."""
    if user.totp_pending_secret is None:
        raise WrongState("設定の手続きが始まっていません。もう一度「二要素認証を設定する」から始めてください。")
    step = _step_of(user.totp_pending_secret, code, after=None)
    if step is None:
        raise InputError(WRONG_CODE, "code")
    user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, None
    user.totp_enabled_at, user.totp_last_step = now(), step
    audit.record("enable_two_factor", user, actor=user, summary="二要素認証を設定")
    return _new_recovery_codes(user)


def check(user: User, code: str) -> str | None:
    """"totp" or "recovery" if the code signs this user in (and is then used up), None otherwise. A time step is
    taken by a conditional UPDATE and a recovery code likewise, so the same code never serves twice, even at once."""
    if not user.has_two_factor:
        return None
    typed = _normalised(code)
    step = _step_of(user.totp_secret, typed, after=user.totp_last_step)
    if step is not None:
        taken = db.session.execute(
            update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step).execution_options(synchronize_session=False))
        return "totp" if taken.rowcount == 1 else None
    digest = _digest(typed)
    row = db.session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == digest,
                                                       RecoveryCode.used_at.is_(None)))
    if row is None:
        return None
    taken = db.session.execute(update(RecoveryCode).where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                               .values(used_at=now()).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        return None
    audit.record("use_recovery_code", user, actor=user, summary=f"回復コードでサインイン（残り{unused_recovery_codes(user)}件）")
    return "recovery"


def unused_recovery_codes(user: User) -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def renew_recovery_codes(user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), on a current authenticator code."""
    if check(user, code) != "totp":
        raise InputError(WRONG_CODE, "code")
    audit.record("renew_recovery_codes", user, actor=user, summary="回復コードを再発行")
    return _new_recovery_codes(user)


def disable(user: User, code: str) -> None:
    """Turn one's own two factors off (only where the role does not require them), on a current code."""
    if not policy.may_turn_off_two_factor(user):
        raise NotPermitted(f"{user.role_label}は二要素認証が必須のため、解除できません。")
    if check(user, code) is None:
        raise InputError(WRONG_CODE, "code")
    _clear(user)
    audit.record("disable_two_factor", user, actor=user, summary="二要素認証を解除")


def reset(user: User, *, actor: User) -> None:
    """Another admin's reset for a user who lost their authenticator and codes: two factors are cleared, every
    session ends, and the user enrols again at the next sign-in (where required). Audited and told by e-mail."""
    if user.id == actor.id:
        raise NotPermitted("ご自身の二要素認証はリセットできません。別の管理者に依頼してください。")
    if not user.has_two_factor and user.totp_pending_secret is None:
        raise WrongState(f"「{user.name}」さんは二要素認証を設定していません。")
    _clear(user)
    user.session_version += 1
    audit.record("reset_two_factor", user, actor=actor, summary=f"利用者 {user.email} の二要素認証をリセット")
    notifications.notify(
        key=f"two-factor-reset-{user.id}-{now().timestamp()}", kind="two_factor_reset", obj=user,
        recipient_email=user.email, recipient_name=user.name, recipient_user=user,
        subject="【地方創生伴走支援】二要素認証のリセットのお知らせ",
        body=(f"{user.name} 様\n\n事務局管理者（{actor.name}）があなたの二要素認証をリセットしました。"
              "次回のサインイン後に、認証アプリでもう一度設定してください。\n"
              "お心当たりがない場合は、至急事務局までご連絡ください。\n\n"
              "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室"),
    )


def _clear(user: User) -> None:
    user.totp_secret = user.totp_pending_secret = None
    user.totp_enabled_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)  # 40 bits each, ten hexadecimal digits
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_digest(raw)))
    return codes


def _normalised(code: str) -> str:
    """As people type it: full-width digits, spaces and hyphens are fine."""
    return re.sub(r"[\s\-‐－ー]", "", unicodedata.normalize("NFKC", code or "")).lower()[:40]


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _step_of(secret: str, code: str, *, after: int | None) -> int | None:
    """The time step (of the previous, this or the next 30 seconds) whose code this is, later than ``after``."""
    code = _normalised(code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now())
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
