"""Teams listed: the list with its filters, an officer's current and past teams, the applications left unmatched."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload, undefer

from banso.clock import today_jst
from banso.extensions import db
from banso.formatting import parse_id
from banso.queries import json_list_contains
from banso.models import (Application, ApplicationStatus, Ministry, Municipality, Officer, Phase,
                          Team, TeamMembership, TeamStatus, User)
from banso.services.teams.records import quiet_condition, with_activity_dates


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
