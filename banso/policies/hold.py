"""PUB-2 by construction: which team supports which municipality stays with the secretariat until release.

Every ORM query run while a request is served gets the hold added (a ``do_orm_execute`` hook adding
``with_loader_criteria``) for anything that names a team: teams, memberships, extensions, replacements,
activities, reports, visit plans, trips and everything on a trip, inquiries linked to a team, 決裁 cases about a team. A query that
forgets the hold is still held. The viewer sees:

- the secretariat (admin, secretariat): everything;
- everyone else: the teams of released phases; an officer also their own team (as a current member) once the
  advance notice has gone — but not its planned replacements (who is to join) until the release.

The opt-outs, greppable as ``hold.lifted``: code outside a request (the worker, CLI commands, the demo
loader) acts for the system and is not held; inside a request, ``with hold.lifted("why"):`` is for rule
computations over every record (the budget cap counts every trip) whose result names no team.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from flask import g, has_request_context
from sqlalchemy import exists, false, or_, select, true
from sqlalchemy.orm import ORMExecuteState, UserDefinedOption, with_loader_criteria
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.util import find_tables

from banso.models import (Activity, Application, ApprovalCase, ApplicationStatus, HalfYearReport, Inquiry, MemberReplacement, Officer,
                          Publication, PublicationStatus, Receipt, Role, Team, TeamActivityDates, TeamExtension,
                          TeamMembership, TravelClaim, TravelClaimLine, TripEstimateLine, TripRequest, TripTraveller, User)
from banso.models.travel import TeamTravelPlan

_LIFTED = "banso_hold_lifted"
_NAMES_A_TEAM = (TeamMembership, TeamExtension, Activity, HalfYearReport, TeamTravelPlan, TeamActivityDates)
_ON_A_TRIP = (TripTraveller, TripEstimateLine, TravelClaim)
_ON_A_CLAIM = (TravelClaimLine, Receipt)
# The trip and claim a row on a trip is decided by: plain table aliases, built once, so no criteria of their own are
# added inside the EXISTS (the condition there is the trip's).
_TRIP, _CLAIM = TripRequest.__table__.alias("held_trip"), TravelClaim.__table__.alias("held_claim")


@dataclass(frozen=True)
class Scope:
    """What one viewer may see of the matching: released phases, and their own teams in noticed phases."""

    everything: bool
    released_phases: tuple[int, ...] = ()
    own_teams: tuple[int, ...] = ()

    def team_condition(self):
        if self.everything:
            return true()
        conditions = [Team.phase_id.in_(self.released_phases)] if self.released_phases else []
        if self.own_teams:
            conditions.append(Team.id.in_(self.own_teams))
        return or_(*conditions) if conditions else false()

    def trip_condition(self, trip):
        """The same on a trip's own columns (its phase and team): no team is read to decide it."""
        conditions = [trip.phase_id.in_(self.released_phases)] if self.released_phases else []
        if self.own_teams:
            conditions.append(trip.team_id.in_(self.own_teams))
        return or_(*conditions) if conditions else false()


