"""伴走支援チーム: formation (TEAM-1, TEAM-2, OFF-3), the support period (TEAM-3), member
replacement (TEAM-4), the activity record (TEAM-5), half-year reports (TEAM-6), scope (TEAM-7)."""
from __future__ import annotations

import logging

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, literal, or_, select, union_all, update
from sqlalchemy.orm import joinedload, selectinload, undefer
from sqlalchemy.orm.attributes import flag_modified

from banso.clock import now, today_jst
from banso.extensions import db
from banso.formatting import parse_id, wareki
from banso.queries import json_list_contains
from banso.models import (Activity, Application, ApplicationStatus, CandidacyStatus, HalfYearReport, MemberReplacement,
                          Ministry, Municipality, Notification, Officer, OfficerCandidacy, Phase,
                          Team, TeamActivityDates, TeamExtension, TeamMembership, TeamStatus, User)
from banso.models.team import ACTIVITY_KINDS, REPLACEMENT_REASONS
from banso.policies import teams as policy
from banso.reference import FIELDS, field_label, normalize_name
from banso.services import (InputError, NotPermitted, RuleViolation, WrongState, applications, audit, check_version, letters,
                            notifications, officers)

SIGNATURE = "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室"
MEETING_GAP = timedelta(weeks=3)      # TEAM-5: about weekly; three weeks without one stands out
VISIT_GAP = timedelta(days=92)        # TEAM-5: about quarterly
OUT_OF_SCOPE = ["申請書の作成", "申請書類の作成", "申請書を作成", "申請書類を作成", "代筆", "議会答弁の作成", "予算書の作成"]


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


# --- activity (TEAM-5, TEAM-7) ------------------------------------------------------------

def scope_warnings(text: str) -> list[str]:
    """TEAM-7: work the municipality's own staff should do is out of scope."""
    found = [word for word in OUT_OF_SCOPE if word in (text or "")]
    if found:
        return [f"TEAM-7: 「{'」「'.join(found)}」は本来市町村の職員が行う業務で、伴走支援業務の対象外です。助言の範囲にとどめてください。"]
    return []


ACTIVITY_FIELDS = ["kind", "started_on", "ended_on", "participants", "place", "company_count", "summary", "follow_ups"]


def record_activity(team: Team, data: dict, *, actor: User) -> Activity:
    if not policy.may_record(team, actor):
        raise NotPermitted("活動を記録できるのは、このチームの支援官と事務局だけです。")
    activity = Activity(team=team, recorded_by_id=actor.id, **_activity_values(team, data))
    db.session.add(activity)
    db.session.flush()
    _dates_moved(team)
    audit.record("record_activity", team, actor=actor,
                 summary=f"{team.name}: {activity.kind_label}（{wareki(activity.started_on)}）を記録")
    return activity


def correct_activity(activity: Activity, data: dict, *, actor: User, expected_version=None) -> Activity:
    """A correction of an entry, audited with what it replaced; only over the version the form was opened at."""
    if not policy.may_correct_activity(activity, actor):
        raise NotPermitted("活動の記録を修正できるのは、記録した方と事務局だけです。")
    check_version(activity, expected_version, {"started_on": "日付", "kind_label": "種類", "summary": "概要"})
    before = audit.snapshot(activity, ACTIVITY_FIELDS)
    for key, value in _activity_values(activity.team, data).items():
        setattr(activity, key, value)
    after = audit.snapshot(activity, ACTIVITY_FIELDS)
    db.session.flush()
    _dates_moved(activity.team)
    if before != after:
        audit.record("correct_activity", activity, actor=actor,
                     summary=f"{activity.team.name}: {activity.kind_label}（{wareki(activity.started_on)}）の記録を修正",
                     before=before, after=after)
    return activity


def delete_activity(activity: Activity, *, actor: User, expected_version=None) -> None:
    """An entry made in error goes; the audit keeps what it said."""
    if not policy.may_correct_activity(activity, actor):
        raise NotPermitted("活動の記録を削除できるのは、記録した方と事務局だけです。")
    check_version(activity, expected_version, {"started_on": "日付", "kind_label": "種類", "summary": "概要"})
    audit.record("delete_activity", activity, actor=actor,
                 summary=f"{activity.team.name}: {activity.kind_label}（{wareki(activity.started_on)}）の記録を削除",
                 before=audit.snapshot(activity, ACTIVITY_FIELDS))
    db.session.delete(activity)
    db.session.flush()
    _dates_moved(activity.team)


def _dates_moved(team: Team) -> None:
    """TEAM-5's dates are read from the activities (models.team._last): a team already loaded reads them again."""
    db.session.expire(team, ["last_meeting_on", "last_visit_on"])


