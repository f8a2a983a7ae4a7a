"""The matching assistant (PUB-1): proposes a complete plan of mixed-ministry teams for a phase.

Greedy on purpose: applications whose first-priority field has the fewest experts left go first;
each gets the two officers who best fit it (first-priority field, other fields, ties to the
prefecture, a senior and a junior), then a third where officers remain. A match is not
guaranteed: applications left over are reported with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from banso.extensions import db
from banso.models import (Application, ApplicationStatus, CandidacyStatus, Ministry, Officer, OfficerCandidacy, Phase,
                          Team, TeamMembership, User)
from banso.policies import hold
from banso.reference import field_label
from banso.services import InputError, RuleViolation, teams

SENIOR = {"指定職", "課長級", "室長級"}


@dataclass
class _Candidate:
    officer: Officer
    ministry: str
    fields: frozenset[int]
    ties: str
    senior: bool


@dataclass
class Proposal:
    application: Application
    officers: list[Officer]
    score: int
    reasons: list[str] = field(default_factory=list)

    @property
    def covers_first_priority(self) -> bool:
        return any(self.application.priority_field_1 in (o.expertise_fields or []) for o in self.officers)


@dataclass
class Plan:
    proposals: list[Proposal]
    unmatched: list[tuple[Application, str]]

    @property
    def first_priority_share(self) -> float:
        if not self.proposals:
            return 0.0
        return sum(p.covers_first_priority for p in self.proposals) / len(self.proposals)


@dataclass(frozen=True)
class _Need:
    """What an application asks for, read once from the record (scoring runs millions of times at scale)."""

    weights: tuple[tuple[int, int], ...]  # (field, weight): first priority 3, second 2, third 1
    prefecture: str

    @classmethod
    def of(cls, application: Application) -> _Need:
        fields = ((application.priority_field_1, 3), (application.priority_field_2, 2), (application.priority_field_3, 1))
        return cls(tuple((f, w) for f, w in fields if f), application.municipality.prefecture)

    @property
    def best_fit(self) -> int:
        return sum(w for _, w in self.weights) + 2


def _fit(c: _Candidate, need: _Need) -> int:
    score = sum(w for f, w in need.weights if f in c.fields)
    if need.prefecture in c.ties:
        score += 2
    return score


def _pool(phase: Phase) -> list[_Candidate]:
    """Selected officers not on a team, holding a 併任発令 for the default support period (OFF-3)."""
    start, end = teams.default_period(phase)
    busy = select(TeamMembership.officer_id).where(TeamMembership.phase_id == phase.id, TeamMembership.left_on.is_(None))
    officers = db.session.scalars(
        select(Officer).join(OfficerCandidacy, OfficerCandidacy.officer_id == Officer.id)
        .options(joinedload(Officer.ministry).joinedload(Ministry.parent), selectinload(Officer.appointments))
        .where(OfficerCandidacy.phase_id == phase.id, OfficerCandidacy.status == CandidacyStatus.SELECTED,
               Officer.id.not_in(busy))
        .order_by(Officer.id))
    return [_Candidate(o, teams.home_ministry(o).name, frozenset(o.expertise_fields or []), f"{o.home_town}{o.region_ties}",
                       o.grade_band in SENIOR)
            for o in officers if any(a.covers(start, end) for a in o.appointments)]


def available_officers(phase: Phase, application=None, q: str = "") -> list[tuple[Officer, list[str]]]:
    """Officers free to join a team now, for composing a team by hand: with what of the answer's priority fields and
    prefecture they match, best fit first; ``q`` narrows them by name, kana, ministry, home town or ties."""
    from banso.reference import field_label, normalize_name

    wanted = list(application.priority_fields) if application is not None else []
    prefecture = application.municipality.prefecture if application is not None else None
    rows = []
    for officer in (c.officer for c in _pool(phase)):
        text = normalize_name(f"{officer.name}{officer.name_kana}{officer.ministry.label}{officer.home_town}{officer.region_ties}")
        if q and normalize_name(q) not in text:
            continue
        fit = [field_label(f) for f in wanted if f in (officer.expertise_fields or [])]
        if prefecture and prefecture in f"{officer.home_town}{officer.region_ties}":
            fit.append("地域のゆかり")
        rows.append((officer, fit))
    rows.sort(key=lambda row: (-len(row[1]), teams.home_ministry(row[0]).sort_order, row[0].name_kana))
    return rows


def propose_plan(phase: Phase) -> Plan:
    hold.note_shown(phase.id)  # a proposal names pairings before release: audited and marked like results (PUB-2)
    applications = list(db.session.scalars(
        select(Application).options(joinedload(Application.municipality))
        .where(Application.phase_id == phase.id, Application.status == ApplicationStatus.ELIGIBLE,
               Application.id.not_in(select(Team.application_id).where(Team.application_id.is_not(None))))
        .order_by(Application.id)))
    pool = _pool(phase)
    free = {id(c): c for c in pool}
    experts = {}
    for c in pool:
        for f in c.fields:
            experts[f] = experts.get(f, 0) + 1
    applications.sort(key=lambda a: (experts.get(a.priority_field_1, 0), a.id))

    proposals: list[Proposal] = []
    unmatched: list[tuple[Application, str]] = []
    for application in applications:
        chosen = _pick(application, list(free.values()), [], want=2)
        if len(chosen) < 2:
            unmatched.append((application, "省庁混成で2名以上を確保できる支援官が残っていません。"))
            continue
        for c in chosen:
            free.pop(id(c))
        proposals.append(Proposal(application, [c.officer for c in chosen], sum(_fit(c, _Need.of(application)) for c in chosen)))
    # A third member where officers remain, to the teams that gain most from one.
    for proposal in sorted(proposals, key=lambda p: p.score):
        chosen = [c for c in pool if c.officer in proposal.officers]
        extra = _pick(proposal.application, list(free.values()), chosen, want=1)
        if extra:
            free.pop(id(extra[0]))
            proposal.officers.append(extra[0].officer)
            proposal.score += _fit(extra[0], _Need.of(proposal.application))
    for proposal in proposals:
        proposal.reasons = _reasons(proposal)
    proposals.sort(key=lambda p: p.application.municipality.code)
    return Plan(proposals, unmatched)


def _pick(application: Application, free: list[_Candidate], chosen: list[_Candidate], *, want: int) -> list[_Candidate]:
    need = _Need.of(application)
    picked = list(chosen)
    for _ in range(want):
        taken = {c.ministry for c in picked}
        picked_ids = {id(c) for c in picked}
        has_senior = any(c.senior for c in picked)
        has_junior = any(not c.senior for c in picked)
        best, best_score = None, -1
        top = need.best_fit * 10 + (5 if picked else 0)  # nobody can beat this: stop looking
        for c in free:
            if c.ministry in taken or id(c) in picked_ids:
                continue
            score = _fit(c, need) * 10
            if picked and ((c.senior and not has_senior) or (not c.senior and not has_junior)):
                score += 5  # a mix of seniority
            if score > best_score:
                best, best_score = c, score
                if score >= top:
                    break
        if best is None:
            break
        picked.append(best)
    return picked[len(chosen):]


def _reasons(proposal: Proposal) -> list[str]:
    a = proposal.application
    reasons = []
    for officer in proposal.officers:
        matched = [field_label(f) for f in a.priority_fields if f in (officer.expertise_fields or [])]
        note = f"{officer.name}: " + ("、".join(matched) if matched else "分野の一致なし")
        if a.municipality.prefecture in f"{officer.home_town}{officer.region_ties}":
            note += f"、{a.municipality.prefecture}にゆかり"
        reasons.append(note)
    return reasons


def accept(phase: Phase, choices: list[tuple[int, list[int]]], *, actor: User) -> list[Team]:
    """Form the teams the secretariat accepted (one, several or all proposals): all or none."""
    formed = []
    for application_id, officer_ids in choices:
        application = db.session.get(Application, application_id)
        if application is None or application.phase_id != phase.id:
            raise InputError("対象の回答が見つかりません。")
        members = [db.session.get(Officer, i) for i in officer_ids]
        if any(o is None for o in members):
            raise InputError("支援官が見つかりません。")
        try:
            formed.append(teams.form_team(application, members, actor=actor))
        except RuleViolation as violation:
            raise RuleViolation(violation.rule_id, f"{application.municipality.full_name}: {violation.message}") from violation
    return formed
