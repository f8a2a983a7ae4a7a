"""The matching assistant (PUB-1): an optimal plan of mixed-ministry teams for a phase, planned on the worker.

The fit of a team is a sum of named factors with weights staff can see and change per phase (``FACTORS``); the plan
maximises the total under the hard rules — TEAM-1 (2–3 officers, one per ministry, a 外局 with its parent),
TEAM-2 (one team per municipality, one team per officer), OFF-3 (a 併任発令 covering the term), OFF-4 (time to give)
— and the decisions staff took beforehand: pinned pairs, forbidden pairs, continuing teams kept, and the phase's
conflict-of-interest rules. The optimiser is ``banso.services.assignment`` (domain-free); this module turns
applications and officers into its needs and candidates and its answer back into proposals, explanations and
quality figures, stored in a ``MatchingPlan`` the page reads. A match is not guaranteed: what is left over is
reported with the reason that binds.
"""
from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from banso.clock import now
from banso.extensions import db
from banso.models import (Application, ApplicationStatus, CandidacyStatus, MatchingConstraint, MatchingPlan,
                          MatchingSettings, Ministry, Officer, OfficerCandidacy, Phase, Team, TeamMembership, User)
from banso.policies import hold
from banso.reference import FIELDS, PREFECTURE_SEATS, distance_km, field_label, normalize_name
from banso.services import InputError, RuleViolation, WrongState, assignment, audit, teams, travel

SENIOR = {"指定職", "課長級", "室長級"}
BASE_PREFECTURE = "東京都"  # OFF-2: officers work at a 本省 or 外局 (Kasumigaseki)
FARE_PER_KM = 25             # yen per km one way (rail fare and express charge, roughly)
FARE_BASE = 2_000            # yen one way (local connections)
OVERNIGHT_FROM_KM = 300      # farther than this, a visit takes a night
LODGING_IF_UNKNOWN = 10_000  # yen a night when the phase's rate table has no entry
MIN_EFFORT = 10              # OFF-4: about 10–20 % of working time; less than 10 % cannot be planned
TIME_LIMIT = 25.0            # seconds; past it the best plan found is returned with its gap
PROVED_WITHIN = 0.001        # stop once the plan is proved within 0.1 % of the optimum (the proof's last steps cost most)
FULL_MODEL_PAIRS = 60_000    # up to this many application × officer pairs, every pair is weighed (exact)
SHORTLIST = 40               # beyond it, each municipality's best-fitting officers (plus one of each ministry)

# name → (label, default weight, what it rewards, maximum staff may set)
FACTORS: dict[str, tuple[str, int, str, int]] = {
    "team": ("チームの編成", 100, "市町村にチームを編成できること（1チームごと）。大きいほど、できるだけ多くの市町村に編成します。", 500),
    "first_field": ("第1優先分野", 30, "第1優先の課題分野を専門とする支援官がチームにいること。", 100),
    "other_fields": ("第2・第3優先分野", 12, "第2・第3優先の課題分野を専門とする支援官がチームにいること（分野ごと）。", 100),
    "member_field": ("専門分野の一致", 4, "メンバー一人ひとりの専門分野が優先分野と一致すること（一致する分野ごと）。", 50),
    "compound": ("複合的な課題への対応", 6, "課題が「複合的」な市町村で、複数の優先分野に通じた支援官がいること（該当者ごと）。", 50),
    "ties": ("地域のゆかり", 8, "出身地・ゆかりのある地域が市町村の都道府県であること（該当者ごと）。", 50),
    "preference": ("本人の希望", 6, "本人の希望（地域・分野）が市町村の都道府県・名称・優先分野に合うこと（該当者ごと）。", 50),
    "seniority": ("職階の組合せ", 6, "幹部級（指定職・課長級・室長級）と課長補佐級以下の双方がいること。", 50),
    "continuity": ("前期からの継続", 20, "継続する市町村に、前期のチームの支援官が続けて入ること（該当者ごと）。", 100),
    "member": ("メンバー1人の加点", 2, "メンバー1人ごとの加点です。支援官に余裕がある場合に3人目を加える価値にもなります。", 50),
    "travel": ("想定旅費", 1, "四半期ごとの現地訪問の想定旅費（年額）10万円ごとに差し引く点数。", 20),
}
FACTOR_ORDER = list(FACTORS)


