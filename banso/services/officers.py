"""Officers (地方創生支援官): records, eligibility (OFF-1, OFF-2), recruitment per phase,
concurrent-appointment orders (OFF-3), self-service profiles (OFF-4, OFF-5), the phase breakdown."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, Text, and_, case, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from banso.clock import now
from banso.extensions import db
from banso.formatting import parse_id
from banso.queries import json_list_contains
from banso.models import (AppointmentState, CandidacyStatus, ConcurrentAppointment, Ministry, Officer,
                          OfficerCandidacy, Phase, ProfileChangeRequest, Role, User)
from banso.policies import officers as policy
from banso.reference import (AGE_BANDS, APPOINTMENT_POSTS, ELIGIBLE_WORKPLACES, FIELDS, GRADE_BANDS,
                             INELIGIBLE_GRADES, JOB_TYPES, MINISTRIES, MINISTRY_ALIASES, SEXES, WORKPLACES,
                             normalize_name, to_hiragana)
from banso.services import InputError, NotPermitted, RuleViolation, WrongState, audit, check_version, notifications, users

OFFICIAL_FIELDS = ["ministry_id", "bureau", "division", "post_title", "grade_band", "workplace_type"]
SELF_FIELDS = ["email", "phone", "expertise_fields", "home_town", "region_ties", "preferences", "introduction",
               "availability", "effort_percent"]
RECORD_FIELDS = ["name", "name_kana", *OFFICIAL_FIELDS, "job_type", "officer_type", "sex", "birth_date", *SELF_FIELDS, "notes"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
KANA = re.compile(r"^[ぁ-ゖー\s・]+$")
SIGNATURE = "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室"


# --- ministries -------------------------------------------------------------------

def ensure_ministries() -> int:
    """Load the managed list of ministries and agencies (idempotent)."""
    existing = {m.name: m for m in db.session.scalars(select(Ministry))}
    for order, (name, parent) in enumerate(MINISTRIES):
        ministry = existing.get(name) or Ministry(name=name)
        ministry.sort_order = order
        ministry.parent = existing.get(parent) if parent else None
        db.session.add(ministry)
        existing[name] = ministry
    db.session.flush()
    return len(MINISTRIES)


def all_ministries() -> list[Ministry]:
    return list(db.session.scalars(select(Ministry).options(joinedload(Ministry.parent)).order_by(Ministry.sort_order)))


def find_ministry(text: str, ministries: list[Ministry] | None = None) -> Ministry | None:
    name = normalize_name(text)
    name = MINISTRY_ALIASES.get(name, name)
    for ministry in ministries if ministries is not None else all_ministries():
        if normalize_name(ministry.name) == name:
            return ministry
    return None


# --- eligibility (OFF-1, OFF-2) -----------------------------------------------------------

def eligibility(officer_or_data) -> tuple[bool, str | None]:
    get = officer_or_data.get if isinstance(officer_or_data, dict) else lambda k: getattr(officer_or_data, k)
    reasons = []
    if get("grade_band") not in GRADE_BANDS:
        reasons.append(f"OFF-1: 職階「{get('grade_band')}」は対象外です（指定職から係長級〈行政職俸給表（一）3級相当〉以上が対象）。")
    if get("workplace_type") not in ELIGIBLE_WORKPLACES:
        reasons.append(f"OFF-2: {get('workplace_type')}で勤務する職員は対象外です（本省・外局の常勤職員が対象）。")
    return (not reasons, " ".join(reasons) or None)


def field_errors(data: dict) -> dict[str, str]:
    errors = {}
    if not (data.get("name") or "").strip():
        errors["name"] = "氏名を入力してください。"
    kana = to_hiragana(data.get("name_kana") or "")
    if not kana:
        errors["name_kana"] = "ふりがなを入力してください。"
    elif not KANA.match(kana):
        errors["name_kana"] = "ふりがなは、ひらがなまたはカタカナで入力してください。"
    if not data.get("ministry_id"):
        errors["ministry_id"] = "府省庁を選んでください（一覧にない名称は登録できません）。"
    if data.get("grade_band") not in GRADE_BANDS + INELIGIBLE_GRADES:
        errors["grade_band"] = f"職階は{'・'.join(GRADE_BANDS + INELIGIBLE_GRADES)}のいずれかです。"
    if data.get("job_type") not in JOB_TYPES:
        errors["job_type"] = "事務官か技官かを選んでください。"
    if data.get("sex") not in SEXES:
        errors["sex"] = "性別を選んでください。"
    if data.get("workplace_type") not in WORKPLACES:
        errors["workplace_type"] = f"勤務先区分は{'・'.join(WORKPLACES)}のいずれかです。"
    if data.get("officer_type") not in ("officer", "secondee"):
        errors["officer_type"] = "区分を選んでください。"
    birth = data.get("birth_date")
    if not isinstance(birth, date) or not (1940 <= birth.year <= now().year - 18):
        errors["birth_date"] = "生年月日を正しく入力してください。"
    email = (data.get("email") or "").strip()
    if not email:
        errors["email"] = "メールアドレスを入力してください。"
    elif not EMAIL.match(email):
        errors["email"] = "メールアドレスの形式が正しくありません。"
    fields = data.get("expertise_fields") or []
    if any(f not in FIELDS for f in fields):
        errors["expertise_fields"] = "専門分野は①〜㉖から選んでください。"
    effort = data.get("effort_percent")
    if effort is not None and not (0 <= effort <= 100):
        errors["effort_percent"] = "業務割合は0〜100%で入力してください。"
    return errors


def find_duplicate(data: dict, *, exclude: Officer | None = None) -> Officer | None:
    """The same person: same e-mail, or same name + ministry + date of birth."""
    email = (data.get("email") or "").strip().lower()
    stmt = select(Officer).where(or_(
        func.lower(Officer.email) == email,
        (Officer.name == (data.get("name") or "").strip()) & (Officer.ministry_id == data.get("ministry_id"))
        & (Officer.birth_date == data.get("birth_date")),
    ))
    if exclude is not None:
        stmt = stmt.where(Officer.id != exclude.id)
    return db.session.scalar(stmt.limit(1))


class KnownPeople:
    """Every recorded officer by e-mail and by name + ministry + date of birth (the rule of
    ``find_duplicate``), loaded once for checking a whole spreadsheet."""

    def __init__(self):
        officers = list(db.session.scalars(select(Officer)))
        self.by_email = {o.email.lower(): o for o in officers}
        self.by_person = {(o.name, o.ministry_id, o.birth_date): o for o in officers}

    def find(self, data: dict) -> Officer | None:
        return (self.by_email.get((data.get("email") or "").strip().lower())
                or self.by_person.get(((data.get("name") or "").strip(), data.get("ministry_id"), data.get("birth_date"))))


def _raise(errors: dict[str, str]) -> None:
    if errors:
        field, message = next(iter(errors.items()))
        raise InputError(message, field)


def _clean(data: dict) -> dict:
    data = dict(data)
    data["name"] = re.sub(r"\s+", " ", (data.get("name") or "").strip())
    data["name_kana"] = to_hiragana(data.get("name_kana") or "")
    data["email"] = (data.get("email") or "").strip().lower()
    for name, column in Officer.__table__.c.items():  # a text field the form did not send is empty, not NULL
        if name in data and data[name] is None and not column.nullable and isinstance(column.type, (String, Text)):
            data[name] = ""
    return data


def create_officer(data: dict, *, actor: User | None) -> Officer:
    data = _clean(data)
    _raise(field_errors(data))
    duplicate = find_duplicate(data)
    if duplicate is not None:
        raise InputError(f"同じ方が既に登録されています（{duplicate.name}・{duplicate.email}）。既存の記録をお使いください。", "email")
    officer = Officer(**{k: data.get(k) for k in RECORD_FIELDS if k in data})
    db.session.add(officer)
    audit.record("create", officer, actor=actor, summary=f"支援官 {officer.name} を登録", after=audit.snapshot(officer, RECORD_FIELDS))
    return officer


def update_officer(officer: Officer, data: dict, *, actor: User, expected_version=None) -> Officer:
    """Secretariat edit of the whole record (OFF-5: official fields change only here), only over the version the
    form was opened at."""
    check_version(officer, expected_version, {"name": "氏名", "post_title": "役職", "grade_band": "職階", "email": "メールアドレス",
                                               "phone": "電話番号"})
    data = _clean(data)
    _raise(field_errors(data))
    duplicate = find_duplicate(data, exclude=officer)
    if duplicate is not None:
        raise InputError(f"同じ方が既に登録されています（{duplicate.name}）。", "email")
    before = audit.snapshot(officer, RECORD_FIELDS)
    for key in RECORD_FIELDS:
        if key in data:
            setattr(officer, key, data[key])
    after = audit.snapshot(officer, RECORD_FIELDS)
    if before != after:
        audit.record("update", officer, actor=actor, summary=f"支援官 {officer.name} の記録を更新", before=before, after=after)
        _reassess(officer, actor)
    return officer


def _reassess(officer: Officer, actor: User | None) -> None:
    """After an official change, each open candidacy is judged again (OFF-1, OFF-2)."""
    eligible, reason = eligibility(officer)
    for candidacy in officer.candidacies:
        if candidacy.status in (CandidacyStatus.APPLIED, CandidacyStatus.NOT_SELECTED, CandidacyStatus.SELECTED):
            candidacy.eligible, candidacy.ineligibility_reason = eligible, reason
            if not eligible and candidacy.status == CandidacyStatus.SELECTED:
                candidacy.status = CandidacyStatus.NOT_SELECTED


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
    if appointment.state != AppointmentState.ISSUED:
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


# --- self-service (OFF-4, OFF-5) -----------------------------------------------------------

def effort_warning(officer: Officer) -> str | None:
    """OFF-4: the work is about 10–20% of an officer's working time."""
    if officer.effort_percent is None:
        return None
    if not 10 <= officer.effort_percent <= 20:
        return f"OFF-4: 伴走支援業務は勤務時間の1割〜2割程度を想定しています（入力値 {officer.effort_percent}%）。所属の上司とご相談ください。"
    return None


