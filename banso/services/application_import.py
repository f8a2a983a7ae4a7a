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
from banso.models import Application, ImportBatch, Municipality, OfficialPopulation, User
from banso.policies import applications as applications_policy
from banso.reading import read_datetime, read_email, read_fields, read_phone
from banso.reference import FIELDS, PREFECTURES, field_label
from banso.services import InputError, applications, imports, municipal_lookup, municipalities
from banso.services.import_templates import Guide

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


YES_NO = ("有", "無")
FIELD_NOTE = "26の課題分野から1つ（番号・①〜㉖・分野名のどれでも読めます）。1つのセルに複数書いた場合は書いた順に読みます。"
GUIDE = {
    "団体コード": Guide("6桁の全国地方公共団体コード（末尾の検査数字を含む）。分からなければ空欄にして、都道府県と市町村名を記入してください。",
                     example="012025"),
    "都道府県": Guide(choices=tuple(PREFECTURES), example="北海道", strict=True),
    "市町村名": Guide("「市」「町」「村」まで記入してください。政令指定都市は区ではなく市として回答します。", example="函館市"),
    "担当部署": Guide(example="企画部 地域政策課"), "担当者氏名": Guide(example="函館 太郎"),
    "メールアドレス": Guide("事務局からの連絡先です。", example="chiiki@city.hakodate.example.lg.jp"),
    "電話番号": Guide(example="0138-21-3111"),
    "優先分野1": Guide(FIELD_NOTE, tuple(field_label(n) for n in FIELDS), field_label(3)),
    "優先分野2": Guide(FIELD_NOTE, tuple(field_label(n) for n in FIELDS), field_label(10)),
    "優先分野3": Guide(FIELD_NOTE, tuple(field_label(n) for n in FIELDS), ""),
    "課題の性質（独立・複合）": Guide(choices=("独立", "複合"), example="複合", strict=True),
    "地域の状況・課題": Guide("省庁名は記入しないでください（APP-9）。", example="観光客の減少と中心市街地の空洞化が課題です。"),
    "国家公務員の出向等の予定（有・無）": Guide(choices=YES_NO, example="無", strict=True),
    "地方創生人材支援制度での国家公務員派遣希望（有・無）": Guide(choices=YES_NO, example="無", strict=True),
    "地方創生人材支援制度での民間専門人材派遣希望（有・無）": Guide(choices=YES_NO, example="無", strict=True),
    "受付日時": Guide("回答メールの受信日時（例: 2025-12-24 16:30、令和7年12月24日 16時30分）。空欄の行は取込画面で指定した"
                   "受信日時とします。", example="2025-12-24 16:30"),
}


@dataclass
class _Context:
    phase: object
    lookup: municipal_lookup.Lookup
    answered: set[int]
    seen: dict[int, int]
    received_default: datetime | None
    supported_before: set[int]
    official: dict[int, int]  # the phase's official populations (APP-1), read once
    received_source: str = "取込画面で指定したメールの受信日時"
    row: int = 1


class ApplicationImporter:
    kind = KIND
    title = "活用希望調査の回答"
    columns = COLUMNS
    guide = GUIDE
    required = {"担当部署", "担当者氏名", "メールアドレス", "電話番号", "優先分野1", "課題の性質（独立・複合）", "地域の状況・課題"}

    def check_headers(self, found: set[str]) -> list[str]:
        if "団体コード" not in found and not {"都道府県", "市町村名"} <= found:
            return ["団体コード（または 都道府県・市町村名）"]
        return []

    def context(self, batch: ImportBatch) -> _Context:
        received = batch.options.get("received_at")
        answered = set(db.session.scalars(select(Application.municipality_id).where(Application.phase_id == batch.phase_id)))
        official = dict(db.session.execute(select(OfficialPopulation.municipality_id, OfficialPopulation.population)
                                           .where(OfficialPopulation.reference_date == batch.phase.population_reference_date)).all())
        return _Context(batch.phase, municipal_lookup.Lookup(), answered, {},
                        datetime.fromisoformat(received) if received else None,
                        applications.previously_supported_set(batch.phase), official,
                        batch.options.get("received_source") or "取込画面で指定したメールの受信日時")

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


def start_from_mail(attachment, phase, *, actor: User) -> ImportBatch:
    """A spreadsheet that came attached to a mail, checked as an upload is: a row without 受付日時 takes the mail's
    own Date (when the municipality sent it), and the preview says so."""
    from banso.services import files

    if not applications_policy.is_mailed_answer_file(attachment):
        raise InputError(f"「{attachment.filename}」は、受信したメールに添付された回答フォームのExcel（.xlsx）またはCSVではありません。")
    message = attachment.message
    sent = message.sent_at or message.at
    return imports.start(KIND, phase, attachment.filename, files.read(attachment.sha256), actor=actor,
                         options={"received_at": sent.astimezone(JST).isoformat(),
                                  "received_source": f"メール（{message.from_email or '差出人不明'}）の送信日時"})


