"""How an account ends, whoever asks (a directory's active=false or DELETE, the admin's page, the daily run of
services/directory.py): in that transaction every session ends (session_version), the calendar feed's address stops
working, the person's open inquiries go to their deputy (the 代決者 of their latest absence, when secretariat staff) or
back to the secretariat's unassigned list, and their 決裁 steps go to that deputy as 代決 (an absence with no end) —
or, without one, the admins are told which cases to reroute. Their history stays: nothing is deleted."""
from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import delete, select

from banso.clock import today_jst
from banso.extensions import db
from banso.models import Absence, ApprovalCase, CalendarFeed, Inquiry, Role, User
from banso.services import audit, notifications

OPEN_INQUIRY = ("new", "in_progress", "waiting")
FOREVER = date(9999, 12, 31)
SIGNATURE = "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室"


def deputy_of(user: User) -> User | None:
    """Who takes the person's work: the 代決者 of their latest absence, if still active."""
    absence = db.session.scalar(select(Absence).where(Absence.user_id == user.id, Absence.deputy_id.is_not(None))
                                .order_by(Absence.starts_on.desc(), Absence.id.desc()).limit(1))
    deputy = absence.deputy if absence is not None else None
    return deputy if deputy is not None and deputy.active and deputy.id != user.id else None


def end(user: User, *, actor: User | None, why: str) -> User:
    """The account ends now (see the module's note). Ending an ended account does nothing more."""
    if not user.active:
        return user
    user.active, user.claims_until = False, None
    user.session_version += 1
    db.session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
    deputy = deputy_of(user)
    handed = _hand_over(user, deputy)
    audit.record("deprovision", user, actor=actor, summary=f"利用者 {user.email} のアカウントを終了（{why}）",
                 after={"why": why, "deputy": deputy.email if deputy else None, **handed})
    return user


def _hand_over(user: User, deputy: User | None) -> dict:
    takes = deputy if deputy is not None and deputy.role in (Role.ADMIN, Role.SECRETARIAT) else None
    open_inquiries = list(db.session.scalars(select(Inquiry).where(Inquiry.assignee_id == user.id,
                                                                   Inquiry.status.in_(OPEN_INQUIRY))))
    for inquiry in open_inquiries:
        inquiry.assignee_id = takes.id if takes is not None else None
        audit.record("assign", inquiry, actor=None, summary=(f"担当者のアカウント終了により{takes.name}さんに引継ぎ" if takes
                                                            else "担当者のアカウント終了により未割当に戻す"))
    cases = [c for c in db.session.scalars(select(ApprovalCase).where(ApprovalCase.status == "in_progress"))
             if any({"user": user.id} in step["who"] for step in c.steps[c.step:])]
    if cases and deputy is not None:
        db.session.add(Absence(user_id=user.id, starts_on=today_jst(), ends_on=FOREVER, deputy_id=deputy.id, kinds=[]))
    elif cases:
        _ask_admins_to_reroute(user, cases)
    return {"inquiries": [i.id for i in open_inquiries], "cases": [c.id for c in cases]}


def _ask_admins_to_reroute(user: User, cases: list[ApprovalCase]) -> None:
    titles = "\n".join(f"・{c.title}（{current_app.config['BASE_URL']}/approvals/{c.id}）" for c in cases)
    for admin in db.session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True))):
        notifications.notify(
            key=f"deprovision-{user.id}-{admin.id}-{user.session_version}", kind="deprovision_reroute", obj=user,
            recipient_email=admin.email, recipient_name=admin.name, recipient_user=admin,
            subject="【伴走支援システム】アカウント終了に伴う決裁ルートの変更のお願い",
            body=(f"{admin.name} 様\n\n{user.name}さん（{user.email}）のアカウントが終了しました。次の決裁は同氏を決裁者に"
                  f"含んでおり、代決者の定めがないため、決裁ルートの変更が必要です。\n\n{titles}\n\n" + SIGNATURE))


def resume(user: User, *, actor: User | None, why: str) -> User:
    """An ended account in use again (a directory sets it active): its work stays where it was handed, and the
    standing 代決 for its 決裁 steps ends."""
    if user.active:
        return user
    user.active = True
    db.session.execute(delete(Absence).where(Absence.user_id == user.id, Absence.ends_on == FOREVER))
    audit.record("update", user, actor=actor, summary=f"利用者 {user.email} を再び有効化（{why}）", after={"active": True})
    return user

