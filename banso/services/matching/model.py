"""The matching's model (PUB-1): applications and officers turned into the optimiser's needs and candidates — the
hard rules (TEAM-1, TEAM-2, OFF-3, OFF-4), the conflicts of interest and each pair's weighed factors."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from banso import solver
from banso.extensions import db
from banso.models import (Application, ApplicationStatus, CandidacyStatus, MatchingConstraint, MatchingSettings,
                          Ministry, Officer, OfficerCandidacy, Phase, Team, TeamMembership)
from banso.reference import FIELDS, PREFECTURE_SEATS, distance_km, normalize_name
from banso.services import WrongState, teams, travel
from banso.services.matching.settings import FACTOR_ORDER, constraints, options_of, settings_for, weights_of

SENIOR = {"指定職", "課長級", "室長級"}
BASE_PREFECTURE = "東京都"  # OFF-2: officers work at a 本省 or 外局 (Kasumigaseki)
FARE_PER_KM = 25             # yen per km one way (rail fare and express charge, roughly)
FARE_BASE = 2_000            # yen one way (local connections)
OVERNIGHT_FROM_KM = 300      # farther than this, a visit takes a night
LODGING_IF_UNKNOWN = 10_000  # yen a night when the phase's rate table has no entry
MIN_EFFORT = 10              # OFF-4: about 10–20 % of working time; less than 10 % cannot be planned
FULL_MODEL_PAIRS = 60_000    # up to this many application × officer pairs, every pair is weighed (exact)
SHORTLIST = 40               # beyond it, each municipality's best-fitting officers (plus one of each ministry)


# --- the model: applications and officers as needs and candidates ----------------------------------------------

@dataclass
class Model:
    phase: Phase
    applications: dict[int, Application]
    officers: dict[int, Officer]
    weights: dict[str, int]
    settings: MatchingSettings
    problem: solver.Problem
    excluded: dict[tuple[int, int], str] = field(default_factory=dict)      # (application, officer) → why
    unavailable: dict[int, str] = field(default_factory=dict)               # officer → why not planned at all
    pins: list[MatchingConstraint] = field(default_factory=list)
    former: dict[int, set[int]] = field(default_factory=dict)               # application → last phase's members
    headroom: int | None = None
    shortlist: int | None = None   # candidates per municipality when the phase is too large to weigh every pair
    _costs: dict = field(default_factory=dict)
    _facts: dict = field(default_factory=dict)

    def header(self) -> dict:
        return {"weights": self.weights, "options": options_of(self.settings), "budget_headroom": self.headroom,
                "shortlist": self.shortlist, "pairs": len(self.problem.pair),
                "applications": len(self.applications), "officers": len(self.officers),
                "unavailable": [{"officer_id": o, "reason": why} for o, why in sorted(self.unavailable.items())][:200],
                "unavailable_count": len(self.unavailable), "excluded_count": len(self.excluded)}

    def pin_problems(self) -> list[str]:
        """Pins that cannot hold, each in plain words (before asking the solver)."""
        problems = []
        by_officer = defaultdict(set)
        by_application = defaultdict(list)
        for a, o in self.problem.pins:
            by_officer[o].add(a)
            by_application[a].append(o)
        for c in self.pins:
            if c.kind != "pin":
                continue
            if c.officer_id in self.unavailable:
                problems.append(f"{c.officer.name}さんは配属できる支援官ではありません（{self.unavailable[c.officer_id]}）。")
            elif c.officer_id not in self.officers:
                problems.append(f"{c.officer.name}さんは既にチームに配属されているか、{self.phase.name}の選定された支援官ではありません。"
                                "固定を取り消してください。")
            elif (c.application_id, c.officer_id) in self.excluded:
                problems.append(f"{c.officer.name}さんと{c.application.municipality.full_name}は固定と除外の両方が指定されています"
                                f"（{self.excluded[(c.application_id, c.officer_id)]}）。")
            elif c.application_id not in self.applications:
                problems.append(f"{c.application.municipality.full_name}はチームを編成できる回答ではありません。")
        for o, apps in by_officer.items():
            if len(apps) > 1:
                names = "、".join(sorted(self.applications[a].municipality.full_name for a in apps))
                problems.append(f"{self.officers[o].name}さんが複数の市町村（{names}）に固定されています（1人1チーム）。")
        for a, members in by_application.items():
            name = self.applications[a].municipality.full_name
            if len(members) > 3:
                problems.append(f"{name}に{len(members)}名が固定されています（チームは2〜3名）。")
            groups = Counter(self.problem.group[o] for o in members)
            for ministry, n in groups.items():
                if n > 1:
                    problems.append(f"{name}に同じ府省庁（{ministry}）の支援官が{n}名固定されています（省庁混成）。")
        return problems

    def pair_factors(self, application: Application, officer: Officer) -> dict[str, float]:
        w = self.weights
        fields, ties, wishes = self._officer_facts(officer)
        wanted, prefecture, words, compound = self._application_facts(application)
        matched = sum(1 for f in wanted if f in fields)
        factors = {"member": w["member"]}
        if matched:
            factors["member_field"] = w["member_field"] * matched
        if compound and matched >= 2:
            factors["compound"] = w["compound"]
        if prefecture in ties:
            factors["ties"] = w["ties"]
        if wishes and any(word in wishes for word in words):
            factors["preference"] = w["preference"]
        if officer.id in self.former.get(application.id, ()):
            factors["continuity"] = w["continuity"]
        cost = self.travel_cost(officer, application)
        if w["travel"] and cost:
            factors["travel"] = -round(w["travel"] * cost / 100_000, 1)
        return {k: v for k, v in factors.items() if v}

    def travel_cost(self, officer: Officer, application: Application) -> int:
        key = (travel.rate_band(officer), application.municipality.prefecture)
        if key not in self._costs:
            self._costs[key] = annual_travel_cost(self.phase, *key)
        return self._costs[key]

    def _officer_facts(self, officer: Officer):
        facts = self._facts.get(("o", officer.id))
        if facts is None:
            facts = (frozenset(officer.expertise_fields or []), f"{officer.home_town}{officer.region_ties}",
                     normalize_name(officer.preferences or ""))
            self._facts[("o", officer.id)] = facts
        return facts

    def _application_facts(self, application: Application):
        facts = self._facts.get(("a", application.id))
        if facts is None:
            m = application.municipality
            words = [m.prefecture, m.prefecture.rstrip("都道府県"), m.name] + [FIELDS[f].split("（")[0] for f in application.priority_fields]
            facts = (application.priority_fields, m.prefecture, [normalize_name(w) for w in words if w],
                     application.issue_structure == "compound")
            self._facts[("a", application.id)] = facts
        return facts


def rounded(factors: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 1) for k, v in sorted(factors.items(), key=lambda kv: FACTOR_ORDER.index(kv[0])) if round(v, 1)}


def _secondment_places(officer: Officer) -> str:
    """The sentences of an officer's ties that speak of a secondment (出向)."""
    return "".join(s for s in f"{officer.region_ties}".replace("。", "。\n").splitlines() if "出向" in s)


