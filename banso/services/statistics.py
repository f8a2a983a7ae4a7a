"""The programme's figures in seed 000's shape, counted from the records: applicants and selected
officers, teams, applicant and supported municipalities, new and continuing, by region and size."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, distinct, func, select

from banso.extensions import db
from banso.models import Application, CandidacyStatus, Municipality, Officer, OfficerCandidacy, Phase, Team
from banso.policies import hold
from banso.reference import POPULATION_BANDS, REGION_BLOCKS, population_band
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
    """Seed 000's headline figures for one phase, a handful of aggregate queries."""
    hold.note_shown(phase.id)  # figures of a held phase shown: audited and marked (PUB-2)
    applicants, ministries = db.session.execute(  # 省庁等: an agency (外局) counts on its own, as seed 000 counts 24
        select(func.count(distinct(OfficerCandidacy.officer_id)), func.count(distinct(Officer.ministry_id)))
        .select_from(OfficerCandidacy).join(Officer, Officer.id == OfficerCandidacy.officer_id)
        .where(OfficerCandidacy.phase_id == phase.id)).one()
    officers, secondees = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((Officer.officer_type == "secondee", 1), else_=0)), 0))
        .select_from(OfficerCandidacy).join(Officer, Officer.id == OfficerCandidacy.officer_id)
        .where(OfficerCandidacy.phase_id == phase.id, OfficerCandidacy.status.in_(SERVING))).one()
    municipal = db.session.scalar(select(func.count()).where(Application.phase_id == phase.id, Application.is_continuing.is_(False)))
    supported = (select(Team.id, Municipality.prefecture, func.coalesce(Application.is_continuing, False).label("continuing"))
                 .join(Municipality, Municipality.id == Team.municipality_id)
                 .outerjoin(Application, Application.id == Team.application_id)
                 .where(Team.phase_id == phase.id).subquery())
    teams, prefectures = db.session.execute(select(func.count(), func.count(distinct(supported.c.prefecture)))).one()
    split = dict((bool(c), (n, p)) for c, n, p in db.session.execute(
        select(supported.c.continuing, func.count(), func.count(distinct(supported.c.prefecture))).group_by(supported.c.continuing)))
    return Headline(phase, applicants, ministries, officers, int(secondees), teams, municipal, teams, prefectures,
                    *split.get(False, (0, 0)), *split.get(True, (0, 0)))


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
    stmt = select(population).select_from(Team).join(Municipality, Municipality.id == Team.municipality_id).where(Team.phase_id == phase.id)
    if join is not None:
        stmt = stmt.outerjoin(*join)
    counts = {band: 0 for band in POPULATION_BANDS}
    for value in db.session.scalars(stmt):
        band = population_band(value)
        if band is not None:
            counts[band] += 1
    return [(band, n) for band, n in counts.items() if n or band != "10万人以上"]
