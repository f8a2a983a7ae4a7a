"""Ministries send their applicants as a spreadsheet; each row becomes an officer (or joins the
existing record of the same person) with a candidacy in the phase. OFF-1/OFF-2 failures are kept
and marked 対象外 with the reason, never dropped."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from flask import url_for
from sqlalchemy import select

from banso.extensions import db
from banso.models import ImportBatch, Officer, OfficerCandidacy, User
from banso.reading import read_date, read_email, read_fields, read_phone
from banso.reference import (FIELDS, GRADE_BANDS, INELIGIBLE_GRADES, JOB_TYPES, MINISTRIES, OFFICER_TYPES, SEXES,
                             WORKPLACES, field_label, to_hiragana)
from banso.services import imports, officers
from banso.services.import_templates import Guide

KIND = "officers"
COLUMNS: list[tuple[str, str]] = [
    ("氏名", "name"), ("ふりがな", "name_kana"), ("府省庁", "ministry"), ("局・部", "bureau"), ("課・室", "division"),
    ("役職", "post_title"), ("職階", "grade_band"), ("事務官・技官", "job_type"), ("性別", "sex"), ("生年月日", "birth_date"),
    ("勤務先区分", "workplace_type"), ("メールアドレス", "email"), ("電話番号", "phone"), ("専門分野", "expertise_fields"),
    ("出身地", "home_town"), ("ゆかりのある地域", "region_ties"), ("区分", "officer_type"),
]
HEADER_OF = {key: header for header, key in COLUMNS}
_TYPE_BY_LABEL = {label: key for key, label in OFFICER_TYPES.items()} | {"支援官": "officer", "オフィサー": "secondee", "": "officer"}


GUIDE = {
    "氏名": Guide("姓と名の間に空白を入れてください。", example="伴走 花子"), "ふりがな": Guide(example="ばんそう はなこ"),
    "府省庁": Guide("府省庁等の正式名称（外局は外局名）。", tuple(name for name, _ in MINISTRIES), "内閣府", strict=True),
    "局・部": Guide(example="地方創生推進事務局"), "課・室": Guide(example="総務課"), "役職": Guide(example="課長補佐"),
    "職階": Guide("OFF-1: 係長級以上が対象です。", tuple(GRADE_BANDS + INELIGIBLE_GRADES), "課長補佐級", strict=True),
    "事務官・技官": Guide(choices=tuple(JOB_TYPES), example="事務官", strict=True),
    "性別": Guide(choices=tuple(SEXES), example="女性", strict=True),
    "生年月日": Guide("例: 1985-04-01、昭和60年4月1日、S60.4.1", example="1985-04-01"),
    "勤務先区分": Guide("OFF-2: 本省・外局に勤務する方が対象です。", tuple(WORKPLACES), "本省", strict=True),
    "メールアドレス": Guide("職場のメールアドレス。Banso へのサインインにも使います。", example="hanako.banso@cao.example.go.jp"),
    "電話番号": Guide(example="03-5253-2111"),
    "専門分野": Guide("26の課題分野から（番号・①〜㉖・分野名）。複数は「、」で区切ります。", tuple(field_label(n) for n in FIELDS),
                   f"{field_label(3)}、{field_label(16)}"),
    "出身地": Guide(example="岩手県"), "ゆかりのある地域": Guide(example="宮城県気仙沼市（勤務経験）"),
    "区分": Guide(choices=tuple(OFFICER_TYPES.values()), example=OFFICER_TYPES["officer"], strict=True),
}


@dataclass
class _Context:
    phase: object
    ministries: list
    known: officers.KnownPeople
    applied: set[int]
    seen: dict[str, int] = field(default_factory=dict)
    row: int = 1


class OfficerImporter:
    kind = KIND
    title = "支援官の応募者"
    columns = COLUMNS
    guide = GUIDE
    required = {"氏名", "ふりがな", "府省庁", "職階", "事務官・技官", "性別", "生年月日", "勤務先区分", "メールアドレス"}

    def check_headers(self, found: set[str]) -> list[str]:
        return []

    def context(self, batch: ImportBatch) -> _Context:
        applied = set(db.session.scalars(select(OfficerCandidacy.officer_id).where(OfficerCandidacy.phase_id == batch.phase_id)))
        return _Context(batch.phase, officers.all_ministries(), officers.KnownPeople(), applied)

    def check_row(self, values: dict[str, str], ctx: _Context) -> imports.Row:
        ctx.row += 1
        errors: dict[str, str] = {}
        warnings: list[str] = []
        ministry = officers.find_ministry(values.get("府省庁", ""), ctx.ministries)
        if values.get("府省庁") and ministry is None:
            errors["府省庁"] = f"「{values['府省庁']}」は府省庁等の一覧にありません。正式名称で記入してください。"
        birth = imports.read_cell(values, "生年月日", read_date, errors, what="生年月日")
        if birth is None:
            errors.setdefault("生年月日", "生年月日を入力してください。")
        fields = imports.read_cell(values, "専門分野", read_fields, errors) or []
        email = imports.read_cell(values, "メールアドレス", read_email, errors)
        phone = imports.read_cell(values, "電話番号", read_phone, errors)
        officer_type = _TYPE_BY_LABEL.get(values.get("区分", ""))
        if officer_type is None:
            errors["区分"] = "区分は「地方創生支援官」か「地方創生支援オフィサー」です。"
        data = {
            "name": values.get("氏名", ""), "name_kana": to_hiragana(values.get("ふりがな", "")),
            "ministry_id": ministry.id if ministry else None, "bureau": values.get("局・部", ""),
            "division": values.get("課・室", ""), "post_title": values.get("役職", ""),
            "grade_band": unicodedata.normalize("NFKC", values.get("職階", "")), "job_type": values.get("事務官・技官", ""),
            "sex": values.get("性別", ""), "birth_date": birth, "workplace_type": values.get("勤務先区分", ""),
            "email": (email or "").lower(), "phone": phone or "",
            "expertise_fields": fields, "home_town": values.get("出身地", ""), "region_ties": values.get("ゆかりのある地域", ""),
            "officer_type": officer_type or "officer",
        }
        column_of = {"ministry_id": "府省庁", "name_kana": "ふりがな", "email": "メールアドレス", "birth_date": "生年月日",
                     "grade_band": "職階", "job_type": "事務官・技官", "sex": "性別", "workplace_type": "勤務先区分",
                     "name": "氏名", "officer_type": "区分", "expertise_fields": "専門分野"}
        for name, message in officers.field_errors(data).items():
            errors.setdefault(column_of.get(name, name), message)
        existing_id = None
        if not errors:
            data, existing_id = self._against_known(data, birth, ctx, errors, warnings)
        label = f"{data['name']}（{ministry.name if ministry else values.get('府省庁', '')}）"
        return imports.Row(label=label, summary=f"{data['grade_band']} ／ {data['workplace_type']} ／ {data['email']}",
                           errors=errors, warnings=warnings,
                           data=dict(data, birth_date=birth.isoformat() if birth else None, existing_officer_id=existing_id))

    def _against_known(self, data: dict, birth, ctx: _Context, errors: dict[str, str],
                       warnings: list[str]) -> tuple[dict, int | None]:
        """The same person twice in the file, already an applicant, or a known record the row updates (統合)."""
        existing_id = None
        keys = [data["email"], f"{data['name']}|{data['ministry_id']}|{birth}"]
        first = next((ctx.seen[k] for k in keys if k in ctx.seen), None)
        if first:
            errors["メールアドレス"] = f"このファイルの{first}行目と同じ方です。"
        for k in keys:
            ctx.seen.setdefault(k, ctx.row)
        existing = ctx.known.find(data)
        judged = data
        if existing is not None:
            if existing.id in ctx.applied:
                errors["メールアドレス"] = f"{existing.name}さんは{ctx.phase.name}の応募者として既に登録されています。"
            else:
                existing_id = existing.id
                changes = _changes(existing, data)
                judged = {key: getattr(existing, key) for key in officers.RECORD_FIELDS} | changes
                data = dict(data, changes={k: (v.isoformat() if isinstance(v, date) else v) for k, v in changes.items()})
                shown = "、".join(f"{HEADER_OF.get(IMPORTED_AS.get(k, k), k)}「{_shown(getattr(existing, k))}」→「{_shown(v)}」"
                                  for k, v in changes.items())
                warnings.append(f"登録済みの{existing.name}さん（{existing.email}）と同じ方です。既存の記録に{ctx.phase.name}の応募を追加します（統合）。"
                                + (f"取り込むと記録を更新します: {shown}。" if changes else "記録の内容は変わりません。"))
        eligible, reason = officers.eligibility(judged)  # as the record will be once stored
        if not eligible:
            warnings.append(f"{reason} 対象外として登録します。")
        return data, existing_id

    def store(self, batch: ImportBatch, row: dict, actor: User | None) -> None:
        """What the preview said: a new record, or the known person's record updated with the differences it
        listed; the candidacy is then judged from the stored record (OFF-1, OFF-2)."""
        data = dict(row["data"], birth_date=date.fromisoformat(row["data"]["birth_date"]))
        existing_id, changes = data.pop("existing_officer_id"), data.pop("changes", None) or {}
        if existing_id:
            officer = db.session.get(Officer, existing_id)
            if changes:
                if "birth_date" in changes:
                    changes["birth_date"] = date.fromisoformat(changes["birth_date"])
                record = {key: getattr(officer, key) for key in officers.RECORD_FIELDS} | changes
                officers.update_officer(officer, record, actor=actor)
        else:
            officer = officers.create_officer(data, actor=actor)
        officers.apply_to_phase(officer, batch.phase, actor=actor)

    def done_url(self, batch: ImportBatch) -> str:
        return url_for("officers.index", phase=batch.phase.number)


imports.register(OfficerImporter())


# The record's fields an import row may change, and the column each is read from.
IMPORTED_AS = {"ministry_id": "ministry"}


def _changes(officer: Officer, data: dict) -> dict:
    """The fields where the row says something other than the record (an empty cell changes nothing)."""
    changes = {}
    for header, key in COLUMNS:
        key = "ministry_id" if key == "ministry" else key
        new = data.get(key)
        if new in (None, "", []) or key not in officers.RECORD_FIELDS:
            continue
        if new != getattr(officer, key):
            changes[key] = new
    return changes


def _shown(value) -> str:
    if isinstance(value, list):
        return "、".join(field_label(f) for f in value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        from banso.models import Ministry

        ministry = db.session.get(Ministry, value)
        return ministry.name if ministry else str(value)
    return "" if value is None else str(value)


def export_row(officer: Officer) -> list:
    """An officer in this importer's layout (COLUMNS): the list's Excel export imports back unchanged."""
    return [officer.name, officer.name_kana, officer.ministry.name, officer.bureau, officer.division, officer.post_title,
            officer.grade_band, officer.job_type, officer.sex, officer.birth_date, officer.workplace_type, officer.email,
            officer.phone, "、".join(field_label(f) for f in officer.expertise_fields or []), officer.home_town,
            officer.region_ties, OFFICER_TYPES.get(officer.officer_type, "")]
