"""Officers' records: the ministries, eligibility (OFF-1, OFF-2), the record kept by the secretariat."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import String, Text, func, or_, select
from sqlalchemy.orm import joinedload

from banso.clock import now
from banso.extensions import db
from banso.models import (CandidacyStatus, Ministry, Officer,
                          User)
from banso.reference import (ELIGIBLE_WORKPLACES, FIELDS, GRADE_BANDS,
                             INELIGIBLE_GRADES, JOB_TYPES, MINISTRIES, MINISTRY_ALIASES, SEXES, WORKPLACES,
                             normalize_name, to_hiragana)
from banso.services import InputError, audit, check_version


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


def raise_problems(errors: dict[str, str]) -> None:
    if errors:
        field, message = next(iter(errors.items()))
        raise InputError(message, field)


def clean(data: dict) -> dict:
    data = dict(data)
    data["name"] = re.sub(r"\s+", " ", (data.get("name") or "").strip())
    data["name_kana"] = to_hiragana(data.get("name_kana") or "")
    data["email"] = (data.get("email") or "").strip().lower()
    for name, column in Officer.__table__.c.items():  # a text field the form did not send is empty, not NULL
        if name in data and data[name] is None and not column.nullable and isinstance(column.type, (String, Text)):
            data[name] = ""
    return data


def create_officer(data: dict, *, actor: User | None) -> Officer:
    data = clean(data)
    raise_problems(field_errors(data))
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
    data = clean(data)
    raise_problems(field_errors(data))
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
        reassess(officer, actor)
    return officer


def reassess(officer: Officer, actor: User | None) -> None:
    """After an official change, each open candidacy is judged again (OFF-1, OFF-2)."""
    eligible, reason = eligibility(officer)
    for candidacy in officer.candidacies:
        if candidacy.status in (CandidacyStatus.APPLIED, CandidacyStatus.NOT_SELECTED, CandidacyStatus.SELECTED):
            candidacy.eligible, candidacy.ineligibility_reason = eligible, reason
            if not eligible and candidacy.status == CandidacyStatus.SELECTED:
                candidacy.status = CandidacyStatus.NOT_SELECTED
