"""What the signed-in home page shows: the phases' timelines and, for each role, what is waiting for them."""
from __future__ import annotations

from flask_login import current_user
from sqlalchemy import and_, func, or_, select

from banso.clock import today_jst
from banso.extensions import db
from banso.models import (HalfYearReport, Notification, NotificationStatus, Officer, ProfileChangeRequest, Publication, TripRequest,
                          TripTraveller)
from banso.models.travel import TripStatus
from banso.policies import admin as admin_policy
from banso.policies import inquiries as inquiries_policy
from banso.policies import teams as teams_policy
from banso.policies import travel as travel_policy
from banso.services import closing, inquiries, phases, teams, travel


def overview() -> dict:
    """Each role's work in every live phase: the newest phase's schedule beside the one still in support; the
    secretariat's follow-ups and finance's budget of the phase in support (services/phases.py: SUPPORT), finance's
    waiting items of every phase, an officer's own team whichever phase it is of."""
    phase = phases.current_phase()
    milestones = phases.timeline(phase) if phase else []
    support = phases.default_phase(phases.SUPPORT)
    data = {
        "phase": phase,
        "support_phase": support,
        "milestones": milestones,
        "next_milestone": next((m for m in milestones if m.is_next), None),
        "failed_notifications": 0,
    }
    if teams_policy.may_manage(current_user):  # the secretariat's work: failed notices, TEAM-5/6 follow-ups
        data["failed_notifications"], data["change_requests"] = db.session.execute(select(
            select(func.count()).where(Notification.status == NotificationStatus.FAILED).scalar_subquery(),
            select(func.count()).where(ProfileChangeRequest.status == "pending").scalar_subquery())).one()
        earlier = phases.running_beside(phase)  # December–March: last phase's teams and this phase's survey
        if earlier is not None:
            data["earlier_phase"], data["earlier_milestones"] = earlier, phases.timeline(earlier)
        if support is not None:
            data["flagged_count"], data["flagged_teams"] = teams.flagged_teams(support)
            data["missing_reports"] = teams.unfiled_reports(support, limit=0)[0]
    if admin_policy.may_administer(current_user):  # PUB-3: an early release waits for a second admin
        waiting = list(db.session.scalars(select(Publication).where(or_(
            and_(Publication.early_requested_at.is_not(None), Publication.released_at.is_(None)), Publication.unlocked.is_(True)))))
        data["early_requests"] = [p for p in waiting if p.early_requested_at is not None and p.released_at is None]
        data["unlocked"] = [p for p in waiting if p.unlocked]
    if inquiries_policy.may_be_assigned(current_user):  # those who answer inquiries
        data["inquiry_counts"] = inquiries.status_counts(current_user, open_only=True)  # INQ-1: nothing waits unseen
    if travel_policy.may_review(current_user):
        if support is not None:
            data["figures"] = travel.figures(support)  # TRV-2: where the cap stands
        data["awaiting_by_phase"] = travel.awaiting_by_phase()  # what waits for review, in whichever phase it is
        data["closing_open"], data["closing_first_day"] = closing.open_summary()  # TEAM-3: as teams end, with the day
    if teams_policy.sees_own_teams_only(current_user):
        team = teams.team_of_user(current_user)  # their team now, whichever phase it belongs to
        data["own_team"] = team
        data.update(_officer_day(team))
    return data


NEXT_STEP = {TripStatus.SUBMITTED: "会計担当の審査待ち", TripStatus.RETURNED: "差し戻されました。修正して再提出してください",
             TripStatus.APPROVED: "承認済み。出張後に精算を申請してください", TripStatus.CLAIM_SUBMITTED: "精算の審査待ち",
             TripStatus.CLAIM_RETURNED: "精算が差し戻されました。修正して再申請してください"}


def _officer_day(team) -> dict:
    """An officer's own work: their open trips with the next step, claims now due, the next report, the weeks
    since the team last met."""
    today = today_jst()
    mine = (select(TripRequest).join(TripTraveller, TripTraveller.trip_id == TripRequest.id)
            .join(Officer, Officer.id == TripTraveller.officer_id)
            .where(Officer.user_id == current_user.id, TripRequest.status.in_(list(NEXT_STEP)))
            .order_by(TripRequest.depart_on).limit(20))
    trips = [(trip, NEXT_STEP[TripStatus(trip.status)], trip.status == TripStatus.APPROVED and trip.return_on < today)
             for trip in db.session.scalars(mine).unique()]
    data = {"my_trips": trips, "claims_due": sum(1 for _, _, due in trips if due)}
    if team is not None:
        filed = set(db.session.scalars(select(HalfYearReport.period).where(HalfYearReport.team_id == team.id)))
        upcoming = [(period, teams.report_due(team, period)) for period in (1, 2) if period not in filed]
        data["next_report"] = min(upcoming, key=lambda p: p[1]) if upcoming else None
        last_meeting = team.last_meeting_on
        data["weeks_since_meeting"] = (today - last_meeting).days // 7 if last_meeting else None
        data["meeting_overdue"] = last_meeting is None or today - last_meeting > teams.MEETING_GAP  # TEAM-5, as flagged
    return data
