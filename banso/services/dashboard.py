"""What the signed-in home page shows: the current phase's timeline and what needs attention."""
from __future__ import annotations

from flask_login import current_user
from sqlalchemy import func, select

from banso.extensions import db
from banso.models import Notification, NotificationStatus
from banso.policies import inquiries as inquiries_policy
from banso.policies import teams as teams_policy
from banso.policies import travel as travel_policy
from banso.services import inquiries, phases, teams, travel


def overview() -> dict:
    phase = phases.current_phase()
    milestones = phases.timeline(phase) if phase else []
    data = {
        "phase": phase,
        "milestones": milestones,
        "next_milestone": next((m for m in milestones if m.is_next), None),
        "failed_notifications": 0,
    }
    if teams_policy.may_manage(current_user):  # the secretariat's work: failed notices, TEAM-5/6 follow-ups
        data["failed_notifications"] = db.session.scalar(
            select(func.count()).where(Notification.status == NotificationStatus.FAILED)
        )
        if phase is not None:
            data["flagged_teams"] = teams.flagged_teams(phase)
            data["missing_reports"] = len(teams.missing_reports(phase))
    if inquiries_policy.may_be_assigned(current_user):  # those who answer inquiries
        data["inquiry_counts"] = inquiries.status_counts(current_user)  # INQ-1: nothing waits unseen
    if travel_policy.may_review(current_user) and phase is not None:
        data["figures"] = travel.budget(phase)  # TRV-2: where the cap stands, and what awaits review
    if teams_policy.sees_own_teams_only(current_user):
        data["own_team"] = teams.team_of_user(current_user, phase)
    return data
