"""決裁 (issue 34, the engine): a 起案 goes along its kind's route; each step is a person or a role, alone or in
parallel (合議: all of them, N of them, or 回覧 for information). While someone is away (``Absence``), their 代決者
decides their steps for them — never for a step marked 代決不可, never beyond one level, only within the absence's
dates — and an absent 中間者 is passed as 後閲; afterwards each finds what was done in their place and records 閲了.
The 起案者 may 引戻し while nobody has acted since the submission, or 取下げ; anyone who may act on the step may
差戻し with a reason, to the 起案者 or an earlier step, and a re-submission is the next revision (v1, v2 … kept).
Nobody decides twice on a case, nor on their own 起案. The case's row is locked by every verb, so a 引戻し racing an
approval is decided by whichever commits first and the other is refused.

Routes are data (``ApprovalRoute``): an admin's change makes a new version; a case keeps the version it started on.
The defaults are short, so nothing becomes slower unless an organisation's 決裁規程 says so."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from banso.clock import now
from banso.extensions import db
from banso.models import Absence, ApprovalAction, ApprovalCase, ApprovalRoute, Role, User
from banso.policies import approvals as policy
from banso.policies.approvals import absence_of, acted as _acted, may_act, members, open_case
from banso.services import InputError, NotPermitted, WrongState, audit

KINDS = {
    "travel_order": "旅行命令", "travel_order_change": "旅行命令の変更", "claim": "精算", "matching_confirm": "マッチング確定",
    "early_release": "公表の前倒し", "cap_revision": "予算上限の改定", "late_acceptance": "期限後受付", "extension": "支援延長",
}
STAFF = [{"role": Role.ADMIN.value}, {"role": Role.SECRETARIAT.value}]
DEFAULT_ROUTES = {
    # As today: finance decides a trip (the 旅行命令権者's 代決 is set per organisation). A ministry whose 決裁規程 has
    # the secretariat's 旅行命令権者 first and 会計 in 合議 sets that route on the routes page.
    "travel_order": [{"label": "会計担当（旅行命令権者）", "who": [{"role": Role.FINANCE.value}], "need": "one"}],
    "travel_order_change": [{"label": "旅行命令権者（事務局）", "who": STAFF, "need": "one"}],
    "claim": [{"label": "会計担当（精算審査）", "who": [{"role": Role.FINANCE.value}], "need": "one"}],
    "matching_confirm": [],
    "early_release": [{"label": "管理者", "who": [{"role": Role.ADMIN.value}], "need": "one", "no_proxy": True},
                      {"label": "別の管理者", "who": [{"role": Role.ADMIN.value}], "need": "one", "no_proxy": True}],
    # No step: decided by the 起案者's own authority (専決) when they have it — as these are today.
    "cap_revision": [],
    "late_acceptance": [],
    "extension": [],
}
NEEDS = ("one", "each", "all", "inform")  # one of them; one from each party named (合議); all; 回覧 (no one waits)


class TooLate(WrongState):
    """Someone acted on the case first (a 引戻し after an approval, two decisions at once): nothing is changed (409)."""


# --- routes --------------------------------------------------------------------------------------------------------

def route_for(kind: str) -> ApprovalRoute:
    """The route new cases of ``kind`` start on: its latest version (the default, the first time it is asked for)."""
    if kind not in KINDS:
        raise InputError("決裁の種類が正しくありません。")
    route = db.session.scalar(select(ApprovalRoute).where(ApprovalRoute.kind == kind).order_by(ApprovalRoute.version.desc())
                              .limit(1))
    if route is None:
        route = ApprovalRoute(kind=kind, version=1, steps=DEFAULT_ROUTES[kind])
        db.session.add(route)
        db.session.flush()
    return route


def set_route(kind: str, steps: list[dict], *, actor: User) -> ApprovalRoute:
    """An admin's route for ``kind``, as a new version; cases already on their way keep theirs."""
    if not policy.may_edit_routes(actor):
        raise NotPermitted("決裁ルートを変更できるのは事務局管理者だけです。")
    _check_steps(steps)
    current = route_for(kind)
    route = ApprovalRoute(kind=kind, version=current.version + 1, steps=steps, created_by_id=actor.id)
    db.session.add(route)
    audit.record("set_route", None, object_type="ApprovalRoute", actor=actor,
                 summary=f"{KINDS[kind]}の決裁ルートを第{route.version}版に変更（{len(steps)}段階）",
                 before={"steps": current.steps}, after={"steps": steps})
    db.session.flush()
    return route


