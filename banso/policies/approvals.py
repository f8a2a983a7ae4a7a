"""Who may act on a 決裁 case now (issue 34): the people its current step names — or, for one of them who is away
today, the 代決者 their absence names (never on a 代決不可 step, never beyond one level) — and never the 起案者 or anyone
who has already acted on the case. The engine (services/approvals.py) and the pages ask the same answer."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from banso.clock import today_jst
from banso.models import Absence, ApprovalAction, ApprovalCase, User
from banso.models import Role
from banso.policies.roles import is_admin, signed_in


def members(step: dict) -> list[int]:
    """The people a step names: the persons, and everyone active in the roles."""
    from banso.extensions import db

    ids = [w["user"] for w in step["who"] if "user" in w]
    roles = [w["role"] for w in step["who"] if "role" in w]
    if roles:
        ids += list(db.session.scalars(select(User.id).where(User.role.in_(roles), User.active.is_(True)).order_by(User.id)))
    return list(dict.fromkeys(ids))


def absence_of(user_id: int, kind: str, day: date | None = None) -> Absence | None:
    """The absence ``user_id`` is on today (for ``kind``), if any: it lapses by itself after its last day."""
    from banso.extensions import db

    day = day or today_jst()
    for absence in db.session.scalars(select(Absence).where(Absence.user_id == user_id, Absence.starts_on <= day,
                                                            Absence.ends_on >= day)):
        if not absence.kinds or kind in absence.kinds:
            return absence
    return None


def current(case: ApprovalCase) -> dict | None:
    steps = case.route.steps
    return steps[case.step] if case.status == "in_progress" and case.step < len(steps) else None


def acted(case: ApprovalCase, step: int | None = None) -> list[ApprovalAction]:
    return [a for a in case.actions if a.revision == case.revision and a.verb in ("approve", "skip")
            and (step is None or a.step == step)]


def may_act(case: ApprovalCase, user: User, day: date | None = None) -> tuple[bool, int | None, str]:
    """Whether ``user`` may decide the case's current step now — as themselves, or as 代決者 for an absent member
    (the second value: whom for) — and if not, why."""
    step = current(case)
    if step is None:
        return False, None, "決裁は終わっています。"
    if user.id == case.drafter_id:
        return False, None, "自分が起案したものは決裁できません。"
    if any(a.actor_id == user.id for a in acted(case)):
        return False, None, "同じ案件を二度決裁することはできません。"
    here = {a.on_behalf_of_id or a.actor_id for a in acted(case, case.step)}
    open_parties = [p for p in step["who"] if not (step.get("need") == "each" and here & set(members({"who": [p]})))]
    names = [m for m in members({"who": open_parties}) if m not in here]
    if user.id in names:
        return True, None, ""
    if not step.get("no_proxy"):
        for member in names:
            absence = absence_of(member, case.kind, day)
            if absence is not None and absence.deputy_id == user.id:
                return True, member, ""
    return False, None, f"この段階（{step.get('label', '')}）を決裁する人、またはその代決者ではありません。"


def open_case(kind: str, subject_id: int) -> ApprovalCase | None:
    """The case of ``kind`` about ``subject_id`` not yet decided (in progress, or returned to its 起案者)."""
    from banso.extensions import db

    return db.session.scalar(select(ApprovalCase).where(ApprovalCase.kind == kind, ApprovalCase.subject_id == subject_id,
                                                        ApprovalCase.status.in_(("in_progress", "returned")))
                             .order_by(ApprovalCase.id.desc()).limit(1))


def may_use_inbox(user: User) -> bool:
    """The 決裁 inbox, 後閲 and one's own absences: everyone signed in (an officer drafts; staff and finance decide)."""
    return signed_in(user)


def may_edit_routes(user: User) -> bool:
    """The routes and who may 代決 follow the organisation's 決裁規程: an admin sets them."""
    return is_admin(user)


def may_record_absence_for(person: User, user: User) -> bool:
    """One's own absence, or anyone's by an admin."""
    return person.id == user.id or is_admin(user)


DEPUTY_ROLES = (Role.ADMIN, Role.SECRETARIAT, Role.FINANCE)  # who may be named to decide in someone's place
