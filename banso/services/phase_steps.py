"""The steps of a phase in their order (survey → answers → eligibility → recruitment → selection → 併任発令 → matching →
確定 → 事前通知 → 公表 → support → reports → end), each with whether it is done, what keeps the next one waiting and
who acts; and what must be finished before the matching is confirmed (PUB-1), which 確定 checks."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from banso.clock import now, today_jst
from banso.extensions import db
from banso.formatting import jst_datetime, wareki
from banso.models import (Application, ApplicationStatus, AppointmentState, CandidacyStatus, ConcurrentAppointment,
                          ContinuationResponse, Municipality, OfficerCandidacy, Phase, Publication, PublicationStatus, Team,
                          TeamMembership)

SECRETARIAT, ADMIN = "事務局", "事務局管理者"
# Applications still undecided when the matching is confirmed: no notice is written for them (matched and unmatched
# applicants are told; ineligible and withdrawn ones were told before).
UNDECIDED = (ApplicationStatus.LATE, ApplicationStatus.RECEIVED, ApplicationStatus.CONFIRMED, ApplicationStatus.ELIGIBLE)


@dataclass
class Step:
    label: str
    who: str
    done: bool
    waiting_on: list[str] = field(default_factory=list)  # what keeps this step from being done, in plain words
    detail: str = ""


def _open(moment: datetime | None, at: datetime) -> bool:
    return moment is not None and moment > at


def unprocessed_continuations(phase: Phase) -> list[str]:
    """Municipalities that answered 'continue' (APP-4) with no application of the phase made from the answer."""
    made = select(Application.id).where(Application.phase_id == phase.id,
                                        Application.municipality_id == ContinuationResponse.municipality_id).exists()
    return list(db.session.scalars(select(Municipality.name).join(ContinuationResponse, ContinuationResponse.municipality_id == Municipality.id)
                                   .where(ContinuationResponse.phase_id == phase.id, ContinuationResponse.wishes_to_continue.is_(True),
                                          ~made).order_by(Municipality.code)))


def members_without_appointment(phase: Phase) -> list[str]:
    """Current members of the phase's teams whose issued 併任 does not cover their time on the team (OFF-3)."""
    rows = db.session.execute(select(TeamMembership, Team, ConcurrentAppointment)
                              .join(Team, Team.id == TeamMembership.team_id)
                              .outerjoin(ConcurrentAppointment, (ConcurrentAppointment.officer_id == TeamMembership.officer_id)
                                         & (ConcurrentAppointment.phase_id == phase.id))
                              .where(Team.phase_id == phase.id, TeamMembership.left_on.is_(None))
                              .order_by(TeamMembership.id)).all()
    return [membership.officer.name for membership, team, appointment in rows
            if appointment is None or not appointment.covers(max(team.start_date, membership.joined_on), team.end_date)]


def undecided_applications(phase: Phase) -> list[str]:
    """Applicants neither matched nor told they were not (their notice would not be written)."""
    return list(db.session.scalars(select(Municipality.name).join(Application, Application.municipality_id == Municipality.id)
                                   .outerjoin(Team, Team.application_id == Application.id)
                                   .where(Application.phase_id == phase.id, Application.status.in_(UNDECIDED), Team.id.is_(None))
                                   .order_by(Municipality.code)))


def confirm_blockers(phase: Phase) -> list[str]:
    """What must be finished before 確定 (PUB-1), each in words that say what to do."""
    at, blockers = now(), []
    if _open(phase.answer_deadline_at, at):
        blockers.append(f"活用希望調査の回答を受付中です（締切 {jst_datetime(phase.answer_deadline_at)}）")
    if phase.recruitment_opens_at is None or _open(phase.recruitment_opens_at, at):
        blockers.append("国の職員等の公募がまだ始まっていません")
    elif _open(phase.recruitment_closes_at, at):
        blockers.append(f"国の職員等の公募を受付中です（締切 {jst_datetime(phase.recruitment_closes_at)}）")
    if names := unprocessed_continuations(phase):
        blockers.append(f"継続を希望する回答が申請になっていない市町村があります（{_names(names)}）")
    if names := members_without_appointment(phase):
        blockers.append(f"支援期間を通じた併任発令のない支援官がいます（{_names(names)}）")
    return blockers