def factor_label(name: str) -> str:
    return FACTORS[name][0]


# --- settings and constraints -------------------------------------------------------------------------------

def settings_for(phase: Phase) -> MatchingSettings:
    """The phase's settings; the defaults (not saved) until staff change them."""
    saved = db.session.scalar(select(MatchingSettings).where(MatchingSettings.phase_id == phase.id))
    return saved or MatchingSettings(phase_id=phase.id, weights={}, exclude_home_municipality=False,
                                     exclude_home_prefecture=False, exclude_secondment=True, within_budget=True, version=0)


def weights_of(settings: MatchingSettings) -> dict[str, int]:
    return {name: int((settings.weights or {}).get(name, default)) for name, (_, default, _, _) in FACTORS.items()}


def save_settings(phase: Phase, form: dict[str, str], options: dict[str, bool], *, actor: User,
                  expected_version=None) -> MatchingSettings:
    from banso.reference import typed
    from banso.services import InputProblems, check_version

    problems = {}
    weights = {}
    for name, (label, _, _, high) in FACTORS.items():
        text = typed(form.get(name, "")).strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 4) or not 0 <= int(text) <= high:
            problems[name] = f"{label}の重みは0から{high}までの整数で入力してください。"
        else:
            weights[name] = int(text)
    if problems:
        raise InputProblems(problems)
    settings = db.session.scalar(select(MatchingSettings).where(MatchingSettings.phase_id == phase.id))
    if settings is None:
        if expected_version not in (None, "", "0", 0):
            raise WrongState("他の方が先に設定を保存しました。画面を開き直してください。")
        settings = MatchingSettings(phase_id=phase.id)
        db.session.add(settings)
        before = None
    else:
        check_version(settings, expected_version, {"weights": "重み"})
        before = {"weights": settings.weights, **_options(settings)}
    settings.weights = weights
    for key, value in options.items():
        setattr(settings, key, bool(value))
    settings.updated_by_id = actor.id
    db.session.flush()
    audit.record("matching_settings", settings, actor=actor, summary=f"{phase.name}のマッチングの重み・除外条件を変更",
                 before=before, after={"weights": weights, **_options(settings)})
    request_plan(phase, actor=actor)
    return settings


def _options(settings: MatchingSettings) -> dict[str, bool]:
    return {k: bool(getattr(settings, k)) for k in ("exclude_home_municipality", "exclude_home_prefecture",
                                                      "exclude_secondment", "within_budget")}


def constraints(phase: Phase) -> list[MatchingConstraint]:
    """Staff's decisions for the phase; they name pairings before release, so the page is audited and marked (PUB-2)."""
    hold.note_shown(phase.id)
    return list(db.session.scalars(
        select(MatchingConstraint).options(joinedload(MatchingConstraint.application).joinedload(Application.municipality),
                                           joinedload(MatchingConstraint.officer))
        .where(MatchingConstraint.phase_id == phase.id).order_by(MatchingConstraint.id)))


def add_constraint(application: Application, kind: str, officer: Officer | None, reason: str, *, actor: User) -> MatchingConstraint:
    """Pin or forbid a pair, or keep a continuing municipality's members; the plan is computed again."""
    from banso.services import publication

    phase = application.phase
    publication.check_open(phase)
    reason = (reason or "").strip()
    if kind not in ("pin", "forbid", "keep"):
        raise InputError("指定の種類が正しくありません。")
    if application.status != ApplicationStatus.ELIGIBLE:
        raise WrongState(f"{application.municipality.full_name}の回答は「{application.status_label}」です。"
                         "対象と判定され、チーム未編成の回答にだけ指定できます。")
    if kind == "keep":
        officer = None
        if not _former_members(application):
            raise WrongState(f"{application.municipality.full_name}には、今期も選定されている前期チームの支援官がいません。")
    elif officer is None:
        raise InputError("支援官を選んでください。")
    if kind == "forbid" and not reason:
        raise InputError("除外する理由を入力してください（例: 利益相反のおそれ）。")
    existing = db.session.scalar(select(MatchingConstraint).where(
        MatchingConstraint.phase_id == phase.id, MatchingConstraint.application_id == application.id,
        MatchingConstraint.officer_id.is_(None) if officer is None else MatchingConstraint.officer_id == officer.id))
    if existing is not None:
        raise WrongState(f"この組合せには既に「{existing.kind_label}」の指定があります。変えるときは先に取り消してください。")
    constraint = MatchingConstraint(phase_id=phase.id, kind=kind, application=application, officer=officer,
                                    reason=reason, created_by_id=actor.id)
    db.session.add(constraint)
    db.session.flush()
    who = f"{officer.name}さんと" if officer else ""
    audit.record("matching_constraint", constraint, actor=actor,
                 summary=f"{who}{application.municipality.full_name}を「{constraint.kind_label}」に指定",
                 after={"kind": kind, "application": application.id, "officer": officer.id if officer else None, "reason": reason})
    request_plan(phase, actor=actor)
    return constraint


