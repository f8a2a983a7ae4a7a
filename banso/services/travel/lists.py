"""Who sees which trips, and the trip list with its filters, stages and team choices."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from banso.formatting import parse_id
from banso.extensions import db
from banso.models import (Municipality, Officer, Phase, Team, TeamMembership, TripRequest, TripStatus, TripTraveller, User)
from banso.models.travel import BEARERS
from banso.policies import hold
from banso.policies import travel as policy
from banso.reference import PREFECTURES

# --- who sees what ---------------------------------------------------------------------------

STAGES = {
    "awaiting": ("審査待ち", (TripStatus.SUBMITTED, TripStatus.CLAIM_SUBMITTED)),
    "returned": ("差戻し", (TripStatus.RETURNED, TripStatus.CLAIM_RETURNED)),
    "approved": ("承認済・精算前", (TripStatus.APPROVED,)),
    "settled": ("精算済", (TripStatus.SETTLED,)),
    "closed": ("却下・取消", (TripStatus.REJECTED, TripStatus.CANCELLED)),
}


def list_query(phase: Phase, *, user: User, q=None, team_id=None, officer_id=None, prefecture=None, month=None,
               bearer=None, status=None, stage=None, over_plan=None):
    """Trips of the phase with every list filter; officers see only their own. On the trips alone, so that counting
    them reads no team or municipality (2,800 probes at N = 10); ``listed`` adds what a page shows of them."""
    stmt = select(TripRequest).where(TripRequest.phase_id == phase.id)
    if policy.sees_only_own(user):
        stmt = stmt.where(policy.own_condition(user))
    if q:
        like = f"%{q.strip()}%"
        named = exists().where(TripTraveller.trip_id == TripRequest.id, TripTraveller.officer_id == Officer.id,
                               or_(Officer.name.like(like), Officer.name_kana.like(like)))
        town = select(Team.id).join(Municipality, Municipality.id == Team.municipality_id).where(
            Team.phase_id == phase.id, Municipality.name.like(like))
        stmt = stmt.where(or_(TripRequest.team_id.in_(town), TripRequest.destination.like(like),
                              TripRequest.itinerary.like(like), named))
    if parse_id(team_id):
        stmt = stmt.where(TripRequest.team_id == parse_id(team_id))
    if parse_id(officer_id):
        stmt = stmt.where(exists().where(TripTraveller.trip_id == TripRequest.id, TripTraveller.officer_id == parse_id(officer_id)))
    if prefecture in PREFECTURES:
        stmt = stmt.where(TripRequest.destination_prefecture == prefecture)
    if month and len(month) == 7 and parse_id(month[:4]) and parse_id(month[5:]) and int(month[:4]) < 9999:
        first = date(int(month[:4]), max(1, min(12, int(month[5:]))), 1)
        following = (first + timedelta(days=32)).replace(day=1)
        stmt = stmt.where(TripRequest.depart_on >= first, TripRequest.depart_on < following)
    if bearer in BEARERS:
        stmt = stmt.where(TripRequest.cost_bearer == bearer)
    if status in {s.value for s in TripStatus}:
        stmt = stmt.where(TripRequest.status == status)
    if stage in STAGES:
        stmt = stmt.where(TripRequest.status.in_(STAGES[stage][1]))
    if over_plan == "1":
        stmt = stmt.where(TripRequest.over_plan.is_(True))
    return stmt


def listed(stmt, phase: Phase):
    """The trips of ``list_query`` as a page or an export shows them: with their team and municipality (joined, for
    the sort by municipality), travellers, claim and filer."""
    return (stmt.join(Team, Team.id == TripRequest.team_id).join(Municipality, Municipality.id == Team.municipality_id)
            .options(contains_eager(TripRequest.team).contains_eager(Team.municipality),  # the joins above, not again
                     selectinload(TripRequest.travellers).joinedload(TripTraveller.officer),
                     joinedload(TripRequest.claim), joinedload(TripRequest.filed_by))
            # A trip's team is of the trip's phase (file_request): said to PostgreSQL too, which otherwise joins every
            # team of the programme to find the phase's.
            .where(Team.phase_id == phase.id))


def awaiting_by_phase() -> list[tuple[Phase, int, int]]:
    """(phase, requests and claims awaiting review, of which claims) for each phase with anything waiting, newest first:
    finance's work in whichever phase it is (a 第2期 claim still comes in while 第3期 takes applications)."""
    rows = db.session.execute(select(TripRequest.phase_id, func.count(),
                                     func.count().filter(TripRequest.status == TripStatus.CLAIM_SUBMITTED))
                              .where(TripRequest.status.in_(STAGES["awaiting"][1])).group_by(TripRequest.phase_id)).all()
    return sorted(((db.session.get(Phase, phase_id), count, claims) for phase_id, count, claims in rows),
                  key=lambda row: -row[0].number)


