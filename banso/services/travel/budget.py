"""The budget (TRV-2): the phase's figures kept by the database, the cap check under its lock, the cap's
revisions, the teams' visit plans (TEAM-5) and the breakdowns of the budget page."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, case, cast, func, literal, select, union_all, update
from sqlalchemy.orm import contains_eager, joinedload

from banso.clock import JST
from banso.extensions import db
from banso.models import (BudgetBreakdown, BudgetRevision, BudgetTotal, Phase, Team, TeamTravelPlan, TravelClaim, TravelClaimLine, TripEstimateLine,
                          TripRequest, TripStatus, User)
from banso.models.travel import COMMITTED, LIVE
from banso.policies import hold
from banso.policies import travel as policy
from banso.reference import PREFECTURES
from banso.services import InputError, NotPermitted, RuleViolation, approvals, audit, check_version
from banso.services.travel.rates import fiscal_year

WARN_AT, DANGER_AT = 0.80, 0.95
VISITS_PER_QUARTER = 1        # TEAM-5: about one site visit a quarter, the default plan

# --- the budget ----------------------------------------------------------------------------

@dataclass
class Budget:
    cap: int
    committed: int         # approved national-borne requests not yet settled (their estimates)
    spent: int             # settled national-borne claims (their approved amounts)
    forecast: int          # planned site visits not yet requested × their standard cost
    municipality_borne: int
    awaiting: int          # requests and claims waiting for finance

    @property
    def available(self) -> int:
        return self.cap - self.committed - self.spent

    @property
    def used_share(self) -> float:
        return (self.committed + self.spent) / self.cap if self.cap else 1.0

    @property
    def level(self) -> str:
        share = self.used_share
        return "danger" if share >= DANGER_AT else "warning" if share >= WARN_AT else "ok"

    @property
    def forecast_exceeds(self) -> bool:
        return self.committed + self.spent + self.forecast > self.cap


def _committed_sum(phase_id: int, bearer: str = "national"):
    return (select(func.coalesce(func.sum(TripEstimateLine.amount_yen), 0))
            .join(TripRequest, TripRequest.id == TripEstimateLine.trip_id)
            .where(TripRequest.phase_id == phase_id, TripRequest.status.in_(COMMITTED), TripRequest.cost_bearer == bearer))


def _spent_sum(phase_id: int, bearer: str = "national"):
    return (select(func.coalesce(func.sum(func.coalesce(TravelClaimLine.approved_yen, TravelClaimLine.claimed_yen)), 0))
            .join(TravelClaim, TravelClaim.id == TravelClaimLine.claim_id)
            .join(TripRequest, TripRequest.id == TravelClaim.trip_id)
            .where(TripRequest.phase_id == phase_id, TripRequest.status == TripStatus.SETTLED, TripRequest.cost_bearer == bearer))


def budget(phase: Phase) -> Budget:
    """The phase's figures with the forecast of planned visits (the budget page)."""
    with hold.lifted("TRV-2: the forecast counts every team's plan; the figure names no team"):
        forecast = _forecast(phase)
    return _figures(phase, forecast=forecast)


def figures(phase: Phase) -> Budget:
    """The phase's figures at a glance (lists, a trip, the home page): cap, committed, spent, available — no forecast."""
    return _figures(phase)


def _forecast(phase: Phase) -> int:
    """Planned site visits not yet requested × their standard cost, summed in SQL (one statement, no team loaded): the
    phase's teams grouped by support period, visits so far and whether they keep the default plan (a phase has a
    handful of such groups). Teams with a plan of their own bring their sum; the default number of visits of the others
    is decided here (TEAM-5: one a quarter)."""
    requested = _site_visits_query().where(TripRequest.phase_id == phase.id).subquery()
    done = func.coalesce(requested.c.n, 0)
    left = TeamTravelPlan.planned_site_visits - done
    on_default = TeamTravelPlan.id.is_(None)
    rows = db.session.execute(
        select(Team.start_date, Team.end_date, done, on_default, func.count(),
               func.coalesce(func.sum(case((left > 0, left * TeamTravelPlan.standard_visit_cost_yen), else_=0)), 0))
        .select_from(Team).outerjoin(TeamTravelPlan, TeamTravelPlan.team_id == Team.id)
        .outerjoin(requested, requested.c.team_id == Team.id).where(Team.phase_id == phase.id)
        .group_by(Team.start_date, Team.end_date, done, on_default))
    total = 0
    for start, end, n, default, count, planned in rows:
        total += max(0, _default_visits(start, end) - n) * count * phase.travel_standard_visit_yen if default else int(planned)
    return total


