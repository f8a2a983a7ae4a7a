"""The programme's figures in seed 000's shape, counted from the records: applicants and selected
officers, teams, applicant and supported municipalities, new and continuing, by region and size."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import and_, case, distinct, func, literal, select, union_all

from banso.business_days import add_business_days
from banso.clock import now, today_jst
from banso.extensions import db
from banso.models import Application, Municipality, Officer, OfficerCandidacy, Phase, PhaseFigures, Team
from banso.policies import hold
from banso.reference import POPULATION_BANDS, REGION_BLOCKS
from banso.services import municipalities, officers

@dataclass
class Headline:
    phase: Phase
    officer_applicants: int
    ministries: int
    officers: int
    secondees: int           # 地方創生支援オフィサー, included in ``officers``
    teams: int
    municipal_applicants: int  # new applications (continuing municipalities answer the survey instead, APP-4)
    supported: int
    supported_prefectures: int
    new: int
    new_prefectures: int
    continuing: int
    continuing_prefectures: int


def headline(phase: Phase) -> Headline:
    """Seed 000's headline figures for one phase."""
    return headlines([phase])[0]


def headlines(phases: list[Phase]) -> list[Headline]:
    """Seed 000's headline figures for each phase, in the order given: a closed phase's as stored when it closed
    (``store_closed``), the others computed in five aggregate statements restricted to them, grouped by phase — the
    cost follows the live phases, not the years behind them."""
    for phase in phases:
        hold.note_shown(phase.id)  # figures of a held phase shown: audited and marked (PUB-2), kept or not
    stored = stored_figures([p.id for p in phases])
    live = sorted(p.id for p in phases if p.id not in stored)
    figures = {str(pid): f["headline"] for pid, f in stored.items()}
    if live:
        figures.update(_headline_figures(live))
    return [Headline(phase, *figures.get(str(phase.id), [0] * (len(fields(Headline)) - 1))) for phase in phases]


def _headline_figures(phase_ids: list[int]) -> dict[str, list[int]]:
    """Four grouped aggregates, sent as one statement (UNION ALL, each row tagged with what it counts): candidates and
    the serving officers among them (one pass), new applications, supported municipalities, and those split into new
    and continuing."""
    candidates = (select(OfficerCandidacy.phase_id).select_from(OfficerCandidacy)
                  .join(Officer, Officer.id == OfficerCandidacy.officer_id).where(OfficerCandidacy.phase_id.in_(phase_ids))
                  .group_by(OfficerCandidacy.phase_id))
    supported = (select(Team.phase_id, Municipality.prefecture,
                        case((func.coalesce(Application.is_continuing, False), 1), else_=0).label("continuing"))
                 .join(Municipality, Municipality.id == Team.municipality_id)
                 # a team's application is of its phase: said, so the database reads the phase's answers, not every year's
                 .outerjoin(Application, and_(Application.id == Team.application_id, Application.phase_id.in_(phase_ids)))
                 .where(Team.phase_id.in_(phase_ids)).subquery())
    now_serving = officers.serving(phase_ids)
    zero = literal(0)
    tagged = union_all(
        # One candidacy per officer and phase (its unique key): counted, not made distinct. 省庁等: an agency (外局)
        # counts on its own, as seed 000 counts 24. Applicants and those serving in one pass over the candidacies.
        candidates.add_columns(literal("officers"), zero, func.count(), func.count(distinct(Officer.ministry_id)),
                               func.count().filter(now_serving),
                               func.coalesce(func.sum(case((Officer.officer_type == "secondee", 1), else_=0)).filter(now_serving), 0)),
        select(Application.phase_id, literal("municipal"), zero, func.count(), zero, zero, zero)
        .where(Application.is_continuing.is_(False), Application.phase_id.in_(phase_ids)).group_by(Application.phase_id),
        select(supported.c.phase_id, literal("supported"), zero, func.count(), func.count(distinct(supported.c.prefecture)), zero, zero)
        .group_by(supported.c.phase_id),
        select(supported.c.phase_id, literal("split"), supported.c.continuing, func.count(),
               func.count(distinct(supported.c.prefecture)), zero, zero).group_by(supported.c.phase_id, supported.c.continuing),
    )
    found = {(kind, pid, int(c)): (int(n or 0), int(m or 0), int(x or 0), int(y or 0))
             for pid, kind, c, n, m, x, y in db.session.execute(tagged)}
    result = {}
    for pid in {pid for _, pid, _ in found}:
        applied, ministries, serving_now, secondees = found.get(("officers", pid, 0), (0, 0, 0, 0))
        teams, prefectures = found.get(("supported", pid, 0), (0, 0, 0, 0))[:2]
        result[str(pid)] = [applied, ministries, serving_now, secondees, teams,
                            found.get(("municipal", pid, 0), (0, 0, 0, 0))[0], teams, prefectures,
                            *found.get(("split", pid, 0), (0, 0, 0, 0))[:2], *found.get(("split", pid, 1), (0, 0, 0, 0))[:2]]
    return result


