"""An officer's own profile (OFF-4, OFF-5): what they change themselves, what goes to the secretariat as a request,
and their sign-in."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


from banso.clock import now
from banso.extensions import db
from banso.models import (CandidacyStatus, Ministry, Officer,
                          ProfileChangeRequest, Role, User)
from banso.policies import officers as policy
from banso.services import InputError, NotPermitted, RuleViolation, WrongState, audit, notifications, users
from banso.services.officers.records import (OFFICIAL_FIELDS, RECORD_FIELDS, SELF_FIELDS, SIGNATURE, clean, eligibility,
                                             field_errors, find_duplicate, raise_problems, reassess)


# --- self-service (OFF-4, OFF-5) -----------------------------------------------------------

def effort_warning(officer: Officer) -> str | None:
    """OFF-4: the work is about 10–20% of an officer's working time."""
    if officer.effort_percent is None:
        return None
    if not 10 <= officer.effort_percent <= 20:
        return f"OFF-4: 伴走支援業務は勤務時間の1割〜2割程度を想定しています（入力値 {officer.effort_percent}%）。所属の上司とご相談ください。"
    return None


def update_own_profile(officer: Officer, data: dict, *, actor: User) -> Officer:
    """OFF-5: an officer changes only their own, non-official fields; anything else is refused."""
    if officer.user_id != actor.id:
        raise NotPermitted("ご自身のプロフィールだけを編集できます。")
    official = sorted(set(data) - set(SELF_FIELDS))
    if official:
        raise RuleViolation("OFF-5", "所属・役職・職階などの公式の記録は、変更申請により事務局が変更します。")
    merged = {**{k: getattr(officer, k) for k in RECORD_FIELDS}, **data}
    errors = {k: v for k, v in field_errors(clean(merged)).items() if k in SELF_FIELDS}
    raise_problems(errors)
    if find_duplicate(clean(merged), exclude=officer) is not None:
        raise InputError("このメールアドレスは他の方が使っています。", "email")
    before = audit.snapshot(officer, SELF_FIELDS)
    for key in SELF_FIELDS:
        if key in data:
            setattr(officer, key, data[key].strip().lower() if key == "email" else data[key])
    after = audit.snapshot(officer, SELF_FIELDS)
    if before != after:
        audit.record("update_profile", officer, actor=actor, summary=f"{officer.name}さんがプロフィールを更新", before=before, after=after)
    return officer


def request_change(officer: Officer, changes: dict, *, reason: str, effective_on: date | None, actor: User) -> ProfileChangeRequest:
    if not policy.may_request_change(officer, actor):
        raise NotPermitted("ご自身の記録の変更だけを申請できます。")
    changes = {k: v for k, v in changes.items() if k in OFFICIAL_FIELDS and v not in (None, "") and v != getattr(officer, k)}
    if not changes:
        raise InputError("変更する項目を入力してください（現在と同じ値は申請できません）。")
    if not (reason or "").strip():
        raise InputError("変更の理由（人事異動など）を入力してください。", "reason")
    merged = {**{k: getattr(officer, k) for k in RECORD_FIELDS}, **changes}
    raise_problems({k: v for k, v in field_errors(merged).items() if k in changes})
    request = ProfileChangeRequest(officer=officer, changes=changes, reason=reason.strip(), effective_on=effective_on)
    db.session.add(request)
    audit.record("request_change", request, actor=actor, summary=f"{officer.name}さんが公式の記録の変更を申請", after=changes)
    return request


@dataclass
class Decision:
    request: ProfileChangeRequest
    needs_replacement: bool  # on a team and no longer eligible → the teams area starts a member replacement


def decide_change(request: ProfileChangeRequest, *, approve: bool, note: str, actor: User) -> Decision:
    if not policy.awaits_decision(request):
        raise WrongState("この申請は処理済みです。")
    officer = request.officer
    if not approve and not (note or "").strip():
        raise InputError("却下の理由を入力してください。", "note")
    if approve and "ministry_id" in request.changes and db.session.get(Ministry, request.changes["ministry_id"]) is None:
        raise InputError("申請された府省庁が一覧にありません。")
    request.status = "approved" if approve else "rejected"
    request.decided_by_id, request.decided_at, request.decision_note = actor.id, now(), (note or "").strip()
    needs_replacement = False
    if approve:
        before = audit.snapshot(officer, OFFICIAL_FIELDS)
        for key, value in request.changes.items():
            setattr(officer, key, value)
        audit.record("approve_change", officer, actor=actor, summary=f"{officer.name}さんの記録の変更申請を承認",
                     before=before, after=audit.snapshot(officer, OFFICIAL_FIELDS))
        reassess(officer, actor)
        eligible, _ = eligibility(officer)
        needs_replacement = not eligible and any(c.status == CandidacyStatus.ASSIGNED for c in officer.candidacies)
    else:
        audit.record("reject_change", request, actor=actor, summary=f"{officer.name}さんの記録の変更申請を却下（{request.decision_note}）")
    notifications.notify(
        key=f"change-decision-{request.id}", kind="profile_change_decision", obj=request,
        recipient_email=officer.email, recipient_name=officer.name, recipient_user=officer.user,
        subject=f"【地方創生伴走支援】登録内容の変更申請を{'承認' if approve else '却下'}しました",
        body=(f"{officer.name} 様\n\n{request.created_at:%Y年%m月%d日}に申請のあった登録内容の変更を"
              f"{'承認し、記録を更新しました' if approve else '却下しました'}。\n"
              + (f"理由: {request.decision_note}\n" if request.decision_note else "") + "\n" + SIGNATURE),
    )
    return Decision(request, needs_replacement)


def create_login(officer: Officer, *, actor: User) -> User:
    """A sign-in for the officer's self-service: they are e-mailed a link to set their own password."""
    if officer.user_id is not None:
        raise WrongState("この支援官のアカウントは作成済みです。")
    user = users.create_user(email=officer.email, name=officer.name, role=Role.OFFICER, actor=actor)
    officer.user = user
    return user
