"""Answers that arrive by e-mail as a spreadsheet (回答フォーム記載事項リスト), APP-6.

Registered with the shared import flow (``banso.services.imports``): every row is checked,
previewed with its errors by row and column, and stored all at once or not at all.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from sqlalchemy import select

from banso.clock import JST
from banso.extensions import db
from banso.formatting import jst_datetime
from banso.models import Application, ImportBatch, Municipality, User
from banso.reference import field_label, parse_fields, typed, valid_code
from banso.services import applications, imports, municipalities

KIND = "applications"

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
FIELD_ERROR_COLUMN = {"contact_department": "担当部署", "contact_person": "担当者氏名", "contact_email": "メールアドレス",
                      "contact_phone": "電話番号", "priority_fields": "優先分野1", "issue_structure": "課題の性質（独立・複合）",
                      "local_situation": "地域の状況・課題", "received_at": "受付日時"}
YES = {"有", "あり", "はい", "○", "〇", "yes", "y", "true", "1"}
NO = {"", "無", "なし", "いいえ", "×", "no", "n", "false", "0", "-"}


@dataclass
class _Context:
    phase: object
    lookup: municipalities.Lookup
    answered: set[int]
    seen: dict[int, int]
    received_default: datetime
    supported_before: set[int]
    row: int = 1


class ApplicationImporter:
    kind = KIND
    title = "活用希望調査の回答"
    columns = COLUMNS
    required = {"担当部署", "担当者氏名", "メールアドレス", "電話番号", "優先分野1", "課題の性質（独立・複合）", "地域の状況・課題"}

    def check_headers(self, found: set[str]) -> list[str]:
        if "団体コード" not in found and not {"都道府県", "市町村名"} <= found:
            return ["団体コード（または 都道府県・市町村名）"]
        return []

    def context(self, batch: ImportBatch) -> _Context:
        received = batch.options.get("received_at")
        answered = set(db.session.scalars(select(Application.municipality_id).where(Application.phase_id == batch.phase_id)))
        return _Context(batch.phase, municipalities.Lookup(), answered, {},
                        datetime.fromisoformat(received) if received else batch.created_at,
                        applications.previously_supported_set(batch.phase))

    def check_row(self, values: dict[str, str], ctx: _Context) -> imports.Row:
        ctx.row += 1
        return _check_row(ctx.row, values, ctx)

    def store(self, batch: ImportBatch, row: dict, actor: User | None) -> None:
        self.store_all(batch, [row], actor)

    def store_all(self, batch: ImportBatch, rows: list[dict], actor: User | None) -> None:
        """Every row in bulk (applications.submit_many): the municipalities read in one statement per 500."""
        ids = [row["data"]["municipality_id"] for row in rows]
        found = {}
        for start in range(0, len(ids), 500):
            found |= {m.id: m for m in db.session.scalars(select(Municipality).where(Municipality.id.in_(ids[start:start + 500])))}
        applications.submit_many(batch.phase, [(row["row"], found[row["data"]["municipality_id"]],
                                                dict(row["data"], received_at=datetime.fromisoformat(row["data"]["received_at"])))
                                               for row in rows], actor=actor)

    def done_url(self, batch: ImportBatch) -> str:
        return url_for("applications.index", phase=batch.phase.number)


imports.register(ApplicationImporter())


def _municipality(number: int, values: dict[str, str], ctx: _Context, errors: dict[str, str]):
    """The row's municipality by its code, prefecture and name; APP-4 and APP-5 against this phase and file."""
    phase = ctx.phase
    code = typed(values.get("団体コード", ""))
    if code and not valid_code(code):
        errors["団体コード"] = f"「{code}」は正しい団体コードではありません（6桁・末尾の検査数字をご確認ください）。"
        code = ""
    municipality = None
    if "団体コード" not in errors:
        municipality = ctx.lookup.find(code, values.get("都道府県", ""), values.get("市町村名", ""))
        if municipality is None:
            errors["団体コード" if code else "市町村名"] = ctx.lookup.why_not_found(code, values.get("都道府県", ""),
                                                                            values.get("市町村名", ""))
        elif code and (disagreement := ctx.lookup.disagreement(municipality, values.get("都道府県", ""), values.get("市町村名", ""))):
            errors["市町村名"] = disagreement
            municipality = None
    if municipality is not None:
        if municipality.id in ctx.answered:
            errors["市町村名"] = f"APP-5: {municipality.full_name}の回答は{phase.name}で既に受け付けています。"
        elif municipality.id in ctx.seen:
            errors["市町村名"] = f"APP-5: {municipality.full_name}はこのファイルの{ctx.seen[municipality.id]}行目と重複しています。"
        elif municipality.id in ctx.supported_before:
            errors["市町村名"] = f"APP-4: {municipality.full_name}は前期の支援先です。継続意向調査で回答を受け付けます。"
        else:
            ctx.seen[municipality.id] = number
    return municipality