def _municipality(number: int, values: dict[str, str], ctx: _Context, errors: dict[str, str], notes: list[str]):
    """The row's municipality by its code, prefecture and name (municipal_lookup.resolve: a short code or one that
    disagrees gives way to an unambiguous name, and the preview says what was read); APP-4 and APP-5 against this
    phase and file; APP-1 as the population would decide it."""
    phase = ctx.phase
    reading = ctx.lookup.resolve(values.get("団体コード", ""), values.get("都道府県", ""), values.get("市町村名", ""))
    if reading.problem:
        errors[reading.column] = reading.problem
        return None
    municipality = reading.municipality
    if reading.note:
        notes.append(f"団体コード: {reading.note}")
    if municipality.id in ctx.answered:
        errors["市町村名"] = f"APP-5: {municipality.full_name}の回答は{phase.name}で既に受け付けています。"
    elif municipality.id in ctx.seen:
        errors["市町村名"] = f"APP-5: {municipality.full_name}はこのファイルの{ctx.seen[municipality.id]}行目と重複しています。"
    elif municipality.id in ctx.supported_before:
        errors["市町村名"] = f"APP-4: {municipality.full_name}は前期の支援先です。継続意向調査で回答を受け付けます。"
    else:
        ctx.seen[municipality.id] = number
    figure = (municipalities.PopulationFigure(ctx.official[municipality.id], phase.population_reference_date, True)
              if municipality.id in ctx.official else
              municipalities.PopulationFigure(municipality.default_population, municipality.default_population_date, False))
    verdict, reason = municipalities.population_verdict(figure, phase.population_reference_date)
    if verdict == "ng":
        notes.append(f"APP-1: {reason} 取り込むと「対象外」と判定されます。")
    elif verdict in ("check", "unconfirmed"):
        notes.append(f"APP-1: {reason}")
    return municipality


FIELD_COLUMNS = ("優先分野1", "優先分野2", "優先分野3")


def _fields(values: dict[str, str], errors: dict[str, str], notes: list[str]) -> list[int]:
    """優先分野1〜3 in the order of priority, as written: several in one cell are read in their order (and said in the
    preview); more than three is APP-7's refusal."""
    fields: list[int] = []
    for header in FIELD_COLUMNS:
        parsed, problem = read_fields(values.get(header, ""))
        if problem:
            errors[header] = problem
            continue
        if len(parsed) > 1:
            notes.append(f"{header}: 1つのセルの{len(parsed)}つの分野を、書かれた順に読みました"
                         f"（{'、'.join(field_label(f) for f in parsed)}）。")
        fields.extend(f for f in parsed if f not in fields)
    extra = [h for h in sorted(values) if re.fullmatch(r"優先分野[4-9]", h) and values[h]]
    if len(fields) > 3 or extra:
        errors[extra[0] if extra else FIELD_COLUMNS[0]] = (
            f"APP-7: 優先する課題分野は3つまでです（{len(fields) + len(extra)}つ書かれています）。優先する3つに絞ってください。")
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


def _received(values: dict[str, str], ctx: _Context, errors: dict[str, str], notes: list[str]) -> datetime | None:
    """受付日時 as written; an empty cell takes the mail's receipt time the file came with, and the preview says so —
    never, silently, the moment of the upload."""
    received_at, problem = read_datetime(values.get("受付日時", ""), what="受付日時")
    if problem:
        errors["受付日時"] = problem
    elif received_at is None and ctx.received_default is not None:
        received_at = ctx.received_default
        notes.append(f"受付日時: 空欄のため、{ctx.received_source}（{jst_datetime(received_at)}）としました。")
    elif received_at is None:
        errors["受付日時"] = "受付日時が空欄です。列に記入するか、取込画面でメールの受信日時を指定してください。"
    return received_at


def _contact(values: dict[str, str], errors: dict[str, str]) -> tuple[str, str]:
    return (imports.read_cell(values, "メールアドレス", read_email, errors) or "",
            imports.read_cell(values, "電話番号", read_phone, errors) or "")


def _check_row(number: int, values: dict[str, str], ctx: _Context) -> imports.Row:
    errors: dict[str, str] = {}
    notes: list[str] = []
    municipality = _municipality(number, values, ctx, errors, notes)
    fields = _fields(values, errors, notes)
    flags = _flags(values, errors)
    received_at = _received(values, ctx, errors, notes)
    email, phone = _contact(values, errors)
    structure = {"独立": "independent", "それぞれ独立": "independent", "複合": "compound", "複合的": "compound"}.get(
        values.get("課題の性質（独立・複合）", ""))
    data = {
        "contact_department": values.get("担当部署", ""), "contact_person": values.get("担当者氏名", ""),
        "contact_email": email, "contact_phone": phone,
        "priority_fields": fields, "issue_structure": structure, "local_situation": values.get("地域の状況・課題", ""),
        "received_at": received_at, "channel": "email", **flags,
    }
    for name, message in applications.field_errors(data).items():
        errors.setdefault(FIELD_ERROR_COLUMN.get(name, name), message)
    mentioned = applications.ministry_mentions(data["local_situation"])
    if mentioned:
        notes.append(f"APP-9: 省庁名（{'、'.join(mentioned)}）の記載があります。")
    label = municipality.full_name if municipality else f"{values.get('都道府県', '')}{values.get('市町村名', '')}"
    return imports.Row(
        label=label,
        summary=f"{data['contact_department']} {data['contact_person']} ／ 優先分野 {'・'.join(map(str, fields))} ／ "
                f"受付 {jst_datetime(received_at)}" if received_at else "",
        errors=errors, warnings=notes,
        data=dict(data, received_at=received_at.isoformat() if received_at else None,
                  municipality_id=municipality.id if municipality else None),
    )


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