def remove_constraint(constraint: MatchingConstraint, *, actor: User) -> None:
    from banso.services import publication

    publication.check_open(constraint.application.phase)
    audit.record("matching_constraint_removed", constraint, actor=actor,
                 summary=f"{constraint.application.municipality.full_name}の「{constraint.kind_label}」指定を取消し",
                 before={"kind": constraint.kind, "officer": constraint.officer_id, "reason": constraint.reason})
    phase = constraint.application.phase
    db.session.delete(constraint)
    db.session.flush()
    request_plan(phase, actor=actor)


# --- the plan on the worker ----------------------------------------------------------------------------------

def latest_plan(phase: Phase, *, done: bool = False) -> MatchingPlan | None:
    """The phase's newest plan (``done``: the newest one computed, shown while a newer one is planned)."""
    query = select(MatchingPlan).where(MatchingPlan.phase_id == phase.id)
    if done:
        query = query.where(MatchingPlan.status == "done")
    return db.session.scalar(query.order_by(MatchingPlan.id.desc()).limit(1))


def request_plan(phase: Phase, *, actor: User | None) -> MatchingPlan:
    """Queue a plan (one at a time per phase: a plan already waiting to start takes the newest inputs anyway)."""
    from banso import queue

    waiting = db.session.scalar(select(MatchingPlan).where(MatchingPlan.phase_id == phase.id, MatchingPlan.status == "queued"))
    if waiting is not None:
        return waiting
    plan = MatchingPlan(phase_id=phase.id, requested_by_id=actor.id if actor else None)
    db.session.add(plan)
    db.session.flush()
    queue.enqueue_after_commit("default", "worker.jobs.plan_matching", plan.id)
    return plan


def run_plan(plan: MatchingPlan, *, progress=lambda percent, stage: None) -> MatchingPlan:
    """Compute a claimed plan (the worker's job); ``progress(percent, stage)`` is told at each stage."""
    phase = plan.phase
    progress(5, "申込みと支援官を読み込んでいます")
    model = build(phase)
    plan.inputs_digest = inputs_digest(phase)
    blocked = model.pin_problems()
    if blocked:
        return _finish(plan, "infeasible", {"problems": blocked, **model.header()})
    progress(20, "比較用に従来の方式（貪欲法）で計画しています")
    greedy = assignment.greedy(model.problem)
    progress(35, f"最適な計画を探しています（最長{int(TIME_LIMIT)}秒）")
    try:
        best = _optimise(model, greedy)
    except assignment.Infeasible:
        return _finish(plan, "infeasible", {"problems": ["固定した組合せを、予算・府省庁の混成・人数の条件のもとで同時に満たす計画はありません。"
                                                           "固定を見直してください。"], **model.header()})
    progress(85, "理由と品質の指標をまとめています")
    result = model.describe(best, greedy)
    return _finish(plan, "done", result)


def _finish(plan: MatchingPlan, status: str, result: dict) -> MatchingPlan:
    plan.status, plan.result, plan.progress, plan.finished_at = status, result, 100, now()
    plan.stage = "完了" if status == "done" else "計画できませんでした"
    return plan


