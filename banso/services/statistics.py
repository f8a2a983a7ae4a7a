"""The programme's figures in seed 000's shape, counted from the records: applicants and selected
officers, teams, applicant and supported municipalities, new and continuing, by region and size."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, distinct, func, select

from banso.extensions import db
from banso.models import Application, CandidacyStatus, Municipality, Officer, OfficerCandidacy, Phase, Team
from banso.policies import hold
from banso.reference import POPULATION_BANDS, REGION_BLOCKS
from banso.services import municipalities

# The officers of a phase, as the headline and every officer chart count them: a member replaced mid-term
# (ENDED) is not counted beside their successor.
SERVING = (CandidacyStatus.SELECTED, CandidacyStatus.ASSIGNED)


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
    """Seed 000's headline figures for each phase, in the order given: five aggregate statements grouped by phase,
    however many phases there are."""
    ids = [p.id for p in phases]
    for phase in phases:
        hold.note_shown(phase.id)  # figures of a held phase shown: audited and marked (PUB-2)
    candidates = (select(OfficerCandidacy.phase_id).select_from(OfficerCandidacy)
                  .join(Officer, Officer.id == OfficerCandidacy.officer_id).where(OfficerCandidacy.phase_id.in_(ids))
                  .group_by(OfficerCandidacy.phase_id))
    applied = {pid: (a, m) for pid, a, m in db.session.execute(  # 省庁等: an agency (外局) counts on its own, as seed 000 counts 24
        candidates.add_columns(func.count(distinct(OfficerCandidacy.officer_id)), func.count(distinct(Officer.ministry_id))))}
    serving = {pid: (n, int(s or 0)) for pid, n, s in db.session.execute(
        candidates.where(OfficerCandidacy.status.in_(SERVING))
        .add_columns(func.count(), func.sum(case((Officer.officer_type == "secondee", 1), else_=0))))}
    municipal = dict(db.session.execute(select(Application.phase_id, func.count()).where(
        Application.phase_id.in_(ids), Application.is_continuing.is_(False)).group_by(Application.phase_id)).all())
    supported = (select(Team.phase_id, Municipality.prefecture, func.coalesce(Application.is_continuing, False).label("continuing"))
                 .join(Municipality, Municipality.id == Team.municipality_id)
                 .outerjoin(Application, Application.id == Team.application_id)
                 .where(Team.phase_id.in_(ids)).subquery())
    totals = {pid: (n, p) for pid, n, p in db.session.execute(
        select(supported.c.phase_id, func.count(), func.count(distinct(supported.c.prefecture))).group_by(supported.c.phase_id))}
    split = {(pid, bool(c)): (n, p) for pid, c, n, p in db.session.execute(
        select(supported.c.phase_id, supported.c.continuing, func.count(), func.count(distinct(supported.c.prefecture)))
        .group_by(supported.c.phase_id, supported.c.continuing))}
    result = []
    for phase in phases:
        teams, prefectures = totals.get(phase.id, (0, 0))
        result.append(Headline(phase, *applied.get(phase.id, (0, 0)), *serving.get(phase.id, (0, 0)), teams,
                               municipal.get(phase.id, 0), teams, prefectures,
                               *split.get((phase.id, False), (0, 0)), *split.get((phase.id, True), (0, 0))))
    return result


def by_region(phase: Phase) -> list[tuple[str, int, int]]:
    """Seed 000 ⑤: (region block, applicant municipalities, supported municipalities). Applicants as the headline
    counts them (new applications: continuing municipalities answer the survey instead, APP-4); supported, new and
    continuing — each column sums to its headline figure."""
    hold.note_shown(phase.id)  # figures of a held phase shown: audited and marked (PUB-2)
    applied = dict(db.session.execute(select(Municipality.region_block, func.count()).join(Application)
                                      .where(Application.phase_id == phase.id, Application.is_continuing.is_(False))
                                      .group_by(Municipality.region_block)).all())
    supported = dict(db.session.execute(select(Municipality.region_block, func.count()).join(Team, Team.municipality_id == Municipality.id)
                                        .where(Team.phase_id == phase.id).group_by(Municipality.region_block)).all())
    return [(block, applied.get(block, 0), supported.get(block, 0)) for block in REGION_BLOCKS]


def by_population(phase: Phase) -> list[tuple[str, int]]:
    """Seed 000 ⑥: supported municipalities by population band (the phase's reference count)."""
    hold.note_shown(phase.id)  # figures of a held phase shown: audited and marked (PUB-2)
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
