"""Who may open a team, record its work and change it (TEAM-1…7). PUB-2 is applied underneath by ``hold``."""
from __future__ import annotations

from banso.models import Team, TeamStatus, User
from banso.policies.roles import is_admin, is_officer, is_staff, signed_in


def is_current_member(team: Team, user: User) -> bool:
    return any(m.officer.user_id == user.id for m in team.current_members)


def may_open(team: Team, user: User) -> bool:
    """A team's page (members' contact details, activity, reports): the secretariat, and the officers who are
    on the team now — an officer replaced out of it no longer opens it (TEAM-4)."""
    return is_staff(user) or (is_officer(user) and is_current_member(team, user))


def may_open_any(user: User) -> bool:
    """Whether team names in lists link to team pages at all (finance sees names and members only)."""
    return is_staff(user) or is_officer(user)


def may_record(team: Team, user: User, *, closed: bool = False) -> bool:
    """Activity and half-year reports: the secretariat and the team's current members, while the team's records are
    open (``closed``: past its closing day and not reopened, as services/closing.is_closed decides — the flush refuses
    such a change whatever asks)."""
    return not closed and may_open(team, user)


def may_correct_activity(activity, user: User) -> bool:
    """An activity entry is corrected or deleted by whoever recorded it, while still on the team, or the secretariat."""
    return is_staff(user) or (activity.recorded_by_id == user.id and may_record(activity.team, user))


def may_manage(user: User) -> bool:
    """Replacing members and extending the term are the secretariat's decisions (TEAM-3, TEAM-4)."""
    return is_staff(user)


def may_extend(team: Team, user: User) -> bool:
    """Extending the term (TEAM-3) is offered until the team has ended."""
    return team.status != TeamStatus.ENDED and may_manage(user)


def sees_own_teams_only(user: User) -> bool:
    return is_officer(user)


def sees_full_list(user: User) -> bool:
    """Themes, terms and status in the team list: the secretariat; finance and officers see names and members."""
    return is_staff(user)


def may_list(user: User) -> bool:
    """The team list: every role, each seeing its own part of it."""
    return signed_in(user)


def may_reopen(user: User) -> bool:
    """Reopening a closed team's records for a late correction (TEAM-7) is an admin's decision."""
    return is_admin(user)


def may_match(user: User) -> bool:
    """The matching: plans, settings, constraints and proposals are the secretariat's (MAT-1…)."""
    return is_staff(user)