def left_out_of_notices(phase: Phase) -> list[str]:
    """Municipalities that the advance notices would not reach: named before sending, never left out silently."""
    return unprocessed_continuations(phase) + undecided_applications(phase)


def _names(names: list[str], shown: int = 10) -> str:
    return "、".join(names[:shown]) + (f" ほか{len(names) - shown}件" if len(names) > shown else "")


def steps(phase: Phase) -> list[Step]:
    """The phase's checklist, from the survey to the end of support."""
    at, today = now(), today_jst()

    def count(stmt) -> int:
        return db.session.scalar(select(func.count()).select_from(stmt.subquery()))

    applications = count(select(Application.id).where(Application.phase_id == phase.id))
    unjudged = count(select(Application.id).where(Application.phase_id == phase.id, Application.status.in_(
        (ApplicationStatus.RECEIVED, ApplicationStatus.CONFIRMED, ApplicationStatus.LATE))))
    selected = count(select(OfficerCandidacy.id).where(OfficerCandidacy.phase_id == phase.id, OfficerCandidacy.status.in_(
        (CandidacyStatus.SELECTED, CandidacyStatus.ASSIGNED))))
    issued = count(select(ConcurrentAppointment.id).where(ConcurrentAppointment.phase_id == phase.id,
                                                          ConcurrentAppointment.state != AppointmentState.PLANNED))
    teams = count(select(Team.id).where(Team.phase_id == phase.id))
    record = db.session.scalar(select(Publication).where(Publication.phase_id == phase.id))
    status = record.status if record is not None else PublicationStatus.PREPARING
    confirmed = status in (PublicationStatus.CONFIRMED, PublicationStatus.NOTIFIED, PublicationStatus.RELEASED)
    continuing = unprocessed_continuations(phase)
    return [
        Step("活用希望調査の開始（調査の依頼）", SECRETARIAT, phase.survey_opens_at <= at,
             detail=f"開始 {jst_datetime(phase.survey_opens_at)}"),
        Step("回答の受付", SECRETARIAT, not _open(phase.answer_deadline_at, at),
             [f"締切 {jst_datetime(phase.answer_deadline_at)} まで受付中"] if _open(phase.answer_deadline_at, at) else [],
             detail=f"回答 {applications}件"),
        Step("継続意向の回答の処理（APP-4）", SECRETARIAT, not continuing,
             [f"申請になっていない継続の回答: {_names(continuing)}"] if continuing else []),
        Step("対象要件の判定（APP-1〜APP-5）", SECRETARIAT, applications > 0 and unjudged == 0,
             [f"未判定 {unjudged}件"] if unjudged else ([] if applications else ["回答がまだありません"])),
        Step("国の職員等の公募", SECRETARIAT, phase.recruitment_closes_at is not None and not _open(phase.recruitment_closes_at, at),
             [] if phase.recruitment_opens_at is not None else ["公募の日程が未登録です（期・日程の画面で登録）"]),
        Step("支援官の選定", SECRETARIAT, selected > 0, [] if selected else ["選定した支援官がいません"], detail=f"選定 {selected}名"),
        Step("併任発令（OFF-3）", SECRETARIAT, selected > 0 and issued >= selected,
             [f"未発令 {selected - issued}名"] if selected > issued else [], detail=f"発令 {issued}名"),
        Step("マッチング（チーム編成）", SECRETARIAT, teams > 0, [] if teams else ["チームが編成されていません"],
             detail=f"{teams}チーム"),
        Step("マッチング結果の確定（PUB-1）", SECRETARIAT, confirmed, [] if confirmed else confirm_blockers(phase)),
        Step("事前通知（PUB-2）", SECRETARIAT, status in (PublicationStatus.NOTIFIED, PublicationStatus.RELEASED),
             [] if confirmed else ["確定の後に送ります"]),
        Step("公表（PUB-3）", ADMIN, status == PublicationStatus.RELEASED,
             [] if status == PublicationStatus.RELEASED else
             [f"公表予定 {jst_datetime(phase.publication_at)}" if phase.publication_at else "公表日時が未登録です"]),
        Step("伴走支援", "支援官・事務局", today > phase.support_end,
             detail=f"{wareki(phase.support_start)}〜{wareki(phase.support_end)}"),
    ]
