"""Phases (期) and their schedules."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from flask import g, has_request_context, request
from sqlalchemy import select

from banso.business_days import on_or_after
from banso.clock import JST, now, today_jst
from banso.extensions import db
from banso.formatting import parse_id
from banso.models import (MatchingSettings, Officer, Phase, PhaseEvent, Publication, PublicationStatus, Team, TeamMembership,
                          User)
from banso.policies import teams as teams_policy
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


CONFLICT_RULES = ("exclude_home_municipality", "exclude_home_prefecture", "exclude_secondment")
_READ = "banso_phases"


def all_phases() -> list[Phase]:
    """Every phase, newest first. A request reads them once (a programme has one a year; its pages ask for the list,
    the current phase and the selected one); a phase created meanwhile is added by ``create_phase``."""
    if not has_request_context():
        return list(db.session.scalars(select(Phase).order_by(Phase.number.desc())))
    if _READ not in g:
        _read_for_request()
    return sorted(g.get(_READ), key=lambda p: p.number, reverse=True)


def _read_for_request() -> None:
    """The phases, and for an officer which of them holds their current team, in one statement."""
    from flask_login import current_user

    user = current_user if current_user and current_user.is_authenticated else None
    if user is None or not teams_policy.sees_own_teams_only(user):
        g.banso_own_phases = set()
        setattr(g, _READ, list(db.session.scalars(select(Phase))))
        return
    own = select(Team.id).join(TeamMembership).join(Officer).where(
        Team.phase_id == Phase.id, Officer.user_id == user.id, TeamMembership.left_on.is_(None)).exists()
    rows = db.session.execute(select(Phase, own)).all()
    g.banso_own_phases = {phase.id for phase, mine in rows if mine}
    setattr(g, _READ, [phase for phase, _ in rows])


def current_phase() -> Phase | None:
    """The newest phase whose survey has opened; before any has, the earliest one."""
    at = now()
    phases = all_phases()
    return next((p for p in phases if p.survey_opens_at <= at), phases[-1] if phases else None)


def running_beside(phase: Phase | None) -> Phase | None:
    """The earlier phase still in support while ``phase``'s survey runs (December–March both are live)."""
    if phase is None:
        return None
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


def _year_on(day: date) -> date:
    return day.replace(year=day.year + 1, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=day.year + 1)


def _step_year_on(moment: datetime) -> datetime:
    """A dated step a year on: the same date, moved to the next business day off a weekend, holiday or the year-end
    closure, at the same time of day (Japan time)."""
    local = moment.astimezone(JST)
    return datetime.combine(on_or_after(_year_on(local.date())), local.time(), JST)


def draft_after(last: Phase) -> tuple[dict, list[tuple[str, datetime]]]:
    """The next phase as ``last`` a year on, to edit before saving: its dated steps shifted (``_step_year_on``), the
    support period and the population's reference date a year on as they are (they follow the fiscal year), the
    budget cap carried over; and its further events (説明会…) shifted the same way."""
    data = {field: getattr(last, field) for field in FIELDS}
    data.update(number=last.number + 1, name=f"第{last.number + 1}期", fiscal_year=last.fiscal_year + 1,
                population_reference_date=_year_on(last.population_reference_date),
                support_start=_year_on(last.support_start), support_end=_year_on(last.support_end))
    for field in MILESTONE_LABELS:
        if field.endswith("_at") and data[field] is not None:
            data[field] = _step_year_on(data[field])
    return data, [(event.label, _step_year_on(event.at)) for event in last.events]


def create_phase(data: dict, *, events: list[tuple[str, datetime]] = (), actor: User | None,
                 carried_from: Phase | None = None) -> Phase:
    """A new phase; ``carried_from`` (the last one, see ``draft_after``) gives it that phase's further events a year
    on, its standard visit cost (TRV-2), its matching weights and conflict-of-interest rules (PUB-1), and — when the
    new fiscal year has none — that year's travel rates. Reply templates and the FAQ belong to no phase: they stay."""
    _validate(data)
    _check_unique(data, None)
    phase = Phase(**{k: data.get(k) for k in FIELDS})
    if carried_from is not None:
        events = [*events, *draft_after(carried_from)[1]]
        phase.travel_standard_visit_yen = carried_from.travel_standard_visit_yen
        settings = db.session.scalar(select(MatchingSettings).where(MatchingSettings.phase_id == carried_from.id))
        if settings is not None:
            db.session.add(MatchingSettings(phase=phase, weights=dict(settings.weights), within_budget=settings.within_budget,
                                            **{f: getattr(settings, f) for f in CONFLICT_RULES}))
        from banso.services import travel  # the new fiscal year's travel rates, from the last phase's year

        travel.carry_rates(carried_from.fiscal_year, phase.fiscal_year, actor=actor)
    phase.events = [PhaseEvent(label=label, at=at) for label, at in events]
    db.session.add(phase)
    carried = f"（{carried_from.name}から引継ぎ）" if carried_from is not None else ""
    audit.record("create", phase, actor=actor, summary=f"{phase.name}を作成{carried}", after=audit.snapshot(phase, FIELDS))
    if has_request_context():
        g.pop(_READ, None)
        g.pop("banso_own_phases", None)
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


