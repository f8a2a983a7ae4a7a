"""Who may see and act on trips, claims, the budget and the rate tables (TRV-1, TRV-2).

Views ask these before calling a service, services ask them again before changing anything, and templates
ask them to decide which buttons to show: one answer everywhere. PUB-2 is applied underneath by ``hold``.
"""
from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import select, union

from banso.models import Officer, Team, TripRequest, TripTraveller, User
from banso.models.travel import TripStatus
from banso.policies import approvals
from banso.policies.roles import is_admin, is_claimant, is_finance, is_officer, is_staff, signed_in

# Which states allow which step (the services move trips only from these; the pages offer the step in them).
CORRECTABLE = (TripStatus.SUBMITTED, TripStatus.RETURNED)  # the request corrected, its bearer decided
CLAIMABLE = (TripStatus.APPROVED, TripStatus.CLAIM_RETURNED)
CANCELLABLE = (TripStatus.SUBMITTED, TripStatus.RETURNED, TripStatus.APPROVED)
CHANGEABLE = (TripStatus.APPROVED,)  # an issued 旅行命令 is changed by a 変更 case until its claim (旅費法第4条)
ORDERED = (TripStatus.APPROVED, TripStatus.CLAIM_SUBMITTED, TripStatus.CLAIM_RETURNED, TripStatus.SETTLED)


def _reads_figures(user: User) -> bool:
    return is_staff(user) or is_finance(user)


def _is_traveller(trip: TripRequest, user: User) -> bool:
    return any(t.officer.user_id == user.id for t in trip.travellers)


def is_own(trip: TripRequest, user: User) -> bool:
    """The user filed the trip or its claim, or travels on it."""
    return (trip.filed_by_id == user.id or _is_traveller(trip, user)
            or (trip.claim is not None and trip.claim.filed_by_id == user.id))


def own_condition(user: User):
    """An officer's own trips, as a query condition: filed by them, or they travel on it. Their ids are read first (a
    statement by two indexes, once per request) and the list asks for those few: as an OR of the two, or as a subquery,
    PostgreSQL expected half the phase's trips and joined every team of the programme before picking them."""
    return TripRequest.id.in_(_own_trip_ids(user))


def _own_trip_ids(user: User) -> list[int]:
    from banso.extensions import db

    memo = g.setdefault("banso_own_trips", {}) if has_request_context() else {}
    if user.id not in memo:
        filed = select(TripRequest.id).where(TripRequest.filed_by_id == user.id)
        travels = (select(TripTraveller.trip_id).join(Officer, Officer.id == TripTraveller.officer_id)
                   .where(Officer.user_id == user.id))
        memo[user.id] = sorted(db.session.scalars(union(filed, travels)))
    return memo[user.id]


def sees_only_own(user: User) -> bool:
    """Officers (and claimants) see their own trips; the secretariat and finance see every trip (of teams not held)."""
    return is_officer(user) or is_claimant(user)


def may_view(trip: TripRequest, user: User) -> bool:
    if _reads_figures(user):
        return True
    return (is_officer(user) or is_claimant(user)) and (trip.filed_by_id == user.id or _is_traveller(trip, user))


def _claims_own(trip: TripRequest, user: User) -> bool:
    """A claimant's own trip: its claim and receipts are theirs to file after their 併任 ended."""
    return is_claimant(user) and may_view(trip, user)


def may_edit(trip: TripRequest, user: User) -> bool:
    """Filing, correcting, claiming: the filer, the travellers, and the secretariat on their behalf."""
    return is_staff(user) or (is_officer(user) and may_view(trip, user))


def may_correct(trip: TripRequest, user: User) -> bool:
    return trip.status in CORRECTABLE and may_edit(trip, user)


def may_request_change(trip: TripRequest, user: User) -> bool:
    """A change of the issued 旅行命令 (dates, destination, travellers, means): asked by whoever may file for the trip."""
    return trip.status in CHANGEABLE and may_edit(trip, user)