def _fields(values: dict[str, str], errors: dict[str, str]) -> list[str]:
    """優先分野1〜3, one a column, in the order of priority (APP-7: three at most)."""
    fields = []
    for header in ("優先分野1", "優先分野2", "優先分野3"):
        text = values.get(header, "")
        if not text:
            continue
        parsed, problem = parse_fields(text)
        if problem:
            errors[header] = problem
        elif len(parsed) > 1:
            errors[header] = (f"1つのセルに{len(parsed)}つの分野があります（{'、'.join(field_label(f) for f in parsed)}）。"
                              "優先分野1〜3の各列に1つずつ、優先する順に記入してください。")
        else:
            fields.extend(parsed)
    for header in sorted(h for h in values if re.fullmatch(r"優先分野[4-9]", h)):
        if values[header]:
            errors[header] = "APP-7: 優先する課題分野は3つまでです。4つ目以降は記入できません。"
    return fields


def _flags(values: dict[str, str], errors: dict[str, str]) -> dict[str, bool]:
    """The 有／無 columns."""
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
    return flags


def _check_row(number: int, values: dict[str, str], ctx: _Context) -> imports.Row:
    errors: dict[str, str] = {}
    municipality = _municipality(number, values, ctx, errors)
    fields = _fields(values, errors)
    flags = _flags(values, errors)
    received_at, problem = _parse_time(values.get("受付日時", ""), ctx.received_default)
    if problem:
        errors["受付日時"] = problem
    phone = typed(values.get("電話番号", ""))
    structure = {"独立": "independent", "それぞれ独立": "independent", "複合": "compound", "複合的": "compound"}.get(
        values.get("課題の性質（独立・複合）", ""))
    data = {
        "contact_department": values.get("担当部署", ""), "contact_person": values.get("担当者氏名", ""),
        "contact_email": values.get("メールアドレス", ""), "contact_phone": phone,
        "priority_fields": fields, "issue_structure": structure, "local_situation": values.get("地域の状況・課題", ""),
        "received_at": received_at, "channel": "email", **flags,
    }
    for name, message in applications.field_errors(data).items():
        errors.setdefault(FIELD_ERROR_COLUMN.get(name, name), message)
    mentioned = applications.ministry_mentions(data["local_situation"])
    label = municipality.full_name if municipality else f"{values.get('都道府県', '')}{values.get('市町村名', '')}"
    return imports.Row(
        label=label,
        summary=f"{data['contact_department']} {data['contact_person']} ／ 優先分野 {'・'.join(map(str, fields))} ／ "
                f"受付 {jst_datetime(received_at)}" if received_at else "",
        errors=errors,
        warnings=[f"APP-9: 省庁名（{'、'.join(mentioned)}）の記載があります。"] if mentioned else [],
        data=dict(data, received_at=received_at.isoformat() if received_at else None,
                  municipality_id=municipality.id if municipality else None),
    )


def _parse_time(text: str, default: datetime) -> tuple[datetime | None, str | None]:
    text = typed(text).replace("/", "-")
    if not text:
        return default, None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=JST), None
        except ValueError:
            continue
    return None, f"「{text}」は日時として読み取れません（例: 2025-12-24 16:30）。"


def export_row(application: Application) -> list:
    m = application.municipality
    yes_no = lambda flag: "有" if flag else "無"  # noqa: E731
    fields = application.priority_fields + [None, None]
    return [
        m.code, m.prefecture, m.name, application.contact_department, application.contact_person,
        application.contact_email, application.contact_phone,
        *(field_label(f) for f in fields[:3]),
        "複合" if application.issue_structure == "compound" else "独立", application.local_situation,
        yes_no(application.seconded_national_staff), yes_no(application.requested_national_staff),
        yes_no(application.requested_private_expert),
        application.received_at.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S"),
    ]