def conflict(officer: Officer, application: Application, settings: MatchingSettings) -> str | None:
    """The phase's conflict-of-interest rules: why this officer may not support this municipality, or None."""
    m = application.municipality
    if settings.exclude_secondment and m.name in _secondment_places(officer):
        return f"{officer.name}さんは{m.full_name}への出向経験があります（利益相反）。"
    if settings.exclude_home_municipality and m.name in (officer.home_town or ""):
        return f"{m.full_name}は{officer.name}さんの出身地です（この期は出身市町村を担当しない設定）。"
    if settings.exclude_home_prefecture and m.prefecture in (officer.home_town or ""):
        return f"{m.prefecture}は{officer.name}さんの出身地です（この期は出身都道府県を担当しない設定）。"
    return None


def annual_travel_cost(phase: Phase, band: str, prefecture: str) -> int:
    """The expected cost of one officer's quarterly site visits for a year: rail from Tokyo by distance, and a night's
    lodging at the phase's rate (the officer's band) where the municipality is far. An estimate for planning only."""
    km = distance_km(BASE_PREFECTURE, prefecture) * 1.25 if prefecture in PREFECTURE_SEATS else 0.0  # rail is longer
    fare = 2 * (FARE_BASE + FARE_PER_KM * km)
    lodging = 0
    if km > OVERNIGHT_FROM_KM:
        try:
            lodging = travel.lodging_cap(travel.fiscal_year(phase.support_start), band, prefecture)
        except WrongState:
            lodging = LODGING_IF_UNKNOWN
    visits = max(1, math.ceil(_months(*teams.default_period(phase)) / 3)) * travel.VISITS_PER_QUARTER
    return int(round(visits * (fare + lodging), -2))