def inputs_digest(phase: Phase) -> str:
    """What a plan was computed from: the open applications, the free officers, the decisions and the settings."""
    apps = db.session.execute(select(Application.id, Application.version).where(
        Application.phase_id == phase.id, Application.status == ApplicationStatus.ELIGIBLE).order_by(Application.id)).all()
    officers = db.session.execute(select(OfficerCandidacy.officer_id, OfficerCandidacy.status, Officer.version)
                                  .join(Officer, Officer.id == OfficerCandidacy.officer_id)
                                  .where(OfficerCandidacy.phase_id == phase.id).order_by(OfficerCandidacy.officer_id)).all()
    decided = db.session.execute(select(MatchingConstraint.id).where(MatchingConstraint.phase_id == phase.id)
                                 .order_by(MatchingConstraint.id)).all()
    settings = db.session.scalar(select(MatchingSettings.version).where(MatchingSettings.phase_id == phase.id))
    text = repr((apps, officers, decided, settings))
    return hashlib.sha256(text.encode()).hexdigest()


def replan_changed() -> int:
    """On the worker's timer: a phase whose last plan was computed from other inputs is planned again."""
    from banso.services import publication

    count = 0
    for plan in db.session.scalars(select(MatchingPlan).where(MatchingPlan.id.in_(
            select(func.max(MatchingPlan.id)).group_by(MatchingPlan.phase_id)))).all():
        if plan.busy:
            continue
        try:
            publication.check_open(plan.phase)
        except RuleViolation:
            continue  # a confirmed matching is not planned again
        if plan.inputs_digest != inputs_digest(plan.phase):
            request_plan(plan.phase, actor=None)
            count += 1
    return count


# --- the model: applications and officers as needs and candidates ----------------------------------------------

