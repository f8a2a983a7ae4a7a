"""Phases (期) and their schedules."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from flask import g, has_request_context
from sqlalchemy import select

from banso.clock import JST, now
from banso.extensions import db
from banso.formatting import parse_id
from banso.models import Phase, PhaseEvent, Publication, PublicationStatus, User
from banso.services import InputError, RuleViolation, audit, check_version

FIELDS = [
    "number", "name", "fiscal_year", "population_reference_date", "survey_opens_at",
    "answer_deadline_at", "recruitment_opens_at", "recruitment_closes_at",
    "matching_deadline_at", "publication_at", "support_start", "support_end",
    "travel_budget_cap_yen",
]

MILESTONE_LABELS = {
    "survey_opens_at": "市町村活用希望調査の開始",
    "answer_deadline_at": "活用希望調査の回答締切",
    "recruitment_opens_at": "国の職員等の公募開始",
    "recruitment_closes_at": "国の職員等の公募締切",
    "matching_deadline_at": "マッチング期限",
    "publication_at": "マッチング結果の公表",
    "support_start": "伴走支援の開始",
    "support_end": "伴走支援の終了",
}


@dataclass(frozen=True)
class Milestone:
    label: str
    at: datetime
    has_time: bool
    is_past: bool
    is_next: bool = False


_READ = "banso_phases"


def all_phases() -> list[Phase]:
    """Every phase, newest first. A request reads them once (a programme has one a year; its pages ask for the list,
    the current phase and the selected one); a phase created meanwhile is added by ``create_phase``."""
    if not has_request_context():
        return list(db.session.scalars(select(Phase).order_by(Phase.number.desc())))
    if _READ not in g:
        setattr(g, _READ, list(db.session.scalars(select(Phase))))
    return sorted(g.get(_READ), key=lambda p: p.number, reverse=True)


def current_phase() -> Phase | None:
    """The newest phase whose survey has opened; before any has, the earliest one."""
    at = now()
    phases = all_phases()
    return next((p for p in phases if p.survey_opens_at <= at), phases[-1] if phases else None)


def running_beside(phase: Phase | None) -> Phase | None:
    """The earlier phase still in support while ``phase``'s survey runs (December–March both are live)."""
    if phase is None:
        return None
    from banso.clock import today_jst

    return db.session.scalar(select(Phase).where(Phase.number < phase.number, Phase.support_end >= today_jst())
                             .order_by(Phase.number.desc()).limit(1))


def timeline(phase: Phase) -> list[Milestone]:
    """The phase's schedule in order, marking what has passed and what is due next."""
    at = now()
    items: list[tuple[str, datetime, bool]] = []
    for field, label in MILESTONE_LABELS.items():
        value = getattr(phase, field)
        if value is None:
            continue
        if isinstance(value, datetime):
            items.append((label, value, True))
        else:
            items.append((label, datetime.combine(value, time(0), JST), False))
    items += [(e.label, e.at, True) for e in phase.events]
    items.sort(key=lambda item: item[1])
    milestones, next_found = [], False
    for label, moment, has_time in items:
        past = moment <= at
        is_next = not past and not next_found
        next_found = next_found or is_next
        milestones.append(Milestone(label, moment, has_time, past, is_next))
    return milestones


def _validate(data: dict) -> None:
    if data["answer_deadline_at"] <= data["survey_opens_at"]:
        raise InputError("回答締切は調査開始より後の日時にしてください。", "answer_deadline_at")
    if data["support_end"] < data["support_start"]:
        raise InputError("支援終了日は支援開始日以降にしてください。", "support_end")
    opens, closes = data.get("recruitment_opens_at"), data.get("recruitment_closes_at")
    if opens and closes and closes <= opens:
        raise InputError("公募締切は公募開始より後にしてください。", "recruitment_closes_at")
    if data["travel_budget_cap_yen"] < 0:
        raise InputError("旅費予算の上限は0円以上にしてください。", "travel_budget_cap_yen")