NEED_WORDS = {"1人": "one", "one": "one", "各": "each", "each": "each", "全員": "all", "all": "all", "回覧": "inform",
              "inform": "inform"}


def parse_route(text: str) -> list[dict]:
    """A route as an admin writes it, a step a line: 「ラベル | role:finance, user:メールアドレス | 1人・各・全員・N・回覧 |
    代決不可」 (the last two optional)."""
    steps = []
    for number, line in enumerate((l for l in (text or "").splitlines() if l.strip()), start=1):
        parts = [p.strip() for p in line.split("|")]
        who = []
        for item in (w.strip() for w in (parts[1] if len(parts) > 1 else "").split(",") if w.strip()):
            kind, _, value = item.partition(":")
            if kind == "role" and value in {r.value for r in Role}:
                who.append({"role": value})
            elif kind == "user" and (found := db.session.scalar(select(User.id).where(User.email == value.lower()))):
                who.append({"user": found})
            else:
                raise InputError(f"{number}行目: 「{item}」は role:admin・secretariat・finance・officer か user:メールアドレス で書いてください。")
        word = parts[2] if len(parts) > 2 and parts[2] else "1人"
        need = int(word) if word.isdigit() else NEED_WORDS.get(word)
        if need is None:
            raise InputError(f"{number}行目: 必要な承認「{word}」は 1人・各・全員・数字・回覧 のいずれかです。")
        steps.append({"label": parts[0] or f"{number}段階目", "who": who, "need": need,
                      "no_proxy": len(parts) > 3 and parts[3] == "代決不可"})
    _check_steps(steps)
    return steps


def route_text(steps: list[dict]) -> str:
    """A route as the form shows it (parse_route reads it back)."""
    users = {u.id: u.email for u in db.session.scalars(select(User).where(User.id.in_(
        [w["user"] for s in steps for w in s["who"] if "user" in w])))}
    words = {v: k for k, v in NEED_WORDS.items() if not k.isascii()}
    lines = []
    for step in steps:
        who = ", ".join(f"role:{w['role']}" if "role" in w else f"user:{users.get(w['user'], w['user'])}" for w in step["who"])
        need = step.get("need", "one")
        lines.append(" | ".join([step.get("label", ""), who, str(need) if isinstance(need, int) else words[need]]
                                + (["代決不可"] if step.get("no_proxy") else [])))
    return "\n".join(lines)


def _check_steps(steps: list[dict]) -> None:
    """No step at all is a route too: the 起案者 decides on their own authority (専決)."""
    for number, step in enumerate(steps, start=1):
        need = step.get("need", "one")
        if not step.get("who") or not (need in NEEDS or (isinstance(need, int) and need >= 1)):
            raise InputError(f"{number}段階目: 決裁する人（役割）と、必要な承認（1人・全員・N人・回覧）を指定してください。")


# --- who acts ------------------------------------------------------------------------------------------------------

