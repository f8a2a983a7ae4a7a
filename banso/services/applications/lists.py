"""Applications listed and counted, and the continuation survey (継続意向調査, APP-4) of the previous phase's
municipalities."""
from __future__ import annotations


from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from banso.clock import now
from banso.extensions import db
from banso.formatting import parse_id
from banso.models import (Application, ContinuationResponse, Municipality, Phase,
                          User)
from banso.reference import POPULATION_BANDS
from banso.services import RuleViolation, WrongState, audit, municipalities
from banso.services.applications.answers import EDITABLE, S, submit_application


# --- the list -----------------------------------------------------------------------

def list_query(phase: Phase, *, q=None, prefecture=None, block=None, band=None, field=None, status=None,
               kind=None, late=None):
    population, join = municipalities.population_column(phase)
    stmt = (select(Application, population.label("population"))
            .join(Application.municipality)
            .options(joinedload(Application.municipality))
            .where(Application.phase_id == phase.id))
    if join is not None:
        stmt = stmt.outerjoin(*join)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Municipality.name.like(like), Municipality.name_kana.like(like),
                              Application.local_situation.like(like), Application.contact_department.like(like)))
    stmt = municipalities.where_located(stmt, population, prefecture=prefecture, block=block, band=band)
    if parse_id(field):
        f = int(field)
        stmt = stmt.where(or_(Application.priority_field_1 == f, Application.priority_field_2 == f,
                              Application.priority_field_3 == f))
    if status in {s.value for s in S}:
        stmt = stmt.where(Application.status == status)
    if kind in ("new", "continuing"):
        stmt = stmt.where(Application.is_continuing.is_(kind == "continuing"))
    if late == "1":
        stmt = stmt.where(Application.is_late.is_(True))
    return stmt, population


def counts(stmt, population) -> dict[str, dict[str, int]]:
    """Counts of the filtered list by region block and population band (seed 000 ⑤⑥), in SQL."""
    sub = stmt.order_by(None).with_only_columns(Municipality.region_block.label("block"), population.label("pop")).subquery()
    by_block = dict(db.session.execute(select(sub.c.block, func.count()).group_by(sub.c.block)).all())
    band_cases = [func.sum(_between(sub.c.pop, low, high)).label(label) for label, (low, high) in POPULATION_BANDS.items()]
    row = db.session.execute(select(*band_cases)).one()
    return {"block": by_block, "band": {label: int(value or 0) for label, value in zip(POPULATION_BANDS, row)}}


def _between(column, low, high):
    from sqlalchemy import case

    condition = column >= low if high is None else (column >= low) & (column < high)
    return case((condition, 1), else_=0)


# --- the continuation survey (APP-4) ---------------------------------------------------

def previous_phase(phase: Phase) -> Phase | None:
    return db.session.scalar(select(Phase).where(Phase.number == phase.number - 1))


def continuation_rows(phase: Phase, *, unanswered_only: bool = False):
    """Each previous-phase supported municipality with its answer (None when no row yet)."""
    stmt = continuation_query(phase, unanswered_only=unanswered_only)
    return [] if stmt is None else list(db.session.execute(stmt))


def continuation_counts(phase: Phase) -> tuple[int, int]:
    """(answered, all) of the survey, counted in SQL."""
    stmt = continuation_query(phase)
    if stmt is None:
        return 0, 0
    rows = stmt.order_by(None).subquery()
    answered, total = db.session.execute(select(func.count(rows.c.answered_at), func.count())).one()
    return answered, total


def continuation_query(phase: Phase, *, unanswered_only: bool = False):
    """SQL for each previous-phase supported municipality with its answer, in code order (None: no previous phase)."""
    previous = previous_phase(phase)
    if previous is None:
        return None
    stmt = (select(Application, ContinuationResponse)
            .join(Application.municipality)
            .options(joinedload(Application.municipality))
            .outerjoin(ContinuationResponse, (ContinuationResponse.municipality_id == Application.municipality_id)
                       & (ContinuationResponse.phase_id == phase.id))
            .where(Application.phase_id == previous.id, Application.status == S.MATCHED)
            .order_by(Municipality.code))
    if unanswered_only:
        stmt = stmt.where(or_(ContinuationResponse.id.is_(None), ContinuationResponse.answered_at.is_(None)))
    return stmt


def record_continuation(phase: Phase, previous_application: Application, *, wishes_to_continue: bool,
                        issue_changes: str, actor: User) -> ContinuationResponse:
    """Record an answer; a wish to continue becomes this phase's 継続 application (one checked list)."""
    previous = previous_phase(phase)
    if previous is None or previous_application.phase_id != previous.id or previous_application.status != S.MATCHED:
        raise RuleViolation("APP-4", "継続意向調査の対象は前期の支援先市町村だけです。")
    m = previous_application.municipality
    response = db.session.scalar(select(ContinuationResponse).where(
        ContinuationResponse.phase_id == phase.id, ContinuationResponse.municipality_id == m.id))
    if response is None:
        response = ContinuationResponse(phase=phase, municipality=m)
        db.session.add(response)
    if response.answered_at is not None:
        raise WrongState(f"{m.full_name}の継続意向は回答済みです。")
    response.wishes_to_continue = wishes_to_continue
    response.issue_changes = (issue_changes or "").strip()
    response.answered_at = now()
    audit.record("answer_continuation", response, actor=actor,
                 summary=f"{m.full_name}の継続意向: {'継続を希望' if wishes_to_continue else '継続を希望しない'}",
                 after={"wishes_to_continue": wishes_to_continue, "issue_changes": response.issue_changes})
    if wishes_to_continue:
        data = {name: getattr(previous_application, name) for name in EDITABLE if not name.startswith("priority")}
        data.update(priority_fields=previous_application.priority_fields, received_at=now(), channel="survey")
        if response.issue_changes:
            data["local_situation"] = f"{previous_application.local_situation}\n\n【{phase.name}に向けた課題の変更】\n{response.issue_changes}"
        submit_application(phase, m, data, actor=actor, continuing=True)
    return response