def may_record_departure(trip: TripRequest, user: User) -> bool:
    """旅費法第5条: that the trip was made otherwise than ordered — recorded by whoever may file for it, once it began."""
    from banso.clock import today_jst

    return trip.status in ORDERED and trip.depart_on <= today_jst() and may_edit(trip, user)


def may_claim(trip: TripRequest, user: User) -> bool:
    return trip.status in CLAIMABLE and (may_edit(trip, user) or _claims_own(trip, user))


def may_cancel(trip: TripRequest, user: User) -> bool:
    """Before the claim: an approved estimate is released from the budget."""
    return trip.status in CANCELLABLE and may_edit(trip, user)


def receipts_open(trip: TripRequest) -> bool:
    """Receipts are added while a claim exists and is not yet settled."""
    return trip.claim is not None and trip.status != TripStatus.SETTLED


def may_add_receipts(trip: TripRequest, user: User) -> bool:
    return receipts_open(trip) and (may_edit(trip, user) or _claims_own(trip, user))


def may_file(user: User) -> bool:
    """The routes that file or change a trip; what each may do is asked of the trip or the team."""
    return is_staff(user) or is_officer(user)


def may_file_claims(user: User) -> bool:
    """The claim's routes (the claim, its receipts): also an officer whose 併任 has ended, for their own trips."""
    return may_file(user) or is_claimant(user)


def may_file_for(team: Team, user: User) -> bool:
    """An officer for their own current team; the secretariat for any."""
    if is_staff(user):
        return True
    return is_officer(user) and any(m.officer.user_id == user.id for m in team.current_members)


def may_review(user: User) -> bool:
    """Reviewing requests and claims is finance's work (TRV-2)."""
    return is_finance(user)


ORDER = "travel_order"  # a trip request is decided as a 旅行命令 on its route (policies/approvals.py)


def may_review_request(trip: TripRequest, user: User) -> bool:
    """Whoever the 旅行命令's route lets decide its current step now (finance, by default; a 代決者 for someone away),
    on a request awaiting review that is not their own. A trip filed before routes existed: finance."""
    if trip.status != TripStatus.SUBMITTED or is_own(trip, user):
        return False
    case = approvals.open_case(ORDER, trip.id)
    if case is None:
        return may_review(user)
    return approvals.may_act(case, user)[0]


CHANGE = "travel_order_change"  # a change of an issued 旅行命令 goes along its own route

CLAIM = "claim"  # a claim is settled on its route (精算: finance, by default)


def may_review_claim(trip: TripRequest, user: User) -> bool:
    """Whoever the claim's route lets decide its current step (finance, by default), on a claim awaiting review that
    is not their own. A claim filed before routes existed: finance."""
    if trip.status != TripStatus.CLAIM_SUBMITTED or trip.claim is None or is_own(trip, user):
        return False
    case = approvals.open_case(CLAIM, trip.id)
    if case is None:
        return may_review(user)
    return approvals.may_act(case, user)[0]


def may_decide_bearer(trip: TripRequest | None, user: User) -> bool:
    """The secretariat records who bears a trip beyond the plan (TRV-2), before it is approved."""
    return may_decide_bearers(user) and (trip is None or trip.status in CORRECTABLE)


def may_see_budget(user: User) -> bool:
    return _reads_figures(user)


def may_plan_visits(user: User) -> bool:
    """Visit plans and the standard cost of a visit are finance's."""
    return is_finance(user)


def may_revise_cap(user: User) -> bool:
    return is_admin(user)


def may_edit_rates(user: User) -> bool:
    return is_finance(user)


def may_open_travel(user: User) -> bool:
    """The trip list and a trip's page: every role, each seeing its own part (sees_only_own, may_view)."""
    return signed_in(user)


def may_review_any(user: User) -> bool:
    """The review buttons' routes: anyone a 旅行命令's or a claim's route could name (the trip's own route decides,
    may_review_request / may_review_claim); officers file and never review."""
    return is_staff(user) or is_finance(user)


def may_decide_bearers(user: User) -> bool:
    return is_staff(user)


def may_see_rates(user: User) -> bool:
    """The rate tables are read by those who file and check trips' figures; finance keeps them (may_edit_rates)."""
    return _reads_figures(user)
