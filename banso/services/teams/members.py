"""A team's line-up: formation (TEAM-1, TEAM-2, OFF-3), the support period and its extension (TEAM-3), member
replacement (TEAM-4) with its notices."""
from __future__ import annotations

import logging
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified

from banso.clock import now, today_jst
from banso.extensions import db
from banso.formatting import wareki
from banso.models import (Application, ApplicationStatus, CandidacyStatus, MemberReplacement,
                          Ministry, Officer, OfficerCandidacy, Phase,
                          Team, TeamExtension, TeamMembership, TeamStatus, User)
from banso.models.team import REPLACEMENT_REASONS
from banso.reference import FIELDS, field_label, normalize_name
from banso.services import (InputError, RuleViolation, WrongState, applications, approvals, audit, check_version, letters,
                            notifications, officers)

SIGNATURE = "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室"


def _check_mix(members: list[Officer]) -> None:
    """TEAM-1: 2–3 officers from different ministries."""
    if not 2 <= len(members) <= 3:
        raise RuleViolation("TEAM-1", f"チームは2〜3名で編成します（{len(members)}名になります）。")
    ministries = [o.home_ministry.name for o in members]
    clash = sorted({m for m in ministries if ministries.count(m) > 1})
    if clash:
        raise RuleViolation("TEAM-1", f"同じ府省庁（{'、'.join(clash)}）の支援官が複数います。チームは省庁混成で編成します。")


def _active_team_of(officer: Officer, phase: Phase) -> Team | None:
    return db.session.scalar(select(Team).join(TeamMembership).where(
        TeamMembership.officer_id == officer.id, TeamMembership.phase_id == phase.id, TeamMembership.left_on.is_(None)))


def _check_available(officer: Officer, phase: Phase, start: date, end: date) -> None:
    candidacy = db.session.scalar(select(OfficerCandidacy).where(OfficerCandidacy.officer_id == officer.id,
                                                                 OfficerCandidacy.phase_id == phase.id))
    if candidacy is None or candidacy.status not in (CandidacyStatus.SELECTED, CandidacyStatus.ASSIGNED):
        raise WrongState(f"{officer.name}さんは{phase.name}の選定された支援官ではありません。")
    team = _active_team_of(officer, phase)
    if team is not None:
        raise RuleViolation("TEAM-2", f"{officer.name}さんは既に{team.name}のメンバーです（1人1チーム）。")
    if not officers.has_covering_appointment(officer, start, end):
        raise RuleViolation("OFF-3", f"{officer.name}さんには{wareki(start)}から{wareki(end)}までの期間をカバーする併任発令がありません。")


def _set_candidacy(officer: Officer, phase: Phase, status: str) -> None:
    db.session.execute(update(OfficerCandidacy).where(OfficerCandidacy.officer_id == officer.id,
                                                      OfficerCandidacy.phase_id == phase.id).values(status=status)
                       .execution_options(synchronize_session=False))


def default_period(phase: Phase) -> tuple[date, date]:
    """TEAM-3: one year in principle, from the phase's support start."""
    start = phase.support_start
    return start, min(phase.support_end, start.replace(year=start.year + 1) - timedelta(days=1))


def form_team(application: Application, officer_list: list[Officer], *, themes: list[int] | None = None,
              actor: User | None, start: date | None = None, predecessor: Team | None = None) -> Team:
    """One team for one eligible application (TEAM-2), 2–3 mixed-ministry officers (TEAM-1), each
    holding a 併任発令 that covers the term (OFF-3). The application becomes マッチング済."""
    from banso.services import publication

    phase, m = application.phase, application.municipality
    publication.check_open(phase)  # PUB-1: a confirmed matching changes only with an admin's unlock
    if application.status != ApplicationStatus.ELIGIBLE:
        raise RuleViolation("TEAM-2", f"{m.full_name}の回答は「{application.status_label}」です。対象と判定された回答にだけチームを編成できます。")
    if db.session.scalar(select(Team.id).where(Team.phase_id == phase.id, Team.municipality_id == m.id)):
        raise RuleViolation("TEAM-2", f"{m.full_name}には{phase.name}のチームが既にあります（1市町村1チーム）。")
    _check_mix(officer_list)
    period_start, period_end = default_period(phase)
    start = start or period_start
    for officer in officer_list:
        _check_available(officer, phase, start, period_end)
    themes = [t for t in (themes or application.priority_fields) if t in FIELDS][:3]
    if predecessor is None:  # a continuing municipality keeps its history
        predecessor = db.session.scalar(select(Team).join(Phase, Phase.id == Team.phase_id)
                                        .where(Team.municipality_id == m.id, Phase.number == phase.number - 1))
    team = Team(phase=phase, municipality=m, application=application, predecessor=predecessor, themes=themes,
                start_date=start, end_date=period_end,
                status=TeamStatus.ACTIVE if today_jst() >= start else TeamStatus.FORMING)
    db.session.add(team)
    for officer in officer_list:
        db.session.add(TeamMembership(team=team, officer=officer, phase_id=phase.id, joined_on=start))
        _set_candidacy(officer, phase, CandidacyStatus.ASSIGNED)
    db.session.flush()
    applications.change_status(application, "matched", actor=actor)
    audit.record("form", team, actor=actor, summary=f"{team.name}を編成（{'・'.join(o.name for o in officer_list)}）",
                 after={"officers": [o.id for o in officer_list], "themes": themes})
    return team