def record_absence(user: User, starts_on: date, ends_on: date, deputy: User | None, *, kinds: list[str] = (),
                   actor: User) -> Absence:
    """An absence with its 代決者, recorded by the person or an admin for them."""
    if not policy.may_record_absence_for(user, actor):
        raise NotPermitted("不在と代決者は、本人か事務局管理者が登録します。")
    if ends_on < starts_on:
        raise InputError("不在の終了日は開始日以降にしてください。", "ends_on")
    if deputy is not None and deputy.id == user.id:
        raise InputError("代決者に本人は指定できません。", "deputy")
    absence = Absence(user_id=user.id, starts_on=starts_on, ends_on=ends_on, deputy_id=deputy.id if deputy else None,
                      kinds=list(kinds), created_by_id=actor.id)
    db.session.add(absence)
    audit.record("record_absence", None, object_type="Absence", actor=actor,
                 summary=f"{user.name}の不在（{starts_on}〜{ends_on}）、代決者 {deputy.name if deputy else 'なし'}")
    db.session.flush()
    return absence


def _complete(case: ApprovalCase, index: int) -> bool:
    step = case.route.steps[index]
    need, done = step.get("need", "one"), _acted(case, index)
    if need == "inform":
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
    steps = case.route.steps
    while case.step < len(steps):
        step = steps[case.step]
        people = members(step)
        if (not _complete(case, case.step) and case.step < len(steps) - 1 and len(people) == 1
                and absence_of(people[0], case.kind) is not None):
            db.session.add(ApprovalAction(case=case, revision=case.revision, step=case.step, verb="skip",
                                          on_behalf_of_id=people[0], reason="不在のため後閲"))
            db.session.flush()
            db.session.refresh(case, ["actions"])
        if not _complete(case, case.step):
            return
        case.step += 1
    case.status, case.decided_at = "approved", now()


# --- the verbs -----------------------------------------------------------------------------------------------------

def _locked(case: ApprovalCase) -> ApprovalCase:
    """The case as it stands now, its row locked until this transaction ends (PostgreSQL; SQLite writes one at a time)."""
    db.session.execute(select(ApprovalCase.id).where(ApprovalCase.id == case.id).with_for_update())
    db.session.refresh(case)
    db.session.refresh(case, ["actions"])
    return case


EXECUTORS: dict = {}  # kind → what its decision does: execute(payload, decider), the area's own rules checked then


def register(kind: str, execute) -> None:
    """An area names what a decision of ``kind`` does (teams: an extension; travel: a cap revision …)."""
    EXECUTORS[kind] = execute


def decide_through_route(kind: str, title: str, payload: dict, *, drafter: User, subject_id: int | None = None) -> ApprovalCase:
    """起案 a decision of ``kind``: with no step on its route it is taken now, on the 起案者's authority (専決, as
    today); otherwise when its route's last step approves — by whoever decides it then, the area's rules checked then."""
    case = start(kind, title, drafter=drafter, subject_id=subject_id, payload=payload)
    if case.status == "approved":
        EXECUTORS[kind](case.payload, drafter)
    return case


def start(kind: str, title: str, *, drafter: User, subject_id: int | None = None, payload: dict | None = None) -> ApprovalCase:
    """起案: the case on its kind's current route, past any step nobody has to act on now."""
    case = ApprovalCase(kind=kind, title=title[:200], subject_id=subject_id, route=route_for(kind), drafter_id=drafter.id,
                        payload=payload or {})
    db.session.add(case)
    db.session.flush()
    db.session.add(ApprovalAction(case=case, revision=1, step=-1, verb="submit", actor_id=drafter.id))
    db.session.flush()
    db.session.refresh(case, ["actions"])
    _advance(case)
    audit.record("submit", None, object_type="ApprovalCase", actor=drafter, summary=f"{KINDS[kind]}「{title}」を起案")
    return case