def update_own_profile(officer: Officer, data: dict, *, actor: User) -> Officer:
    """OFF-5: an officer changes only their own, non-official fields; anything else is refused."""
    if officer.user_id != actor.id:
        raise NotPermitted("ご自身のプロフィールだけを編集できます。")
    official = sorted(set(data) - set(SELF_FIELDS))
    if official:
        raise RuleViolation("OFF-5", "所属・役職・職階などの公式の記録は、変更申請により事務局が変更します。")
    merged = {**{k: getattr(officer, k) for k in RECORD_FIELDS}, **data}
    errors = {k: v for k, v in field_errors(_clean(merged)).items() if k in SELF_FIELDS}
    _raise(errors)
    if find_duplicate(_clean(merged), exclude=officer) is not None:
        raise InputError("このメールアドレスは他の方が使っています。", "email")
    before = audit.snapshot(officer, SELF_FIELDS)
    for key in SELF_FIELDS:
        if key in data:
            setattr(officer, key, data[key].strip().lower() if key == "email" else data[key])
    after = audit.snapshot(officer, SELF_FIELDS)
    if before != after:
        audit.record("update_profile", officer, actor=actor, summary=f"{officer.name}さんがプロフィールを更新", before=before, after=after)
    return officer


def request_change(officer: Officer, changes: dict, *, reason: str, effective_on: date | None, actor: User) -> ProfileChangeRequest:
    if not policy.may_request_change(officer, actor):
        raise NotPermitted("ご自身の記録の変更だけを申請できます。")
    changes = {k: v for k, v in changes.items() if k in OFFICIAL_FIELDS and v not in (None, "") and v != getattr(officer, k)}
    if not changes:
        raise InputError("変更する項目を入力してください（現在と同じ値は申請できません）。")
    if not (reason or "").strip():
        raise InputError("変更の理由（人事異動など）を入力してください。", "reason")
    merged = {**{k: getattr(officer, k) for k in RECORD_FIELDS}, **changes}
    _raise({k: v for k, v in field_errors(merged).items() if k in changes})
    request = ProfileChangeRequest(officer=officer, changes=changes, reason=reason.strip(), effective_on=effective_on)
    db.session.add(request)
    audit.record("request_change", request, actor=actor, summary=f"{officer.name}さんが公式の記録の変更を申請", after=changes)
    return request