def _activity_values(team: Team, data: dict) -> dict:
    """An entry's values checked against the team's term (TEAM-5); nothing in the future."""
    if data.get("kind") not in ACTIVITY_KINDS:
        raise InputError("活動の種類を選んでください。", "kind")
    started, ended = data.get("started_on"), data.get("ended_on") or data.get("started_on")
    if not isinstance(started, date):
        raise InputError("日付を入力してください。", "started_on")
    if ended < started:
        raise InputError("終了日は開始日以降にしてください。", "ended_on")
    if started < team.start_date or ended > team.end_date:
        raise InputError("活動日は支援期間内の日付にしてください。", "started_on")
    if started > today_jst():
        raise InputError("これから行う活動は記録できません（実施後に記録してください）。", "started_on")
    if not (data.get("summary") or "").strip():
        raise InputError("概要を入力してください。", "summary")
    return {"kind": data["kind"], "started_on": started, "ended_on": ended,
            "participants": (data.get("participants") or "").strip(), "place": (data.get("place") or "").strip(),
            "company_count": int(data.get("company_count") or 0), "summary": data["summary"].strip(),
            "follow_ups": (data.get("follow_ups") or "").strip()}


@dataclass
class ActivitySummary:
    counts: dict[str, int]
    dates: dict[str, list[date]]
    companies: int
    last_meeting: date | None
    last_visit: date | None
    flags: list[str]


def summarize(team: Team, activities: list[Activity] | None = None, today: date | None = None) -> ActivitySummary:
    """Counts and dates like seed 001 (現地訪問 5回, 企業訪問 8社, オンライン会議 16回), and the TEAM-5 flags."""
    if activities is None:
        activities = list(db.session.scalars(select(Activity).where(Activity.team_id == team.id).order_by(Activity.started_on)))
    counts = {kind: 0 for kind in ACTIVITY_KINDS}
    dates: dict[str, list[date]] = {kind: [] for kind in ACTIVITY_KINDS}
    for a in activities:
        counts[a.kind] += 1
        dates[a.kind].append(a.started_on)
    meetings, visits = dates["online_meeting"], dates["site_visit"]
    summary = ActivitySummary(counts, dates, sum(a.company_count for a in activities if a.kind == "company_visit"),
                              max(meetings) if meetings else None, max(visits) if visits else None, [])
    summary.flags = activity_flags(team, summary.last_meeting, summary.last_visit, today)
    return summary


def activity_flags(team: Team, last_meeting: date | None, last_visit: date | None, today: date | None = None) -> list[str]:
    today = today or today_jst()
    if team.status not in (TeamStatus.ACTIVE, TeamStatus.EXTENDED) or today < team.start_date:
        return []
    flags = []
    if today - (last_meeting or team.start_date) > MEETING_GAP:
        flags.append(f"TEAM-5: オンライン会議が3週間以上ありません（最終 {wareki(last_meeting) if last_meeting else 'なし'}）。")
    if today - (last_visit or team.start_date) > VISIT_GAP:
        flags.append(f"TEAM-5: 現地訪問が四半期以上ありません（最終 {wareki(last_visit) if last_visit else 'なし'}）。")
    return flags


def with_activity_dates(stmt):
    """``stmt`` on teams joined to their TEAM-5 summary (models.TeamActivityDates), for ``quiet_condition``."""
    return stmt.outerjoin(TeamActivityDates, TeamActivityDates.team_id == Team.id)


def quiet_condition(today: date):
    """TEAM-5 in SQL, from each team's summary dates (the statement joined ``with_activity_dates``): an active team
    past its start with no online meeting for three weeks or no site visit for a quarter (counted from the start when
    there has been none)."""
    return and_(Team.status.in_((TeamStatus.ACTIVE, TeamStatus.EXTENDED)), Team.start_date <= today,
                or_(func.coalesce(TeamActivityDates.last_meeting_on, Team.start_date) < today - MEETING_GAP,
                    func.coalesce(TeamActivityDates.last_visit_on, Team.start_date) < today - VISIT_GAP))


def flagged_teams(phase: Phase, *, limit: int = 20) -> tuple[int, list[tuple[Team, list[str]]]]:
    """How many of the phase's teams TEAM-5 flags, and the first ``limit`` with their flags (two statements, whatever
    the phase's size: the dashboard)."""
    today = today_jst()
    condition = and_(Team.phase_id == phase.id, quiet_condition(today))
    count = db.session.scalar(with_activity_dates(select(func.count()).select_from(Team)).where(condition))
    rows = db.session.execute(with_activity_dates(select(Team, TeamActivityDates.last_meeting_on, TeamActivityDates.last_visit_on))
                              .options(joinedload(Team.municipality)).where(condition).order_by(Team.id).limit(limit))
    return count, [(team, activity_flags(team, meeting, visit, today)) for team, meeting, visit in rows]