# What a stale form is shown of the team as saved (services.check_version).
TEAM_FIELDS = {"status_label": "状態", "end_date": "支援の終了日"}


def extend_team(team: Team, *, new_end: date, reason: str, actor: User, expected_version=None) -> TeamExtension:
    """TEAM-3: an extension is a recorded decision with a reason and a new end date."""
    check_version(team, expected_version, TEAM_FIELDS)
    if not (reason or "").strip():
        raise InputError("延長の理由を入力してください。", "reason")
    if new_end <= team.end_date:
        raise InputError("延長後の終了日は現在の終了日より後にしてください。", "new_end")
    for membership in team.current_members:
        if not officers.has_covering_appointment(membership.officer, team.end_date, team.end_date):
            raise RuleViolation("OFF-3", f"{membership.officer.name}さんの併任発令が現在の終了日をカバーしていません。")
    extension = TeamExtension(team_id=team.id, previous_end=team.end_date, new_end=new_end, reason=reason.strip(),
                              decided_by_id=actor.id)
    db.session.add(extension)
    for membership in team.current_members:
        for appointment in membership.officer.appointments:
            if appointment.phase_id == team.phase_id and appointment.effective_to < new_end:
                appointment.effective_to = new_end  # the order is extended with the team (OFF-3)
    team.end_date, team.status = new_end, TeamStatus.EXTENDED
    audit.record("extend", team, actor=actor, summary=f"{team.name}の支援期間を{new_end.isoformat()}まで延長（{extension.reason}）",
                 before={"end_date": extension.previous_end.isoformat()}, after={"end_date": new_end.isoformat()})
    return extension


def request_extension(team: Team, *, new_end: date | None, reason: str, actor: User, expected_version=None):
    """TEAM-3's extension as a 支援延長 decision on its route: taken now on the 起案者's authority (the default, as
    today), or when the route's last step approves it — TEAM-3 and OFF-3 checked then."""
    check_version(team, expected_version, TEAM_FIELDS)
    if not (reason or "").strip():
        raise InputError("延長の理由を入力してください。", "reason")
    if new_end is None or new_end <= team.end_date:
        raise InputError("延長後の終了日は現在の終了日より後にしてください。", "new_end")
    return approvals.decide_through_route("extension", f"{team.name}の支援期間を{wareki(new_end)}まで延長",
                                          {"team_id": team.id, "new_end": new_end.isoformat(), "reason": reason.strip()},
                                          drafter=actor, subject_id=team.id, team_id=team.id)


def _decided_extension(case, decider: User) -> None:
    extend_team(db.session.get(Team, case.payload["team_id"]), new_end=date.fromisoformat(case.payload["new_end"]),
                reason=case.payload["reason"], actor=decider)


approvals.register("extension", _decided_extension)