# --- which phase a page is about ------------------------------------------------------------------------------------
# From December to March two phases are live: the one whose teams are in support (their trips, claims, reports and
# activities) and the next one, whose survey, recruitment, selection and matching run. A page is about one of them by
# the work it shows, never by which phase was created last: SUPPORT pages (teams, travel, budget, reports, statistics)
# open on the phase in support, INTAKE pages (applications, population, applicants, 併任, matching, publication) on the
# phase taking in; an officer's pages on their own team's phase. A phase a user picks sticks (kept on the user) until they pick another.
SUPPORT, INTAKE = "support", "intake"


def in_support() -> Phase | None:
    """The newest phase whose support has begun: its teams work and travel, and its claims come in after it ends."""
    today = today_jst()
    return next((p for p in all_phases() if p.support_start <= today), None)


def in_intake() -> Phase | None:
    """The newest phase whose survey has opened and whose support has not begun (from December, the next phase)."""
    at, today = now(), today_jst()
    return next((p for p in all_phases() if p.survey_opens_at <= at and today < p.support_start), None)


def live_phases() -> list[Phase]:
    """The phases with work in them now, newest first: the one taking in and the one in support."""
    live = [p for p in (in_intake(), in_support()) if p is not None]
    return [p for i, p in enumerate(live) if p not in live[:i]]


def own_team_phase(user: User) -> Phase | None:
    """The phase of an officer's current team (their work is there, whichever phase was created since)."""
    if not teams_policy.sees_own_teams_only(user):
        return None
    from flask_login import current_user

    if has_request_context() and current_user.is_authenticated and current_user.id == user.id:
        phases = all_phases()  # read with the signed-in officer's own phases (one statement a request)
        return next((p for p in phases if p.id in g.get("banso_own_phases", ())), None)
    return db.session.scalar(select(Phase).join(Team, Team.phase_id == Phase.id).join(TeamMembership).join(Officer)
                             .where(Officer.user_id == user.id, TeamMembership.left_on.is_(None))
                             .order_by(Phase.number.desc()).limit(1))


def default_phase(work: str = SUPPORT, user: User | None = None) -> Phase | None:
    """Where ``user``'s ``work`` is now: an officer's team's phase; else the phase in support or taking in; before
    either exists, the current one."""
    if user is None and has_request_context():
        from flask_login import current_user

        user = current_user if current_user.is_authenticated else None
    own = own_team_phase(user) if user is not None else None
    return own or (in_intake() if work == INTAKE else in_support()) or current_phase()


def chosen() -> dict:
    """The signed-in user's chosen phase for each kind of work ({work: number}); kept on the user, so it outlives a
    sign-out and follows them to another terminal."""
    from flask_login import current_user

    if not has_request_context() or not current_user.is_authenticated:
        return {}
    return dict(current_user.phase_choice or {})


def selected_phase(number: str | None, work: str = SUPPORT) -> Phase | None:
    """The phase a page is about: the one asked for (?phase=2), remembered for the user's later pages of the same
    work until another is chosen (choosing the default forgets it); else the default for that work. A page shown on a
    remembered phase says so, with the way back (``remembered_phase``)."""
    choices = chosen()
    asked = parse_id(number) or choices.get(work)
    phase = next((p for p in all_phases() if p.number == asked), None) if asked else None
    default = default_phase(work)
    if not has_request_context():
        return phase or default
    if parse_id(number) and request.method == "GET":
        remembered = {k: v for k, v in choices.items() if k != work}
        if phase is not None and phase != default:
            remembered[work] = phase.number
        if remembered != choices:
            from flask_login import current_user

            current_user.phase_choice = remembered or None  # committed with the request (request_path)
    elif phase is not None and phase != default:
        g.banso_remembered_phase = (phase, default)
    return phase or default


def remembered_phase() -> tuple[Phase, Phase] | None:
    """(shown, default) when this request's page shows a phase remembered from an earlier choice, not the default."""
    return g.get("banso_remembered_phase") if has_request_context() else None


def before_publication(phase: Phase) -> bool:
    """PUB-2: matching results are confidential until the secretariat releases them."""
    from banso.services import publication

    return publication.confidential(phase)
