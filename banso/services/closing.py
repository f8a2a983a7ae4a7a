"""The end of a team's support and the close of its records (TEAM-3, OFF-3).

A team's last day is its end date; an extension decided before it moves it (TEAM-3). The day after it, the worker's
timer ends the team and, on that last day, the 併任 of its members (OFF-3), whatever phase was created since. Its
trips are then settled: claims are filed and reviewed by the team's closing day, ten business days after the last
day (in time for the fiscal year's 出納整理), and finance sees every open trip with that day until it is settled.

From the day after the closing day the team's records — the team, its members, activities, reports, plan, trips and
claims — are closed for editing. A change made by anyone through a request is refused by construction (a flush
listener below), not by each service remembering to ask, until an admin reopens the team with a reason for a
few business days (audited). Finance may still finish reviewing a claim filed in time. The worker and the CLI are not
requests: the timer's own changes go through.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import has_request_context
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from banso.business_days import add_business_days
from banso.clock import today_jst
from banso.extensions import db
from banso.formatting import wareki
from banso.models import (Activity, ConcurrentAppointment, HalfYearReport, MemberReplacement, Municipality, Receipt, Team,
                          TeamExtension, TeamMembership, TeamStatus, TravelClaim, TravelClaimLine, TripRequest, User)
from banso.models.officer import AppointmentState
from banso.models.travel import TeamTravelPlan, TripEstimateLine, TripStatus, TripTraveller
from banso.policies import admin as admin_policy
from banso.policies import travel as travel_policy
from banso.services import InputError, NotPermitted, WrongState, audit

CLAIM_BUSINESS_DAYS = 10   # claims filed and reviewed within ten business days of the last day
REOPEN_BUSINESS_DAYS = 5   # an admin's reopening lasts this long, then the records close again
OPEN_TRIPS = (TripStatus.SUBMITTED, TripStatus.RETURNED, TripStatus.APPROVED, TripStatus.CLAIM_SUBMITTED,
              TripStatus.CLAIM_RETURNED)
WHO_ACTS = {TripStatus.SUBMITTED: "会計担当（申請の審査）", TripStatus.RETURNED: "支援官（申請の修正か取下げ）",
            TripStatus.APPROVED: "支援官（精算の申請）", TripStatus.CLAIM_SUBMITTED: "会計担当（精算の審査）",
            TripStatus.CLAIM_RETURNED: "支援官（精算の修正）"}


def closing_day(team: Team) -> date:
    """The last day for the team's claims and corrections."""
    return add_business_days(team.end_date, CLAIM_BUSINESS_DAYS)


def reopened(team: Team, today: date | None = None) -> bool:
    return team.reopened_until is not None and (today or today_jst()) <= team.reopened_until


def is_closed(team: Team, today: date | None = None) -> bool:
    today = today or today_jst()
    return today > closing_day(team) and not reopened(team, today)


# --- the timer: teams and 併任 end on the last day ------------------------------------------------------------------

def end_terms(today: date | None = None, *, actor: User | None = None) -> tuple[int, int]:
    """Teams past their last day are 終了 (TEAM-3; an extended team's last day is the extension's); issued 併任 past
    their term end on its last day (OFF-3). Returns (teams ended, appointments ended); running it again ends nothing."""
    today = today or today_jst()
    finished = list(db.session.scalars(select(Team).where(Team.end_date < today, Team.status != TeamStatus.ENDED)))
    for team in finished:
        team.status = TeamStatus.ENDED
        audit.record("close", team, actor=actor, summary=f"{team.name}の支援期間が{wareki(team.end_date)}で終了")
    expired = list(db.session.scalars(select(ConcurrentAppointment).options(joinedload(ConcurrentAppointment.officer))
                                      .where(ConcurrentAppointment.state == AppointmentState.ISSUED,
                                             ConcurrentAppointment.effective_to < today)))
    for appointment in expired:
        appointment.state, appointment.ended_on = AppointmentState.ENDED, appointment.effective_to
        appointment.end_reason = "支援期間の満了"
        audit.record("end_appointment", appointment, actor=actor,
                     summary=f"{appointment.officer.name}さんの併任が{wareki(appointment.effective_to)}で満了")
    return len(finished), len(expired)


# --- finance: what is still open as teams end -----------------------------------------------------------------------

@dataclass(frozen=True)
class OpenTrip:
    trip: TripRequest
    closing_day: date
    who_acts: str

    @property
    def days_left(self) -> int:
        return (self.closing_day - today_jst()).days


FINANCE_ACTS = (TripStatus.SUBMITTED, TripStatus.CLAIM_SUBMITTED)


