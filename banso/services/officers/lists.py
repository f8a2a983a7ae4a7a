"""Officers listed and counted: the list with its filters, the serving officers (現員) and the phase's breakdown."""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import joinedload

from banso.extensions import db
from banso.formatting import parse_id
from banso.queries import json_list_contains
from banso.models import (AppointmentState, CandidacyStatus, ConcurrentAppointment, Ministry, Officer,
                          OfficerCandidacy, Phase)
from banso.reference import (AGE_BANDS, GRADE_BANDS,
                             INELIGIBLE_GRADES, JOB_TYPES, MINISTRIES, SEXES, to_hiragana)
from banso.services.officers.records import all_ministries


# --- lists and the breakdown -----------------------------------------------------------------

def list_query(phase: Phase | None, *, q=None, ministry_id=None, grade=None, officer_type=None, field=None, status=None,
               hr: bool = True):
    """Officers, or with a phase only that phase's applicants (filtered by their candidacy status). Without ``hr``
    the search matches names only, not e-mail addresses (finance: banso.policies.officers)."""
    stmt = select(Officer).options(joinedload(Officer.ministry).joinedload(Ministry.parent))
    if phase is not None:
        stmt = stmt.join(OfficerCandidacy, (OfficerCandidacy.officer_id == Officer.id) & (OfficerCandidacy.phase_id == phase.id))
        if status in {s.value for s in CandidacyStatus}:
            stmt = stmt.where(OfficerCandidacy.status == status)
        elif status == "ineligible":
            stmt = stmt.where(OfficerCandidacy.eligible.is_(False))
    if q:
        like = f"%{q.strip()}%"
        names = [Officer.name.like(like), Officer.name_kana.like(f"%{to_hiragana(q)}%")]
        stmt = stmt.where(or_(*names, *([Officer.email.like(like)] if hr else [])))
    if parse_id(ministry_id):
        stmt = stmt.where(or_(Officer.ministry_id == int(ministry_id),
                              Officer.ministry_id.in_(select(Ministry.id).where(Ministry.parent_id == int(ministry_id)))))
    if grade in GRADE_BANDS + INELIGIBLE_GRADES:
        stmt = stmt.where(Officer.grade_band == grade)
    if officer_type in ("officer", "secondee"):
        stmt = stmt.where(Officer.officer_type == officer_type)
    if parse_id(field):
        stmt = stmt.where(json_list_contains(Officer.expertise_fields, int(field)))
    return stmt


def candidacies_by_officer(phase: Phase, officer_ids: list[int]) -> dict[int, OfficerCandidacy]:
    return {c.officer_id: c for c in db.session.scalars(
        select(OfficerCandidacy).where(OfficerCandidacy.phase_id == phase.id, OfficerCandidacy.officer_id.in_(officer_ids)))}


def serving(phase_ids: list[int]):
    """The officers of a phase as the headline (現員) and every officer chart count them: those on a team; before any
    team of the phase is formed, those selected. A member replaced mid-term (ENDED) is not counted beside their
    successor, and a successor selected or scheduled for a later date is counted from that date, when the worker
    applies the replacement (TEAM-4) — never from the moment it was recorded. Which of ``phase_ids`` have teams is
    asked once, of those phases' teams only: as a correlated EXISTS, PostgreSQL hashed every team of every year."""
    from banso.models import Team

    formed = select(Team.phase_id).where(Team.phase_id.in_(phase_ids)).distinct()
    return or_(OfficerCandidacy.status == CandidacyStatus.ASSIGNED,
               and_(OfficerCandidacy.status == CandidacyStatus.SELECTED, OfficerCandidacy.phase_id.not_in(formed)))


def compute_breakdown(phase: Phase) -> dict[str, list[tuple[str, int, int]]]:
    """Seed 000 ①–④ and ministries: (label, applicants, serving) per category, computed. One grouped query (a few
    hundred groups whatever the phase's size): ages are banded in SQL from the birth dates that start each band."""
    on = phase.support_start

    def born_after(age: int) -> date:  # younger than ``age`` on the day ⇔ born after this
        try:
            return on.replace(year=on.year - age)
        except ValueError:  # 29 February
            return on.replace(year=on.year - age, day=28)

    bands = [(label, high) for label, _, high in AGE_BANDS]
    age = case(*[(Officer.birth_date > born_after(high), label) for label, high in bands[:-1]], else_=bands[-1][0])
    top = func.coalesce(Ministry.parent_id, Ministry.id)
    selected = case((serving([phase.id]), 1), else_=0)
    groups = db.session.execute(
        select(Officer.sex, Officer.job_type, Officer.grade_band, age, top, Officer.officer_type, func.count(), func.sum(selected))
        .select_from(OfficerCandidacy).join(Officer, Officer.id == OfficerCandidacy.officer_id)
        .join(Ministry, Ministry.id == Officer.ministry_id).where(OfficerCandidacy.phase_id == phase.id)
        .group_by(Officer.sex, Officer.job_type, Officer.grade_band, age, top, Officer.officer_type)).all()
    names = {m.id: m.name for m in all_ministries()}
    type_labels = {"officer": "地方創生支援官", "secondee": "地方創生支援オフィサー"}

    orders = [SEXES, JOB_TYPES, GRADE_BANDS, [label for label, _ in bands], [], list(type_labels.values())]
    tables: list[dict] = [{name: [0, 0] for name in order} for order in orders]
    for row in groups:  # one pass over the groups, each counted in all six tables
        applied, serving_now = row[6], int(row[7] or 0)
        for position, value in enumerate((row[0], row[1], row[2], row[3], names.get(row[4]), type_labels.get(row[5]))):
            totals = tables[position].get(value)
            if totals is None:
                totals = tables[position][value] = [0, 0]
            totals[0] += applied
            totals[1] += serving_now

    def count(position):
        return [(name, a, s) for name, (a, s) in tables[position].items() if a or name in orders[position]]

    ministries = [name for name, parent in MINISTRIES if parent is None]
    by_ministry = sorted(count(4), key=lambda r: (-r[1], ministries.index(r[0]) if r[0] in ministries else 99))
    return {
        "① 性別": count(0),
        "② 事務官・技官": count(1),
        "③ 役職": count(2),
        "④ 年齢": count(3),
        "府省庁（本府省単位）": by_ministry,
        "区分": count(5),
    }


def pending_orders(phase: Phase) -> int:
    """Selected officers of the phase still without an issued order."""
    return _pending_orders(phase)


def _pending_orders(phase: Phase) -> int:
    issued = select(ConcurrentAppointment.officer_id).where(ConcurrentAppointment.phase_id == phase.id,
                                                             ConcurrentAppointment.state != AppointmentState.PLANNED)
    return db.session.scalar(select(func.count()).where(
        OfficerCandidacy.phase_id == phase.id,
        OfficerCandidacy.status.in_([CandidacyStatus.SELECTED, CandidacyStatus.ASSIGNED]),
        OfficerCandidacy.officer_id.not_in(issued)))