def approve(case: ApprovalCase, user: User, reason: str = "") -> ApprovalCase:
    """承認 (or 決裁 at the last step), as oneself or as 代決者; the case moves on when its step is complete."""
    case = _locked(case)
    allowed, on_behalf_of, why = may_act(case, user)
    if not allowed:
        raise (TooLate(why) if case.status != "in_progress" else NotPermitted(why))
    db.session.add(ApprovalAction(case=case, revision=case.revision, step=case.step, verb="approve", actor_id=user.id,
                                  on_behalf_of_id=on_behalf_of, reason=(reason or "").strip()))
    db.session.flush()
    db.session.refresh(case, ["actions"])
    _advance(case)
    if case.status == "approved" and case.kind in EXECUTORS:
        EXECUTORS[case.kind](case.payload, user)  # the decision takes effect now, its rules checked now
    who = user.name + (f"（代決: {db.session.get(User, on_behalf_of).name}）" if on_behalf_of else "")
    audit.record("approve", None, object_type="ApprovalCase", actor=user, summary=f"「{case.title}」を{who}が承認")
    return case


def send_back(case: ApprovalCase, user: User, reason: str, *, to_step: int | None = None) -> ApprovalCase:
    """差戻し, with a reason: to the 起案者 (``to_step`` None) or to an earlier step, which then decides again."""
    if not (reason or "").strip():
        raise InputError("差戻しの理由を入力してください。", "reason")
    case = _locked(case)
    allowed, _whom, why = may_act(case, user)
    if not allowed:
        raise (TooLate(why) if case.status != "in_progress" else NotPermitted(why))
    db.session.add(ApprovalAction(case=case, revision=case.revision, step=case.step, verb="return", actor_id=user.id,
                                  reason=reason.strip()))
    if to_step is None:
        case.status = "returned"
    else:
        if not 0 <= to_step < case.step:
            raise InputError("差し戻す先は、この段階より前の段階です。")
        case.revision, case.step = case.revision + 1, to_step  # the earlier steps decide again, on the next revision
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
        raise (TooLate(why) if case.status != "in_progress" else NotPermitted(why))
    db.session.add(ApprovalAction(case=case, revision=case.revision, step=case.step, verb="reject", actor_id=user.id,
                                  on_behalf_of_id=on_behalf_of, reason=reason.strip()))
    case.status, case.decided_at = "rejected", now()
    db.session.flush()
    return case


def latest_case(kind: str, subject_id: int) -> ApprovalCase | None:
    """The most recent case of ``kind`` about ``subject_id``, whatever its state, with its actions and their people."""
    from sqlalchemy.orm import joinedload, selectinload

    return db.session.scalar(select(ApprovalCase).where(ApprovalCase.kind == kind, ApprovalCase.subject_id == subject_id)
                             .options(joinedload(ApprovalCase.route), selectinload(ApprovalCase.actions)
                                      .options(joinedload(ApprovalAction.actor), joinedload(ApprovalAction.on_behalf_of)))
                             .order_by(ApprovalCase.id.desc()).limit(1))


def decided_case(kind: str, subject_id: int) -> ApprovalCase | None:
    return db.session.scalar(select(ApprovalCase).where(ApprovalCase.kind == kind, ApprovalCase.subject_id == subject_id,
                                                        ApprovalCase.status == "approved").order_by(ApprovalCase.id.desc()).limit(1))


def decider(case: ApprovalCase) -> str:
    """Who decided the case, as the 旅行命令簿 names them: 「A」, or 「A（代決 B）」."""
    last = next((a for a in reversed(case.actions) if a.verb == "approve" and a.revision == case.revision), None)
    if last is None:
        return ""
    if last.on_behalf_of is not None:
        return f"{last.on_behalf_of.name}（代決 {last.actor.name}）"
    return last.actor.name


def resubmit(case: ApprovalCase, drafter: User) -> ApprovalCase:
    """The 起案者 submits a returned or recalled case again: the next revision, from the first step."""
    case = _locked(case)
    if case.status != "returned":
        raise WrongState("差し戻された（または引き戻した）起案だけを再提出できます。")
    case.status, case.revision, case.step = "in_progress", case.revision + 1, 0
    db.session.add(ApprovalAction(case=case, revision=case.revision, step=-1, verb="submit", actor_id=drafter.id))
    db.session.flush()
    db.session.refresh(case, ["actions"])
    _advance(case)
    return case