def officer_breakdown(phase: Phase) -> dict[str, list[tuple[str, int, int]]]:
    """Seed 000 ①–④ and ministries: (label, applicants, serving) per category — a closed phase's as stored when it
    closed, a live one's computed (officers.compute_breakdown)."""
    hold.note_shown(phase.id)
    stored = stored_figures([phase.id]).get(phase.id)
    if stored:
        return {title: [tuple(row) for row in rows] for title, rows in stored["breakdown"].items()}
    return officers.compute_breakdown(phase)


def by_region(phase: Phase) -> list[tuple[str, int, int]]:
    """Seed 000 ⑤: (region block, applicant municipalities, supported municipalities). Applicants as the headline
    counts them (new applications: continuing municipalities answer the survey instead, APP-4); supported, new and
    continuing — each column sums to its headline figure."""
    hold.note_shown(phase.id)  # figures of a held phase shown: audited and marked (PUB-2)
    stored = stored_figures([phase.id]).get(phase.id)
    rows = stored["regions"] if stored else _by_region(phase)
    return [tuple(row) for row in rows]


def _by_region(phase: Phase) -> list[tuple[str, int, int]]:
    applied = dict(db.session.execute(select(Municipality.region_block, func.count()).join(Application)
                                      .where(Application.phase_id == phase.id, Application.is_continuing.is_(False))
                                      .group_by(Municipality.region_block)).all())
    supported = dict(db.session.execute(select(Municipality.region_block, func.count()).join(Team, Team.municipality_id == Municipality.id)
                                        .where(Team.phase_id == phase.id).group_by(Municipality.region_block)).all())
    return [(block, applied.get(block, 0), supported.get(block, 0)) for block in REGION_BLOCKS]


def by_population(phase: Phase) -> list[tuple[str, int]]:
    """Seed 000 ⑥: supported municipalities by population band (the phase's reference count)."""
    hold.note_shown(phase.id)  # figures of a held phase shown: audited and marked (PUB-2)
    stored = stored_figures([phase.id]).get(phase.id)
    rows = stored["sizes"] if stored else _by_population(phase)
    return [tuple(row) for row in rows]


def _by_population(phase: Phase) -> list[tuple[str, int]]:
    population, join = municipalities.population_column(phase)
    band = case(*[(population < high, label) for label, (_, high) in POPULATION_BANDS.items() if high is not None],
                else_=next(label for label, (_, high) in POPULATION_BANDS.items() if high is None))
    stmt = (select(band, func.count()).select_from(Team).join(Municipality, Municipality.id == Team.municipality_id)
            .where(Team.phase_id == phase.id, population.is_not(None)).group_by(band))
    if join is not None:
        stmt = stmt.outerjoin(*join)
    counts = {label: 0 for label in POPULATION_BANDS}
    counts.update(dict(db.session.execute(stmt).all()))  # banded in SQL: one row per band
    return [(label, n) for label, n in counts.items() if n or label != "10万人以上"]


# --- closed phases: computed once ---------------------------------------------------------------------------------

def stored_figures(phase_ids: list[int]) -> dict[int, dict]:
    """The stored figures of those of ``phase_ids`` that are closed, read once a request."""
    from flask import g, has_request_context

    memo = g.setdefault("banso_phase_figures", {}) if has_request_context() else {}
    wanted = [pid for pid in phase_ids if pid not in memo]
    if wanted:
        found = dict(db.session.execute(select(PhaseFigures.phase_id, PhaseFigures.figures)
                                        .where(PhaseFigures.phase_id.in_(wanted))).all())
        memo.update({pid: found.get(pid) for pid in wanted})
    return {pid: memo[pid] for pid in phase_ids if memo.get(pid) is not None}


def closed_phases(today: date | None = None) -> list[Phase]:
    """Phases whose support has ended and whose last team's closing day (services/closing.py) has passed: their
    records are closed, so their figures no longer move."""
    from banso.services import closing

    today = today or today_jst()
    last_end = dict(db.session.execute(select(Team.phase_id, func.max(Team.end_date)).group_by(Team.phase_id)).all())
    return [p for p in db.session.scalars(select(Phase).where(Phase.support_end < today).order_by(Phase.number))
            if add_business_days(max(last_end.get(p.id) or p.support_end, p.support_end), closing.CLAIM_BUSINESS_DAYS) < today]


def recompute(phase: Phase) -> dict:
    """Compute and store a phase's figures (an admin's `flask banso recompute-figures`, or ``store_closed``)."""

    figures = {"headline": _headline_figures([phase.id]).get(str(phase.id), [0] * (len(fields(Headline)) - 1)),
               "regions": [list(r) for r in _by_region(phase)], "sizes": [list(r) for r in _by_population(phase)],
               "breakdown": {title: [list(r) for r in rows] for title, rows in officers.compute_breakdown(phase).items()}}
    record = db.session.get(PhaseFigures, phase.id)
    if record is None:
        db.session.add(PhaseFigures(phase_id=phase.id, figures=figures, computed_at=now()))
    else:
        record.figures, record.computed_at = figures, now()
    db.session.flush()
    return figures


def store_closed(today: date | None = None) -> int:
    """On the worker's timer: the figures of each newly closed phase are stored once. Returns how many."""
    stored = set(db.session.scalars(select(PhaseFigures.phase_id)))
    closed = [p for p in closed_phases(today) if p.id not in stored]
    for phase in closed:
        recompute(phase)
    return len(closed)