def _months(start, end) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def former_members(application: Application) -> set[int]:
    """Officers of the municipality's team in the previous phase who are selected (and free) in this one."""
    former = _former_by_application(application.phase, [application]).get(application.id, set())
    return set(db.session.scalars(select(OfficerCandidacy.officer_id).where(
        OfficerCandidacy.phase_id == application.phase_id, OfficerCandidacy.status == CandidacyStatus.SELECTED,
        OfficerCandidacy.officer_id.in_(former)))) if former else set()


def pool_of(phase: Phase) -> tuple[list[Officer], dict[int, str]]:
    """Selected officers not on a team; those who cannot be planned, with why (OFF-3, OFF-4)."""
    start, end = teams.default_period(phase)
    busy = select(TeamMembership.officer_id).where(TeamMembership.phase_id == phase.id, TeamMembership.left_on.is_(None))
    officers = db.session.scalars(
        select(Officer).join(OfficerCandidacy, OfficerCandidacy.officer_id == Officer.id)
        .options(joinedload(Officer.ministry).joinedload(Ministry.parent), selectinload(Officer.appointments))
        .where(OfficerCandidacy.phase_id == phase.id, OfficerCandidacy.status == CandidacyStatus.SELECTED,
               Officer.id.not_in(busy))
        .order_by(Officer.id)).all()
    pool, unavailable = [], {}
    for o in officers:
        if not any(a.covers(start, end) for a in o.appointments):
            unavailable[o.id] = "支援期間をカバーする併任発令がありません"
        elif o.effort_percent is not None and o.effort_percent < MIN_EFFORT:
            unavailable[o.id] = f"従事できる割合が{o.effort_percent}%で、目安（1〜2割）に届きません"
        else:
            pool.append(o)
    return pool, unavailable


def _open_applications(phase: Phase) -> list[Application]:
    return list(db.session.scalars(
        select(Application).options(joinedload(Application.municipality))
        .where(Application.phase_id == phase.id, Application.status == ApplicationStatus.ELIGIBLE,
               Application.id.not_in(select(Team.application_id).where(Team.application_id.is_not(None))))
        .order_by(Application.id)))


def _former_by_application(phase: Phase, applications: list[Application]) -> dict[int, set[int]]:
    by_municipality = {a.municipality_id: a.id for a in applications}
    rows = db.session.execute(
        select(Team.municipality_id, TeamMembership.officer_id).join(TeamMembership, TeamMembership.team_id == Team.id)
        .join(Phase, Phase.id == Team.phase_id)
        .where(Phase.number == phase.number - 1, Team.municipality_id.in_(list(by_municipality)))).all()
    former = defaultdict(set)
    for municipality_id, officer_id in rows:
        former[by_municipality[municipality_id]].add(officer_id)
    return dict(former)


