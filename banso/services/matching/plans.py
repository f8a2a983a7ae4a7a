"""The matching's plans (PUB-1): planned on the worker, stored, read for the page with their explanations, composed
by hand and accepted as teams."""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from banso import solver
from banso.clock import now
from banso.extensions import db
from banso.models import (Application, ApplicationStatus, MatchingConstraint, MatchingPlan, MatchingSettings, Ministry,
                          Officer, OfficerCandidacy, Phase, Team, User)
from banso.policies import hold
from banso.reference import field_label, normalize_name
from banso.services import InputError, RuleViolation, WrongState, audit, teams
from banso.services.matching import explain
from banso.services.matching.model import Model, build, conflict, former_members, pool_of, rounded
from banso.services.matching.settings import FACTORS, options_of

TIME_LIMIT = 25.0            # seconds; past it the best plan found is returned with its gap
PROVED_WITHIN = 0.001        # stop once the plan is proved within 0.1 % of the optimum (the proof's last steps cost most)


# --- decisions staff take beforehand, each asking for a new plan ------------------------------------------

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
        before = {"weights": settings.weights, **options_of(settings)}
    settings.weights = weights
    for key, value in options.items():
        setattr(settings, key, bool(value))
    settings.updated_by_id = actor.id
    db.session.flush()
    audit.record("matching_settings", settings, actor=actor, summary=f"{phase.name}のマッチングの重み・除外条件を変更",
                 before=before, after={"weights": weights, **options_of(settings)})
    request_plan(phase, actor=actor)
    return settings


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
        if not former_members(application):
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
    queue.enqueue_after_commit("default", queue.Job.PLAN_MATCHING, plan.id)
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
    greedy = solver.greedy(model.problem)
    progress(35, f"最適な計画を探しています（最長{int(TIME_LIMIT)}秒）")
    try:
        best = _optimise(model, greedy)
    except solver.Infeasible:
        return _finish(plan, "infeasible", {"problems": ["固定した組合せを、予算・府省庁の混成・人数の条件のもとで同時に満たす計画はありません。"
                                                           "固定を見直してください。"], **model.header()})
    progress(85, "理由と品質の指標をまとめています")
    result = explain.describe(model, best, greedy)
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
    return {"members": [(o, rounded(shares[o.id]), round(sum(shares[o.id].values()), 1)) for o in members],
            "factors": rounded(problem.team_score(application.id, ids)) if ids else {},
            "total": round(sum(problem.team_score(application.id, ids).values()), 1) if ids else 0,
            "breaks": breaks, "conflicts": conflicts}


# --- composing by hand and accepting --------------------------------------------------------------------------

def available_officers(phase: Phase, application=None, q: str = "") -> list[tuple[Officer, list[str]]]:
    """Officers free to join a team now, for composing a team by hand: with what of the answer's priority fields and
    prefecture they match, best fit first; ``q`` narrows them by name, kana, ministry, home town or ties."""
    wanted = list(application.priority_fields) if application is not None else []
    prefecture = application.municipality.prefecture if application is not None else None
    rows = []
    for officer in pool_of(phase)[0]:
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
    return sorted(_optimise(model, solver.greedy(model.problem)).teams.items())


def _optimise(model: Model, greedy: solver.Solution) -> solver.Solution:
    """Exact on a phase whose every pair is weighed; on a larger one, improved part by part from the greedy plan
    within the time limit, with the gap to a bound (see ``solver.solve_in_parts``)."""
    if model.shortlist:
        return solver.solve_in_parts(model.problem, time_limit=TIME_LIMIT, start=greedy.teams)
    return solver.solve(model.problem, time_limit=TIME_LIMIT, start=greedy.teams, gap=PROVED_WITHIN)
