"""Answers that arrive by e-mail as a spreadsheet (回答フォーム記載事項リスト), APP-6.

Every row is checked first and shown in a preview with its errors by row and column;
nothing is stored until every remaining row is clean (bad rows may be excluded explicitly),
and then all of them are stored in one transaction or none.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Callable

from sqlalchemy import select

from banso.clock import JST, now
from banso.extensions import db
from banso.models import Application, ImportBatch, Phase, User
from banso.reference import CIRCLED, FIELDS, has_fullwidth_digit, normalize_name, valid_code
from banso.services import RuleViolation, applications, audit, municipalities, spreadsheets

KIND = "applications"
INLINE_ROWS = 200  # larger files are checked on the worker, with a progress bar

# The answer-form layout, used for import and export alike.
COLUMNS: list[tuple[str, str]] = [
    ("団体コード", "code"), ("都道府県", "prefecture"), ("市町村名", "name"),
    ("担当部署", "contact_department"), ("担当者氏名", "contact_person"),
    ("メールアドレス", "contact_email"), ("電話番号", "contact_phone"),
    ("優先分野1", "field1"), ("優先分野2", "field2"), ("優先分野3", "field3"),
    ("課題の性質（独立・複合）", "issue_structure"), ("地域の状況・課題", "local_situation"),
    ("国家公務員の出向等の予定（有・無）", "seconded_national_staff"),
    ("地方創生人材支援制度での国家公務員派遣希望（有・無）", "requested_national_staff"),
    ("地方創生人材支援制度での民間専門人材派遣希望（有・無）", "requested_private_expert"),
    ("受付日時", "received_at"),
]
HEADER_OF = {key: header for header, key in COLUMNS}
REQUIRED_HEADERS = {"担当部署", "担当者氏名", "メールアドレス", "電話番号", "優先分野1", "課題の性質（独立・複合）", "地域の状況・課題"}
FIELD_ERROR_COLUMN = {"contact_department": "担当部署", "contact_person": "担当者氏名", "contact_email": "メールアドレス",
                      "contact_phone": "電話番号", "priority_fields": "優先分野1", "issue_structure": "課題の性質（独立・複合）",
                      "local_situation": "地域の状況・課題", "received_at": "受付日時"}
YES = {"有", "あり", "はい", "○", "〇", "yes", "y", "true", "1"}
NO = {"", "無", "なし", "いいえ", "×", "no", "n", "false", "0", "-"}
_FIELD_BY_NAME = {normalize_name(name): number for number, name in FIELDS.items()}


def _header_key(text: str) -> str:
    return re.sub(r"[\s（）()・]", "", unicodedata.normalize("NFKC", text or ""))


_HEADER_KEYS = {_header_key(h): h for h, _ in COLUMNS}


def create_batch(phase: Phase, filename: str, content: bytes, *, actor: User | None) -> ImportBatch:
    """Read the file (a file-level problem raises at once and nothing is stored)."""
    header, rows = spreadsheets.read_table(filename, content)
    _map_headers(header)
    batch = ImportBatch(kind=KIND, phase=phase, filename=filename[:255], content=content, status="validating",
                        total_rows=len(rows), processed_rows=0, rows=None, excluded_rows=[],
                        created_by_id=actor.id if actor else None)
    db.session.add(batch)
    db.session.flush()
    return batch


def _map_headers(header: list[str]) -> dict[str, int]:
    positions = {}
    for index, text in enumerate(header):
        known = _HEADER_KEYS.get(_header_key(text))
        if known:
            positions[known] = index
        elif re.fullmatch(r"優先分野[4-9]", unicodedata.normalize("NFKC", text).strip()):
            positions[unicodedata.normalize("NFKC", text).strip()] = index
    missing = [h for h in REQUIRED_HEADERS if h not in positions]
    if "団体コード" not in positions and not {"都道府県", "市町村名"} <= positions.keys():
        missing.insert(0, "団体コード（または 都道府県・市町村名）")
    if missing:
        raise RuleViolation("IMPORT", f"見出し行に必要な列がありません: {'、'.join(sorted(missing))}。回答フォーム記載事項リストの様式でご提出ください。", "file")
    return positions


def validate_batch(batch: ImportBatch, *, received_default: datetime | None = None,
                   on_progress: Callable[[ImportBatch], None] | None = None) -> ImportBatch:
    """Check every row; record the rows with their errors by column for the preview."""
    header, rows = spreadsheets.read_table(batch.filename, batch.content)
    positions = _map_headers(header)
    phase = batch.phase
    lookup = municipalities.Lookup()
    answered = set(db.session.scalars(select(Application.municipality_id).where(Application.phase_id == phase.id)))
    seen: dict[int, int] = {}
    received_default = received_default or batch.created_at
    checked = []
    for index, raw in enumerate(rows):
        number = index + 2  # the spreadsheet's own row number (row 1 is the header)
        values = {h: (raw[i] if i < len(raw) else "") for h, i in positions.items()}
        checked.append(_check_row(number, values, phase, lookup, answered, seen, received_default))
        batch.processed_rows = index + 1
        if on_progress and (index + 1) % 50 == 0:
            on_progress(batch)
    batch.rows = checked
    batch.status = "ready"
    return batch


def _check_row(number, values, phase, lookup, answered, seen, received_default) -> dict:
    errors: dict[str, str] = {}
    code = values.get("団体コード", "").strip()
    if has_fullwidth_digit(code):
        errors["団体コード"] = "全角数字が含まれています。半角数字で入力してください。"
        code = ""
    elif code and not valid_code(code):
        errors["団体コード"] = f"「{code}」は正しい団体コードではありません（6桁・末尾の検査数字をご確認ください）。"
        code = ""
    municipality = None
    if "団体コード" not in errors:
        municipality = lookup.find(code, values.get("都道府県", ""), values.get("市町村名", ""))
        if municipality is None:
            label = code or f"{values.get('都道府県', '')}{values.get('市町村名', '')}"
            errors["団体コード" if code else "市町村名"] = f"「{label}」に該当する市区町村がマスタにありません。"
    if municipality is not None:
        if municipality.id in answered:
            errors["市町村名"] = f"APP-5: {municipality.full_name}の回答は{phase.name}で既に受け付けています。"
        elif municipality.id in seen:
            errors["市町村名"] = f"APP-5: {municipality.full_name}はこのファイルの{seen[municipality.id]}行目と重複しています。"
        elif applications.previously_supported(municipality.id, phase):
            errors["市町村名"] = f"APP-4: {municipality.full_name}は前期の支援先です。継続意向調査で回答を受け付けます。"
        else:
            seen[municipality.id] = number
    fields = []
    for header in ("優先分野1", "優先分野2", "優先分野3"):
        text = values.get(header, "").strip()
        if not text:
            continue
        parsed, problem = _parse_field(text)
        if problem:
            errors[header] = problem
        else:
            fields.append(parsed)
    for header in sorted(h for h in values if h.startswith("優先分野") and h[-1] in "456789"):
        if values[header].strip():
            errors[header] = "APP-7: 優先する課題分野は3つまでです。4つ目以降は記入できません。"
    flags = {}
    for key in ("seconded_national_staff", "requested_national_staff", "requested_private_expert"):
        header = HEADER_OF[key]
        text = unicodedata.normalize("NFKC", values.get(header, "")).strip().lower()
        if text in YES:
            flags[key] = True
        elif text in NO:
            flags[key] = False
        else:
            errors[header] = f"「{values.get(header)}」は「有」か「無」で記入してください。"
    received_at, problem = _parse_time(values.get("受付日時", ""), received_default)
    if problem:
        errors["受付日時"] = problem
    phone = values.get("電話番号", "").strip()
    if has_fullwidth_digit(phone):
        errors["電話番号"] = "全角数字が含まれています。半角数字で入力してください。"
    structure = {"独立": "independent", "それぞれ独立": "independent", "複合": "compound", "複合的": "compound"}.get(
        values.get("課題の性質（独立・複合）", "").strip())
    data = {
        "contact_department": values.get("担当部署", ""), "contact_person": values.get("担当者氏名", ""),
        "contact_email": values.get("メールアドレス", ""), "contact_phone": phone,
        "priority_fields": fields, "issue_structure": structure, "local_situation": values.get("地域の状況・課題", ""),
        "received_at": received_at, "channel": "email", **flags,
    }
    for field, message in applications.field_errors(data).items():
        column = FIELD_ERROR_COLUMN.get(field, field)
        errors.setdefault(column, message)
    warnings = applications.ministry_mentions(data["local_situation"])
    stored = dict(data, received_at=received_at.isoformat() if received_at else None)
    return {
        "row": number,
        "values": values,
        "errors": errors,
        "warnings": [f"APP-9: 省庁名（{'、'.join(warnings)}）の記載があります。" ] if warnings else [],
        "municipality_id": municipality.id if municipality else None,
        "municipality": municipality.full_name if municipality else "",
        "data": stored,
    }


def _parse_field(text: str) -> tuple[int | None, str | None]:
    if has_fullwidth_digit(text):
        return None, "全角数字が含まれています。半角数字（1〜26）で入力してください。"
    if text.isdigit():
        number = int(text)
        return (number, None) if number in FIELDS else (None, f"「{text}」は課題分野の番号（1〜26）ではありません。")
    if text[0] in CIRCLED:
        return CIRCLED.index(text[0]) + 1, None
    number = _FIELD_BY_NAME.get(normalize_name(text))
    return (number, None) if number else (None, f"「{text}」は26の課題分野のいずれでもありません。")


def _parse_time(text: str, default: datetime) -> tuple[datetime | None, str | None]:
    text = (text or "").strip()
    if not text:
        return default, None
    if has_fullwidth_digit(text):
        return None, "全角数字が含まれています。半角数字で入力してください。"
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=JST), None
        except ValueError:
            continue
    return None, f"「{text}」は日時として読み取れません（例: 2025-12-24 16:30）。"


def set_excluded(batch: ImportBatch, rows: list[int], *, actor: User) -> ImportBatch:
    if batch.status != "ready":
        raise RuleViolation("IMPORT", "この取込は確認できる状態ではありません。")
    known = {r["row"] for r in batch.rows}
    batch.excluded_rows = sorted(set(rows) & known)
    return batch


def commit_batch(batch: ImportBatch, *, actor: User | None) -> int:
    """Store every included row, or none (the caller rolls back on RuleViolation)."""
    if batch.status != "ready":
        raise RuleViolation("IMPORT", "この取込は既に完了しているか、確認中です。")
    if batch.blocking_rows:
        rows = "、".join(str(r["row"]) for r in batch.blocking_rows[:20])
        raise RuleViolation("IMPORT", f"エラーのある行（{rows}行目）が残っています。修正したファイルを取り込み直すか、取り込まない行として除外してください。")
    included = [r for r in batch.rows if r["row"] not in batch.excluded_rows]
    if not included:
        raise RuleViolation("IMPORT", "取り込む行がありません。")
    phase = batch.phase
    from banso.models import Municipality

    for row in included:
        data = dict(row["data"], received_at=datetime.fromisoformat(row["data"]["received_at"]))
        municipality = db.session.get(Municipality, row["municipality_id"])
        try:
            applications.submit_application(phase, municipality, data, actor=actor)
        except RuleViolation as violation:
            raise RuleViolation(violation.rule_id, f"{row['row']}行目: {violation.message}（何も取り込んでいません）") from violation
    batch.status = "imported"
    batch.imported_at = now()
    batch.imported_count = len(included)
    audit.record("import", batch, actor=actor,
                 summary=f"{phase.name}の回答を「{batch.filename}」から{len(included)}件取り込み（除外 {len(batch.excluded_rows)}行）",
                 after={"imported": len(included), "excluded_rows": batch.excluded_rows})
    return len(included)


def export_row(application: Application) -> list:
    m = application.municipality
    yes_no = lambda flag: "有" if flag else "無"  # noqa: E731
    fields = application.priority_fields + [None, None]
    return [
        m.code, m.prefecture, m.name, application.contact_department, application.contact_person,
        application.contact_email, application.contact_phone,
        *(f if f is not None else "" for f in fields[:3]),
        "複合" if application.issue_structure == "compound" else "独立", application.local_situation,
        yes_no(application.seconded_national_staff), yes_no(application.requested_national_staff),
        yes_no(application.requested_private_expert),
        application.received_at.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S"),
    ]