def _figures(phase: Phase, *, forecast: int = 0) -> Budget:
    """Cap, committed, spent and municipality-borne in one statement — the phase's row of ``budget_totals``, kept by
    the database in the transaction of every change (models/travel.py: BudgetTotal) — and awaiting in another. The
    forecast (every team's plan) is read only by ``budget``: the cap checks need none of it. Every trip counts,
    whoever asks (TRV-2)."""
    kept = db.session.execute(
        select(Phase.travel_budget_cap_yen, BudgetTotal.national_committed_yen, BudgetTotal.national_spent_yen,
               BudgetTotal.municipality_committed_yen, BudgetTotal.municipality_spent_yen)
        .outerjoin(BudgetTotal, BudgetTotal.phase_id == Phase.id).where(Phase.id == phase.id)).one()
    cap, committed, spent, m_committed, m_spent = (int(v or 0) for v in kept)
    awaiting = db.session.scalar(select(func.count()).where(  # the viewer's work: trips they may see (PUB-2)
        TripRequest.phase_id == phase.id, TripRequest.status.in_((TripStatus.SUBMITTED, TripStatus.CLAIM_SUBMITTED))))
    return Budget(cap=cap, committed=committed, spent=spent, forecast=forecast,
                  municipality_borne=m_committed + m_spent, awaiting=awaiting)


def fresh_figures(phase: Phase) -> tuple[int, int, int, int]:
    """(national committed, national spent, municipality committed, municipality spent) summed afresh from the trips:
    what ``budget_totals`` must equal (``check_kept``, `flask banso check-budget`)."""
    with hold.lifted("TRV-2: the check sums every trip; the figures name no team"):
        return tuple(int(v) for v in db.session.execute(select(
            _committed_sum(phase.id).scalar_subquery(), _spent_sum(phase.id).scalar_subquery(),
            _committed_sum(phase.id, "municipality").scalar_subquery(),
            _spent_sum(phase.id, "municipality").scalar_subquery())).one())


def check_kept(phase: Phase) -> list[str]:
    """Where the money kept by the database differs from the trips summed afresh (nothing, unless the triggers were
    dropped or bypassed): the totals, and each team × month × prefecture of the breakdown. A phase whose trips were
    destroyed at the end of their 保存期間 (services/records) keeps its money as the books had it: nothing to sum."""
    from banso.models import RecordFile

    if db.session.scalar(select(RecordFile.id).where(RecordFile.kind == "travel", RecordFile.fiscal_year == phase.fiscal_year,
                                                     RecordFile.status == "destroyed")) is not None:
        return []
    figures = _figures(phase)
    kept_totals = db.session.execute(select(BudgetTotal.municipality_committed_yen, BudgetTotal.municipality_spent_yen)
                                     .where(BudgetTotal.phase_id == phase.id)).one_or_none() or (0, 0)
    differences = []
    fresh = fresh_figures(phase)
    for label, kept, summed in zip(("国負担の執行予定", "国負担の支出済", "市町村負担の執行予定", "市町村負担の支出済"),
                                   (figures.committed, figures.spent, *kept_totals), fresh):
        if int(kept) != summed:
            differences.append(f"{phase.name} {label}: 保持 {int(kept):,}円 ／ 再計算 {summed:,}円")
    with hold.lifted("TRV-2: the check sums every trip; the figures name no team"):
        kept_rows = {(r.team_id, r.month, r.prefecture, r.bearer): (r.spent_yen, r.committed_yen)
                     for r in db.session.scalars(select(BudgetBreakdown).where(BudgetBreakdown.phase_id == phase.id))
                     if r.spent_yen or r.committed_yen}
        fresh_rows = _fresh_breakdown(phase)
    for key in sorted(set(kept_rows) | set(fresh_rows), key=str):
        if kept_rows.get(key, (0, 0)) != fresh_rows.get(key, (0, 0)):
            differences.append(f"{phase.name} 内訳 {key}: 保持 {kept_rows.get(key, (0, 0))} ／ 再計算 {fresh_rows.get(key, (0, 0))}")
    return differences


