"""旅費: trip requests, finance review, claims with receipts, the budget cap, the rate tables.

TRV-1: travel is paid from the Cabinet Office budget; the cost bearer is 国 unless the
secretariat records otherwise. TRV-2: national-borne spend stays under the phase's cap — every
approval and settlement locks the phase's budget row, re-reads the figures and refuses what
would take committed + spent over the cap; visits beyond a team's plan are flagged and the
secretariat records who bears them. TEAM-5: site-visit trips count against the team's planned
(about quarterly) visits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import String, case, cast, exists, func, literal, or_, select, union_all, update
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified

from banso.formatting import parse_id, wareki
from banso.clock import now, today_jst
from banso.extensions import db
from banso.models import (BudgetBreakdown, BudgetRevision, BudgetTotal, LodgingRate, Municipality, NightAllowanceRate, Officer, Phase, Receipt, Role,
                          Team, TeamMembership, TeamTravelPlan, TravelClaim, TravelClaimLine, TripEstimateLine,
                          TripRequest, TripStatus, TripTraveller, User)
from banso.models.travel import BEARERS, CATEGORIES, COMMITTED, LIVE, MEALS, PURPOSES, RATE_BANDS, TRANSPORT
from banso.policies import hold
from banso.policies import travel as policy
from banso.reference import PREFECTURES, typed
from banso.services import (EditedMeanwhile, InputError, NotPermitted, RuleViolation, WrongState, audit, check_version,
                            files, notifications)

SIGNATURE = "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室"
WARN_AT, DANGER_AT = 0.80, 0.95
MAX_LINE_YEN = 1_000_000      # per traveller and category; above it is a typing error
MAX_ROOM_YEN = 100_000        # per night
MAX_NIGHTS = 14
VISITS_PER_QUARTER = 1        # TEAM-5: about one site visit a quarter, the default plan
RECEIPT_TYPES = {b"%PDF-": ("application/pdf", (".pdf",)),
                 b"\xff\xd8\xff": ("image/jpeg", (".jpg", ".jpeg")),
                 b"\x89PNG\r\n\x1a\n": ("image/png", (".png",))}


def page_loads() -> list:
    """What a trip's page shows, loaded with the trip (a statement per relation, not one per row)."""
    return [joinedload(TripRequest.team).joinedload(Team.municipality), joinedload(TripRequest.phase),
            joinedload(TripRequest.filed_by), joinedload(TripRequest.reviewed_by),
            selectinload(TripRequest.travellers), selectinload(TripRequest.estimate_lines),
            joinedload(TripRequest.claim).options(joinedload(TravelClaim.filed_by), joinedload(TravelClaim.reviewed_by),
                                                  selectinload(TravelClaim.lines), selectinload(TravelClaim.receipts))]


def fiscal_year(day: date) -> int:
    """Japan's fiscal year starts on 1 April: 2026-03-31 is FY2025, 2026-04-01 FY2026."""
    return day.year if day.month >= 4 else day.year - 1


def rate_band(officer: Officer) -> str:
    return "指定職" if officer.grade_band == "指定職" else "課長級以下"


# --- rates ---------------------------------------------------------------------------------

def lodging_cap(year: int, band: str, prefecture: str) -> int:
    cap = db.session.scalar(select(LodgingRate.cap_yen).where(
        LodgingRate.fiscal_year == year, LodgingRate.band == band, LodgingRate.prefecture == prefecture))
    if cap is None:
        raise WrongState(f"{year}年度の宿泊費基準額（{prefecture}・{band}）が登録されていません。"
                                     "会計担当に旅費単価表への登録を依頼してください。")
    return cap


def night_allowance(year: int, meals: int) -> int:
    amount = db.session.scalar(select(NightAllowanceRate.amount_yen).where(
        NightAllowanceRate.fiscal_year == year, NightAllowanceRate.meals == meals))
    if amount is None:
        raise WrongState(f"{year}年度の宿泊手当（{MEALS[meals]}）が登録されていません。"
                                     "会計担当に旅費単価表への登録を依頼してください。")
    return amount


def _nights(depart: date, back: date) -> list[date]:
    """The nights of a trip, each named by the day it starts (its fiscal year decides the rate)."""
    return [depart + timedelta(days=i) for i in range((back - depart).days)]


def rates_for(years: set[int], bands: set[str], prefecture: str, meals: int) -> tuple[dict[tuple[int, str], int], dict[int, int]]:
    """The lodging caps ((year, band) → yen) and nightly allowances (year → yen) a trip needs, in one statement; a
    missing rate is refused as ``lodging_cap`` and ``night_allowance`` refuse it."""
    lodging_rows = select(literal("lodging"), LodgingRate.fiscal_year, LodgingRate.band, LodgingRate.cap_yen).where(
        LodgingRate.fiscal_year.in_(years), LodgingRate.band.in_(bands), LodgingRate.prefecture == prefecture)
    allowance_rows = select(literal("allowance"), NightAllowanceRate.fiscal_year, literal(""), NightAllowanceRate.amount_yen).where(
        NightAllowanceRate.fiscal_year.in_(years), NightAllowanceRate.meals == meals)
    lodging, allowance = {}, {}
    for kind, year, band, yen in db.session.execute(union_all(lodging_rows, allowance_rows)):
        if kind == "lodging":
            lodging[(year, band)] = yen
        else:
            allowance[year] = yen
    for year in sorted(years):
        for band in sorted(bands):
            if (year, band) not in lodging:
                raise WrongState(f"{year}年度の宿泊費基準額（{prefecture}・{band}）が登録されていません。"
                                 "会計担当に旅費単価表への登録を依頼してください。")
        if year not in allowance:
            raise WrongState(f"{year}年度の宿泊手当（{MEALS[meals]}）が登録されていません。"
                             "会計担当に旅費単価表への登録を依頼してください。")
    return lodging, allowance


