"""The verbs of 決裁 on one case: 起案, 承認/決裁 (as oneself, as 代決者, or 引上げ past an absent lower step), 差戻し,
却下, 再提出, 引戻し, 取下げ — and 閲了 of what was done in one's place. The case's row is locked by every verb, so a
引戻し racing an approval is decided by whichever commits first and the other is refused (TooLate, 409)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from banso.clock import now
from banso.extensions import db
from banso.models import ApprovalAction, ApprovalCase, User
from banso.policies import approvals as policy
from banso.policies.approvals import absence_of, acted as _acted, may_act, members
from banso.services import EditedMeanwhile, InputError, NotPermitted, WrongState, audit
from banso.services.approvals.routes import KINDS, check_steps, route_for


class TooLate(EditedMeanwhile):
    """Someone acted on the case first (a 引戻し after an approval, two decisions at once): nothing is changed (409)."""


@dataclass(frozen=True)
class Area:
    """What an area names for its kind of matter: ``execute(case, decider)`` — what the decision does, its rules
    checked then; ``approve(case, user)`` — for a matter decided on the area's own page (a trip's review), the same
    approval from the inbox; ``routine(case)`` — whether it may be decided in bulk (精算 under a threshold)."""

    execute: Callable | None = None
    approve: Callable | None = None
    routine: Callable | None = None


AREAS: dict[str, Area] = {}


def register(kind: str, execute: Callable | None = None, *, approve: Callable | None = None,
             routine: Callable | None = None) -> None:
    AREAS[kind] = Area(execute, approve, routine)


# --- starting ------------------------------------------------------------------------------------------------------

def decide_through_route(kind: str, title: str, payload: dict, *, drafter: User, subject_id: int | None = None,
                         team_id: int | None = None) -> ApprovalCase:
    """起案 a decision of ``kind``: with no step on its route it is taken now, on the 起案者's authority (専決, as
    today); otherwise when its route's last step approves — by whoever decides it then, the area's rules checked then."""
    case = start(kind, title, drafter=drafter, subject_id=subject_id, team_id=team_id, payload=payload)
    if case.status == "approved":
        _execute(case, drafter)
    return case


def start(kind: str, title: str, *, drafter: User, subject_id: int | None = None, team_id: int | None = None,
          payload: dict | None = None) -> ApprovalCase:
    """起案: the case on its kind's current route, past any step nobody has to act on now."""
    case = ApprovalCase(kind=kind, title=title[:200], subject_id=subject_id, team_id=team_id, route=route_for(kind),
                        drafter_id=drafter.id, payload=payload or {}, step_since=now())
    db.session.add(case)
    db.session.flush()
    _add(case, verb="submit", step=-1, actor_id=drafter.id)
    _advance(case)
    audit.record("submit", None, object_type="ApprovalCase", actor=drafter, summary=f"{KINDS[kind]}「{title}」を起案")
    return case


def _add(case: ApprovalCase, **action) -> None:
    db.session.add(ApprovalAction(case=case, revision=case.revision, **action))
    db.session.flush()
    db.session.refresh(case, ["actions"])


def _complete(case: ApprovalCase, index: int) -> bool:
    step = case.steps[index]
    need, done = step.get("need", "one"), _acted(case, index)
    if need == "inform" or any(a.verb == "pull_up" and a.step == index for a in done):
        return True
    if need == "one":
        return len(done) >= 1
    deciders = {a.on_behalf_of_id or a.actor_id for a in done}
    if need == "each":
        return all(deciders & set(members({"who": [party]})) for party in step["who"])
    if need == "all":
        return deciders >= set(members(step))
    return len(done) >= int(need)


def _advance(case: ApprovalCase) -> None:
    """Move past every step that is complete, passing an absent 中間者 (a one-person step before the last) as 後閲."""
    steps, began = case.steps, case.step
    while case.step < len(steps):
        people = members(steps[case.step])
        if (not _complete(case, case.step) and case.step < len(steps) - 1 and len(people) == 1
                and absence_of(people[0], case.kind) is not None):
            _add(case, verb="skip", step=case.step, on_behalf_of_id=people[0], reason="不在のため後閲")
        if not _complete(case, case.step):
            break
        case.step += 1
    else:
        case.status, case.decided_at = "approved", now()
    if case.step != began:
        _step_began(case)


def _step_began(case: ApprovalCase) -> None:
    case.step_since, case.reminded = now(), 0  # the new step's due date counts from now


def _locked(case: ApprovalCase) -> ApprovalCase:
    """The case as it stands now, its row locked until this transaction ends (PostgreSQL; SQLite writes one at a time)."""
    db.session.execute(select(ApprovalCase.id).where(ApprovalCase.id == case.id).with_for_update())
    db.session.refresh(case)
    db.session.refresh(case, ["actions"])
    return case