def lock_budget(phase: Phase) -> None:
    """Serialise every change that moves the budget on the phase's row of ``budget_totals``: ``SELECT … FOR UPDATE`` on
    PostgreSQL, the database's write lock on SQLite (a no-op write). Nothing of ``phases`` is written."""
    table = BudgetTotal.__table__
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(table).values(phase_id=phase.id).on_conflict_do_nothing(index_elements=["phase_id"]))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(table.c.phase_id).where(table.c.phase_id == phase.id).with_for_update())
    else:
        db.session.execute(update(table).where(table.c.phase_id == phase.id).values(phase_id=table.c.phase_id))


def check_cap(phase: Phase, adding: int, *, releasing: int = 0, action: str) -> None:
    """TRV-2 hard stop, on figures read after the lock."""
    figures = _figures(phase)
    after = figures.committed + figures.spent - releasing + adding
    if after > figures.cap:
        raise RuleViolation("TRV-2", (
            f"予算上限を超えるため{action}できません。上限 {figures.cap:,}円、執行予定 {figures.committed:,}円、"
            f"支出済 {figures.spent:,}円、残額 {figures.available:,}円に対し、この{action}には "
            f"{adding - releasing:,}円が必要です（{after - figures.cap:,}円超過）。"))


def revise_cap(phase: Phase, new_cap: int, reason: str, *, actor: User) -> BudgetRevision:
    """An admin revises the cap with a reason, never below committed + spent; every revision is kept."""
    if not policy.may_revise_cap(actor):
        raise NotPermitted("予算上限の改定は事務局管理者のみが行えます。")
    if not (reason or "").strip():
        raise InputError("改定の理由を入力してください。", "reason")
    if new_cap is None or not 0 <= new_cap <= 10**12:
        raise InputError("新しい上限額を0円以上の整数で入力してください。", "new_cap")
    lock_budget(phase)
    figures = _figures(phase)
    if new_cap < figures.committed + figures.spent:
        raise RuleViolation("TRV-2", f"上限は執行予定と支出済の合計（{figures.committed + figures.spent:,}円）を下回る額にはできません。",
                            "new_cap")
    revision = BudgetRevision(phase_id=phase.id, previous_cap_yen=figures.cap, new_cap_yen=new_cap,
                              reason=reason.strip(), revised_by_id=actor.id)
    db.session.add(revision)
    db.session.execute(update(Phase).where(Phase.id == phase.id).values(travel_budget_cap_yen=new_cap)
                       .execution_options(synchronize_session=False))
    db.session.expire(phase, ["travel_budget_cap_yen"])
    audit.record("revise_cap", phase, actor=actor, summary=f"{phase.name}の旅費予算上限を{figures.cap:,}円から{new_cap:,}円に改定（{revision.reason}）",
                 before={"travel_budget_cap_yen": figures.cap}, after={"travel_budget_cap_yen": new_cap})
    return revision


