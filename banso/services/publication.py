"""公表: the confidentiality hold on matching results and their release.

PUB-1: a match is not guaranteed — unmatched applicants are told so. PUB-2: until release, which
team supports which municipality is visible only to the secretariat, and to an officer for their
own team once the advance notice has gone; every view of it is audited; notifications that would
reveal it wait in the outbox. PUB-3: release publishes the supported municipalities and the
officers' names. PUB-4: each prefecture receives its municipalities' answers and results.

Who sees a team before release is decided in one place, ``banso.policies.hold``, which every query of a
request passes through; this module keeps the lifecycle, the banner, the watermark and held notifications.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload, selectinload

from banso import queue
from banso.clock import now
from banso.extensions import db
from banso.formatting import jst_datetime, wareki
from banso.models import (Application, ApplicationStatus, Ministry, Municipality, Notification, NotificationStatus, Officer,
                          Phase, PrefectureContact, Publication, PublicationStatus, Team, TeamMembership, User)
from banso.policies import publication as policy
from banso.reference import PREFECTURES, field_label
from banso.services import (InputError, NotPermitted, RuleViolation, WrongState, approvals, audit, check_version,
                            notifications, letters, phase_steps, public_results, users)

log = logging.getLogger(__name__)
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=timezone.utc)
CONFIDENTIAL = "【取扱注意・公表前】"
SIGNATURE = "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室"
S = PublicationStatus


def publication_of(phase: Phase) -> Publication:
    found = db.session.scalar(select(Publication).where(Publication.phase_id == phase.id))
    if found is None:
        found = Publication(phase_id=phase.id, status=S.PREPARING)
        db.session.add(found)
        db.session.flush()
    return found


def is_released(phase: Phase) -> bool:
    return db.session.scalar(select(Publication.status).where(Publication.phase_id == phase.id)) == S.RELEASED


# --- the hold (PUB-2) -----------------------------------------------------------------------

def confidential(phase: Phase) -> bool:
    """Pages showing this phase's matching carry the 公表前・取扱注意 banner and a watermark until release (the request's
    memo of released phases: a page asks it often; what holds a notice reads the state afresh, ``is_released``)."""
    from banso.policies.hold import released_phases

    return phase.id not in released_phases()


def watermark(user: User) -> str:
    return f"公表前・取扱注意　表示者: {user.name}（{user.email}）　{jst_datetime(now())}"


def hold(phase: Phase) -> dict:
    """notify(**hold(phase)) keeps a notification revealing the matching in the outbox until release."""
    return {} if is_released(phase) else {"hold_until": FAR_FUTURE, "release_phase_id": phase.id}


# --- the lifecycle ------------------------------------------------------------------------

def _staff(actor: User) -> None:
    if not policy.may_prepare(actor):
        raise NotPermitted("公表の手続は事務局が行います。")


def confirm(phase: Phase, *, actor: User, reason: str = "") -> Publication:
    """確定: the matching is frozen; changes to teams need an admin's unlock. Refused while a step before it is open
    (phase_steps.confirm_blockers: the intake, the recruitment, a continuing answer, a member's 併任), unless an admin
    records why; that is audited with what was still open."""
    _staff(actor)
    publication = publication_of(phase)
    if publication.status not in (S.PREPARING, S.CONFIRMED) and not publication.unlocked:
        raise WrongState(f"「{publication.status_label}」の期は確定し直せません。")
    if not db.session.scalar(select(Team.id).where(Team.phase_id == phase.id).limit(1)):
        raise RuleViolation("PUB-1", "チームが1つも編成されていないため確定できません。")
    blockers = phase_steps.confirm_blockers(phase)
    if blockers and not (policy.may_decide(actor) and (reason or "").strip()):
        then = ("事情があって今確定するときは、理由を記録してください。" if policy.may_decide(actor)
                else "済ませてから確定してください。事情があって今確定するときは、事務局管理者が理由を記録して確定します。")
        raise RuleViolation("PUB-1", f"まだ確定できません。{'。'.join(blockers)}。{then}")
    if blockers:
        audit.record("confirm_with_open_steps", publication, actor=actor,
                     summary=f"{phase.name}を未了の手順があるまま確定（理由: {reason.strip()}）: {'／'.join(blockers)}")
    if publication.status == S.PREPARING:
        publication.status = S.CONFIRMED
    publication.unlocked, publication.confirmed_at, publication.confirmed_by_id = False, now(), actor.id
    publication.release_planned_at = phase.publication_at
    audit.record("confirm", publication, actor=actor, summary=f"{phase.name}のマッチング結果を確定（以後の変更には管理者の解除が必要）")
    schedule_release(phase)
    return publication


def request_confirmation(phase: Phase, *, actor: User, reason: str = ""):
    """マッチング確定 as a decision on its route: taken now on the 起案者's authority (the default, as today), or when
    the route's last step approves — PUB-1's checks (teams formed, the steps before it done or a reason) run then."""
    _staff(actor)
    return approvals.decide_through_route("matching_confirm", f"{phase.name}のマッチング結果の確定",
                                          {"phase_id": phase.id, "reason": (reason or "").strip()}, drafter=actor,
                                          subject_id=phase.id)


def _decided_confirmation(case, decider: User) -> None:
    confirm(db.session.get(Phase, case.payload["phase_id"]), actor=decider, reason=case.payload["reason"])


approvals.register("matching_confirm", _decided_confirmation)


def unlock(phase: Phase, reason: str, *, actor: User) -> Publication:
    """An admin reopens the frozen matching for a change, with a reason; confirming again freezes it."""
    if not policy.may_decide(actor):
        raise NotPermitted("確定したマッチングの変更を許可できるのは事務局管理者のみです。")
    publication = publication_of(phase)
    if publication.status not in policy.NOTIFIABLE:
        raise WrongState("確定済みのマッチングだけが解除の対象です。")
    if not (reason or "").strip():
        raise InputError("解除の理由を入力してください。", "reason")
    publication.unlocked = True
    audit.record("unlock", publication, actor=actor, summary=f"{phase.name}の確定済みマッチングの変更を許可（{reason.strip()}）")
    return publication


def check_open(phase: Phase) -> None:
    """Teams and members change freely while preparing, after release (TEAM-4), or when unlocked."""
    publication = db.session.scalar(select(Publication).where(Publication.phase_id == phase.id))
    if publication is not None and publication.status in policy.NOTIFIABLE and not publication.unlocked:
        raise RuleViolation("PUB-1", f"{phase.name}のマッチングは確定済みです。変更するには事務局管理者が公表の画面で変更を許可してください。")


def send_advance_notices(phase: Phase, *, actor: User) -> int:
    """PUB-2: each matched municipality's contact and each officer hears the result, marked
    confidential; PUB-1: unmatched applicants get their own notice. Nothing is sent twice."""
    _staff(actor)
    publication = publication_of(phase)
    if publication.status not in policy.NOTIFIABLE:
        raise WrongState("事前通知は、マッチングを確定してから送ります。")
    release_at = jst_datetime(phase.publication_at) if phase.publication_at else "公表日"
    caution = (f"本件は{release_at}の公表まで取扱注意です。公表前に外部へ公表・発信しないでください（PUB-2）。")
    sent, already = 0, _sent_keys(f"advance-{phase.id}-")
    teams = db.session.scalars(select(Team).options(selectinload(Team.memberships).joinedload(TeamMembership.officer)
                                                    .joinedload(Officer.ministry).joinedload(Ministry.parent),
                                                    joinedload(Team.municipality), joinedload(Team.application))
                               .where(Team.phase_id == phase.id).order_by(Team.id)).unique()
    for team in teams:
        body = (f"{phase.name}の地方創生伴走支援のマッチング結果をお知らせします。\n\n支援先: {team.municipality.full_name}\n"
                f"支援の開始日: {wareki(team.start_date)}（支援期間 {wareki(team.start_date)}〜{wareki(team.end_date)}）\n"
                f"伴走支援チーム:\n{letters.contact_lines([ms.officer for ms in team.current_members])}\n\n{caution}\n\n"
                f"{letters.secretariat_line()}{SIGNATURE}")
        recipients = [(m.officer.email, m.officer.name, m.officer.user) for m in team.current_members]
        if team.application is not None and team.application.contact_email:
            recipients.append((team.application.contact_email, f"{team.municipality.full_name} {team.application.contact_person}", None))
        for email, name, user in recipients:
            sent += _notice(already, f"advance-{phase.id}-team-{team.id}-{email}", team, email, name, user,
                            f"{CONFIDENTIAL}{phase.name} 地方創生伴走支援のマッチング結果", f"{name} 様\n\n{body}")
    unmatched = db.session.scalars(select(Application).where(Application.phase_id == phase.id,
                                                             Application.status == ApplicationStatus.UNMATCHED))
    for application in unmatched:
        name = f"{application.municipality.full_name} {application.contact_person}"
        sent += _notice(already, f"advance-{phase.id}-unmatched-{application.id}", application, application.contact_email, name, None,
                        f"{CONFIDENTIAL}{phase.name} 地方創生伴走支援のマッチング結果",
                        f"{name} 様\n\n{phase.name}の地方創生伴走支援について、このたびは伴走支援チームとのマッチングに至りませんでした。"
                        f"本制度ではマッチングを保証していないことをご理解ください（PUB-1）。\n\n{caution}\n\n{SIGNATURE}")
    if publication.status == S.CONFIRMED:
        publication.status = S.NOTIFIED
    publication.notified_at, publication.notified_by_id = publication.notified_at or now(), publication.notified_by_id or actor.id
    audit.record("advance_notice", publication, actor=actor, summary=f"{phase.name}の事前通知を{sent}件送信（取扱注意）")
    return sent


def _sent_keys(prefix: str) -> set[str]:
    """The notices of one action already written, read once (re-running the action sends nothing twice)."""
    return set(db.session.scalars(select(Notification.idempotency_key).where(Notification.idempotency_key.startswith(prefix))))


def _notice(already: set[str], key: str, obj, email: str, name: str, user: User | None, subject: str, body: str) -> int:
    if not email or key in already:
        return 0
    already.add(key)
    notifications.notify(key=key, kind="advance_notice", obj=obj, recipient_email=email, recipient_name=name,
                         recipient_user=user, subject=subject, body=body)
    return 1


def request_early_release(phase: Phase, reason: str, *, actor: User) -> Publication:
    """Releasing before the planned time is a 決裁 (公表の前倒し): an admin drafts it with a reason; it is released
    when its route decides — by an admin independent of the 起案者 (PUB-3, checked at the decision). A new request
    withdraws the one not yet decided."""
    if not policy.may_decide(actor):
        raise NotPermitted("公表の前倒しを申請できるのは事務局管理者のみです。")
    if not (reason or "").strip():
        raise InputError("前倒しの理由を入力してください。", "reason")
    publication = publication_of(phase)
    if publication.is_released:
        raise WrongState("既に公表されています。")
    if (waiting := approvals.open_case("early_release", phase.id)) is not None:
        approvals.withdraw(waiting, actor, "前倒しの再申請", for_the_subject=True)
    publication.early_reason, publication.early_requested_by_id, publication.early_requested_at = reason.strip()[:1000], actor.id, now()
    audit.record("request_early_release", publication, actor=actor, summary=f"{phase.name}の公表の前倒しを申請（{publication.early_reason}）")
    approvals.decide_through_route("early_release", f"{phase.name}の公表の前倒し", {"phase_id": phase.id, "reason": publication.early_reason},
                                   drafter=actor, subject_id=phase.id)
    return publication


def _decided_early_release(case, decider: User) -> None:
    release(db.session.get(Phase, case.payload["phase_id"]), actor=decider, early_case=case)


approvals.register("early_release", _decided_early_release)


def _check_independent(case, actor: User) -> None:
    """PUB-3: everyone who approved the 前倒し is another admin than its 起案者 and independent of them — not made,
    invited, reset or given a role by them within EARLY_RELEASE_INDEPENDENCE_DAYS, not registered after the request —
    whatever route the organisation set."""
    requester, days = case.drafter, current_app.config["EARLY_RELEASE_INDEPENDENCE_DAYS"]
    deciders = approvals.approvers(case) or [actor]
    for person in deciders:
        if person.id == requester.id:
            raise RuleViolation("PUB-3", "前倒しの公表は、申請した方とは別の事務局管理者が確認して行います。")
        if person.created_at > case.submitted_at or users.made_by(person, requester, days=days):
            raise RuleViolation("PUB-3", f"前倒しの公表を確認できるのは、申請した方とは独立した事務局管理者です（申請者が{days}日以内に"
                                         "作成・招待・再設定・変更したアカウントや、申請より後に登録されたアカウントでは確認できません）。")


def release(phase: Phase, *, actor: User | None, early_case=None) -> bool:
    """PUB-3: the results become public and held notifications go out. Releasing twice does nothing more.
    ``actor`` None is the scheduled job (or the worker's catch-up) at or after the planned time; before it, only the
    decision of a 公表の前倒し case (``early_case``) releases."""
    db.session.execute(update(Publication).where(Publication.phase_id == phase.id).values(phase_id=Publication.phase_id)
                       .execution_options(synchronize_session=False))  # one release at a time
    publication = publication_of(phase)
    db.session.refresh(publication)
    if publication.is_released:
        return False
    if publication.status != S.NOTIFIED:
        raise WrongState("公表は、確定と事前通知の後に行います。")
    planned = planned_release(publication)
    early = planned is None or now() < planned
    if early:
        if actor is None:
            return False  # the job ran early (a changed schedule): the planned time decides
        if not policy.may_decide(actor):
            raise NotPermitted("公表を行えるのは事務局管理者のみです。")
        if early_case is None:
            raise RuleViolation("PUB-3", "予定日時より前に公表するには、前倒しの理由を申請し、その決裁を受けてください"
                                         "（決裁されると、その時点で公表されます）。")
        _check_independent(early_case, actor)
    elif actor is not None and not policy.may_decide(actor):
        raise NotPermitted("公表を行えるのは事務局管理者のみです。")
    at = now()
    publication.status, publication.released_at, publication.released_by_id = S.RELEASED, at, actor.id if actor else None
    db.session.flush()
    from banso.policies.hold import forget_released

    forget_released()  # this request's view of the hold changes with it
    held = list(db.session.scalars(select(Notification.id).where(Notification.release_phase_id == phase.id,
                                                                 Notification.status == NotificationStatus.PENDING)))
    db.session.execute(update(Notification).where(Notification.id.in_(held)).values(hold_until=at)
                       .execution_options(synchronize_session=False))
    for notification_id in held:
        notifications.remember(notification_id)  # enqueued after the commit
    how = (f"前倒し（予定 {jst_datetime(planned)}、申請 {publication.early_requested_by.name}、確認 {actor.name}）: "
           f"{publication.early_reason}" if early and planned else
           f"前倒し（申請 {publication.early_requested_by.name}、確認 {actor.name}）: {publication.early_reason}" if early else
           f"予定どおり（予定 {jst_datetime(planned)}）")
    audit.record("release", publication, actor=actor, summary=f"{phase.name}のマッチング結果を公表（{how}、保留中の通知{len(held)}件を送信）",
                 after={"planned": planned.isoformat() if planned else None, "released": at.isoformat(), "early": early,
                        "requested_by": publication.early_requested_by_id if early else None})
    public_results.write(phase)  # the public page is written as released, not at its first visitor
    if early_case is None and (waiting := approvals.open_case("early_release", phase.id)) is not None:
        approvals.withdraw(waiting, waiting.drafter, "予定日時に公表されたため", for_the_subject=True)  # nothing left to decide
    return True


def planned_release(publication: Publication):
    """When the release is due: fixed at confirmation (the phase's time only before that)."""
    return publication.release_planned_at or publication.phase.publication_at


def schedule_release(phase: Phase) -> None:
    """Put the release on the worker's scheduler; the worker's timer catches up if it was down."""
    at = planned_release(publication_of(phase))
    if at is None:
        return
    try:
        queue.queue("default").enqueue_at(at, queue.Job.RELEASE_PUBLICATION, phase.id,
                                          job_id=f"release-phase-{phase.id}-{int(at.timestamp())}")
    except Exception as exc:  # Redis down: the timer's catch-up still releases on time
        log.warning("公表の予約を登録できませんでした（定期処理で公表します）: %s", exc)


def release_due() -> int:
    """The worker's catch-up: release every notified phase whose planned time has passed."""
    due = db.session.scalars(select(Phase).join(Publication, Publication.phase_id == Phase.id)
                             .where(Publication.status == S.NOTIFIED,
                                    func.coalesce(Publication.release_planned_at, Phase.publication_at) <= now()))
    return sum(1 for phase in list(due) if release(phase, actor=None))


# --- public results and prefecture packets (PUB-3, PUB-4) --------------------------------------

def supported_by_prefecture(phase: Phase) -> dict[str, int]:
    """How many teams each prefecture has in the phase, counted in SQL (the hold applies; a held phase's figure is
    audited and marked like the statistics, PUB-2)."""
    from sqlalchemy import func

    from banso.policies.hold import note_shown

    note_shown(phase.id)
    return dict(db.session.execute(select(Municipality.prefecture, func.count(Team.id))
                                   .join(Team, Team.municipality_id == Municipality.id)
                                   .where(Team.phase_id == phase.id).group_by(Municipality.prefecture)).all())


def activity_counts(phase: Phase) -> dict[int, dict[str, int]]:
    """Per team of the phase: how many of each activity kind so far (TEAM-5), one aggregate query."""
    from sqlalchemy import func

    from banso.models import Activity

    counts: dict[int, dict[str, int]] = {}
    for team_id, kind, n in db.session.execute(select(Activity.team_id, Activity.kind, func.count()).join(Team)
                                               .where(Team.phase_id == phase.id).group_by(Activity.team_id, Activity.kind)):
        counts.setdefault(team_id, {})[kind] = n
    return counts


def set_share_before_release(phase: Phase, allowed: bool, *, actor: User) -> Publication:
    """PUB-4: an admin may allow sharing with prefectures before release (marked confidential)."""
    if not policy.may_decide(actor):
        raise NotPermitted("公表前の共有を許可できるのは事務局管理者のみです。")
    record = publication_of(phase)
    record.share_before_release = allowed
    audit.record("share_policy", record, actor=actor,
                 summary=f"{phase.name}の都道府県への公表前の共有を{'許可' if allowed else '不許可に'}")
    return record


def may_share(phase: Phase) -> bool:
    """PUB-4: after release by default; before it only when the phase allows confidential sharing."""
    publication = publication_of(phase)
    return publication.is_released or publication.share_before_release


def set_prefecture_contact(prefecture: str, email: str, department: str = "", *, actor: User,
                           expected_version=None) -> PrefectureContact:
    """Where a prefecture's packet goes. ``expected_version`` is the contact's version when the page was opened ("0":
    there was none), so a contact saved meanwhile by someone else is never overwritten."""
    from email_validator import EmailNotValidError, validate_email

    if prefecture not in PREFECTURES:
        raise InputError(f"都道府県「{prefecture}」は選択肢にありません。", "prefecture")
    try:
        email = validate_email((email or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise InputError("メールアドレスの形式が正しくありません。", "email") from None
    found = db.session.scalar(select(PrefectureContact).where(PrefectureContact.prefecture == prefecture))
    if found is not None:
        check_version(found, expected_version, {"email": f"{prefecture}の共有先", "department": "部署"})
    before = audit.snapshot(found, ["email", "department"]) if found is not None else None
    contact = found or PrefectureContact(prefecture=prefecture)
    contact.email, contact.department = email, (department or "").strip()[:200]
    db.session.add(contact)
    audit.record("prefecture_contact", contact, actor=actor, summary=f"{prefecture}の共有先を{email}に設定", before=before,
                 after=audit.snapshot(contact, ["email", "department"]))
    return contact


def send_prefecture_packets(phase: Phase, *, actor: User) -> int:
    """PUB-4: each prefecture with a contact gets its municipalities' answers and results, once per phase."""
    _staff(actor)
    if not may_share(phase):
        raise RuleViolation("PUB-4", "公表前のため都道府県への共有はできません（この期は公表前の共有を許可していません）。")
    contacts = {c.prefecture: c for c in db.session.scalars(select(PrefectureContact))}
    applications_by_prefecture: dict[str, list[Application]] = {}
    for application in db.session.scalars(select(Application).join(Municipality).where(Application.phase_id == phase.id)
                                          .order_by(Municipality.code)):
        applications_by_prefecture.setdefault(application.municipality.prefecture, []).append(application)
    teams = {team.municipality_id: team for teams in public_results.results(phase).values() for team in teams}
    sent, already = 0, _sent_keys(f"prefecture-{phase.id}-")
    for prefecture, applications in applications_by_prefecture.items():
        contact = contacts.get(prefecture)
        if contact is None:
            continue
        lines = []
        for a in applications:
            team = teams.get(a.municipality_id)
            lines.append(f"■ {a.municipality.name}（{'継続' if a.is_continuing else '新規'}、{a.status_label}）\n"
                         f"  優先分野: {'、'.join(field_label(f) for f in a.priority_fields)}\n  チーム: {public_results.members_text(team) if team else '—'}")
        prefix = "" if is_released(phase) else CONFIDENTIAL
        sent += _notice(already, f"prefecture-{phase.id}-{prefecture}", contact, contact.email, f"{prefecture} {contact.department}".strip(), None,
                        f"{prefix}{phase.name} 地方創生伴走支援 {prefecture}内市町村の回答とマッチング結果",
                        f"{prefecture} {contact.department} ご担当者様\n\n{phase.name}の{prefecture}内市町村の回答とマッチング結果を共有します（PUB-4）。\n\n"
                        + "\n".join(lines) + f"\n\n詳細はExcel版を事務局にご請求ください。\n\n{SIGNATURE}")
    audit.record("share_prefectures", publication_of(phase), actor=actor, summary=f"{phase.name}の都道府県への共有を{sent}件送信")
    return sent