def _execute(case: ApprovalCase, decider: User) -> None:
    area = AREAS.get(case.kind)
    if area is not None and area.execute is not None:
        area.execute(case, decider)  # the decision takes effect now, its rules checked now


def _refused(case: ApprovalCase, why: str) -> WrongState | NotPermitted:
    return TooLate(why) if case.status != "in_progress" else NotPermitted(why)


# --- deciding ------------------------------------------------------------------------------------------------------

def approve(case: ApprovalCase, user: User, reason: str = "") -> ApprovalCase:
    """承認 (or 決裁 at the last step), as oneself or as 代決者 — or 引上げ: someone of a later step decides past a
    lower step whose people are all away, which each finds in 後閲. The case moves on when its step is complete."""
    case = _locked(case)
    allowed, on_behalf_of, why = may_act(case, user)
    if not allowed:
        target = policy.pull_up_to(case, user)
        if target is None:
            raise _refused(case, why)
        _pull_up(case, user, target)
    _add(case, verb="approve", step=case.step, actor_id=user.id, on_behalf_of_id=on_behalf_of, reason=(reason or "").strip())
    _advance(case)
    if case.status == "approved":
        _execute(case, user)
    who = user.name + (f"（代決: {db.session.get(User, on_behalf_of).name}）" if on_behalf_of else "")
    audit.record("approve", None, object_type="ApprovalCase", actor=user, summary=f"「{case.title}」を{who}が承認")
    return case


def _pull_up(case: ApprovalCase, user: User, target: int) -> None:
    """引上げ: each lower step up to ``target`` passed by ``user``, recorded in the name of its absent people."""
    for index in range(case.step, target):
        for person in policy.open_members(case, index):
            _add(case, verb="pull_up", step=index, actor_id=user.id, on_behalf_of_id=person, reason="不在のため引上げ")
    case.step = target
    _step_began(case)


def send_back(case: ApprovalCase, user: User, reason: str, *, to_step: int | None = None) -> ApprovalCase:
    """差戻し, with a reason: to the 起案者 (``to_step`` None) or to an earlier step, which then decides again."""
    if not (reason or "").strip():
        raise InputError("差戻しの理由を入力してください。", "reason")
    case = _locked(case)
    allowed, _whom, why = may_act(case, user)
    if not allowed:
        raise _refused(case, why)
    if to_step is not None and not 0 <= to_step < case.step:
        raise InputError("差し戻す先は、この段階より前の段階です。")
    _add(case, verb="return", step=case.step, actor_id=user.id, reason=reason.strip())
    if to_step is None:
        case.status = "returned"
    else:
        case.revision, case.step = case.revision + 1, to_step  # the earlier steps decide again, on the next revision
        _step_began(case)
    db.session.flush()
    audit.record("send_back", None, object_type="ApprovalCase", actor=user, summary=f"「{case.title}」を差戻し（{reason.strip()}）")
    return case


def reject(case: ApprovalCase, user: User, reason: str) -> ApprovalCase:
    """却下, with a reason, by someone who may decide the current step: the case ends undecided."""
    if not (reason or "").strip():
        raise InputError("却下の理由を入力してください。", "reason")
    case = _locked(case)
    allowed, on_behalf_of, why = may_act(case, user)
    if not allowed:
        raise _refused(case, why)
    _add(case, verb="reject", step=case.step, actor_id=user.id, on_behalf_of_id=on_behalf_of, reason=reason.strip())
    case.status, case.decided_at = "rejected", now()
    db.session.flush()
    audit.record("reject", None, object_type="ApprovalCase", actor=user, summary=f"「{case.title}」を却下（{reason.strip()}）")
    return case


def reroute(case: ApprovalCase, steps: list[dict], reason: str, *, actor: User) -> ApprovalCase:
    """An admin changes the steps still ahead of one running case (a person left, a 決裁規程 exception): the steps
    behind it stay as they were, the change is an action on the case's timeline and in the audit with both routes."""
    if not policy.may_reroute(case, actor):
        raise NotPermitted("進行中の案件のルートを変更できるのは事務局管理者だけです。")
    if not (reason or "").strip():
        raise InputError("ルートを変更する理由を入力してください。", "reason")
    if not steps:
        raise InputError("残りの段階を1つ以上指定してください（決裁をやめるときは起案者が取り下げます）。", "steps")
    check_steps(steps)
    case = _locked(case)
    if case.status != "in_progress":
        raise TooLate("この案件は既に決裁が終わっています。")
    before = case.steps
    case.rerouted = [*before[:case.step], *steps]
    _step_began(case)
    _add(case, verb="reroute", step=case.step, actor_id=actor.id, reason=reason.strip())
    _advance(case)
    if case.status == "approved":
        _execute(case, actor)
    audit.record("reroute", None, object_type="ApprovalCase", actor=actor,
                 summary=f"「{case.title}」のルートを変更（{reason.strip()}）", before={"steps": before}, after={"steps": case.rerouted})
    return case