def request_cap_revision(phase: Phase, new_cap: int | None, reason: str, *, actor: User):
    """TRV-2's cap revision as a decision on its route: taken now by an admin (the default, as today), or when the
    route's last step approves it — the cap's rules checked then, under the budget's lock."""
    if not (reason or "").strip():
        raise InputError("改定の理由を入力してください。", "reason")
    if new_cap is None or not 0 <= new_cap <= 10**12:
        raise InputError("新しい上限額を0円以上の整数で入力してください。", "new_cap")
    return approvals.decide_through_route("cap_revision", f"{phase.name}の旅費予算上限を{new_cap:,}円に改定",
                                          {"phase_id": phase.id, "new_cap": new_cap, "reason": reason.strip()},
                                          drafter=actor, subject_id=phase.id)


def _decided_cap(case, decider: User) -> None:
    revise_cap(db.session.get(Phase, case.payload["phase_id"]), case.payload["new_cap"], case.payload["reason"], actor=decider)


approvals.register("cap_revision", _decided_cap)


def revisions(phase: Phase) -> list[BudgetRevision]:
    return list(db.session.scalars(select(BudgetRevision).options(joinedload(BudgetRevision.revised_by))
                                   .where(BudgetRevision.phase_id == phase.id)
                                   .order_by(BudgetRevision.revised_at.desc(), BudgetRevision.id.desc())))


# --- team plans (TRV-2, TEAM-5) --------------------------------------------------------------

@dataclass
class TeamPlan:
    team: Team
    planned: int
    standard_cost: int
    requested: int          # site-visit trips requested, approved or settled
    custom: bool
    version: int = 0        # of the saved plan (0: none yet), carried by the page's form

    @property
    def remaining(self) -> int:
        return max(0, self.planned - self.requested)

    @property
    def remaining_cost(self) -> int:
        return self.remaining * self.standard_cost


def default_visits(team: Team) -> int:
    """TEAM-5: about one site visit a quarter of the support period."""
    return _default_visits(team.start_date, team.end_date)