@dataclass
class Decision:
    request: ProfileChangeRequest
    needs_replacement: bool  # on a team and no longer eligible → the teams area starts a member replacement


def decide_change(request: ProfileChangeRequest, *, approve: bool, note: str, actor: User) -> Decision:
    if request.status != "pending":
        raise WrongState("この申請は処理済みです。")
    officer = request.officer
    if not approve and not (note or "").strip():
        raise InputError("却下の理由を入力してください。", "note")
    if approve and "ministry_id" in request.changes and db.session.get(Ministry, request.changes["ministry_id"]) is None:
        raise InputError("申請された府省庁が一覧にありません。")
    request.status = "approved" if approve else "rejected"
    request.decided_by_id, request.decided_at, request.decision_note = actor.id, now(), (note or "").strip()
    needs_replacement = False
    if approve:
        before = audit.snapshot(officer, OFFICIAL_FIELDS)
        for key, value in request.changes.items():
            setattr(officer, key, value)
        audit.record("approve_change", officer, actor=actor, summary=f"{officer.name}さんの記録の変更申請を承認",
                     before=before, after=audit.snapshot(officer, OFFICIAL_FIELDS))
        _reassess(officer, actor)
        eligible, _ = eligibility(officer)
        needs_replacement = not eligible and any(c.status == CandidacyStatus.ASSIGNED for c in officer.candidacies)
    else:
        audit.record("reject_change", request, actor=actor, summary=f"{officer.name}さんの記録の変更申請を却下（{request.decision_note}）")
    notifications.notify(
        key=f"change-decision-{request.id}", kind="profile_change_decision", obj=request,
        recipient_email=officer.email, recipient_name=officer.name, recipient_user=officer.user,
        subject=f"【地方創生伴走支援】登録内容の変更申請を{'承認' if approve else '却下'}しました",
        body=(f"{officer.name} 様\n\n{request.created_at:%Y年%m月%d日}に申請のあった登録内容の変更を"
              f"{'承認し、記録を更新しました' if approve else '却下しました'}。\n"
              + (f"理由: {request.decision_note}\n" if request.decision_note else "") + "\n" + SIGNATURE),
    )
    return Decision(request, needs_replacement)


def create_login(officer: Officer, *, actor: User) -> User:
    """A sign-in for the officer's self-service: they are e-mailed a link to set their own password."""
    if officer.user_id is not None:
        raise WrongState("この支援官のアカウントは作成済みです。")
    user = users.create_user(email=officer.email, name=officer.name, role=Role.OFFICER, actor=actor)
    officer.user = user
    return user


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