def _check_unique(data: dict, phase: Phase | None) -> None:
    for field, label in (("number", "期番号"), ("name", "名称"), ("fiscal_year", "年度")):
        clash = db.session.scalar(select(Phase).where(getattr(Phase, field) == data[field]))
        if clash is not None and clash is not phase:
            raise InputError(f"同じ{label}の期が既にあります。", field)


def create_phase(data: dict, *, events: list[tuple[str, datetime]] = (), actor: User | None) -> Phase:
    _validate(data)
    _check_unique(data, None)
    phase = Phase(**{k: data.get(k) for k in FIELDS})
    phase.events = [PhaseEvent(label=label, at=at) for label, at in events]
    db.session.add(phase)
    audit.record("create", phase, actor=actor, summary=f"{phase.name}を作成", after=audit.snapshot(phase, FIELDS))
    if has_request_context():
        g.pop(_READ, None)
    return phase


def update_phase(phase: Phase, data: dict, *, actor: User, expected_version=None) -> Phase:
    check_version(phase, expected_version, {"name": "名称", "answer_deadline_at": "回答締切", "publication_at": "公表日時"})
    _validate(data)
    _check_unique(data, phase)
    if data.get("travel_budget_cap_yen") != phase.travel_budget_cap_yen:
        # TRV-2: every revision of the cap is kept with its reason; it has its own page.
        raise RuleViolation("TRV-2", "旅費予算の上限は「旅費予算」の画面で、理由を添えて改定してください（改定の履歴を残すため）。",
                            "travel_budget_cap_yen")
    _check_release_time(phase, data.get("publication_at"))
    before = audit.snapshot(phase, FIELDS)
    for field in FIELDS:
        setattr(phase, field, data.get(field))
    after = audit.snapshot(phase, FIELDS)
    if before != after:
        audit.record("update", phase, actor=actor, summary=f"{phase.name}を更新", before=before, after=after)
    return phase


def _check_release_time(phase: Phase, new_time: datetime | None) -> None:
    """PUB-3: once the matching is confirmed its release time is fixed; a later time moves it (and the worker's
    schedule), an earlier one is an early release, asked for on the publication page."""
    from banso.services import publication

    record = db.session.scalar(select(Publication).where(Publication.phase_id == phase.id))
    if record is None or record.status not in (PublicationStatus.CONFIRMED, PublicationStatus.NOTIFIED):
        return
    planned = publication.planned_release(record)
    if new_time is None or (planned is not None and new_time < planned):
        raise RuleViolation("PUB-3", "マッチング結果の確定後は、公表日時を早めることはできません。予定より前に公表するには、"
                                     "公表の画面で前倒しを申請し、別の事務局管理者の確認を受けてください。", "publication_at")
    if new_time != planned:
        record.release_planned_at = new_time
        db.session.flush()
        publication.schedule_release(phase)


def add_event(phase: Phase, label: str, at: datetime, *, actor: User) -> PhaseEvent:
    if not label.strip():
        raise InputError("行事名を入力してください。", "label")
    event = PhaseEvent(phase=phase, label=label.strip(), at=at)
    db.session.add(event)
    audit.record("add_event", phase, actor=actor, summary=f"{phase.name}に「{event.label}」を追加",
                 after={"label": event.label, "at": at.isoformat()})
    return event


def remove_event(event: PhaseEvent, *, actor: User) -> None:
    phase = event.phase
    audit.record("remove_event", phase, actor=actor, summary=f"{phase.name}から「{event.label}」を削除",
                 before={"label": event.label, "at": event.at.isoformat()})
    db.session.delete(event)


def jst_deadline(day: date, hour: int = 17) -> datetime:
    return datetime.combine(day, time(hour), JST)


def selected_phase(number: str | None) -> Phase | None:
    """The phase a page was asked for (?phase=2), else the current one."""
    if parse_id(number):
        phase = next((p for p in all_phases() if p.number == int(number)), None)
        if phase is not None:
            return phase
    return current_phase()


def before_publication(phase: Phase) -> bool:
    """PUB-2: matching results are confidential until the secretariat releases them."""
    from banso.services import publication

    return publication.confidential(phase)
