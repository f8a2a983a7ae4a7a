"""Each person's side of 決裁: their absences and 代決者, what waits for them (and for those they deputise today, and
what they may 引上げ), what was done in their place (後閲) and 閲了, due dates in business days with reminders and
escalation through the outbox, and routine matters decided in bulk."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from banso.business_days import add_business_days
from banso.clock import JST, now, today_jst
from banso.extensions import db
from banso.formatting import wareki
from banso.models import Absence, ApprovalAction, ApprovalCase, Role, User
from banso.policies import approvals as policy
from banso.services import InputError, NotPermitted, RuleViolation, audit, notifications
from banso.services.approvals.engine import AREAS, approve
from banso.services.approvals.routes import KINDS

SIGNATURE = "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室\n地方創生伴走支援 Banso"


# --- absences ------------------------------------------------------------------------------------------------------

def record_absence(user: User, starts_on: date, ends_on: date, deputy: User | None, *, kinds: list[str] = (),
                   actor: User) -> Absence:
    """An absence with its 代決者, recorded by the person or an admin for them."""
    if not policy.may_record_absence_for(user, actor):
        raise NotPermitted("不在と代決者は、本人か事務局管理者が登録します。")
    if ends_on < starts_on:
        raise InputError("不在の終了日は開始日以降にしてください。", "ends_on")
    if deputy is not None and deputy.id == user.id:
        raise InputError("代決者に本人は指定できません。", "deputy")
    if deputy is not None and deputy.role not in policy.DEPUTY_ROLES:
        raise InputError("代決者には、事務局か会計担当の職員を指定してください。", "deputy")
    if unknown := [k for k in kinds if k not in KINDS]:
        raise InputError(f"決裁の種類「{'、'.join(unknown)}」は選択肢にありません。", "kinds")
    absence = Absence(user_id=user.id, starts_on=starts_on, ends_on=ends_on, deputy_id=deputy.id if deputy else None,
                      kinds=list(kinds), created_by_id=actor.id)
    db.session.add(absence)
    db.session.flush()
    policy.forget()
    audit.record("record_absence", None, object_type="Absence", actor=actor,
                 summary=f"{user.name}の不在（{starts_on}〜{ends_on}）、代決者 {deputy.name if deputy else 'なし'}")
    return absence


def possible_deputies(user: User) -> list[User]:
    """Whom ``user`` may name as their 代決者: the active staff and finance, not themselves."""
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.id != user.id,
                                                      User.role.in_(policy.DEPUTY_ROLES)).order_by(User.name)))


# --- what waits ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Waiting:
    case: ApprovalCase
    on_behalf_of: int | None  # 代決: for whom
    pull_up: bool  # 引上げ: past a lower step whose people are away
    due_on: date
    routine: bool  # may be decided in bulk


def _open_cases(*conditions):
    return (select(ApprovalCase).where(ApprovalCase.status == "in_progress", *conditions)
            .options(joinedload(ApprovalCase.route), joinedload(ApprovalCase.drafter), selectinload(ApprovalCase.actions))
            .order_by(ApprovalCase.step_since, ApprovalCase.id))


def waiting_for(user: User) -> list[Waiting]:
    """What waits for ``user`` now — their own steps, those of the people they deputise today, and lower steps they may
    引上げ. The open cases are read in one statement (their routes and actions in two more); who may act is decided on
    what the policy reads once per request (the roles' members, today's absences)."""
    found = []
    for case in db.session.scalars(_open_cases()).unique():
        allowed, on_behalf_of, _why = policy.may_act(case, user)
        pull_up = not allowed and policy.pull_up_to(case, user) is not None
        if allowed or pull_up:
            area = AREAS.get(case.kind)
            found.append(Waiting(case, on_behalf_of, pull_up, due_on(case),
                                 bool(area and area.routine and not pull_up and area.routine(case))))
    return found


def due_on(case: ApprovalCase) -> date:
    """The current step's due date: its business days (the route's 期限N日, else APPROVAL_DUE_DAYS) from when it began."""
    step = policy.current(case) or {}
    began = (case.step_since or case.submitted_at).astimezone(JST).date()
    return add_business_days(began, step.get("days") or current_app.config["APPROVAL_DUE_DAYS"])


def to_read(user: User) -> list[ApprovalAction]:
    """後閲: what was decided or passed in ``user``'s place while they were away, not yet read (held cases left out)."""
    return list(db.session.scalars(select(ApprovalAction).join(ApprovalAction.case)
                                   .where(ApprovalAction.on_behalf_of_id == user.id, ApprovalAction.read_at.is_(None))
                                   .options(joinedload(ApprovalAction.case), joinedload(ApprovalAction.actor))
                                   .order_by(ApprovalAction.at)))