def replace_member(team: Team, leaving: Officer, joining: Officer, *, effective: date, reason: str, note: str = "",
                   actor: User | None, expected_version=None) -> MemberReplacement:
    """TEAM-4 in one transaction: history kept, TEAM-1 and OFF-3 still true, the municipality and team told."""
    check_version(team, expected_version, TEAM_FIELDS)
    from banso.services import publication

    db.session.execute(select(Team.id).where(Team.id == team.id).with_for_update())  # one replacement at a time
    publication.check_open(team.phase)
    if reason not in REPLACEMENT_REASONS:
        raise InputError("交代の理由を選んでください。", "reason")
    if not team.start_date < effective <= team.end_date:
        raise InputError("交代日は支援期間内（開始日の翌日以降）の日付にしてください。", "effective")
    current = [m.officer for m in team.current_members]
    if leaving not in current:
        raise WrongState(f"{leaving.name}さんは{team.name}の現在のメンバーではありません。", "leaving")
    if joining in current:
        raise InputError(f"{joining.name}さんは既にこのチームのメンバーです。", "joining")
    planned = planned_replacements(team)
    already = next((r for r in planned if r.leaving_officer_id == leaving.id), None)
    if already is not None:
        raise WrongState(f"{leaving.name}さんの交代は既に予定されています（{wareki(already.effective_on)}付）。", "leaving")
    if any(r.joining_officer_id == joining.id for r in planned):
        raise InputError(f"{joining.name}さんは既にこのチームへの着任が予定されています。", "joining")
    _check_mix([o for o in current if o is not leaving] + [joining])
    _check_available(joining, team.phase, effective, team.end_date)
    replacement = MemberReplacement(team_id=team.id, leaving_officer=leaving, joining_officer=joining,
                                    effective_on=effective, reason=reason, note=(note or "").strip(),
                                    created_by_id=actor.id if actor else None)
    db.session.add(replacement)
    flag_modified(team, "status")  # a new line-up, planned or made, is a new version of the team
    if effective <= today_jst():
        _apply(replacement, actor)
    db.session.flush()
    audit.record("replace_member", team, actor=actor,
                 summary=f"{team.name}: {leaving.name}さん → {joining.name}さん（{wareki(effective)}付、{reason}）"
                         + ("" if replacement.applied_at else "（予定）"),
                 before={"officer": leaving.id}, after={"officer": joining.id, "effective_on": effective.isoformat()})
    _notify_replacement(team, replacement)
    return replacement


def planned_replacements(team: Team, recorded: list[MemberReplacement] | None = None) -> list[MemberReplacement]:
    """Replacements recorded ahead of their date (予定), soonest first; of ``recorded`` when the caller has the team's
    replacements already (the team's page)."""
    if recorded is not None:
        return sorted((r for r in recorded if r.applied_at is None), key=lambda r: r.effective_on)
    return list(db.session.scalars(select(MemberReplacement).where(MemberReplacement.team_id == team.id,
                                                                   MemberReplacement.applied_at.is_(None))
                                   .order_by(MemberReplacement.effective_on)))


def apply_due_replacements(today: date | None = None) -> int:
    """On the worker's timer: replacements whose date has come take effect (memberships, candidacies, OFF-3
    appointments). A replacement that can no longer be made (the newcomer appointed elsewhere meanwhile) stays
    予定 and is logged for the secretariat."""
    today = today or today_jst()
    applied = 0
    for replacement in db.session.scalars(select(MemberReplacement).where(MemberReplacement.applied_at.is_(None),
                                                                          MemberReplacement.effective_on <= today)):
        try:
            with db.session.begin_nested():
                _apply(replacement, None)
            applied += 1
        except RuleViolation as refused:
            logging.getLogger("banso").warning("予定されたメンバー交代（%s）を反映できません: %s", replacement.id, refused.message)
    return applied


def _apply(replacement: MemberReplacement, actor: User | None) -> None:
    """The replacement takes effect: the leaving membership closes the day before, the newcomer joins on the day."""
    team = db.session.get(Team, replacement.team_id)
    leaving, joining, effective, reason = (replacement.leaving_officer, replacement.joining_officer,
                                           replacement.effective_on, replacement.reason)
    # The leaving membership closes only if still open: a concurrent replacement of the same member loses here.
    closed = db.session.execute(
        update(TeamMembership).where(TeamMembership.team_id == team.id, TeamMembership.officer_id == leaving.id,
                                     TeamMembership.left_on.is_(None))
        .values(left_on=effective - timedelta(days=1), leave_reason=reason).execution_options(synchronize_session=False))
    if closed.rowcount != 1:
        raise WrongState(f"{leaving.name}さんの交代は既に処理されています。画面を再読み込みしてください。")
    db.session.add(TeamMembership(team=team, officer=joining, phase_id=team.phase_id, joined_on=effective))
    _set_candidacy(joining, team.phase, CandidacyStatus.ASSIGNED)
    _set_candidacy(leaving, team.phase, CandidacyStatus.ENDED)
    for appointment in leaving.appointments:  # OFF-3: no other team in the phase (one team at a time)
        if appointment.phase_id == team.phase_id and appointment.state == "issued":
            officers.end_appointment(appointment, on=effective - timedelta(days=1),
                                     reason=f"{team.name}のメンバー交代（{reason}）", actor=actor)
    replacement.applied_at = now()
    db.session.flush()
    db.session.expire(team, ["memberships"])