# --- half-year reports (TEAM-6) ----------------------------------------------------------------

def report_due(team: Team, period: int) -> date:
    """First half: six months after the start; second half: the end of the support period."""
    return _half_year_end(team.start_date) if period == 1 else team.end_date


def _half_year_end(start: date) -> date:
    month = start.month + 6
    year = start.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1) - timedelta(days=1)


def file_report(team: Team, period: int, data: dict, *, actor: User) -> HalfYearReport:
    if not policy.may_record(team, actor):
        raise NotPermitted("報告を提出できるのは、このチームの支援官と事務局だけです。")
    if period not in (1, 2):
        raise InputError("報告の期間を選んでください。")
    for key, label in (("issues", "市町村の課題"), ("support_given", "支援の内容"), ("results", "成果"), ("outlook", "今後の展望")):
        if not (data.get(key) or "").strip():
            raise InputError(f"「{label}」を記載してください。", key)
    report = db.session.scalar(select(HalfYearReport).where(HalfYearReport.team_id == team.id, HalfYearReport.period == period))
    fields = ["issues", "support_given", "results", "outlook", "submitted_by_id", "submitted_at"]
    before = audit.snapshot(report, fields) if report is not None else None  # a re-filed report keeps what it replaced
    if report is None:
        report = HalfYearReport(team=team, period=period)
        db.session.add(report)
    for key in ("issues", "support_given", "results", "outlook"):
        setattr(report, key, data[key].strip())
    report.submitted_by_id, report.submitted_at = actor.id, now()
    audit.record("file_report", team, actor=actor, before=before, after=audit.snapshot(report, fields),
                 summary=f"{team.name}の{'上期' if period == 1 else '下期'}報告を{'再提出（前回の内容は履歴に保存）' if before else '提出'}")
    return report


def _unfiled(phase: Phase, *, until: date, after: date | None = None):
    """SQL for the (team, period) pairs of the phase whose report is not filed and falls due on or before ``until``
    (and after ``after``). Due dates follow from the teams' start and end dates, of which a phase has a handful:
    they are read and decided here, so the database filters the teams (no team is loaded to test it)."""
    def due(values, period):
        chosen = []
        for value in values:
            day = _half_year_end(value) if period == 1 else value
            if day <= until and (after is None or day > after):
                chosen.append(value)
        return chosen

    periods = db.session.execute(select(Team.start_date, Team.end_date).where(Team.phase_id == phase.id).distinct()).all()
    parts = []
    for period, column in ((1, Team.start_date), (2, Team.end_date)):
        values = due({row[period - 1] for row in periods}, period)
        if values:
            filed = select(HalfYearReport.id).where(HalfYearReport.team_id == Team.id, HalfYearReport.period == period)
            parts.append(select(Team.id.label("team_id"), literal(period).label("period"))
                         .where(Team.phase_id == phase.id, column.in_(values), ~filed.exists()))
    return union_all(*parts).subquery() if parts else None


def unfiled_reports(phase: Phase, *, within: int = 0, after_today: bool = False, limit: int | None = None,
                    offset: int = 0) -> tuple[int, list[tuple[Team, int, date]]]:
    """How many reports are not filed whose due date has come (or comes within ``within`` days; ``after_today``: only
    those still to come), and those rows in team order, ``limit`` at a time."""
    today = today_jst()
    unfiled = _unfiled(phase, until=today + timedelta(days=within), after=today if after_today else None)
    if unfiled is None:
        return 0, []
    count = db.session.scalar(select(func.count()).select_from(unfiled))
    if limit == 0 or not count:
        return count, []
    stmt = (select(Team, unfiled.c.period).join(unfiled, unfiled.c.team_id == Team.id).options(joinedload(Team.municipality))
            .order_by(Team.id, unfiled.c.period).offset(offset))
    if limit is not None:
        stmt = stmt.limit(limit)
    return count, [(team, period, report_due(team, period)) for team, period in db.session.execute(stmt)]


def missing_reports(phase: Phase, *, within: int = 0) -> list[tuple[Team, int, date]]:
    """Every report not yet filed whose due date has come (or comes within ``within`` days): the worker's reminders."""
    return unfiled_reports(phase, within=within)[1]