def stage_counts(phase: Phase, user: User) -> dict[str, int]:
    """How many trips sit at each stage (one query), for the tabs above the list."""
    own = policy.sees_only_own(user)
    stmt = select(*[func.coalesce(func.sum(case((TripRequest.status.in_(statuses), 1), else_=0)), 0)
                    for _, statuses in STAGES.values()]).where(TripRequest.phase_id == phase.id)
    if own:
        stmt = stmt.where(policy.own_condition(user))
    return dict(zip(STAGES, db.session.execute(stmt).one()))


def teams_for(user: User, phase: Phase) -> list[Team]:
    """The teams a user may file a trip for: an officer's own (current) team, every team for staff."""
    stmt = select(Team).options(joinedload(Team.municipality)).where(Team.phase_id == phase.id)
    if policy.sees_only_own(user):
        stmt = stmt.join(TeamMembership).join(Officer).where(Officer.user_id == user.id, TeamMembership.left_on.is_(None))
    return list(db.session.scalars(stmt.order_by(Team.id)).unique())


def team_choices(user: User, phase: Phase, *, limit: int, chosen: int | None = None) -> tuple[list[tuple[int, str]] | None, str | None]:
    """(the teams a list can be filtered by as (id, name) — None when there are more than ``limit``, as in a phase of a
    thousand, where the search box finds a team instead — and the name of the ``chosen`` team). Two narrow columns,
    at most ``limit`` + 1 rows read. Names of a held phase shown to the secretariat are audited like the statistics."""
    hold.note_shown(phase.id)
    stmt = select(Team.id, Municipality.name).join(Municipality, Municipality.id == Team.municipality_id).where(Team.phase_id == phase.id)
    if policy.sees_only_own(user):
        stmt = stmt.where(Team.id.in_(select(TeamMembership.team_id).join(Officer).where(
            Officer.user_id == user.id, TeamMembership.left_on.is_(None))))
    teams = [(team_id, f"{name}チーム") for team_id, name in db.session.execute(stmt.order_by(Team.id).limit(limit + 1))]
    if len(teams) > limit:
        teams = None
    if chosen is None:
        return teams, None
    name = next((n for team_id, n in teams or [] if team_id == chosen), None)
    if name is None and teams is None:
        name = db.session.execute(stmt.where(Team.id == chosen)).first()
        name = f"{name[1]}チーム" if name else None
    return teams, name


# --- the 旅行命令簿 --------------------------------------------------------------------------------------------------

ORDERED = policy.ORDERED


def orders_query(phase: Phase, *, q: str | None = None):
    """The 旅行命令簿 (旅費法 第4条, the book kept as records since the 2025 revision): every trip ordered in the phase —
    its 旅行命令 decided — in the order of its decision."""
    stmt = (select(TripRequest).where(TripRequest.phase_id == phase.id, TripRequest.status.in_(ORDERED))
            .options(joinedload(TripRequest.team), selectinload(TripRequest.travellers).joinedload(TripTraveller.officer),
                     selectinload(TripRequest.estimate_lines)))
    if q:
        pattern = f"%{q.strip()[:100]}%"
        stmt = stmt.where(or_(TripRequest.destination.like(pattern),
                              TripRequest.travellers.any(TripTraveller.officer.has(Officer.name.like(pattern)))))
    return stmt


def deciders(trips: list[TripRequest]) -> dict[int, str]:
    """Who issued each trip's order, for a page of the book at once: the 旅行命令's decider 「A」 or 「A（代決 B）」,
    or, for an order decided before routes, the finance reviewer who approved it."""
    from banso.models import ApprovalCase
    from banso.services import approvals

    ids = [t.id for t in trips]
    cases = db.session.scalars(select(ApprovalCase).where(ApprovalCase.kind == policy.ORDER, ApprovalCase.subject_id.in_(ids),
                                                          ApprovalCase.status == "approved")
                               .options(selectinload(ApprovalCase.actions))).all() if ids else []
    found = {c.subject_id: approvals.decider(c) for c in cases}
    reviewers = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_({t.reviewed_by_id for t in trips
                                                                                         if t.reviewed_by_id})))}
    return {t.id: found.get(t.id) or reviewers.get(t.reviewed_by_id, "") for t in trips}