def recall(case: ApprovalCase, drafter: User) -> ApprovalCase:
    """引戻し: the 起案者 takes the case back while nobody has acted on it since it was submitted (a step passed as
    後閲 is no one's act); after an approval, or one that commits first, it is refused (TooLate, 409)."""
    case = _locked(case)
    if drafter.id != case.drafter_id:
        raise NotPermitted("引戻しができるのは起案者だけです。")
    if case.status != "in_progress" or any(a.verb == "approve" for a in _acted(case)):
        raise TooLate("既に決裁が進んでいるため、引き戻せません。差戻しを依頼してください。")
    db.session.add(ApprovalAction(case=case, revision=case.revision, step=case.step, verb="recall", actor_id=drafter.id))
    case.status = "returned"
    db.session.flush()
    return case


def withdraw(case: ApprovalCase, drafter: User, reason: str = "", *, for_the_subject: bool = False) -> ApprovalCase:
    """取下げ: the 起案者 ends a case not yet decided (``for_the_subject``: its matter was withdrawn by someone its own
    area's policy lets do so — a trip cancelled by the secretariat on an officer's behalf)."""
    case = _locked(case)
    if (drafter.id != case.drafter_id and not for_the_subject) or case.status not in ("in_progress", "returned"):
        raise WrongState("決裁前の自分の起案だけを取り下げられます。")
    db.session.add(ApprovalAction(case=case, revision=case.revision, step=case.step, verb="withdraw", actor_id=drafter.id,
                                  reason=(reason or "").strip()))
    case.status, case.decided_at = "withdrawn", now()
    db.session.flush()
    return case


# --- lists ---------------------------------------------------------------------------------------------------------

def possible_deputies(user: User) -> list[User]:
    """Whom ``user`` may name as their 代決者: the active staff and finance, not themselves."""
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.id != user.id,
                                                      User.role.in_(policy.DEPUTY_ROLES)).order_by(User.name)))


def waiting_for(user: User) -> list[tuple[ApprovalCase, int | None]]:
    """What waits for ``user`` now — their own steps, and those of the people they deputise today."""
    cases = db.session.scalars(select(ApprovalCase).where(ApprovalCase.status == "in_progress").order_by(ApprovalCase.submitted_at))
    found = []
    for case in cases:
        allowed, on_behalf_of, _why = may_act(case, user)
        if allowed:
            found.append((case, on_behalf_of))
    return found


def to_read(user: User) -> list[ApprovalAction]:
    """後閲: what was decided or passed in ``user``'s place while they were away, not yet read."""
    return list(db.session.scalars(select(ApprovalAction).where(ApprovalAction.on_behalf_of_id == user.id,
                                                                ApprovalAction.read_at.is_(None))
                                   .order_by(ApprovalAction.at)))


def mark_read(action: ApprovalAction, user: User) -> ApprovalAction:
    """閲了: the absent person has read what was done in their place. It changes nothing that was decided."""
    if action.on_behalf_of_id != user.id:
        raise NotPermitted("本人の後閲だけを閲了にできます。")
    action.read_at = now()
    db.session.flush()
    return action


def counts(user: User) -> dict[str, int]:
    """For the home page: cases waiting for ``user`` and actions to read after an absence."""
    unread = db.session.scalar(select(func.count()).select_from(ApprovalAction).where(
        ApprovalAction.on_behalf_of_id == user.id, ApprovalAction.read_at.is_(None)))
    return {"waiting": len(waiting_for(user)), "to_read": unread or 0}


__all__ = ["KINDS", "DEFAULT_ROUTES", "TooLate", "route_for", "set_route", "members", "absence_of", "record_absence",
           "may_act", "EXECUTORS", "register", "decide_through_route", "start", "approve", "send_back", "reject", "open_case", "latest_case", "decided_case", "decider", "resubmit", "recall",
           "withdraw", "possible_deputies", "waiting_for", "to_read", "mark_read", "counts"]