def build(phase: Phase, *, only: Application | None = None, members: list[Officer] | None = None) -> Model:
    """The phase as an assignment problem. ``only``/``members``: one application and a hand-picked team (live re-score
    on the edit page), with the same factors and weights."""
    settings = settings_for(phase)
    weights = weights_of(settings)
    applications = [only] if only is not None else _open_applications(phase)
    if members is not None:
        pool, unavailable = list(members), {}
    else:
        pool, unavailable = pool_of(phase)
    decided = [] if only is not None else constraints(phase)
    model = Model(phase, {a.id: a for a in applications}, {o.id: o for o in pool}, weights, settings,
                  solver.Problem([a.id for a in applications], [o.id for o in pool],
                                     {o.id: o.home_ministry.name for o in pool}, {}, team_value=weights["team"]),
                  unavailable=unavailable, pins=decided)
    model.former = _former_by_application(phase, applications)
    forbidden = {(c.application_id, c.officer_id): c.reason for c in decided if c.kind == "forbid"}
    problem = model.problem
    senior = frozenset(o.id for o in pool if o.grade_band in SENIOR)
    junior = frozenset(o.id for o in pool) - senior
    holders_of = defaultdict(set)
    for o in pool:
        for f in o.expertise_fields or []:
            holders_of[f].add(o.id)
    pinned = defaultdict(set)
    for c in decided:
        if c.kind == "pin":
            pinned[c.application_id].add(c.officer_id)
        elif c.kind == "keep":
            pinned[c.application_id].update(model.former.get(c.application_id, ()))
    if only is None and len(applications) * len(pool) > FULL_MODEL_PAIRS:
        model.shortlist = SHORTLIST
    for i, a in enumerate(applications):
        candidates = _shortlist(model, a, i, pool, holders_of, pinned[a.id]) if model.shortlist else pool
        for o in candidates:
            why = forbidden.get((a.id, o.id))
            why = f"除外の指定（{why}）" if why else conflict(o, a, settings)
            if why and only is None:
                model.excluded[(a.id, o.id)] = why
                continue
            problem.pair[(a.id, o.id)] = model.pair_factors(a, o)
            problem.cost[(a.id, o.id)] = model.travel_cost(o, a)
        for position, f in enumerate(a.priority_fields):
            holders = frozenset(holders_of[f])
            name = "first_field" if position == 0 else "other_fields"
            if weights[name] and holders:
                problem.cover.append(solver.Cover(a.id, name, weights[name], holders))
        if weights["seniority"] and senior and junior:
            problem.mix.append(solver.Mix(a.id, "seniority", weights["seniority"], senior, junior))
    for a, officer_ids in pinned.items():
        if a in model.applications:
            problem.pins.update((a, o) for o in officer_ids if o in model.officers)
    if only is None and settings.within_budget and phase.travel_budget_cap_yen:
        figures = travel.budget(phase)
        model.headroom = max(0, figures.cap - figures.committed - figures.spent - figures.forecast)
        problem.budget = model.headroom
    return model


def _shortlist(model: Model, application: Application, index: int, pool: list[Officer], holders_of, pinned: set[int]) -> list[Officer]:
    """For a phase too large to weigh every pair: the officers who could fit this municipality best (its fields, its
    prefecture, its former members: the ``SHORTLIST`` best by those factors), the pinned ones, and one more of each
    ministry (taken in turn, so municipalities do not all lean on the same few) to complete a team."""
    w = model.weights
    if "by_group" not in model._facts:
        by_group = defaultdict(list)
        ties_of = defaultdict(set)
        for o in pool:
            by_group[model.problem.group[o.id]].append(o)
            _, ties, _ = model._officer_facts(o)
            for prefecture in PREFECTURE_SEATS:
                if prefecture in ties:
                    ties_of[prefecture].add(o.id)
        model._facts["by_group"], model._facts["ties_of"] = by_group, ties_of
        model._facts["by_id"] = {o.id: o for o in pool}
    by_group, ties_of, by_id = model._facts["by_group"], model._facts["ties_of"], model._facts["by_id"]
    rough: dict[int, float] = defaultdict(float)
    for position, f in enumerate(application.priority_fields):
        for o in holders_of[f]:
            rough[o] += (w["first_field"] if position == 0 else w["other_fields"]) + w["member_field"]
    for o in ties_of[application.municipality.prefecture]:
        rough[o] += w["ties"]
    for o in model.former.get(application.id, ()):
        if o in by_id:
            rough[o] += w["continuity"]
    chosen = set(sorted(rough, key=lambda o: (-rough[o], (o * 7919 + index) % 10007))[:SHORTLIST])
    chosen |= {o for o in pinned if o in by_id}
    chosen |= {members[index % len(members)].id for members in by_group.values()}
    return [by_id[o] for o in sorted(chosen)]