def lodging_limit(depart: date, back: date, band: str, prefecture: str) -> int:
    """The most lodging a traveller may be paid for the trip: the cap of each night's fiscal year."""
    return sum(lodging_cap(fiscal_year(night), band, prefecture) for night in _nights(depart, back))


def allowance_limit(depart: date, back: date, meals: int) -> int:
    return sum(night_allowance(fiscal_year(night), meals) for night in _nights(depart, back))


def fiscal_years() -> list[int]:
    years = set(db.session.scalars(select(LodgingRate.fiscal_year).distinct()))
    years |= set(db.session.scalars(select(NightAllowanceRate.fiscal_year).distinct()))
    return sorted(years, reverse=True)


def rate_table(year: int) -> tuple[dict[tuple[str, str], int], dict[int, int]]:
    lodging = {(r.band, r.prefecture): r.cap_yen
               for r in db.session.scalars(select(LodgingRate).where(LodgingRate.fiscal_year == year))}
    allowances = {r.meals: r.amount_yen
                  for r in db.session.scalars(select(NightAllowanceRate).where(NightAllowanceRate.fiscal_year == year))}
    return lodging, allowances


def rates_fingerprint(year: int) -> str:
    """The year's table as it stands, in a few characters: the rate form carries it, so a table saved by someone
    else after the form was opened is never overwritten (the table is many rows; this is its version)."""
    import hashlib

    lodging, allowances = rate_table(year)
    text = repr((sorted(lodging.items()), sorted(allowances.items())))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def carry_rates(from_year: int, to_year: int, *, actor: User | None) -> int:
    """A new fiscal year starts from last year's table (finance then edits it); a year that has a table keeps it.
    Returns how many rates were carried."""
    lodging, allowances = rate_table(to_year)
    if lodging or allowances:
        return 0
    lodging, allowances = rate_table(from_year)
    for (band, prefecture), cap in lodging.items():
        db.session.add(LodgingRate(fiscal_year=to_year, band=band, prefecture=prefecture, cap_yen=cap))
    for meals, amount in allowances.items():
        db.session.add(NightAllowanceRate(fiscal_year=to_year, meals=meals, amount_yen=amount))
    if lodging or allowances:
        audit.record("carry_rates", None, actor=actor, object_type="rates", summary=f"{to_year}年度の旅費単価を{from_year}年度の単価から作成（{len(lodging) + len(allowances)}件）")
    return len(lodging) + len(allowances)


def save_rates(year: int, lodging: dict[tuple[str, str], str], allowances: dict[int, str], *, actor: User | None,
               expected_fingerprint: str | None = None) -> int:
    """Set a fiscal year's table from the rate form: every value checked first, then all saved."""
    if not 2000 <= year <= 2100:
        raise InputError("年度は西暦4桁で入力してください。", "fiscal_year")
    if expected_fingerprint is not None and expected_fingerprint != rates_fingerprint(year):
        raise EditedMeanwhile(f"他の方が先に{year}年度の単価表を更新しました。あなたの入力は下に残しています。"
                              "保存されている単価を別のタブで確かめ、必要なら直してからもう一度保存してください。")
    errors, clean_lodging, clean_allowances = [], {}, {}
    for (band, prefecture), text in lodging.items():
        if band not in RATE_BANDS or prefecture not in PREFECTURES:
            errors.append(f"区分「{band}」または都道府県「{prefecture}」が正しくありません。")
            continue
        value = _yen(text, 1, 200_000)
        if value is None:
            errors.append(f"{prefecture}（{band}）の宿泊費基準額は1〜200,000円の整数で入力してください。")
        clean_lodging[(band, prefecture)] = value
    for meals, text in allowances.items():
        value = _yen(text, 0, 100_000)
        if meals not in MEALS or value is None:
            errors.append(f"宿泊手当（{MEALS.get(meals, meals)}）は0〜100,000円の整数で入力してください。")
        clean_allowances[meals] = value
    if errors:
        raise InputError("；".join(errors[:5]) + (f"（ほか{len(errors) - 5}件）" if len(errors) > 5 else ""))
    current_lodging, current_allowances = rate_table(year)
    rows = {(r.band, r.prefecture): r for r in db.session.scalars(select(LodgingRate).where(LodgingRate.fiscal_year == year))}
    changed = {}
    for key, value in clean_lodging.items():
        if current_lodging.get(key) != value:
            changed[f"{key[1]}・{key[0]}"] = (current_lodging.get(key), value)
            row = rows.get(key) or LodgingRate(fiscal_year=year, band=key[0], prefecture=key[1])
            row.cap_yen = value
            db.session.add(row)
    allowance_rows = {r.meals: r for r in db.session.scalars(
        select(NightAllowanceRate).where(NightAllowanceRate.fiscal_year == year))}
    for meals, value in clean_allowances.items():
        if current_allowances.get(meals) != value:
            changed[f"宿泊手当・{MEALS[meals]}"] = (current_allowances.get(meals), value)
            row = allowance_rows.get(meals) or NightAllowanceRate(fiscal_year=year, meals=meals)
            row.amount_yen = value
            db.session.add(row)
    if changed:
        db.session.flush()
        marker = db.session.scalar(select(LodgingRate).where(LodgingRate.fiscal_year == year).limit(1)) \
            or db.session.scalar(select(NightAllowanceRate).where(NightAllowanceRate.fiscal_year == year).limit(1))
        audit.record("update_rates", marker, actor=actor, summary=f"{year}年度の旅費単価を{len(changed)}件更新",
                     before={k: v[0] for k, v in changed.items()}, after={k: v[1] for k, v in changed.items()})
    return len(changed)