def _notify_replacement(team: Team, replacement: MemberReplacement) -> None:
    """The municipality, the team (old and new line-up) and both officers hear of it, complete in plain text:
    the date, who leaves, who joins with their introduction, the line-up after it with contacts."""
    from banso.services import publication

    m, application = team.municipality, team.application
    leaving, joining = replacement.leaving_officer, replacement.joining_officer
    after = [ms.officer for ms in team.current_members if ms.officer is not leaving] + [joining]
    introduction = (joining.introduction or "").strip()
    body = (f"{team.name}のメンバーを{wareki(replacement.effective_on)}付で交代します（{replacement.reason}）。\n"
            f"退任: {leaving.name}（{leaving.home_ministry.name}）\n"
            f"着任: {joining.name}（{joining.home_ministry.name}　{joining.bureau}{joining.division} {joining.post_title}）\n"
            + (f"\n{joining.name}さんの自己紹介:\n{introduction}\n" if introduction else "")
            + f"\n{wareki(replacement.effective_on)}からのメンバー:\n{letters.contact_lines(after)}\n"
            f"支援期間: {wareki(team.start_date)}〜{wareki(team.end_date)}\n\n{letters.secretariat_line()}" + SIGNATURE)
    recipients = [(o.officer.email, o.officer.name, o.officer.user) for o in team.current_members]
    for officer in (leaving, joining):
        if officer.email not in {email for email, _, _ in recipients}:
            recipients.append((officer.email, officer.name, officer.user))
    if application is not None:
        recipients.append((application.contact_email, f"{m.full_name} {application.contact_person}", None))
    for email, name, user in recipients:
        notifications.notify(key=f"replacement-{replacement.id}-{email}", kind="member_replacement", obj=replacement,
                             recipient_email=email, recipient_name=name, recipient_user=user,
                             subject=f"【地方創生伴走支援】{team.name}のメンバー交代のお知らせ", body=f"{name} 様\n\n" + body,
                             **publication.hold(team.phase))  # PUB-2: before release it waits in the outbox


def replacement_candidates(team: Team, leaving: Officer, limit: int = 10, q: str = "") -> list[tuple[Officer, int, list[str]]]:
    """Selected officers free in the phase who keep the team mixed, best fit for its themes first; ``q`` narrows
    them by name, kana, ministry, home town or ties (as typed)."""
    keep = [m.officer for m in team.current_members if m.officer is not leaving]
    taken = {o.home_ministry.name for o in keep}
    busy = select(TeamMembership.officer_id).where(TeamMembership.phase_id == team.phase_id, TeamMembership.left_on.is_(None))
    free = db.session.scalars(
        select(Officer).join(OfficerCandidacy, OfficerCandidacy.officer_id == Officer.id)
        .options(joinedload(Officer.ministry).joinedload(Ministry.parent), selectinload(Officer.appointments))
        .where(OfficerCandidacy.phase_id == team.phase_id, OfficerCandidacy.status == CandidacyStatus.SELECTED,
               Officer.id.not_in(busy)))
    scored = []
    for officer in free:
        if officer.home_ministry.name in taken:
            continue
        text = normalize_name(f"{officer.name}{officer.name_kana}{officer.ministry.label}{officer.home_town}{officer.region_ties}")
        if q and normalize_name(q) not in text:
            continue
        matched = [field_label(f) for f in team.themes if f in (officer.expertise_fields or [])]
        ties = team.municipality.prefecture in f"{officer.home_town}{officer.region_ties}"
        scored.append((officer, len(matched) * 3 + (2 if ties else 0), matched + (["地域のゆかり"] if ties else [])))
    scored.sort(key=lambda item: (-item[1], item[0].name_kana))
    return scored[:limit]
