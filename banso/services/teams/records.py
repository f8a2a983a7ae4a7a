"""A team's record: activity (TEAM-5) with its flags and the scope warning (TEAM-7), half-year reports and their
reminders (TEAM-6)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, literal, or_, select, union_all
from sqlalchemy.orm import joinedload

from banso.clock import now, today_jst
from banso.extensions import db
from banso.formatting import wareki
from banso.models import (Activity, HalfYearReport, Notification, Phase,
                          Team, TeamActivityDates, TeamStatus, User)
from banso.models.team import ACTIVITY_KINDS
from banso.policies import teams as policy
from banso.services import InputError, NotPermitted, audit, check_version, notifications
from banso.services.teams.members import SIGNATURE

MEETING_GAP = timedelta(weeks=3)      # TEAM-5: about weekly; three weeks without one stands out
VISIT_GAP = timedelta(days=92)        # TEAM-5: about quarterly
OUT_OF_SCOPE = ["申請書の作成", "申請書類の作成", "申請書を作成", "申請書類を作成", "代筆", "議会答弁の作成", "予算書の作成"]


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