def parse_yen(text, *, blank: int | None = None) -> int | None:
    """A typed amount ("12,000" or "12000円") as integer yen; ``blank`` for an empty field, None when not a number."""
    raw = typed(text).replace(",", "").replace("円", "").replace("¥", "").strip()
    if not raw:
        return blank
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 15 else None  # not 「²」; ≤ 999兆円


def _yen(text, low: int, high: int) -> int | None:
    value = parse_yen(text)
    return value if value is not None and low <= value <= high else None


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
    dropped or bypassed): the totals, and each team × month × prefecture of the breakdown."""
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


def _lock_budget(phase: Phase) -> None:
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


def _check_cap(phase: Phase, adding: int, *, releasing: int = 0, action: str) -> None:
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
    _lock_budget(phase)
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


# --- estimates -------------------------------------------------------------------------------

@dataclass
class EstimateLine:
    officer: Officer
    category: str
    amount: int
    detail: str = ""

    @property
    def category_label(self) -> str:
        return CATEGORIES[self.category]


@dataclass
class Estimate:
    lines: list[EstimateLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    def by_officer(self) -> dict[Officer, list[EstimateLine]]:
        grouped: dict[Officer, list[EstimateLine]] = {}
        for line in self.lines:
            grouped.setdefault(line.officer, []).append(line)
        return grouped


def members_on(team: Team, start: date, end: date) -> list[Officer]:
    """The team's members over the whole of start..end (a replaced member only for their own time)."""
    return [m.officer for m in team.memberships if m.joined_on <= start and (m.left_on is None or m.left_on >= end)]


def check_request(team: Team, data: dict) -> tuple[list[Officer], Estimate]:
    """Every input of a trip request checked, and the estimate from the rate tables.
    Raises one RuleViolation naming the field; changes nothing."""
    depart, back = data.get("depart_on"), data.get("return_on")
    if depart is None or back is None:
        raise InputError("出発日と帰着日を入力してください。", "depart_on")
    if back < depart:
        raise InputError("帰着日は出発日以降にしてください。", "return_on")
    if not (team.start_date <= depart and back <= team.end_date):
        raise InputError(f"出張はチームの支援期間（{wareki(team.start_date)}〜{wareki(team.end_date)}）内の日程にしてください。",
                            "depart_on")
    if (back - depart).days > MAX_NIGHTS:
        raise InputError(f"1回の出張は{MAX_NIGHTS}泊までです。日程をご確認ください。", "return_on")
    if data.get("purpose") not in PURPOSES:
        raise InputError("用務の種類を選んでください。", "purpose")
    prefecture = data.get("destination_prefecture")
    if prefecture not in PREFECTURES:
        raise InputError(f"都道府県「{prefecture or ''}」は選択肢にありません。", "destination_prefecture")
    ids = [n for n in map(parse_id, data.get("travellers") or []) if n]
    if not 1 <= len(set(ids)) <= 3:
        raise InputError("出張者はチームのメンバーから1〜3名を選んでください。", "travellers")
    members = {o.id: o for o in members_on(team, depart, back)}
    strangers = [i for i in ids if i not in members]
    if strangers:
        names = [o.name for o in db.session.scalars(select(Officer).where(Officer.id.in_(strangers)))] or ["選択された方"]
        raise InputError(f"{'、'.join(names)}さんは出張期間中の{team.name}のメンバーではありません。", "travellers")
    meals = data.get("meals") or 0
    if meals not in MEALS:
        raise InputError("食事の有無を選んでください。", "meals")
    amounts = {}
    for name in [*TRANSPORT, "package"]:
        value = data.get(f"{name}_yen") or 0
        if not 0 <= value <= MAX_LINE_YEN:
            raise InputError(f"{CATEGORIES[name]}は1人あたり0〜{MAX_LINE_YEN:,}円で入力してください。", f"{name}_yen")
        amounts[name] = value
    room = data.get("room_rate_yen") or 0
    if not 0 <= room <= MAX_ROOM_YEN:
        raise InputError(f"宿泊料金は1泊あたり0〜{MAX_ROOM_YEN:,}円で入力してください。", "room_rate_yen")
    nights = _nights(depart, back)
    if amounts["package"] and room:
        raise InputError("包括宿泊費（パック）を使う場合、宿泊料金は0円にしてください（パック料金に含まれます）。", "room_rate_yen")
    if nights and not room and not amounts["package"]:
        raise InputError("宿泊を伴う出張です。1泊あたりの宿泊料金を入力してください。", "room_rate_yen")
    travellers = [members[i] for i in dict.fromkeys(ids)]
    estimate = Estimate()
    caps_by_band: dict[str, list[int]] = {}  # each night's cap, read once per band for all travellers
    allowance: int | None = None  # the same for every traveller
    for officer in travellers:
        for name in [*TRANSPORT, "package"]:
            if amounts[name]:
                estimate.lines.append(EstimateLine(officer, name, amounts[name], "実費"))
        if nights and room:
            band = rate_band(officer)
            if band not in caps_by_band:
                caps_by_band[band] = [lodging_cap(fiscal_year(n), band, prefecture) for n in nights]
            caps = caps_by_band[band]
            detail = f"{len(nights)}泊 × 実費（上限 {'／'.join(f'{c:,}円' for c in sorted(set(caps)))}）"
            estimate.lines.append(EstimateLine(officer, "lodging", sum(min(room, cap) for cap in caps), detail))
        if nights:
            if allowance is None:
                allowance = allowance_limit(depart, back, meals)
            estimate.lines.append(EstimateLine(officer, "night_allowance", allowance, f"{len(nights)}泊（{MEALS[meals]}）"))
    return travellers, estimate