def _default_visits(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    return max(1, math.ceil(months / 3)) * VISITS_PER_QUARTER


def _site_visits_query():
    return (select(TripRequest.team_id, func.count().label("n"))
            .where(TripRequest.purpose == "site_visit", TripRequest.status.in_(LIVE))
            .group_by(TripRequest.team_id))


def team_plans(phase: Phase, *, limit: int | None = None, offset: int = 0) -> list[TeamPlan]:
    """The phase's teams (``limit`` at a time, in team order) with their plan (or the default) and their site visits so
    far: two queries."""
    stmt = (select(Team, TeamTravelPlan).outerjoin(TeamTravelPlan, TeamTravelPlan.team_id == Team.id)
            .options(joinedload(Team.municipality)).where(Team.phase_id == phase.id).order_by(Team.id).offset(offset))
    rows = db.session.execute(stmt if limit is None else stmt.limit(limit)).all()
    counts = dict(db.session.execute(_site_visits_query().where(
        TripRequest.team_id.in_([team.id for team, _ in rows]))).all()) if rows else {}
    return [TeamPlan(team, plan.planned_site_visits if plan else default_visits(team),
                     plan.standard_visit_cost_yen if plan else phase.travel_standard_visit_yen,
                     counts.get(team.id, 0), plan is not None, plan.version if plan else 0) for team, plan in rows]


def plans_page(phase: Phase, page: int, per_page: int) -> tuple[int, list[TeamPlan]]:
    """How many teams the phase has, and one page of their plans (the plans page)."""
    total = db.session.scalar(select(func.count()).select_from(Team).where(Team.phase_id == phase.id))
    return total, team_plans(phase, limit=per_page, offset=(page - 1) * per_page)


def plan_for(team: Team) -> TeamPlan:
    """The team's visit plan (its own, or the phase's default) and the site visits requested against it: one statement."""
    requested = (select(func.count()).where(TripRequest.team_id == team.id, TripRequest.purpose == "site_visit",
                                            TripRequest.status.in_(LIVE)).scalar_subquery())
    found = db.session.execute(select(requested, TeamTravelPlan).select_from(Team)
                               .outerjoin(TeamTravelPlan, TeamTravelPlan.team_id == Team.id).where(Team.id == team.id)).first()
    requested, plan = found if found is not None else (0, None)  # a team the viewer may not see: nothing of it counted
    return TeamPlan(team, plan.planned_site_visits if plan else default_visits(team),
                    plan.standard_visit_cost_yen if plan else team.phase.travel_standard_visit_yen, requested, plan is not None)


def set_plan(team: Team, planned_visits: int | None, standard_cost: int | None, note: str = "", *, actor: User,
             expected_version=None) -> TeamTravelPlan:
    """The team's visit plan; ``expected_version`` is the plan's version when the page was opened ("0": none yet)."""
    if not policy.may_plan_visits(actor):
        raise NotPermitted("現地訪問の計画は会計担当が設定します。")
    if planned_visits is None or not 0 <= planned_visits <= 52:
        raise InputError("計画する現地訪問の回数は0〜52回で入力してください。", "planned_site_visits")
    if standard_cost is None or not 0 <= standard_cost <= 10_000_000:
        raise InputError("1回あたりの標準費用は0〜10,000,000円で入力してください。", "standard_visit_cost_yen")
    plan = db.session.scalar(select(TeamTravelPlan).where(TeamTravelPlan.team_id == team.id))
    if plan is not None:
        check_version(plan, expected_version, {"planned_site_visits": "計画回数", "standard_visit_cost_yen": "標準費用（円）"})
    plan = plan or TeamTravelPlan(team_id=team.id)
    before = {"planned_site_visits": plan.planned_site_visits, "standard_visit_cost_yen": plan.standard_visit_cost_yen}
    plan.planned_site_visits, plan.standard_visit_cost_yen, plan.note = planned_visits, standard_cost, (note or "").strip()
    db.session.add(plan)
    audit.record("plan_travel", team, actor=actor, summary=f"{team.name}の現地訪問計画を{planned_visits}回・1回{standard_cost:,}円に設定",
                 before=before, after={"planned_site_visits": planned_visits, "standard_visit_cost_yen": standard_cost})
    return plan


def set_standard_visit_cost(phase: Phase, cost: int | None, *, actor: User) -> None:
    if not policy.may_plan_visits(actor):
        raise NotPermitted("現地訪問の標準費用は会計担当が設定します。")
    if cost is None or not 0 <= cost <= 10_000_000:
        raise InputError("標準費用は0〜10,000,000円で入力してください。", "standard_visit_cost_yen")
    before = phase.travel_standard_visit_yen
    phase.travel_standard_visit_yen = cost
    audit.record("plan_travel", phase, actor=actor, summary=f"{phase.name}の現地訪問1回の標準費用を{cost:,}円に設定",
                 before={"travel_standard_visit_yen": before}, after={"travel_standard_visit_yen": cost})


# --- the budget's breakdowns -----------------------------------------------------------------

def _amounts_by(phase: Phase, key, *, largest: int | None = None) -> dict:
    """National spent and committed grouped by ``key`` of ``budget_breakdown`` (month, team or prefecture): a few
    hundred kept rows of the phase, whatever its number of trips; ``largest``: only that many, the largest first."""
    total = func.sum(BudgetBreakdown.spent_yen) + func.sum(BudgetBreakdown.committed_yen)
    stmt = (select(key, func.sum(BudgetBreakdown.spent_yen), func.sum(BudgetBreakdown.committed_yen))
            .where(BudgetBreakdown.phase_id == phase.id, BudgetBreakdown.bearer == "national").group_by(key).having(total != 0))
    if largest is not None:
        stmt = stmt.order_by(total.desc(), key).limit(largest)
    return {k: (int(spent), int(committed)) for k, spent, committed in db.session.execute(stmt)}


def _fresh_breakdown(phase: Phase) -> dict:
    """{(team, month, prefecture, bearer): (spent, committed)} summed afresh from the trips (``check_kept``)."""
    month = func.substr(cast(TripRequest.depart_on, String), 1, 7)
    key = (TripRequest.team_id, month, TripRequest.destination_prefecture, TripRequest.cost_bearer)
    committed = (select(*key, literal("committed"), func.sum(TripEstimateLine.amount_yen))
                 .join(TripEstimateLine, TripEstimateLine.trip_id == TripRequest.id)
                 .where(TripRequest.phase_id == phase.id, TripRequest.status.in_(COMMITTED)).group_by(*key))
    spent = (select(*key, literal("spent"), func.sum(func.coalesce(TravelClaimLine.approved_yen, TravelClaimLine.claimed_yen)))
             .join(TravelClaim, TravelClaim.trip_id == TripRequest.id).join(TravelClaimLine, TravelClaimLine.claim_id == TravelClaim.id)
             .where(TripRequest.phase_id == phase.id, TripRequest.status == TripStatus.SETTLED).group_by(*key))
    found: dict = {}
    for team_id, month_, prefecture, bearer, kind, yen in db.session.execute(union_all(committed, spent)):
        spent_yen, committed_yen = found.get((team_id, month_, prefecture, bearer), (0, 0))
        found[(team_id, month_, prefecture, bearer)] = (spent_yen + int(yen), committed_yen) if kind == "spent" else \
            (spent_yen, committed_yen + int(yen))
    return {k: v for k, v in found.items() if v != (0, 0)}


def by_month(phase: Phase) -> list[tuple[str, int, int, int]]:
    """(month, spent, committed, cumulative spent + committed) for each month of the fiscal year, by departure."""
    amounts = _amounts_by(phase, BudgetBreakdown.month)
    rows, running, first = [], 0, date(phase.fiscal_year, 4, 1)
    for i in range(12):
        month = date(first.year + (first.month + i - 1) // 12, (first.month + i - 1) % 12 + 1, 1)
        spent, committed = amounts.get(month.strftime("%Y-%m"), (0, 0))
        running += spent + committed
        rows.append((f"{month.month}月", spent, committed, running))
    return rows


def by_team(phase: Phase, *, limit: int | None = None) -> list[tuple[str, int, int]]:
    """Spent and committed per team, largest first (``limit``: the first ones only, for the chart). The teams named
    are loaded as records, so a page naming a held phase's teams is audited like any other (PUB-2)."""
    amounts = _amounts_by(phase, BudgetBreakdown.team_id, largest=limit)
    top = sorted(amounts, key=lambda team_id: (-sum(amounts[team_id]), team_id))
    names = {team.id: team.municipality.name for team in db.session.scalars(
        select(Team).options(joinedload(Team.municipality)).where(Team.id.in_(top)))} if top else {}
    return [(names[team_id], *amounts[team_id]) for team_id in top if team_id in names]


def by_prefecture(phase: Phase) -> list[tuple[str, int, int]]:
    amounts = _amounts_by(phase, BudgetBreakdown.prefecture)
    return [(p, *amounts[p]) for p in PREFECTURES if p in amounts]


def settled_on(trip: TripRequest) -> date | None:
    """The day a trip's claim was settled (Japan time): the accounting books' 支出日."""
    settled = trip.claim.settled_at if trip.claim is not None else None
    return settled.astimezone(JST).date() if settled else None


def ledger_year(trip: TripRequest) -> int:
    """The fiscal year a claim line is booked in: its settlement's, or (not yet settled) the trip's."""
    return fiscal_year(settled_on(trip) or trip.depart_on)


def ledger(phase: Phase):
    """Every claim line of the phase for the accounting books (settled first)."""
    return db.session.execute(
        select(TripRequest, TravelClaimLine).join(TravelClaim, TravelClaim.trip_id == TripRequest.id)
        .join(TravelClaimLine, TravelClaimLine.claim_id == TravelClaim.id)
        .options(joinedload(TripRequest.team).joinedload(Team.municipality), joinedload(TravelClaimLine.officer),
                 contains_eager(TripRequest.claim))
        .where(TripRequest.phase_id == phase.id)
        .order_by(TripRequest.depart_on, TripRequest.id, TravelClaimLine.id)).all()