def _signed_in(user: User | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def scope_for(user: User | None, released: frozenset[int], own_teams: tuple[int, ...] = ()) -> Scope:
    """What ``user`` sees of the held records, from its inputs: the released phases, and the teams they are on now in
    phases whose advance notice has gone (the secretariat: everything)."""
    if _signed_in(user) and user.has_role(Role.ADMIN, Role.SECRETARIAT):
        return Scope(everything=True)
    return Scope(everything=False, released_phases=tuple(sorted(released)),
                 own_teams=own_teams if _signed_in(user) and user.has_role(Role.OFFICER) else ())


def viewer_scope(user: User | None) -> Scope:
    """The viewer's scope with its inputs read, with the hold lifted (the reads name only phases and the viewer's own
    teams)."""
    if _signed_in(user) and user.has_role(Role.ADMIN, Role.SECRETARIAT):
        return scope_for(user, frozenset())
    from banso.extensions import db

    own: tuple[int, ...] = ()
    if _signed_in(user) and user.has_role(Role.OFFICER):
        noticed = select(Publication.phase_id).where(Publication.status.in_((PublicationStatus.NOTIFIED, PublicationStatus.RELEASED)))
        with lifted("the hold's own scope"):
            own = tuple(db.session.scalars(
                select(TeamMembership.team_id).join(Officer).join(Team, Team.id == TeamMembership.team_id)
                .where(Officer.user_id == user.id, TeamMembership.left_on.is_(None), Team.phase_id.in_(noticed))))
    return scope_for(user, released_phases(), own)


_RELEASED = "banso_released_phases"


def released_phases() -> frozenset[int]:
    """The released phases, read once per request: the viewer's scope, the watermark and the end-of-request audit all
    ask (outside a request, read each time)."""
    from banso.extensions import db

    if has_request_context() and _RELEASED in g:
        return g.get(_RELEASED)
    with lifted("which phases are released"):
        released = frozenset(db.session.scalars(select(Publication.phase_id).where(Publication.status == PublicationStatus.RELEASED)))
    if has_request_context():
        setattr(g, _RELEASED, released)
    return released


def forget_released() -> None:
    """A phase was released during this request: read the released phases again."""
    if has_request_context():
        g.pop(_RELEASED, None)
        g.pop("banso_hold_scope", None)


def current_scope() -> Scope | None:
    """The request's viewer scope; None outside a request (the system) or while the hold is lifted."""
    if not has_request_context() or g.get(_LIFTED):
        return None
    scope = g.get("banso_hold_scope")
    if scope is not None:
        return scope
    if "_login_user" not in g:  # the signed-in user is still being loaded: held as anonymous, not remembered
        return viewer_scope(None)
    from flask_login import current_user

    g.banso_hold_scope = scope = viewer_scope(current_user)
    return scope


def view_as(user: User) -> None:
    """This request reads as ``user`` would, though no one is signed in: their calendar feed, opened by its token."""
    if has_request_context():
        g.banso_hold_scope = viewer_scope(user)
        g.banso_hold_viewer = user  # the audit row names them (request_path.audit_confidential_views)


def forget() -> None:
    """After signing in or out, the next query works out the scope again."""
    if has_request_context():
        g.pop("banso_hold_scope", None)


@contextmanager
def lifted(why: str):
    """Inside a request, run queries over every record (``why`` says what for; it names no team in its result)."""
    if not has_request_context():
        yield
        return
    before = g.get(_LIFTED)
    setattr(g, _LIFTED, why)
    try:
        yield
    finally:
        setattr(g, _LIFTED, before)


_HELD_TABLES = frozenset(model.__tablename__ for model in (Team, TripRequest, Inquiry, MemberReplacement, ApprovalCase, *_NAMES_A_TEAM,
                                                            *_ON_A_TRIP, *_ON_A_CLAIM))
_HELD_NAME = re.compile(r"\b(" + "|".join(sorted(_HELD_TABLES)) + r")\b", re.IGNORECASE)


class OutsideTheHold(RuntimeError):
    """Request code read a held table by SQL text or Core, which the hold cannot add its criteria to."""


def _outside_the_orm(state: ORMExecuteState) -> bool:
    """A statement on held tables the hold cannot reach: SQL text naming one, or a Core statement on their tables."""
    statement = state.statement
    if isinstance(statement, TextClause):
        return _HELD_NAME.search(statement.text) is not None
    if state.is_orm_statement:
        return False
    return any(getattr(t, "name", None) in _HELD_TABLES for t in find_tables(statement, include_aliases=True,
                                                                              include_joins=True, include_selects=True))


def apply_hold(state: ORMExecuteState) -> None:
    """Session ``do_orm_execute`` (installed by banso/hooks.py): the hold's criteria on every ORM statement of a
    request outside the secretariat; SQL text or Core on a held table refused."""
    if state.is_column_load:
        return
    if _outside_the_orm(state):
        # Held rows are decided on ORM statements only: inside a request, SQL text or Core on a held table is refused
        # unless the hold is lifted for it by name (hold.lifted), so a query written that way cannot leak.
        scope = current_scope()
        if scope is not None and not scope.everything:
            raise OutsideTheHold("保留中の表を SQL 文字列や Core で読むことはできません（hold.lifted で理由を明示してください）")
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    scope = current_scope()
    if scope is None or scope.everything:
        return
    options, mark = _criteria(scope)
    if any(option is mark for option in state.user_defined_options):
        return  # a relationship load carrying its parent query's criteria: added twice, they were planned twice
    state.statement = state.statement.options(*options)


class _Held(UserDefinedOption):
    """Marks a statement the hold's criteria were added to. It travels with them to the relationship loads of what
    the statement loads (both propagate to loaders), so a load that already carries them is not given them again;
    a load of something read under ``hold.lifted`` carries no mark and gets the criteria."""

    propagate_to_loaders = True


@lru_cache(maxsize=256)
def _criteria(scope: Scope) -> tuple[tuple, _Held]:
    """The criteria of one scope for every held kind of record, with the scope's mark. Built once per scope (a frozen
    value: the released phases and the viewer's own teams), not per request: building them cost several
    milliseconds."""
    mark = _Held()
    return (*_build_criteria(scope), mark), mark


def _build_criteria(scope: Scope) -> list:
    visible_teams = select(Team.id).where(scope.team_condition()).scalar_subquery()
    # A trip is decided on its own phase and team; a row on a trip (or on a claim) by its own trip, asked per row
    # (EXISTS by primary key) — never by listing every visible trip or claim of the programme first.
    trip, claim = _TRIP.c, _CLAIM.c
    options = [with_loader_criteria(Team, scope.team_condition(), include_aliases=True)]
    options += [with_loader_criteria(model, model.team_id.in_(visible_teams), include_aliases=True) for model in _NAMES_A_TEAM]
    # A replacement names who joins a team: an officer sees their own team once noticed, but not who is to join it
    # before the release (the replacement's notices wait until then too): released phases only.
    released_teams = select(Team.id).where(Team.phase_id.in_(scope.released_phases) if scope.released_phases else false())
    options.append(with_loader_criteria(MemberReplacement, MemberReplacement.team_id.in_(released_teams.scalar_subquery()),
                                        include_aliases=True))
    options.append(with_loader_criteria(TripRequest, scope.trip_condition(TripRequest), include_aliases=True))
    options += [with_loader_criteria(model, exists().where(trip.id == model.trip_id, scope.trip_condition(trip))
                                     .correlate_except(_TRIP), include_aliases=True) for model in _ON_A_TRIP]
    options += [with_loader_criteria(model, exists().where(claim.id == model.claim_id, trip.id == claim.trip_id,
                                                           scope.trip_condition(trip)).correlate_except(_CLAIM, _TRIP),
                                     include_aliases=True) for model in _ON_A_CLAIM]
    options.append(with_loader_criteria(Inquiry, or_(Inquiry.team_id.is_(None), Inquiry.team_id.in_(visible_teams)),
                                        include_aliases=True))
    # A 決裁 case about a team (its trip, order change, claim, extension) is held with the team.
    options.append(with_loader_criteria(ApprovalCase, or_(ApprovalCase.team_id.is_(None), ApprovalCase.team_id.in_(visible_teams)),
                                        include_aliases=True))
    return options


# --- the loader audits: every embargoed team or trip shown is recorded, and the page or export marked ----------

_SEEN = "banso_hold_seen"


def team_loaded(team: Team, _context) -> None:
    _seen(team.phase_id, team.id)


def trip_loaded(trip: TripRequest, _context) -> None:
    _seen(trip.phase_id, trip.team_id)


def application_loaded(application: Application, _context) -> None:
    if application.status == ApplicationStatus.MATCHED:  # "マッチング済" before release says who is supported
        _seen(application.phase_id, None)


def note_shown(phase_id: int) -> None:
    """For figures computed in SQL (no team loaded) that reveal a phase's matching: the statistics. Only a viewer
    who sees everything counts; for anyone else the figures were computed under the hold and reveal nothing."""
    scope = current_scope()
    if scope is not None and scope.everything:
        _seen(phase_id, None)


def _seen(phase_id: int, team_id: int | None) -> None:
    if has_request_context():
        g.setdefault(_SEEN, set()).add((phase_id, team_id))


def confidential_seen() -> dict[int, set[int]]:
    """The teams of unreleased phases this request has loaded so far, by phase (the secretariat's view of them)."""
    seen = g.get(_SEEN) if has_request_context() else None
    if not seen:
        return {}

    released = released_phases()
    held: dict[int, set[int]] = {}
    for phase_id, team_id in seen:
        if phase_id not in released:
            held.setdefault(phase_id, set())
            if team_id is not None:
                held[phase_id].add(team_id)
    return held


def forget_seen() -> None:
    """The request's held views are recorded (request_path.audit_confidential_views): start afresh."""
    if has_request_context():
        g.pop(_SEEN, None)