@dataclass
class Fit:
    """Whether a request fits in what is available (shown while the form is filled in)."""

    estimate: Estimate
    budget: Budget
    over_plan: bool
    bearer: str

    @property
    def fits(self) -> bool:
        return self.bearer != "national" or self.estimate.total <= self.budget.available

    @property
    def available_after(self) -> int:
        return self.budget.available - (self.estimate.total if self.bearer == "national" else 0)


def fit(team: Team, data: dict, *, trip: TripRequest | None = None) -> Fit:
    _, estimate = check_request(team, data)
    over = _is_over_plan(team, data.get("purpose"), trip)
    bearer = trip.cost_bearer if trip is not None else "national"
    return Fit(estimate, _figures(team.phase), over, bearer)


def _is_over_plan(team: Team, purpose: str | None, trip: TripRequest | None) -> bool:
    """TRV-2 / TEAM-5: a site visit beyond the team's planned number."""
    if purpose != "site_visit":
        return False
    plan = plan_for(team)
    already = plan.requested - (1 if trip is not None and trip.purpose == "site_visit" and trip.status in LIVE else 0)
    return already + 1 > plan.planned


# --- trip requests ---------------------------------------------------------------------------

def file_request(team: Team, data: dict, *, actor: User) -> TripRequest:
    """An officer files for their own team, or staff on an officer's behalf (TRV-1: 国 bears it)."""
    if not policy.may_file_for(team, actor):
        raise NotPermitted(f"{team.name}の出張を申請できるのは、そのチームのメンバーと事務局です。")
    travellers, estimate = check_request(team, data)
    trip = TripRequest(phase_id=team.phase_id, team_id=team.id, filed_by_id=actor.id, cost_bearer="national")
    _apply(trip, data, travellers, estimate)
    trip.over_plan = _is_over_plan(team, trip.purpose, None)
    db.session.add(trip)
    db.session.flush()
    db.session.expire(trip, ["estimated_yen"])  # computed in SQL from the lines just written
    audit.record("file", trip, actor=actor, summary=f"{trip.number} {team.name}の出張（{trip.purpose_label}、{trip.depart_on:%-m月%-d日}〜）を申請"
                 f"（見積 {estimate.total:,}円{'、計画超過' if trip.over_plan else ''}）",
                 after={"estimate_yen": estimate.total, "travellers": [o.id for o in travellers]})
    return trip


# What a stale form is shown of the trip as saved (services.check_version); a claim's filing and review move the
# trip's status, so the trip's version covers its claim too.
TRIP_FIELDS = {"status_label": "状態", "depart_on": "出発日", "return_on": "帰着日", "destination": "用務先"}


def update_request(trip: TripRequest, data: dict, *, actor: User, expected_version=None) -> TripRequest:
    """Correct a request awaiting review or returned; it goes back to finance."""
    check_version(trip, expected_version, TRIP_FIELDS)
    if trip.status not in (TripStatus.SUBMITTED, TripStatus.RETURNED):
        raise WrongState(f"「{trip.status_label}」の申請は修正できません。")
    if not policy.may_edit(trip, actor):
        raise NotPermitted("この申請を修正できるのは、申請者・出張者と事務局です。")
    before = {"estimate_yen": trip.estimated_yen, "status": trip.status}
    travellers, estimate = check_request(trip.team, data)
    trip.travellers.clear()
    trip.estimate_lines.clear()
    db.session.flush()
    _apply(trip, data, travellers, estimate)
    trip.over_plan = _is_over_plan(trip.team, trip.purpose, trip)
    if trip.status == TripStatus.RETURNED:
        trip.review_round += 1
    trip.status = TripStatus.SUBMITTED
    db.session.flush()
    db.session.expire(trip, ["estimated_yen"])
    audit.record("update", trip, actor=actor, summary=f"{trip.number}を修正して再申請（見積 {estimate.total:,}円）",
                 before=before, after={"estimate_yen": estimate.total, "status": trip.status})
    return trip


