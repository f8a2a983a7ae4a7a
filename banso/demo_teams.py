"""Demo teams: formed by the matching assistant itself (60 in 第1期, 97 in 第2期), with a year of
online meetings, site visits and company visits, half-year reports, and a member replacement."""
from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from banso.clock import today_jst
from banso.extensions import db
from banso.models import CandidacyStatus, OfficerCandidacy, Phase, Team, User
from banso.services import closing, matching, officers, teams

TOPICS = ["課題の整理と支援テーマの確認", "企業誘致の方針について意見交換", "国の支援制度の紹介", "関係部署との打合せ結果の共有",
          "観光資源の活用策の検討", "移住施策のKPIの見直し", "地域交通の実証事業の進め方", "次回現地訪問の行程調整"]
VISITS = ["市長・副市長と意見交換、現地視察", "地域の事業者へのヒアリング", "関係団体との意見交換会に同席", "施設の視察と課題の聞き取り"]


def form_all(phase: Phase, actor: User) -> list[Team]:
    return matching.accept(phase, matching.plan_now(phase), actor=actor)


def _record(team: Team, kind: str, day: date, summary: str, actor: User, **extra) -> None:
    teams.record_activity(team, {"kind": kind, "started_on": day, "ended_on": extra.pop("ended_on", day), "summary": summary,
                                 "participants": "、".join(m.officer.name for m in team.current_members), **extra}, actor=actor)


def _activity(rng: random.Random, team: Team, until: date, actor: User, *, quiet_from: date | None = None) -> None:
    day = team.start_date + timedelta(days=rng.randint(7, 20))
    while day <= until:
        if quiet_from is None or day < quiet_from:
            _record(team, "online_meeting", day, rng.choice(TOPICS), actor, place="オンライン")
        day += timedelta(days=rng.choice([7, 7, 7, 14]))
    day = team.start_date + timedelta(days=rng.randint(40, 70))
    while day <= until and (quiet_from is None or day < quiet_from):
        _record(team, "site_visit", day, rng.choice(VISITS), actor, ended_on=day + timedelta(days=1), place=team.municipality.name)
        day += timedelta(days=rng.randint(75, 95))
    if rng.random() < 0.4:
        visit = team.start_date + timedelta(days=rng.randint(90, 180))
        if visit <= until:
            _record(team, "company_visit", visit, "首都圏の企業を訪問し、進出の可能性について意見交換", actor,
                    place="東京都内", company_count=rng.randint(1, 4))


def _report(team: Team, period: int, actor: User) -> None:
    issues = team.application.local_situation if team.application else "地域の課題の整理"
    teams.file_report(team, period, {"issues": issues, "support_given": "定期的なオンライン会議と現地訪問により、課題の整理・見える化と国の支援制度の紹介を行った。",
                                     "results": "支援テーマに沿った取組の方向性を市と共有し、関係機関との連携が始まった。",
                                     "outlook": "次の半期は具体的な事業化に向けた関係者との調整を進める。"}, actor=actor)


def load(staff: User) -> None:
    rng = random.Random(97)
    phase1 = db.session.scalar(select(Phase).where(Phase.number == 1))
    first = form_all(phase1, staff)
    for team in first:
        _activity(rng, team, team.end_date, staff)
        _report(team, 1, staff)
        _report(team, 2, staff)
    closing.end_terms(actor=staff)  # 第1期's teams and 併任 ended on their last day


def load_second_phase(staff: User) -> None:
    rng = random.Random(98)
    today = today_jst()
    phase2 = db.session.scalar(select(Phase).where(Phase.number == 2))
    second = form_all(phase2, staff)
    for i, team in enumerate(second):
        quiet = today - timedelta(days=30) if i % 19 == 5 else None  # a few teams have gone quiet (TEAM-5 flags)
        _activity(rng, team, today - timedelta(days=rng.randint(0, 5)), staff, quiet_from=quiet)
        if i % 13 != 7 and teams.report_due(team, 1) <= today:
            _report(team, 1, staff)
    # A personnel transfer mid-term (TEAM-4): a reserve applicant is selected and appointed, then replaces.
    team = second[3]
    leaving = next(m.officer for m in team.current_members  # a 支援官 without a sign-in of the demo's own
                   if m.officer.officer_type != "secondee" and m.officer.user_id is None)
    taken = {m.officer.home_ministry.name for m in team.current_members if m.officer is not leaving}
    reserve = next(c for c in db.session.scalars(select(OfficerCandidacy).where(
        OfficerCandidacy.phase_id == phase2.id, OfficerCandidacy.status == CandidacyStatus.NOT_SELECTED,
        OfficerCandidacy.eligible.is_(True))) if c.officer.home_ministry.name not in taken)
    officers.set_candidacy_status(reserve, CandidacyStatus.SELECTED, actor=staff)
    officers.issue_orders(phase2, order_date=date(2026, 9, 25), actor=staff)
    teams.replace_member(team, leaving, reserve.officer, effective=date(2026, 10, 1), reason="人事異動",
                         note="10月1日付の人事異動により地方支分部局へ転出", actor=staff)