def open_trips_query(*, within_days: int = 31, q: str | None = None, acts: str | None = None):
    """Trips not yet settled of teams whose last day has come or comes within ``within_days``, the nearest last day
    first, whichever phase they belong to; ``q`` narrows by municipality or prefecture, ``acts`` to those waiting for
    finance ("finance") or for the officers ("officer")."""
    horizon = today_jst() + timedelta(days=within_days)
    stmt = (select(TripRequest).join(Team, Team.id == TripRequest.team_id).join(Municipality, Municipality.id == Team.municipality_id)
            .options(joinedload(TripRequest.team).joinedload(Team.municipality), joinedload(TripRequest.phase))
            .where(TripRequest.status.in_(OPEN_TRIPS), Team.end_date <= horizon)
            .order_by(Team.end_date, Municipality.code, TripRequest.depart_on, TripRequest.id))
    if q and q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Municipality.name.like(like), Municipality.prefecture.like(like)))
    if acts == "finance":
        stmt = stmt.where(TripRequest.status.in_(FINANCE_ACTS))
    elif acts == "officer":
        stmt = stmt.where(TripRequest.status.not_in(FINANCE_ACTS))
    return stmt


def describe(trip: TripRequest) -> OpenTrip:
    return OpenTrip(trip, closing_day(trip.team), WHO_ACTS[TripStatus(trip.status)])


def open_summary(*, within_days: int = 31) -> tuple[int, date | None]:
    """(open trips of teams ending within ``within_days`` or ended, the nearest closing day among them), in one
    statement (a later last day never has an earlier closing day)."""
    count, first_end = db.session.execute(
        select(func.count(TripRequest.id), func.min(Team.end_date)).select_from(TripRequest)
        .join(Team, Team.id == TripRequest.team_id)
        .where(TripRequest.status.in_(OPEN_TRIPS), Team.end_date <= today_jst() + timedelta(days=within_days))).one()
    return count, add_business_days(first_end, CLAIM_BUSINESS_DAYS) if first_end else None


# --- closed records, and an admin's reopening -----------------------------------------------------------------------

def reopen(team: Team, reason: str, *, actor: User) -> date:
    """An admin reopens a closed team's records for a correction, with a reason; they close again after a few
    business days. Returns the last day they stay open."""
    if not admin_policy.may_administer(actor):
        raise NotPermitted("締め切った記録を再開できるのは事務局管理者のみです。")
    if not (reason or "").strip():
        raise InputError("再開の理由を入力してください。", "reason")
    today = today_jst()
    if today <= closing_day(team):
        raise WrongState(f"{team.name}の記録はまだ締め切られていません（締切 {wareki(closing_day(team))}）。")
    team.reopened_until = add_business_days(today, REOPEN_BUSINESS_DAYS)
    audit.record("reopen_records", team, actor=actor,
                 summary=f"{team.name}の締め切った記録を{wareki(team.reopened_until)}まで再開（{reason.strip()}）",
                 after={"reopened_until": team.reopened_until.isoformat()})
    return team.reopened_until


def closed_message(team: Team) -> str:
    return (f"{team.name}の記録は{wareki(closing_day(team))}（支援終了後の精算・修正期限）で締め切りました。"
            "修正が必要な場合は、事務局管理者にチームの画面で理由を記録して再開するよう依頼してください。")


_TRAVEL = (TripRequest, TripTraveller, TripEstimateLine, TravelClaim, TravelClaimLine, Receipt)


def _team_id(obj) -> int | None:
    """The team a record belongs to (None: not a team's record)."""
    if isinstance(obj, Team):
        return obj.id
    if isinstance(obj, (TeamMembership, TeamExtension, MemberReplacement, Activity, HalfYearReport, TeamTravelPlan,
                        TripRequest)):
        return obj.team_id or (obj.team.id if getattr(obj, "team", None) is not None else None)
    if isinstance(obj, (TripTraveller, TripEstimateLine, TravelClaim)):
        trip = obj.trip if obj.trip is not None else db.session.get(TripRequest, obj.trip_id)
        return _team_id(trip) if trip is not None else None
    if isinstance(obj, (TravelClaimLine, Receipt)):
        claim = obj.claim if obj.claim is not None else db.session.get(TravelClaim, obj.claim_id)
        return _team_id(claim) if claim is not None else None
    return None


def _closed_teams_touched(session: Session, user: User) -> list[Team]:
    finance = travel_policy.may_review(user)  # finance finishes reviewing claims filed in time
    touched = set()
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if obj in session.dirty and not session.is_modified(obj):
            continue
        if (finance and isinstance(obj, _TRAVEL)) or (isinstance(obj, Team) and obj in session.new):
            continue
        team_id = _team_id(obj)
        if team_id is not None:
            touched.add(team_id)
    if not touched:
        return []
    today = today_jst()
    teams = [session.get(Team, team_id) for team_id in touched]
    return [team for team in teams if team is not None and is_closed(team, today)]


def refuse_changes_to_closed_records(session: Session, _context, _instances) -> None:
    """Session ``before_flush`` (installed by banso/hooks.py): closed records stay closed under every writer that
    comes through a request."""
    if not has_request_context():
        return
    from flask_login import current_user

    if not current_user or not current_user.is_authenticated:
        return
    with session.no_autoflush:
        closed = _closed_teams_touched(session, current_user)
    if closed:
        raise WrongState(closed_message(closed[0]))