def _apply(trip: TripRequest, data: dict, travellers: list[Officer], estimate: Estimate) -> None:
    trip.purpose = data["purpose"]
    trip.destination_prefecture = data["destination_prefecture"]
    trip.destination = (data.get("destination") or "").strip()[:200] or trip.team.municipality.name
    trip.depart_on, trip.return_on = data["depart_on"], data["return_on"]
    trip.itinerary = (data.get("itinerary") or "").strip()[:4000]
    trip.room_rate_yen, trip.meals = data.get("room_rate_yen") or 0, data.get("meals") or 0
    for officer in travellers:
        trip.travellers.append(TripTraveller(officer=officer, band=rate_band(officer)))
    for line in estimate.lines:
        trip.estimate_lines.append(TripEstimateLine(officer=line.officer, category=line.category, amount_yen=line.amount,
                                                    detail=line.detail))


def request_form_data(trip: TripRequest) -> dict:
    """A stored request as the form's data (to correct it); per-person amounts from the first traveller."""
    first = trip.travellers[0].officer_id if trip.travellers else None
    amount = {line.category: line.amount_yen for line in trip.estimate_lines if line.officer_id == first}
    data = {"travellers": [str(t.officer_id) for t in trip.travellers], "purpose": trip.purpose,
            "destination_prefecture": trip.destination_prefecture, "destination": trip.destination,
            "depart_on": trip.depart_on, "return_on": trip.return_on, "itinerary": trip.itinerary,
            "room_rate_yen": trip.room_rate_yen, "meals": trip.meals}
    data.update({f"{name}_yen": amount.get(name, 0) for name in [*TRANSPORT, "package"]})
    data["version"] = trip.version
    return data


def decide_bearer(trip: TripRequest, bearer: str, reason: str, *, actor: User, expected_version=None) -> TripRequest:
    """TRV-2: the secretariat records who bears a trip (a visit beyond the plan may be the municipality's)."""
    check_version(trip, expected_version, TRIP_FIELDS)
    if not policy.may_decide_bearer(None, actor):
        raise NotPermitted("費用負担者は事務局が決定します。")
    if bearer not in BEARERS:
        raise InputError("費用負担者を選んでください。", "cost_bearer")
    if not (reason or "").strip():
        raise InputError("費用負担者を決定した理由を入力してください。", "bearer_reason")
    if trip.status not in (TripStatus.SUBMITTED, TripStatus.RETURNED):
        raise WrongState("費用負担者は承認前の申請についてのみ決定できます。")
    before = {"cost_bearer": trip.cost_bearer}
    trip.cost_bearer, trip.bearer_reason = bearer, reason.strip()
    trip.bearer_decided_by_id, trip.bearer_decided_at = actor.id, now()
    audit.record("decide_bearer", trip, actor=actor, summary=f"{trip.number}の費用負担者を「{BEARERS[bearer]}」に決定（{trip.bearer_reason}）",
                 before=before, after={"cost_bearer": bearer})
    return trip


def _not_own(trip: TripRequest, actor: User, what: str) -> None:
    """Nobody approves their own request or claim."""
    if policy.is_own(trip, actor):
        raise NotPermitted(f"ご自身が申請者・出張者である{what}は審査できません。別の会計担当が審査してください。")


