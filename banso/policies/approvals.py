"""Who may act on a 決裁 case now (issue 34): the people its current step names — or, for one of them who is away
today, the 代決者 their absence names (never on a 代決不可 step, never beyond one level) — and never the 起案者 or anyone
who has already acted on the case. Someone named by a later step may 引上げ past a lower step whose people are all
away. The engine (services/approvals) and the pages ask the same answers.

What the answers read — the members of a role, today's absences — is read once per request (a page lists many
cases); recording an absence forgets it."""
from __future__ import annotations

from datetime import date

from flask import g, has_request_context
from sqlalchemy import select

from banso.clock import today_jst
from banso.models import Absence, ApprovalAction, ApprovalCase, Role, User
from banso.policies.roles import is_admin, is_staff, signed_in

_MEMO = "banso_approvals_memo"
DEPUTY_ROLES = (Role.ADMIN, Role.SECRETARIAT, Role.FINANCE)  # who may be named to decide in someone's place
DRAFTS = ("in_progress", "returned")  # a case not yet decided


def _memo() -> dict:
    if not has_request_context():
        return {}
    if _MEMO not in g:
        setattr(g, _MEMO, {})
    return getattr(g, _MEMO)


def forget() -> None:
    if has_request_context():
        g.pop(_MEMO, None)


def members(step: dict) -> list[int]:
    """The people a step names: the persons, whoever holds the posts (役職) now, and everyone active in the roles."""
    from banso.extensions import db

    ids = [w["user"] for w in step["who"] if "user" in w]
    for kind, column in (("role", User.role), ("post", User.post)):
        values = tuple(sorted(w[kind] for w in step["who"] if kind in w))
        if values:
            memo, key = _memo(), (kind, values)
            if key not in memo:
                memo[key] = list(db.session.scalars(select(User.id).where(column.in_(values), User.active.is_(True))
                                                    .order_by(User.id)))
            ids += memo[key]
    return list(dict.fromkeys(ids))


def _absences(day: date) -> dict[int, list[Absence]]:
    from banso.extensions import db

    memo, key = _memo(), ("absences", day)
    if key not in memo:
        found: dict[int, list[Absence]] = {}
        for absence in db.session.scalars(select(Absence).where(Absence.starts_on <= day, Absence.ends_on >= day)
                                          .order_by(Absence.id)):
            found.setdefault(absence.user_id, []).append(absence)
        memo[key] = found
    return memo[key]


def absence_of(user_id: int, kind: str, day: date | None = None) -> Absence | None:
    """The absence ``user_id`` is on today (for ``kind``), if any: it lapses by itself after its last day."""
    for absence in _absences(day or today_jst()).get(user_id, ()):
        if not absence.kinds or kind in absence.kinds:
            return absence
    return None


def current(case: ApprovalCase) -> dict | None:
    steps = case.steps
    return steps[case.step] if case.status == "in_progress" and case.step < len(steps) else None


def acted(case: ApprovalCase, step: int | None = None) -> list[ApprovalAction]:
    return [a for a in case.actions if a.revision == case.revision and a.verb in ("approve", "skip", "pull_up")
            and (step is None or a.step == step)]


def _decided_by(case: ApprovalCase, user: User) -> bool:
    return any(a.actor_id == user.id and a.verb in ("approve", "pull_up") for a in acted(case))


def open_members(case: ApprovalCase, index: int) -> list[int]:
    """The people of step ``index`` still to act on it (for 合議 of one from each party: the parties not yet heard)."""
    step = case.steps[index]
    here = {a.on_behalf_of_id or a.actor_id for a in acted(case, index)}
    parties = [p for p in step["who"] if not (step.get("need") == "each" and here & set(members({"who": [p]})))]
    return [m for m in members({"who": parties}) if m not in here]


