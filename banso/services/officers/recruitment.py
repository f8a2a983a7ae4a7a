"""Officers per phase: recruitment (applying, selection, one at a time or many) and the concurrent-appointment
orders (OFF-3)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from banso.extensions import db
from banso.formatting import parse_id
from banso.models import (AppointmentState, CandidacyStatus, ConcurrentAppointment, Officer,
                          OfficerCandidacy, Phase, User)
from banso.policies import officers as policy
from banso.reference import APPOINTMENT_POSTS
from banso.services import InputError, RuleViolation, WrongState, audit
from banso.services.officers.records import eligibility


# --- recruitment per phase -----------------------------------------------------------------

def apply_to_phase(officer: Officer, phase: Phase, *, actor: User | None) -> OfficerCandidacy:
    existing = db.session.scalar(select(OfficerCandidacy).where(OfficerCandidacy.officer_id == officer.id,
                                                                OfficerCandidacy.phase_id == phase.id))
    if existing is not None:
        raise WrongState(f"{officer.name}さんは{phase.name}の応募者として既に登録されています。")
    eligible, reason = eligibility(officer)
    candidacy = OfficerCandidacy(officer=officer, phase=phase, eligible=eligible, ineligibility_reason=reason)
    db.session.add(candidacy)
    audit.record("apply", candidacy, actor=actor,
                 summary=f"{officer.name}さんを{phase.name}の応募者として登録" + ("" if eligible else f"（対象外: {reason}）"))
    return candidacy


CANDIDACY_MOVES = {CandidacyStatus.SELECTED: {CandidacyStatus.APPLIED, CandidacyStatus.NOT_SELECTED},
                   CandidacyStatus.NOT_SELECTED: {CandidacyStatus.APPLIED, CandidacyStatus.SELECTED},
                   CandidacyStatus.ENDED: {CandidacyStatus.SELECTED, CandidacyStatus.ASSIGNED}}


def candidacy_actions(candidacy: OfficerCandidacy) -> list[str]:
    """The statuses this candidacy may move to now (only eligible applicants can be selected)."""
    return [str(target) for target, sources in CANDIDACY_MOVES.items()
            if candidacy.status in sources and (candidacy.eligible or target != CandidacyStatus.SELECTED)]


def set_candidacy_status(candidacy: OfficerCandidacy, status: str, *, actor: User) -> OfficerCandidacy:
    allowed = CANDIDACY_MOVES
    if status not in allowed or candidacy.status not in allowed[status]:
        raise WrongState(f"「{candidacy.status_label}」からはこの操作はできません。")
    if status == CandidacyStatus.SELECTED and not candidacy.eligible:
        raise RuleViolation(candidacy.ineligibility_reason[:5], f"対象外のため選定できません。{candidacy.ineligibility_reason}")
    before = candidacy.status
    candidacy.status = status
    audit.record("candidacy_status", candidacy, actor=actor,
                 summary=f"{candidacy.officer.name}さん（{candidacy.phase.name}）を「{candidacy.status_label}」に",
                 before={"status": before}, after={"status": status})
    return candidacy


BULK_STATUSES = {CandidacyStatus.SELECTED: "選定", CandidacyStatus.NOT_SELECTED: "不選定"}
BULK_LIMIT = 500


def set_candidacy_status_many(phase: Phase, officer_ids: list[str], status: str, *,
                              actor: User) -> tuple[int, list[tuple[Officer, str]]]:
    """選定 or 不選定 for many applicants of a phase at once (300 at a time is usual), each under the rules one at a
    time applies (OFF-1, OFF-2: only eligible applicants are selected); refused ones keep their status and are
    reported with the reason. (changed, refused)."""
    if status not in BULK_STATUSES:
        raise InputError("まとめて行える操作は「選定」「不選定」です。")
    ids = [i for i in (parse_id(v) for v in officer_ids[:BULK_LIMIT + 1]) if i]
    if not ids:
        raise InputError("応募者を1名以上選んでください。")
    if len(ids) > BULK_LIMIT:
        raise InputError(f"一度に操作できるのは{BULK_LIMIT}名までです。絞り込んでから操作してください。")
    candidacies = db.session.scalars(select(OfficerCandidacy).options(joinedload(OfficerCandidacy.officer))
                                     .where(OfficerCandidacy.phase_id == phase.id, OfficerCandidacy.officer_id.in_(ids))
                                     .order_by(OfficerCandidacy.id))
    changed, refused = 0, []
    for candidacy in candidacies:
        if candidacy.status == status:
            continue
        try:
            with db.session.begin_nested():
                set_candidacy_status(candidacy, status, actor=actor)
            changed += 1
        except RuleViolation as violation:
            refused.append((candidacy.officer, violation.message))
    return changed, refused


# --- concurrent appointments (OFF-3) ---------------------------------------------------------

def has_covering_appointment(officer: Officer, start: date, end: date) -> bool:
    """OFF-3: an issued 併任発令 in force over the whole of start..end."""
    return any(a.covers(start, end) for a in officer.appointments)


def issue_orders(phase: Phase, *, order_date: date, post: str = APPOINTMENT_POSTS[1], actor: User | None,
                 on_progress=None) -> int:
    """Issue 併任発令 for every selected officer of the phase. Safe to repeat: no officer gets a second order."""
    if post not in APPOINTMENT_POSTS:
        raise InputError("併任先を選んでください。")
    # Two bulk runs at once take turns on the phase row; the unique (officer, phase) is the last defence.
    db.session.execute(select(Phase.id).where(Phase.id == phase.id).with_for_update())
    candidacies = list(db.session.scalars(
        select(OfficerCandidacy).options(selectinload(OfficerCandidacy.officer))
        .where(OfficerCandidacy.phase_id == phase.id,
               OfficerCandidacy.status.in_([CandidacyStatus.SELECTED, CandidacyStatus.ASSIGNED]))
        .order_by(OfficerCandidacy.id)))
    existing = {a.officer_id: a for a in db.session.scalars(
        select(ConcurrentAppointment).where(ConcurrentAppointment.phase_id == phase.id))}
    sequence = db.session.scalar(select(func.count()).where(ConcurrentAppointment.phase_id == phase.id,
                                                            ConcurrentAppointment.order_number.is_not(None)))
    issued = 0
    for index, candidacy in enumerate(candidacies, start=1):
        appointment = existing.get(candidacy.officer_id)
        if appointment is None:
            appointment = ConcurrentAppointment(officer=candidacy.officer, phase=phase, post=post, state=AppointmentState.PLANNED,
                                                effective_from=max(phase.support_start, order_date), effective_to=phase.support_end)
            db.session.add(appointment)
        if appointment.state == AppointmentState.PLANNED:
            sequence += 1
            appointment.post = post
            appointment.order_number = f"府地創第{phase.number}-{sequence:04d}号"
            appointment.order_date = order_date
            appointment.state = AppointmentState.ISSUED
            issued += 1
        if on_progress:
            on_progress(index, len(candidacies))
    if issued:
        db.session.flush()
        audit.record("issue_orders", phase, actor=actor, summary=f"{phase.name}の併任発令を{issued}件発令（{post}）",
                     after={"issued": issued, "order_date": order_date.isoformat()})
    return issued


def end_appointment(appointment: ConcurrentAppointment, *, on: date, reason: str, actor: User | None) -> ConcurrentAppointment:
    """併任解除. The teams area calls this when a member leaves and has no other team (OFF-3)."""
    if not policy.in_force(appointment):
        raise WrongState("発令済の併任だけを解除できます。")
    if not (reason or "").strip():
        raise InputError("解除の理由を入力してください。", "reason")
    if not appointment.effective_from <= on <= appointment.effective_to:
        raise InputError("解除日は併任の期間内の日付にしてください。", "on")
    appointment.state, appointment.ended_on, appointment.end_reason = AppointmentState.ENDED, on, reason.strip()
    audit.record("end_appointment", appointment, actor=actor,
                 summary=f"{appointment.officer.name}さんの併任を{on.isoformat()}付で解除（{appointment.end_reason}）")
    return appointment


def appointment_query(phase: Phase, *, state: str | None = None, q: str | None = None, ministry_id: str | None = None):
    stmt = (select(ConcurrentAppointment).join(ConcurrentAppointment.officer)
            .options(joinedload(ConcurrentAppointment.officer).joinedload(Officer.ministry))
            .where(ConcurrentAppointment.phase_id == phase.id))
    if state in {s.value for s in AppointmentState}:
        stmt = stmt.where(ConcurrentAppointment.state == state)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Officer.name.like(like), Officer.name_kana.like(like), ConcurrentAppointment.order_number.like(like)))
    if parse_id(ministry_id):
        stmt = stmt.where(Officer.ministry_id == int(ministry_id))
    return stmt