@dataclass
class Model:
    phase: Phase
    applications: dict[int, Application]
    officers: dict[int, Officer]
    weights: dict[str, int]
    settings: MatchingSettings
    problem: assignment.Problem
    excluded: dict[tuple[int, int], str] = field(default_factory=dict)      # (application, officer) → why
    unavailable: dict[int, str] = field(default_factory=dict)               # officer → why not planned at all
    pins: list[MatchingConstraint] = field(default_factory=list)
    former: dict[int, set[int]] = field(default_factory=dict)               # application → last phase's members
    headroom: int | None = None
    shortlist: int | None = None   # candidates per municipality when the phase is too large to weigh every pair
    _costs: dict = field(default_factory=dict)
    _facts: dict = field(default_factory=dict)

    def header(self) -> dict:
        return {"weights": self.weights, "options": _options(self.settings), "budget_headroom": self.headroom,
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

    # -- the answer, explained -------------------------------------------------------------------------------
    def describe(self, best: assignment.Solution, greedy: assignment.Solution) -> dict:
        problem = self.problem
        placed = {o: a for a, members in best.teams.items() for o in members}
        self._options_of = defaultdict(list)
        for (n, o) in problem.pair:
            self._options_of[n].append(o)
        team_rows = []
        for a, members in best.teams.items():
            members = sorted(members, key=lambda o: -problem.alone_value(a, o))
            shares = problem.member_scores(a, members)
            team_rows.append({
                "application_id": a, "officer_ids": members,
                "score": round(sum(problem.team_score(a, members).values()), 1),
                "factors": _rounded(problem.team_score(a, members)),
                "members": [{"officer_id": o, "factors": _rounded(shares[o]), "total": round(sum(shares[o].values()), 1)}
                            for o in members],
                "passed_over": self._passed_over(a, members, placed),
                "cost": sum(problem.cost.get((a, o), 0) for o in members),
            })
        team_rows.sort(key=lambda row: self.applications[row["application_id"]].municipality.code)
        unmatched = [{"application_id": a, "reason": self._why_unmatched(a, placed, best)}
                     for a in self.applications if a not in best.teams]
        return {**self.header(), "status": best.status, "gap": round(best.gap, 6), "seconds": round(best.seconds, 2),
                "greedy_seconds": round(greedy.seconds, 2),
                "teams": team_rows, "unmatched": unmatched,
                "quality": self.quality(best.teams), "greedy_quality": self.quality(greedy.teams),
                "exclusions": [{"application_id": a, "officer_id": o, "reason": why}
                               for (a, o), why in sorted(self.excluded.items())][:300]}

    def _passed_over(self, a: int, members: list[int], placed: dict[int, int]) -> list[dict]:
        """Officers who alone would bring this municipality more than a member does, and what kept them out."""
        problem = self.problem
        floor = min(problem.alone_value(a, o) for o in members)
        better = []
        for o in set(self._options_of[a]) | {o for (n, o) in self._excluded_of(a)}:
            if o in members:
                continue
            if (a, o) in problem.pair:
                value = problem.alone_value(a, o)
            elif (a, o) in self.excluded:
                value = self._value_if_allowed(a, o)
            else:
                continue
            if value > floor:
                better.append((value, o))
        better.sort(key=lambda item: (-item[0], item[1]))
        rows = []
        for value, o in better[:3]:
            rows.append({"officer_id": o, "value": round(value, 1), "reason": self._kept_out(a, o, members, placed)})
        return rows

    def _excluded_of(self, a: int) -> list[tuple[int, int]]:
        if not hasattr(self, "_excluded_index"):
            self._excluded_index = defaultdict(list)
            for pair in self.excluded:
                self._excluded_index[pair[0]].append(pair)
        return self._excluded_index[a]

    def _value_if_allowed(self, a: int, o: int) -> float:
        factors = self.pair_factors(self.applications[a], self.officers[o])
        return sum(factors.values()) + sum(w for n, _, w, s in self.problem.cover if n == a and o in s)

    def _kept_out(self, a: int, o: int, members: list[int], placed: dict[int, int]) -> str:
        if (a, o) in self.excluded:
            return f"除外: {self.excluded[(a, o)]}"
        clash = [m for m in members if self.problem.group[m] == self.problem.group[o]]
        if o in placed:
            other = self.applications[placed[o]].municipality.full_name
            if clash:
                return (f"{other}のチームに配置しました。また、このチームには同じ府省庁（{self.problem.group[o]}）の"
                        f"{self.officers[clash[0]].name}さんがいます。")
            return f"{other}のチームに配置しました（そちらに入る方が計画全体の評価が高くなります）。"
        if clash:
            return f"このチームには同じ府省庁（{self.problem.group[o]}）の{self.officers[clash[0]].name}さんがいます（省庁混成）。"
        if self.headroom is not None and self.problem.cost.get((a, o), 0) > self.problem.cost.get((a, members[-1]), 0):
            return "旅費の想定額が高く、予算の残りの範囲では、ほかの組合せの方が計画全体の評価が高くなります。"
        return "チーム全体で見ると（分野の網羅・職階の組合せ・人数）、今の組合せの方が評価が高くなります。"

    def _why_unmatched(self, a: int, placed: dict[int, int], best: assignment.Solution) -> str:
        problem = self.problem
        candidates = self._options_of[a]
        if len({problem.group[o] for o in candidates}) < 2:
            excluded = sum(1 for (n, _o) in self.excluded if n == a)
            extra = f"（除外・利益相反で{excluded}名を除いています）" if excluded else ""
            return f"府省庁の異なる2名以上の候補がいません{extra}。"
        free = [o for o in candidates if o not in placed]
        if len({problem.group[o] for o in free}) < 2:
            first = self.applications[a].priority_field_1
            experts = [o for o in candidates if first in (self.officers[o].expertise_fields or [])]
            note = ""
            if experts and all(o in placed for o in experts):
                note = f"第1優先分野（{field_label(first)}）を専門とする支援官も、すべてほかの市町村のチームに配置しました。"
            return "府省庁の異なる2名以上の支援官が残っていません（ほかの市町村のチームに配置しました）。" + note
        if problem.budget is not None:
            spent = problem.total_cost(best.teams)
            cheapest = sorted(problem.cost.get((a, o), 0) for o in free)[:2]
            if spent + sum(cheapest) > problem.budget:
                return (f"旅費の予算の残り（{problem.budget - spent:,}円）では、この市町村への訪問の想定旅費"
                        f"（2名で年{sum(cheapest):,}円）をまかなえません。")
        return "残る支援官でこのチームを編成するより、ほかの市町村のチームに配置する方が計画全体の評価が高くなります。"

    def quality(self, plan: dict[int, list[int]]) -> dict:
        problem = self.problem
        scores = sorted(round(sum(problem.team_score(a, m).values()), 1) for a, m in plan.items())
        first = sum(1 for a, m in plan.items() if any(self.applications[a].priority_field_1 in (self.officers[o].expertise_fields or [])
                                                      for o in m))
        continuing = [a for a in self.applications if self.former.get(a)]
        kept = sum(1 for a in continuing if set(plan.get(a, [])) & self.former[a])
        both_sexes = sum(1 for m in plan.values() if len({self.officers[o].sex for o in m} & {"男性", "女性"}) == 2)
        mixed_grade = sum(1 for m in plan.values() if len({self.officers[o].grade_band in SENIOR for o in m}) == 2)
        per_ministry = Counter(problem.group[o] for m in plan.values() for o in m)
        pool_per_ministry = Counter(problem.group[o] for o in self.officers)
        histogram = Counter(int(s // 20) * 20 for s in scores)
        return {
            "teams": len(plan), "unmatched": len(self.applications) - len(plan),
            "officers_used": sum(len(m) for m in plan.values()), "officers": len(self.officers),
            "total": round(sum(scores), 1), "worst": scores[0] if scores else 0, "best": scores[-1] if scores else 0,
            "median": scores[len(scores) // 2] if scores else 0,
            "histogram": [[low, histogram[low]] for low in sorted(histogram)],
            "first_priority_share": round(first / len(plan), 4) if plan else 0.0,
            "continuing": len(continuing), "continuity_kept": kept,
            "both_sexes_share": round(both_sexes / len(plan), 4) if plan else 0.0,
            "seniority_mix_share": round(mixed_grade / len(plan), 4) if plan else 0.0,
            "three_member_teams": sum(1 for m in plan.values() if len(m) == 3),
            "per_ministry": [[name, per_ministry[name], pool_per_ministry[name]] for name in sorted(pool_per_ministry, key=lambda n: -pool_per_ministry[n])],
            "travel_cost": problem.total_cost(plan),
        }

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


def _rounded(factors: dict[str, float]) -> dict[str, float]:
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


def _former_members(application: Application) -> set[int]:
    """Officers of the municipality's team in the previous phase who are selected (and free) in this one."""
    former = _former_by_application(application.phase, [application]).get(application.id, set())
    return set(db.session.scalars(select(OfficerCandidacy.officer_id).where(
        OfficerCandidacy.phase_id == application.phase_id, OfficerCandidacy.status == CandidacyStatus.SELECTED,
        OfficerCandidacy.officer_id.in_(former)))) if former else set()


def _pool(phase: Phase) -> tuple[list[Officer], dict[int, str]]:
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
        pool, unavailable = _pool(phase)
    decided = [] if only is not None else constraints(phase)
    model = Model(phase, {a.id: a for a in applications}, {o.id: o for o in pool}, weights, settings,
                  assignment.Problem([a.id for a in applications], [o.id for o in pool],
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
                problem.cover.append((a.id, name, weights[name], holders))
        if weights["seniority"] and senior and junior:
            problem.mix.append((a.id, "seniority", weights["seniority"], senior, junior))
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


# --- reading a stored plan for the page -------------------------------------------------------------------------

@dataclass
class Proposal:
    application: Application
    officers: list[Officer]
    score: float
    factors: dict[str, float]
    members: list[tuple[Officer, dict[str, float], float]]
    passed_over: list[tuple[Officer | None, float, str]]
    cost: int
    adopted: bool = False

    @property
    def covers_first_priority(self) -> bool:
        return any(self.application.priority_field_1 in (o.expertise_fields or []) for o in self.officers)


@dataclass
class PlanView:
    plan: MatchingPlan
    proposals: list[Proposal]
    unmatched: list[tuple[Application, str]]
    officers: dict[int, Officer]
    applications: dict[int, Application]

    @property
    def result(self) -> dict:
        return self.plan.result or {}


def read_plan(plan: MatchingPlan) -> PlanView:
    """The stored plan with its applications and officers loaded (three statements, whatever the phase's size)."""
    hold.note_shown(plan.phase_id)  # a proposal names pairings before release: audited and marked like results (PUB-2)
    result = plan.result or {}
    app_ids = {row["application_id"] for row in result.get("teams", [])} | {row["application_id"] for row in result.get("unmatched", [])}
    officer_ids = {o for row in result.get("teams", []) for o in row["officer_ids"]}
    officer_ids |= {p["officer_id"] for row in result.get("teams", []) for p in row["passed_over"]}
    applications = {a.id: a for a in db.session.scalars(select(Application).options(joinedload(Application.municipality))
                                                         .where(Application.id.in_(app_ids)))} if app_ids else {}
    officers = {o.id: o for o in db.session.scalars(select(Officer).options(joinedload(Officer.ministry).joinedload(Ministry.parent))
                                                     .where(Officer.id.in_(officer_ids)))} if officer_ids else {}
    proposals = []
    for row in result.get("teams", []):
        application = applications.get(row["application_id"])
        if application is None:
            continue
        members = [(officers[m["officer_id"]], m["factors"], m["total"]) for m in row["members"] if m["officer_id"] in officers]
        proposals.append(Proposal(application, [o for o, _, _ in members], row["score"], row["factors"], members,
                                  [(officers.get(p["officer_id"]), p["value"], p["reason"]) for p in row["passed_over"]],
                                  row["cost"], adopted=application.status != ApplicationStatus.ELIGIBLE))
    unmatched = [(applications[row["application_id"]], row["reason"]) for row in result.get("unmatched", [])
                 if row["application_id"] in applications]
    return PlanView(plan, proposals, unmatched, officers, applications)


def score_team(application: Application, officer_ids: list[int]) -> dict:
    """Live re-score of a hand-picked team (the edit page): each member's factors, the total, and what breaks a rule."""
    officer_ids = officer_ids[:10]  # a team is 2–3: anything beyond is not a team to score
    members = list(db.session.scalars(select(Officer).where(Officer.id.in_(officer_ids)))) if officer_ids else []
    model = build(application.phase, only=application, members=members)
    ids = [o.id for o in members]
    problem = model.problem
    shares = problem.member_scores(application.id, ids)
    breaks = []
    if ids and not 2 <= len(ids) <= 3:
        breaks.append(f"チームは2〜3名で編成します（今は{len(ids)}名）。")
    groups = Counter(problem.group[o] for o in ids)
    breaks += [f"同じ府省庁（{g}）の支援官が{n}名います。" for g, n in groups.items() if n > 1]
    conflicts = [why for o in members if (why := conflict(o, application, model.settings))]
    return {"members": [(o, _rounded(shares[o.id]), round(sum(shares[o.id].values()), 1)) for o in members],
            "factors": _rounded(problem.team_score(application.id, ids)) if ids else {},
            "total": round(sum(problem.team_score(application.id, ids).values()), 1) if ids else 0,
            "breaks": breaks, "conflicts": conflicts}


# --- composing by hand and accepting --------------------------------------------------------------------------

def available_officers(phase: Phase, application=None, q: str = "") -> list[tuple[Officer, list[str]]]:
    """Officers free to join a team now, for composing a team by hand: with what of the answer's priority fields and
    prefecture they match, best fit first; ``q`` narrows them by name, kana, ministry, home town or ties."""
    wanted = list(application.priority_fields) if application is not None else []
    prefecture = application.municipality.prefecture if application is not None else None
    rows = []
    for officer in _pool(phase)[0]:
        text = normalize_name(f"{officer.name}{officer.name_kana}{officer.ministry.label}{officer.home_town}{officer.region_ties}")
        if q and normalize_name(q) not in text:
            continue
        fit = [field_label(f) for f in wanted if f in (officer.expertise_fields or [])]
        if prefecture and prefecture in f"{officer.home_town}{officer.region_ties}":
            fit.append("地域のゆかり")
        rows.append((officer, fit))
    rows.sort(key=lambda row: (-len(row[1]), row[0].home_ministry.sort_order, row[0].name_kana))
    return rows


def accept(phase: Phase, choices: list[tuple[int, list[int]]], *, actor: User) -> list[Team]:
    """Form the teams the secretariat accepted (one, several or all proposals, or one edited by hand): all or none,
    through the same team service and rules as a team formed by hand."""
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


def plan_now(phase: Phase) -> list[tuple[int, list[int]]]:
    """Plan in this process and return the proposals as choices for ``accept`` (the demo forms its teams this way)."""
    model = build(phase)
    return sorted(_optimise(model, assignment.greedy(model.problem)).teams.items())


def _optimise(model: Model, greedy: assignment.Solution) -> assignment.Solution:
    """Exact on a phase whose every pair is weighed; on a larger one, improved part by part from the greedy plan
    within the time limit, with the gap to a bound (see ``assignment.solve_in_parts``)."""
    if model.shortlist:
        return assignment.solve_in_parts(model.problem, time_limit=TIME_LIMIT, start=greedy.teams)
    return assignment.solve(model.problem, time_limit=TIME_LIMIT, start=greedy.teams, gap=PROVED_WITHIN)