def may_act(case: ApprovalCase, user: User, day: date | None = None) -> tuple[bool, int | None, str]:
    """Whether ``user`` may decide the case's current step now — as themselves, or as 代決者 for an absent member
    (the second value: whom for) — and if not, why."""
    step = current(case)
    if step is None:
        return False, None, "決裁は終わっています。"
    if user.id == case.drafter_id:
        return False, None, "自分が起案したものは決裁できません。"
    if _decided_by(case, user):
        return False, None, "同じ案件を二度決裁することはできません。"
    names = open_members(case, case.step)
    if user.id in names:
        return True, None, ""
    if not step.get("no_proxy"):
        for member in names:
            absence = absence_of(member, case.kind, day)
            if absence is not None and absence.deputy_id == user.id:
                return True, member, ""
    return False, None, f"この段階（{step.get('label', '')}）を決裁する人、またはその代決者ではありません。"


def pull_up_to(case: ApprovalCase, user: User, day: date | None = None) -> int | None:
    """引上げ: the later step of ``user`` they may decide now, past every lower step whose people still to act are all
    away today (and none of them 代決不可) — or None."""
    if current(case) is None or user.id == case.drafter_id or _decided_by(case, user):
        return None
    steps = case.steps
    for index in range(case.step, len(steps)):
        if index > case.step and user.id in members(steps[index]):
            return index
        if index > case.step and steps[index].get("need") == "inform":
            continue
        people = open_members(case, index)
        if steps[index].get("no_proxy") or not people or any(absence_of(p, case.kind, day) is None for p in people):
            return None
    return None


def open_case(kind: str, subject_id: int) -> ApprovalCase | None:
    """The case of ``kind`` about ``subject_id`` not yet decided (in progress, or returned to its 起案者)."""
    from banso.extensions import db

    return db.session.scalar(select(ApprovalCase).where(ApprovalCase.kind == kind, ApprovalCase.subject_id == subject_id,
                                                        ApprovalCase.status.in_(DRAFTS))
                             .order_by(ApprovalCase.id.desc()).limit(1))


def may_use_inbox(user: User) -> bool:
    """The 決裁 inbox, 後閲 and one's own absences: everyone signed in (an officer drafts; staff and finance decide)."""
    return signed_in(user)


def may_see_case(case: ApprovalCase, user: User) -> bool:
    """A case's page: the secretariat, its 起案者, whoever acted on it or for whom, and whoever may act on it now (the
    hold keeps a held team's case from everyone outside the secretariat anyway)."""
    if is_staff(user) or case.drafter_id == user.id:
        return True
    if any(user.id in (a.actor_id, a.on_behalf_of_id) for a in case.actions):
        return True
    return may_act(case, user)[0] or pull_up_to(case, user) is not None


def may_decide_now(case: ApprovalCase, user: User) -> bool:
    """The case's page offers 承認・差戻し・却下 to whoever may act on its current step now, or 引上げ to it."""
    return may_act(case, user)[0] or pull_up_to(case, user) is not None


def may_recall(case: ApprovalCase, user: User) -> bool:
    """引戻し is offered to the 起案者 while nobody has approved since the submission."""
    return (case.status == "in_progress" and case.drafter_id == user.id
            and not any(a.verb in ("approve", "pull_up") for a in acted(case)))


def may_resubmit(case: ApprovalCase, user: User) -> bool:
    return case.status == "returned" and case.drafter_id == user.id


def may_withdraw(case: ApprovalCase, user: User) -> bool:
    return case.status in DRAFTS and case.drafter_id == user.id


def may_edit_routes(user: User) -> bool:
    """The routes and who may 代決 follow the organisation's 決裁規程: an admin sets them."""
    return is_admin(user)


def may_reroute(case: ApprovalCase, user: User) -> bool:
    """Changing the steps ahead of one running case: an admin, audited."""
    return case.status == "in_progress" and is_admin(user)


def may_record_absence_for(person: User, user: User) -> bool:
    """One's own absence, or anyone's by an admin."""
    return person.id == user.id or is_admin(user)