# --- the 起案者's verbs --------------------------------------------------------------------------------------------

def resubmit(case: ApprovalCase, drafter: User) -> ApprovalCase:
    """The 起案者 submits a returned or recalled case again: the next revision, from the first step."""
    case = _locked(case)
    if case.status != "returned":
        raise WrongState("差し戻された（または引き戻した）起案だけを再提出できます。")
    case.status, case.revision, case.step = "in_progress", case.revision + 1, 0
    _step_began(case)
    _add(case, verb="submit", step=-1, actor_id=drafter.id)
    _advance(case)
    if case.status == "approved":
        _execute(case, drafter)
    return case


def recall(case: ApprovalCase, drafter: User) -> ApprovalCase:
    """引戻し: the 起案者 takes the case back while nobody has acted on it since it was submitted (a step passed as
    後閲 is no one's act); after an approval, or one that commits first, it is refused (TooLate, 409)."""
    case = _locked(case)
    if drafter.id != case.drafter_id:
        raise NotPermitted("引戻しができるのは起案者だけです。")
    if case.status != "in_progress" or any(a.verb == "approve" for a in _acted(case)):
        raise TooLate("既に決裁が進んでいるため、引き戻せません。差戻しを依頼してください。")
    _add(case, verb="recall", step=case.step, actor_id=drafter.id)
    case.status = "returned"
    db.session.flush()
    audit.record("recall", None, object_type="ApprovalCase", actor=drafter, summary=f"「{case.title}」を引戻し")
    return case


def withdraw(case: ApprovalCase, drafter: User, reason: str = "", *, for_the_subject: bool = False) -> ApprovalCase:
    """取下げ: the 起案者 ends a case not yet decided (``for_the_subject``: its matter was withdrawn by someone its own
    area's policy lets do so — a trip cancelled by the secretariat on an officer's behalf)."""
    case = _locked(case)
    if (drafter.id != case.drafter_id and not for_the_subject) or case.status not in ("in_progress", "returned"):
        raise WrongState("決裁前の自分の起案だけを取り下げられます。")
    _add(case, verb="withdraw", step=case.step, actor_id=drafter.id, reason=(reason or "").strip())
    case.status, case.decided_at = "withdrawn", now()
    db.session.flush()
    audit.record("withdraw", None, object_type="ApprovalCase", actor=drafter, summary=f"「{case.title}」を取下げ")
    return case


# --- reading a case ------------------------------------------------------------------------------------------------

def with_history():
    """The loader options a case's page needs: its route, every action and their people."""
    return (joinedload(ApprovalCase.route), joinedload(ApprovalCase.drafter),
            selectinload(ApprovalCase.actions).options(joinedload(ApprovalAction.actor), joinedload(ApprovalAction.on_behalf_of)))


def latest_case(kind: str, subject_id: int) -> ApprovalCase | None:
    """The most recent case of ``kind`` about ``subject_id``, whatever its state, with its actions and their people."""
    return db.session.scalar(select(ApprovalCase).where(ApprovalCase.kind == kind, ApprovalCase.subject_id == subject_id)
                             .options(*with_history()).order_by(ApprovalCase.id.desc()).limit(1))


def cases_about(kind: str, subject_id: int) -> list[ApprovalCase]:
    """Every case of ``kind`` about ``subject_id``, oldest first, with their history (a trip's changes of its order)."""
    return list(db.session.scalars(select(ApprovalCase).where(ApprovalCase.kind == kind, ApprovalCase.subject_id == subject_id)
                                   .options(*with_history()).order_by(ApprovalCase.id)))


def decided_case(kind: str, subject_id: int) -> ApprovalCase | None:
    return db.session.scalar(select(ApprovalCase).where(ApprovalCase.kind == kind, ApprovalCase.subject_id == subject_id,
                                                        ApprovalCase.status == "approved").order_by(ApprovalCase.id.desc()).limit(1))


def approvers(case: ApprovalCase) -> list[User]:
    """Who approved the case's current revision (or passed a step by 引上げ), in order, each once."""
    seen = {}
    for action in case.actions:
        if action.revision == case.revision and action.verb in ("approve", "pull_up") and action.actor is not None:
            seen.setdefault(action.actor_id, action.actor)
    return list(seen.values())


def decider(case: ApprovalCase) -> str:
    """Who decided the case, as the 旅行命令簿 names them: 「A」, or 「A（代決 B）」."""
    last = next((a for a in reversed(case.actions) if a.verb == "approve" and a.revision == case.revision), None)
    if last is None:
        return ""
    if last.on_behalf_of is not None:
        return f"{last.on_behalf_of.name}（代決 {last.actor.name}）"
    return last.actor.name