def _move(trip: TripRequest, from_status: tuple[str, ...], to_status: str) -> None:
    """Change the status only if nobody else has meanwhile: the second of two clicks loses here."""
    moved = db.session.execute(update(TripRequest).where(TripRequest.id == trip.id, TripRequest.status.in_(from_status))
                               .values(status=to_status).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        db.session.expire(trip, ["status"])
        raise WrongState(f"{trip.number}は既に他の方が処理しました（現在「{trip.status_label}」）。画面を再読み込みしてください。")
    db.session.expire(trip, ["status"])
    flag_modified(trip, "team_id")  # the trip joins the flush: its version moves, and a closed team's refuses (closing.py)


REVIEW_DECISIONS = {"approve": "承認", "return": "差戻し", "reject": "却下"}


def review_request(trip: TripRequest, decision: str, comment: str = "", *, actor: User, expected_version=None) -> TripRequest:
    """Finance approves (committing the estimate, never over the cap), returns with a comment, or rejects."""
    check_version(trip, expected_version, TRIP_FIELDS)
    if not policy.may_review(actor):
        raise NotPermitted("出張申請の審査は会計担当が行います。")
    if decision not in REVIEW_DECISIONS:
        raise InputError("審査の結果を選んでください。")
    if trip.status != TripStatus.SUBMITTED:
        raise WrongState(f"「{trip.status_label}」の申請は審査できません。")
    _not_own(trip, actor, "出張申請")
    comment = (comment or "").strip()
    if decision in ("return", "reject") and not comment:
        raise InputError(f"{REVIEW_DECISIONS[decision]}の理由をコメントに入力してください。", "comment")
    if decision == "approve":
        if trip.over_plan and trip.bearer_decided_at is None:
            raise RuleViolation("TRV-2", "チームの現地訪問計画を超える出張です。事務局が費用負担者（国／市町村）を決定してから承認してください。")
        _lock_budget(trip.phase)
        if trip.cost_bearer == "national":
            _check_cap(trip.phase, trip.estimated_yen, action="承認")
        _move(trip, (TripStatus.SUBMITTED,), TripStatus.APPROVED)
        trip.approved_at = now()
    else:
        _move(trip, (TripStatus.SUBMITTED,), TripStatus.RETURNED if decision == "return" else TripStatus.REJECTED)
    trip.review_comment, trip.reviewed_by_id, trip.reviewed_at = comment, actor.id, now()
    audit.record(f"review_{decision}", trip, actor=actor,
                 summary=f"{trip.number}を{REVIEW_DECISIONS[decision]}（見積 {trip.estimated_yen:,}円）{('：' + comment) if comment else ''}",
                 after={"status": trip.status})
    _notify(trip, f"request-{decision}", f"出張申請 {trip.number} が{REVIEW_DECISIONS[decision]}されました",
            f"{trip.team.name}の出張申請（{trip.purpose_label}、{wareki(trip.depart_on)}〜{trip.return_on:%-m月%-d日}、"
            f"見積 {trip.estimated_yen:,}円）を{REVIEW_DECISIONS[decision]}しました。" + (f"\n\nコメント: {comment}" if comment else "")
            + ("\n\n出張後、Bansoから精算を申請してください。" if decision == "approve" else "")
            + ("\n\n内容を修正して再申請してください。" if decision == "return" else ""))
    return trip


def cancel_request(trip: TripRequest, *, actor: User, expected_version=None) -> TripRequest:
    """Withdraw a request before its claim: an approved estimate is released from the budget."""
    check_version(trip, expected_version, TRIP_FIELDS)
    if not policy.may_edit(trip, actor):
        raise NotPermitted("この申請を取り消せるのは、申請者・出張者と事務局です。")
    if trip.status == TripStatus.APPROVED:
        _lock_budget(trip.phase)  # an approved estimate is released from the budget
    _move(trip, (TripStatus.SUBMITTED, TripStatus.RETURNED, TripStatus.APPROVED), TripStatus.CANCELLED)
    audit.record("cancel", trip, actor=actor, summary=f"{trip.number}を取消（見積 {trip.estimated_yen:,}円を解放）",
                 after={"status": trip.status})
    return trip


def _notify(trip: TripRequest, event: str, subject: str, body: str) -> None:
    """The filer and the travellers hear of each decision, once each, through the outbox."""
    recipients: dict[str, tuple[str, User | None]] = {}
    for traveller in trip.travellers:
        recipients.setdefault(traveller.officer.email, (traveller.officer.name, traveller.officer.user))
    if trip.filed_by is not None and trip.filed_by.role == Role.OFFICER:
        recipients.setdefault(trip.filed_by.email, (trip.filed_by.name, trip.filed_by))
    for email, (name, user) in recipients.items():
        notifications.notify(key=f"trip-{trip.id}-{trip.review_round}-{event}-{email}", kind="travel_decision", obj=trip,
                             recipient_email=email, recipient_name=name, recipient_user=user,
                             subject=f"【地方創生伴走支援】{subject}", body=f"{name} 様\n\n{body}\n\n{SIGNATURE}")


# --- claims ----------------------------------------------------------------------------------

@dataclass
class ClaimInput:
    officer_id: int
    category: str
    claimed: int | None
    exception_reason: str = ""


def claim_limits(trip: TripRequest) -> dict[tuple[int, str], int]:
    """Per traveller: the lodging cap over the trip's nights, and the full nightly allowance."""
    if not trip.nights:
        return {}
    nights = _nights(trip.depart_on, trip.return_on)
    bands = {t.band for t in trip.travellers}
    caps, allowances = rates_for({fiscal_year(n) for n in nights}, bands, trip.destination_prefecture, 0)
    lodging = {band: sum(caps[(fiscal_year(n), band)] for n in nights) for band in bands}
    allowance = sum(allowances[fiscal_year(n)] for n in nights)
    limits = {}
    for t in trip.travellers:
        limits[(t.officer_id, "lodging")] = lodging[t.band]
        limits[(t.officer_id, "night_allowance")] = allowance
    return limits


def claim_not_yet(trip: TripRequest) -> str | None:
    """Why a claim cannot be filed yet (the trip has not started): said before the form is filled in, not after."""
    if trip.depart_on > today_jst():
        return f"精算は出張の開始日（{wareki(trip.depart_on)}）以降に申請できます。出張を終えてから、領収書を添えて申請してください。"
    return None


def file_claim(trip: TripRequest, lines: list[ClaimInput], uploads: list[tuple[str, bytes]], *, actor: User, expected_version=None) -> TravelClaim:
    """精算 after the trip: actual amounts per traveller and category, with receipts. Lodging above the
    cap needs a recorded exception; everything is checked before anything is stored."""
    check_version(trip, expected_version, TRIP_FIELDS)
    if trip.status not in (TripStatus.APPROVED, TripStatus.CLAIM_RETURNED):
        raise WrongState(f"「{trip.status_label}」の出張は精算できません（承認済の出張が対象です）。")
    if not policy.may_edit(trip, actor):
        raise NotPermitted("この出張を精算できるのは、申請者・出張者と事務局です。")
    if (wait := claim_not_yet(trip)) is not None:
        raise WrongState(wait)
    travellers = {t.officer_id for t in trip.travellers}
    limits = claim_limits(trip)
    estimate = {(line.officer_id, line.category): line.amount_yen for line in trip.estimate_lines}
    names = {t.officer_id: t.officer.name for t in trip.travellers}
    clean: list[TravelClaimLine] = []
    for item in lines:
        if item.officer_id not in travellers or item.category not in CATEGORIES:
            raise InputError("精算の行に、この出張の出張者・費目ではないものがあります。")
        label = f"{names[item.officer_id]}さんの{CATEGORIES[item.category]}"
        if item.claimed is None or not 0 <= item.claimed <= MAX_LINE_YEN:
            raise InputError(f"{label}は0〜{MAX_LINE_YEN:,}円の整数で入力してください。", "lines")
        if item.category in ("lodging", "night_allowance") and not trip.nights and item.claimed:
            raise InputError(f"{label}: 日帰りの出張には宿泊費・宿泊手当は支給されません。", "lines")
        limit = limits.get((item.officer_id, item.category))
        reason = (item.exception_reason or "").strip()
        if item.category == "lodging" and limit is not None and item.claimed > limit and not reason:
            raise InputError(f"{label} {item.claimed:,}円は宿泊費基準額の合計 {limit:,}円を超えています。"
                                         "超える額を請求する場合は、やむを得ない理由（例外事由）を入力してください。", "lines")
        if item.category == "night_allowance" and limit is not None and item.claimed > limit:
            raise InputError(f"{label}は最大 {limit:,}円です。", "lines")
        if item.claimed or (item.officer_id, item.category) in estimate:
            clean.append(TravelClaimLine(officer_id=item.officer_id, category=item.category,
                                         estimate_yen=estimate.get((item.officer_id, item.category), 0),
                                         claimed_yen=item.claimed, cap_yen=limit if item.category == "lodging" else None,
                                         exception_reason=reason if item.category == "lodging" else ""))
    if not any(line.claimed_yen for line in clean):
        raise InputError("精算する金額を入力してください。", "lines")
    checked = [check_receipt(name, data) for name, data in uploads]
    if not checked and not (trip.claim is not None and trip.claim.receipts):
        raise InputError("領収書（PDF・JPEG・PNG）を1つ以上添付してください。", "receipts")
    claim = trip.claim
    if claim is None:
        claim = TravelClaim(trip=trip)
        db.session.add(claim)
    replaced = [_line_record(line) for line in claim.lines]  # a corrected claim keeps the lines it replaces
    claim.lines.clear()
    db.session.flush()
    claim.lines.extend(clean)
    claim.filed_by_id, claim.filed_at, claim.review_comment = actor.id, now(), ""
    for name, data, content_type in checked:
        _store_receipt(claim, name, data, content_type, actor=actor)
    if trip.status == TripStatus.CLAIM_RETURNED:
        trip.review_round += 1
    _move(trip, (TripStatus.APPROVED, TripStatus.CLAIM_RETURNED), TripStatus.CLAIM_SUBMITTED)
    db.session.flush()
    db.session.expire(claim, ["claimed_yen", "approved_yen"])
    audit.record("claim", trip, actor=actor, summary=f"{trip.number}の精算を申請（請求 {claim.claimed_yen:,}円、見積 {trip.estimated_yen:,}円）",
                 before={"lines": replaced} if replaced else None,
                 after={"claimed_yen": claim.claimed_yen, "lines": [_line_record(line) for line in claim.lines]})
    return claim


def _line_record(line: TravelClaimLine) -> dict:
    return {"officer": line.officer_id, "category": line.category, "claimed_yen": line.claimed_yen,
            "exception_reason": line.exception_reason}


def check_receipt(filename: str, data: bytes) -> tuple[str, bytes, str]:
    """A receipt is what its content says it is (PDF/JPEG/PNG), its extension agrees, and it fits the limit."""
    name = files.safe_name(filename)
    limit = current_app.config["RECEIPT_MAX_BYTES"]
    if not name:
        raise InputError("領収書のファイル名がありません。", "receipts")
    if not data:
        raise InputError(f"領収書「{name}」は空のファイルです。", "receipts")
    if len(data) > limit:
        raise InputError(f"領収書「{name}」は{len(data) / 1024 / 1024:.1f}MBあります。1ファイル{limit // 1024 // 1024}MBまでです。", "receipts")
    for magic, (content_type, extensions) in RECEIPT_TYPES.items():
        if data.startswith(magic):
            if not name.lower().endswith(extensions):
                raise InputError(f"領収書「{name}」の中身は{content_type.split('/')[1].upper()}ですが、拡張子が一致しません。", "receipts")
            return name, data, content_type
    raise InputError(f"領収書「{name}」はPDF・JPEG・PNGのいずれでもありません（中身を確認しました）。", "receipts")


def _store_receipt(claim: TravelClaim, name: str, data: bytes, content_type: str, *, actor: User) -> Receipt:
    digest = files.store(data)
    receipt = Receipt(claim=claim, filename=name, content_type=content_type, size_bytes=len(data), sha256=digest,
                      uploaded_by_id=actor.id)
    db.session.add(receipt)
    return receipt


def add_receipts(trip: TripRequest, uploads: list[tuple[str, bytes]], *, actor: User) -> list[Receipt]:
    if trip.claim is None or trip.status == TripStatus.SETTLED:
        raise WrongState("領収書は精算中（未精算）の出張にのみ追加できます。")
    if not policy.may_edit(trip, actor):
        raise NotPermitted("この出張に領収書を追加できるのは、申請者・出張者と事務局です。")
    if not uploads:
        raise InputError("追加する領収書を選んでください。", "receipts")
    checked = [check_receipt(name, data) for name, data in uploads]
    receipts = [_store_receipt(trip.claim, name, data, content_type, actor=actor) for name, data, content_type in checked]
    audit.record("add_receipts", trip, actor=actor, summary=f"{trip.number}に領収書を{len(receipts)}件追加",
                 after={"files": [r.filename for r in receipts]})
    return receipts


CLAIM_DECISIONS = {"settle": "精算", "return": "差戻し"}


def review_claim(trip: TripRequest, decision: str, approvals: dict[int, tuple[int | None, str]], comment: str = "", *,
                 actor: User, expected_version=None) -> TravelClaim:
    """Finance settles (approved amount per line, less than claimed only with a reason; the trip's
    estimate leaves committed and the approved total enters spent, never over the cap) or returns."""
    check_version(trip, expected_version, TRIP_FIELDS)
    if not policy.may_review(actor):
        raise NotPermitted("精算の審査は会計担当が行います。")
    if decision not in CLAIM_DECISIONS:
        raise InputError("審査の結果を選んでください。")
    if trip.status != TripStatus.CLAIM_SUBMITTED or trip.claim is None:
        raise WrongState(f"「{trip.status_label}」の出張は精算の審査ができません。")
    _not_own(trip, actor, "精算")
    claim, comment = trip.claim, (comment or "").strip()
    if decision == "return":
        if not comment:
            raise InputError("差戻しの理由をコメントに入力してください。", "comment")
        _move(trip, (TripStatus.CLAIM_SUBMITTED,), TripStatus.CLAIM_RETURNED)
    else:
        for line in claim.lines:
            approved, reason = approvals.get(line.id, (line.claimed_yen, ""))
            label = f"{line.officer.name}さんの{line.category_label}"
            if approved is None or not 0 <= approved <= line.claimed_yen:
                raise InputError(f"{label}の認定額は0〜{line.claimed_yen:,}円（請求額以内）で入力してください。", "approvals")
            if approved < line.claimed_yen and not (reason or "").strip():
                raise InputError(f"{label}を請求額より減額する理由を入力してください。", "approvals")
            line.approved_yen, line.reduction_reason = approved, (reason or "").strip() if approved < line.claimed_yen else ""
        db.session.flush()
        total = sum(line.approved_yen for line in claim.lines)
        _lock_budget(trip.phase)
        if trip.cost_bearer == "national":
            _check_cap(trip.phase, total, releasing=trip.estimated_yen, action="精算")
        _move(trip, (TripStatus.CLAIM_SUBMITTED,), TripStatus.SETTLED)
        claim.settled_at = now()
    claim.review_comment, claim.reviewed_by_id = comment, actor.id
    db.session.flush()
    db.session.expire(claim, ["claimed_yen", "approved_yen"])
    audit.record(f"claim_{decision}", trip, actor=actor,
                 summary=f"{trip.number}の精算を{CLAIM_DECISIONS[decision]}（請求 {claim.claimed_yen:,}円、認定 {claim.approved_yen:,}円）",
                 after={"status": trip.status, "approved_yen": claim.approved_yen})
    reduced = [f"・{line.officer.name} {line.category_label}: 請求 {line.claimed_yen:,}円 → 認定 {line.approved_yen:,}円（{line.reduction_reason}）"
               for line in claim.lines if decision == "settle" and line.approved_yen < line.claimed_yen]
    _notify(trip, f"claim-{decision}", f"出張 {trip.number} の精算が{'完了しました' if decision == 'settle' else '差し戻されました'}",
            f"{trip.team.name}の出張（{wareki(trip.depart_on)}〜{trip.return_on:%-m月%-d日}）の精算を"
            + (f"完了しました。認定額は {claim.approved_yen:,}円です。" if decision == "settle" else "差し戻しました。内容を修正して再申請してください。")
            + ("\n\n減額した項目:\n" + "\n".join(reduced) if reduced else "") + (f"\n\nコメント: {comment}" if comment else ""))
    return claim


def duplicate_claims(trip: TripRequest) -> list[TripRequest]:
    """Other claimed trips of any of this trip's travellers over overlapping dates (flagged for finance)."""
    officer_ids = [t.officer_id for t in trip.travellers]
    if not officer_ids:
        return []
    return list(db.session.scalars(
        select(TripRequest).join(TripTraveller, TripTraveller.trip_id == TripRequest.id)
        .where(TripRequest.id != trip.id, TripTraveller.officer_id.in_(officer_ids),
               TripRequest.status.in_((TripStatus.CLAIM_SUBMITTED, TripStatus.CLAIM_RETURNED, TripStatus.SETTLED)),
               TripRequest.depart_on <= trip.return_on, TripRequest.return_on >= trip.depart_on)
        .distinct().order_by(TripRequest.depart_on)))


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


def ledger(phase: Phase):
    """Every claim line of the phase for the accounting books (settled first)."""
    return db.session.execute(
        select(TripRequest, TravelClaimLine).join(TravelClaim, TravelClaim.trip_id == TripRequest.id)
        .join(TravelClaimLine, TravelClaimLine.claim_id == TravelClaim.id)
        .options(joinedload(TripRequest.team).joinedload(Team.municipality), joinedload(TravelClaimLine.officer))
        .where(TripRequest.phase_id == phase.id)
        .order_by(TripRequest.depart_on, TripRequest.id, TravelClaimLine.id)).all()


def visible_receipt(receipt_id: int, user: User) -> Receipt | None:
    receipt = db.session.get(Receipt, receipt_id)
    if receipt is None or not policy.may_view(receipt.claim.trip, user):
        return None
    return receipt