def phases_with_running_teams() -> list[Phase]:
    """Every phase with a team still at work, newest first: after April an extended team of the earlier phase still
    reports (TEAM-6), whichever phase has begun since."""
    running = select(Team.phase_id).where(Team.status.in_((TeamStatus.ACTIVE, TeamStatus.EXTENDED)))
    return list(db.session.scalars(select(Phase).where(Phase.id.in_(running)).order_by(Phase.number.desc())))


def remind_reports(phase: Phase, *, days_before: int = 14, actor: User | None) -> int:
    """Before each due date, remind the members of teams that have not filed; each reminder goes once.
    Returns how many new reminders were written."""
    sent = 0
    already = set(db.session.scalars(select(Notification.idempotency_key).where(Notification.kind == "report_reminder")))
    for team, period, due in missing_reports(phase, within=days_before):
        for membership in team.current_members:
            o = membership.officer
            key = f"report-reminder-{team.id}-{period}-{o.id}"
            if key in already:
                continue
            notifications.notify(
                key=key, kind="report_reminder", obj=team,
                recipient_email=o.email, recipient_name=o.name, recipient_user=o.user,
                subject=f"【地方創生伴走支援】{team.name}の{'上期' if period == 1 else '下期'}活動報告のお願い（{due:%-m月%-d日}締切）",
                body=(f"{o.name} 様\n\n{team.name}の{'上期' if period == 1 else '下期'}の活動報告（市町村の課題、支援の内容、成果、今後の展望）を"
                      f"{wareki(due)}までに事務局システムからご提出ください。\n\n" + SIGNATURE))
            sent += 1
    if sent:
        audit.record("remind_reports", phase, actor=actor, summary=f"{phase.name}の活動報告の督促を{sent}件送信")
    return sent


# --- lists -------------------------------------------------------------------------------------

def list_query(phase: Phase, *, q=None, prefecture=None, theme=None, ministry_id=None, status=None, quiet=False,
               officer_user=None):
    stmt = (select(Team).join(Team.municipality)
            .options(joinedload(Team.municipality),
                     selectinload(Team.memberships).joinedload(TeamMembership.officer).joinedload(Officer.ministry).joinedload(Ministry.parent))
            .where(Team.phase_id == phase.id))
    if officer_user is not None:
        stmt = stmt.where(Team.id.in_(select(TeamMembership.team_id).join(Officer).where(Officer.user_id == officer_user.id)))
    if q:
        like = f"%{q.strip()}%"
        members = select(TeamMembership.team_id).join(Officer).where(or_(Officer.name.like(like), Officer.name_kana.like(like)))
        stmt = stmt.where(or_(Municipality.name.like(like), Municipality.name_kana.like(like), Team.id.in_(members)))
    if prefecture:
        stmt = stmt.where(Municipality.prefecture == prefecture)
    if parse_id(theme):
        stmt = stmt.where(json_list_contains(Team.themes, int(theme)))
    if parse_id(ministry_id):
        in_ministry = (select(TeamMembership.team_id).join(Officer).join(Ministry, Ministry.id == Officer.ministry_id)
                       .where(TeamMembership.left_on.is_(None), or_(Ministry.id == int(ministry_id), Ministry.parent_id == int(ministry_id))))
        stmt = stmt.where(Team.id.in_(in_ministry))
    if status in {s.value for s in TeamStatus}:
        stmt = stmt.where(Team.status == status)
    if quiet:
        stmt = with_activity_dates(stmt).where(quiet_condition(today_jst()))
    return stmt


def team_of_user(user: User, phase: Phase | None = None) -> Team | None:
    """An officer's current team, once they may see it (PUB-2: after their advance notice)."""
    stmt = (select(Team).join(TeamMembership).join(Officer).options(undefer(Team.last_meeting_on))  # the home's TEAM-5 line
            .where(Officer.user_id == user.id, TeamMembership.left_on.is_(None)))
    if phase is not None:
        stmt = stmt.where(Team.phase_id == phase.id)
    return db.session.scalar(stmt.order_by(Team.start_date.desc()).limit(1))


def past_memberships(officer: Officer) -> list[TeamMembership]:
    """The teams an officer has left, each with their own period only (TEAM-4: the page is for current members)."""
    return list(db.session.scalars(select(TeamMembership).options(joinedload(TeamMembership.team).joinedload(Team.municipality))
                                   .where(TeamMembership.officer_id == officer.id, TeamMembership.left_on.is_not(None))
                                   .order_by(TeamMembership.joined_on.desc())))


def unmatched_applications(phase: Phase) -> list[Application]:
    """PUB-1: eligible answers without a team — a match is not guaranteed."""
    return list(db.session.scalars(
        select(Application).options(joinedload(Application.municipality))
        .where(Application.phase_id == phase.id, Application.status == ApplicationStatus.ELIGIBLE)
        .order_by(Application.id)))