def mark_read(action: ApprovalAction, user: User) -> ApprovalAction:
    """閲了: the absent person has read what was done in their place. It changes nothing that was decided."""
    if action.on_behalf_of_id != user.id:
        raise NotPermitted("本人の後閲だけを閲了にできます。")
    action.read_at = now()
    db.session.flush()
    audit.record("read_after", None, object_type="ApprovalCase", actor=user, summary=f"「{action.case.title}」を閲了（後閲）")
    return action


def counts(user: User) -> dict[str, int]:
    """For the home page: cases waiting for ``user`` (overdue among them) and actions to read after an absence."""
    waiting = waiting_for(user)
    unread = db.session.scalar(select(func.count()).select_from(ApprovalAction).join(ApprovalAction.case).where(
        ApprovalAction.on_behalf_of_id == user.id, ApprovalAction.read_at.is_(None)))
    today = today_jst()
    return {"waiting": len(waiting), "overdue": sum(1 for w in waiting if w.due_on < today), "to_read": unread or 0}


def mine(user: User, *, limit: int = 20) -> list[ApprovalCase]:
    """The cases ``user`` drafted, latest first (their state at a glance; recall, resubmit or withdraw from there)."""
    return list(db.session.scalars(select(ApprovalCase).where(ApprovalCase.drafter_id == user.id)
                                   .options(joinedload(ApprovalCase.route)).order_by(ApprovalCase.id.desc()).limit(limit)))


# --- bulk ----------------------------------------------------------------------------------------------------------

def decide_many(case_ids: list[int], user: User) -> tuple[list[ApprovalCase], list[tuple[ApprovalCase, str]]]:
    """承認 of routine matters chosen in the inbox, each on its own (a savepoint each): one refused — the cap reached,
    someone faster — leaves the others decided and says why. Only cases the area calls routine are taken."""
    waiting = {w.case.id: w for w in waiting_for(user)}
    done, refused = [], []
    for case_id in dict.fromkeys(case_ids):
        item = waiting.get(case_id)
        if item is None or not item.routine:
            continue
        try:
            with db.session.begin_nested():
                area = AREAS[item.case.kind]
                (area.approve or approve)(item.case, user)
            done.append(item.case)
        except RuleViolation as error:
            db.session.expire_all()
            refused.append((item.case, error.message))
    if not done and not refused:
        raise InputError("一括で決裁できる案件を選んでください（定型の案件だけが対象です）。", "case_ids")
    return done, refused


# --- reminders and escalation --------------------------------------------------------------------------------------

def chase(day: date | None = None) -> int:
    """The worker's daily round: a step past its due date reminds its people (and the 代決者 of those away) once; as
    many business days later again, it escalates once — to the next step's people, or the admins at the last step.
    Each notice goes through the outbox, once (its key)."""
    day, sent = day or today_jst(), 0
    for case in db.session.scalars(_open_cases()).unique():
        due = due_on(case)
        step = policy.current(case) or {}
        days = step.get("days") or current_app.config["APPROVAL_DUE_DAYS"]
        if case.reminded == 0 and day > due:
            people = _with_deputies(case, policy.open_members(case, case.step), day)
            sent += _tell(case, "remind", people, f"【決裁の催促】{KINDS[case.kind]}「{case.title}」",
                          f"次の案件が決裁の期限（{wareki(due)}）を過ぎています。決裁の画面から、承認・差戻しをお願いします。")
            case.reminded = 1
        elif case.reminded == 1 and day > add_business_days(due, days):
            steps = case.steps
            people = (policy.members(steps[case.step + 1]) if case.step + 1 < len(steps)
                      else list(db.session.scalars(select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)))))
            sent += _tell(case, "escalate", people, f"【決裁の遅延】{KINDS[case.kind]}「{case.title}」",
                          f"次の案件が「{step.get('label', '')}」で止まっています（期限 {wareki(due)}）。"
                          "担当者の不在であれば、代決者の登録か引上げを、そうでなければ担当者への確認をお願いします。")
            case.reminded = 2
    return sent


def _with_deputies(case: ApprovalCase, people: list[int], day: date) -> list[int]:
    out = []
    for person in people:
        absence = policy.absence_of(person, case.kind, day)
        out.append(absence.deputy_id if absence is not None and absence.deputy_id else person)
    return list(dict.fromkeys(out))


def _tell(case: ApprovalCase, what: str, people: list[int], subject: str, lead: str) -> int:
    url = f"{current_app.config['BASE_URL']}/approvals/{case.id}"
    count = 0
    for user in db.session.scalars(select(User).where(User.id.in_(people), User.active.is_(True))):
        notifications.notify(key=f"approval-{case.id}-{case.revision}-{case.step}-{what}-{user.id}", kind=f"approval_{what}",
                             obj=case, recipient_email=user.email, recipient_name=user.name, recipient_user=user,
                             subject=subject, body=f"{user.name} 様\n\n{lead}\n\n件名: {case.title}\n起案者: {case.drafter.name}\n"
                                                    f"起案日: {wareki(case.submitted_at)}\n{url}\n\n{SIGNATURE}")
        count += 1
    return count
