"""保有個人情報 in Banso (個人情報保護法, 行政機関等): a policy per personal field — kept with its record, anonymised some
years after the person's last phase ended, anonymised at 利用停止 — and people's requests about their own data: 開示
(everything Banso holds about them, as a package they can read, within 30 days or as extended with a reason), 訂正 and
利用停止 (decided, their effect applied and audited). A request cannot cut short a running 保存期間: what is no longer
needed is anonymised, and whole files go only through 第8条 (disposition.py)."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable

from flask import current_app
from openpyxl import Workbook
from sqlalchemy import func, select

from banso.clock import JST, now, today_jst
from banso.extensions import db
from banso.models import (Application, Inquiry, OfficerCandidacy, Officer, PersonalRequest, Phase, RecordFile, User)
from banso.models.records import PERSON_KINDS, REQUEST_KINDS
from banso.policies import records as policy
from banso.services import InputError, NotPermitted, audit, check_version, files
from banso.services.records.kinds import KINDS

ANONYMISED = "（匿名化済み）"


@dataclass(frozen=True)
class Field:
    """One personal field and its policy: ``after_phase`` — anonymised RECORDS_ANONYMISE_AFTER_YEARS after the
    person's last phase ended; ``at_suspension`` — anonymised when their 利用停止 is granted; neither — kept with its
    record for the record's own period."""

    model: type
    name: str
    label: str
    blank: Callable[[Any], Any]
    after_phase: bool = False
    at_suspension: bool = True


def _empty(_value):
    return ""


def _year_only(value: date):
    return date(value.year, 1, 1) if value else value  # the age band stays, the day goes


FIELDS = (
    Field(Officer, "phone", "支援官の電話番号", _empty, after_phase=True),
    Field(Officer, "birth_date", "支援官の生年月日（年のみ残す）", _year_only, after_phase=True),
    Field(Officer, "home_town", "支援官の出身地", _empty, after_phase=True),
    Field(Officer, "region_ties", "支援官のゆかりのある地域", _empty, after_phase=True),
    Field(Officer, "preferences", "支援官の希望", _empty, after_phase=True),
    Field(Officer, "availability", "支援官の都合", _empty, after_phase=True),
    Field(Officer, "introduction", "支援官の自己紹介", _empty, after_phase=True),
    Field(Officer, "notes", "支援官についての事務局メモ", _empty, after_phase=True),
    Field(Inquiry, "name", "問い合わせをした方の氏名", lambda _v: ANONYMISED),
    Field(Inquiry, "email", "問い合わせをした方のメールアドレス", _empty),
    Field(Inquiry, "phone", "問い合わせをした方の電話番号", _empty),
    Field(Inquiry, "organisation", "問い合わせをした方の所属", _empty),
    Field(Application, "contact_person", "市町村の担当者の氏名", lambda _v: ANONYMISED),
    Field(Application, "contact_email", "市町村の担当者のメールアドレス", _empty),
    Field(Application, "contact_phone", "市町村の担当者の電話番号", _empty),
)
KEPT = ("支援官の氏名・所属・職名・メールアドレス（旅行命令簿・精算・併任発令に必要なため、各記録の保存期間中保存）",
        "出張者ごとの旅費の額（会計の記録として旅費のファイルの保存期間中保存）")


def _anonymise(record, *, when: str) -> list[str]:
    changed = []
    for field in FIELDS:
        if isinstance(record, field.model) and (field.after_phase if when == "after_phase" else field.at_suspension):
            value = getattr(record, field.name, None)
            blank = field.blank(value)
            if value != blank:
                setattr(record, field.name, blank)
                changed.append(field.label)
    if hasattr(record, "anonymised_at"):
        record.anonymised_at = now()
    return changed


def anonymise_due(day: date | None = None) -> int:
    """The daily run's part: officers whose last phase ended RECORDS_ANONYMISE_AFTER_YEARS ago lose their private
    fields (their trips, claims and the money stay whole). Returns how many."""
    day = day or today_jst()
    years = current_app.config["RECORDS_ANONYMISE_AFTER_YEARS"]
    last_end = (select(OfficerCandidacy.officer_id, func.max(Phase.support_end).label("ended"))
                .join(Phase, Phase.id == OfficerCandidacy.phase_id).group_by(OfficerCandidacy.officer_id).subquery())
    limit = date(day.year - years, day.month, min(day.day, 28))
    due = list(db.session.scalars(select(Officer).join(last_end, last_end.c.officer_id == Officer.id)
                                  .where(Officer.anonymised_at.is_(None), last_end.c.ended < limit)))
    for officer in due:
        changed = _anonymise(officer, when="after_phase")
        audit.record("anonymise", officer, actor=None, summary=f"{officer.name}さんの個人情報を匿名化（最終の期の終了から{years}年）: "
                                                                f"{'、'.join(changed) or 'なし'}")
    db.session.flush()
    return len(due)


# --- what Banso holds about a person ---------------------------------------------------------------------------------

def roots(request: PersonalRequest) -> list[tuple[Any, list[int]]]:
    """The rows a request is about: the officer (and their account), or the inquiries / applications under an address."""
    if request.person_kind == "officer":
        officer = db.session.get(Officer, request.officer_id)
        found = [(Officer.__table__, [officer.id])]
        if officer.user_id:
            found.append((User.__table__, [officer.user_id]))
        return found
    model, column = (Inquiry, Inquiry.email) if request.person_kind == "inquirer" else (Application, Application.contact_email)
    return [(model.__table__, list(db.session.scalars(select(model.id).where(func.lower(column) == request.email.lower()))))]


def held_about(request: PersonalRequest) -> dict[str, list]:
    """Every row about the person: the roots, the rows of every table whose foreign key names one of them, and (for an
    inquirer) the rows naming those in turn (their messages, then the attachments) — table name → rows (as mappings)."""
    found: dict[str, dict] = {}
    frontier = []
    for table, ids in roots(request):
        if ids:
            _add(found, table, db.session.execute(select(table).where(table.c.id.in_(ids))))
            frontier.append((table, ids))
    for _level in range(2 if request.person_kind == "inquirer" else 1):
        following = []
        for table, ids in frontier:
            for other in db.metadata.sorted_tables:
                for fk in other.foreign_keys:
                    if fk.column.table is table:
                        rows = list(db.session.execute(select(other).where(fk.parent.in_(ids))))
                        _add(found, other, rows)
                        if rows and "id" in other.c:
                            following.append((other, [r._mapping["id"] for r in rows]))
        frontier = following
    return _released_only({name: list(rows.values()) for name, rows in found.items()})


def _released_only(held: dict[str, list]) -> dict[str, list]:
    """The hold (PUB-2) over what is disclosed: a row naming a team of a phase not yet released is left out (it is
    disclosed once the phase is released), whoever makes the package."""
    from banso.models import Publication, PublicationStatus, Team

    released = set(db.session.scalars(select(Team.id).join(Publication, Publication.phase_id == Team.phase_id)
                                      .where(Publication.status == PublicationStatus.RELEASED)))
    out = {}
    for name, rows in held.items():
        key = "id" if name == "teams" else "team_id"
        out[name] = [row for row in rows if row.get(key) is None or row[key] in released]
    return {name: rows for name, rows in out.items() if rows}


def _add(found: dict, table, rows) -> None:
    bucket = found.setdefault(table.name, {})
    for row in rows:
        mapping = dict(row._mapping)
        key = tuple(mapping[c.name] for c in table.primary_key.columns)
        bucket[key] = mapping


def disclosure_package(request: PersonalRequest, *, actor: User | None = None) -> bytes:
    """開示: an Excel book of everything Banso holds about the person (a sheet per table holding a row about them) and
    the files attached to those records, zipped. Each making of it is audited."""
    held = held_about(request)
    audit.record("disclose", None, object_type="PersonalRequest", actor=actor,
                 summary=f"開示請求（受付{request.id}）の開示の内容を作成（{sum(len(r) for r in held.values())}件）")
    book = Workbook()
    book.remove(book.active)
    cover = book.create_sheet("開示の内容")
    cover.append(["請求者", request.requester])
    cover.append(["種別", REQUEST_KINDS[request.kind]])
    cover.append(["対象", PERSON_KINDS[request.person_kind]])
    cover.append(["作成日", today_jst().isoformat()])
    for name in sorted(held):
        sheet = book.create_sheet(name[:31])
        rows = held[name]
        columns = list(rows[0]) if rows else []
        sheet.append(columns)
        for row in rows:
            sheet.append([_cell(row[c]) for c in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    attachments = {}
    for name in ("receipts", "inquiry_attachments"):
        for row in held.get(name, []):
            if row.get("sha256"):
                try:
                    attachments[f"files/{row['sha256'][:12]}_{files.safe_name(row.get('filename'), 'file')}"] = files.read(row["sha256"])
                except FileNotFoundError:
                    pass
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("保有個人情報.xlsx", buffer.getvalue())
        for path, data in attachments.items():
            archive.writestr(path, data)
    return out.getvalue()


def _cell(value):
    if isinstance(value, datetime):
        return value.astimezone(JST).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (list, dict)):
        return str(value)
    return value


# --- requests ---------------------------------------------------------------------------------------------------------

REQUEST_FIELDS = {"status": "状態", "due_on": "決定期限"}
CORRECTABLE = {"officer": ("phone", "home_town", "region_ties", "bureau", "division", "post_title", "name_kana"),
               "inquirer": ("name", "phone", "organisation"), "contact": ("contact_person", "contact_phone")}


def receive(data: dict, *, actor: User) -> PersonalRequest:
    """A request recorded by the secretariat: its kind, whose data, who asks, what; 開示 is due in 30 days. A 開示請求
    holds every file holding the person's records until it is decided."""
    if not policy.may_handle_requests(actor):
        raise NotPermitted("個人情報に関する請求は事務局が受け付けます。")
    kind, person = data.get("kind"), data.get("person_kind")
    if kind not in REQUEST_KINDS or person not in PERSON_KINDS:
        raise InputError("請求の種類と、誰の情報についての請求かを選んでください。", "kind")
    officer = db.session.get(Officer, data.get("officer_id")) if person == "officer" and data.get("officer_id") else None
    email = (data.get("email") or "").strip().lower()
    if person == "officer" and officer is None:
        raise InputError("対象の支援官のメールアドレス（登録されているもの）を入力してください。", "officer_id")
    if person != "officer" and "@" not in email:
        raise InputError("対象の方のメールアドレスを入力してください。", "email")
    if not (data.get("requester") or "").strip():
        raise InputError("請求者の氏名を入力してください。", "requester")
    received = data.get("received_on") or today_jst()
    request = PersonalRequest(kind=kind, person_kind=person, officer_id=officer.id if officer else None, email=email,
                              requester=data["requester"].strip()[:200], details=(data.get("details") or "").strip()[:4000],
                              received_on=received, due_on=received + timedelta(days=30), created_by_id=actor.id)
    db.session.add(request)
    db.session.flush()
    if kind == "disclosure":
        for file in files_holding(request):
            file.hold_reason = _hold_text(request)
    audit.record("receive_request", None, object_type="PersonalRequest", actor=actor,
                 summary=f"{REQUEST_KINDS[kind]}を受付（{request.requester}、{PERSON_KINDS[person]}、期限 {request.due_on}）")
    return request


def _hold_text(request: PersonalRequest) -> str:
    return f"開示請求（受付{request.id}）の決定まで"


def files_holding(request: PersonalRequest) -> list[RecordFile]:
    """The open files holding a row about the person (each kind's parts checked against the rows held about them)."""
    held = held_about(request)
    keys = {name: {row.get("id") for row in rows} for name, rows in held.items()}
    found = []
    for file in db.session.scalars(select(RecordFile).where(RecordFile.status.in_(("active", "due", "consented")))):
        for part in KINDS[file.kind].parts:
            table = part.table
            ids = keys.get(table.name)
            if ids and "id" in table.c and db.session.execute(select(table.c.id).where(part.where(file.fiscal_year), table.c.id.in_(ids))
                                                             .limit(1)).first():
                found.append(file)
                break
    return found


def extend_due(request: PersonalRequest, days: int | None, reason: str, *, actor: User, expected_version=None) -> PersonalRequest:
    """The decision's time extended (up to 30 days more, 第83条第2項), with the reason the requester is told."""
    check_version(request, expected_version, REQUEST_FIELDS)
    if not policy.may_decide_request(request, actor):
        raise NotPermitted("決定期限の延長は事務局管理者が行います（未決定の請求）。")
    if not isinstance(days, int) or not 1 <= days <= 30 or request.extension_reason:
        raise InputError("延長は1回、30日以内です。日数を入力してください。", "days")
    if not (reason or "").strip():
        raise InputError("延長の理由を入力してください。", "reason")
    request.due_on, request.extension_reason = request.due_on + timedelta(days=days), reason.strip()
    audit.record("extend_request", None, object_type="PersonalRequest", actor=actor,
                 summary=f"{request.kind_label}（受付{request.id}）の決定期限を{request.due_on}まで延長（{reason.strip()}）")
    return request


def decide(request: PersonalRequest, grant: bool, note: str, *, actor: User, corrections: dict | None = None,
           expected_version=None) -> PersonalRequest:
    """The decision, its effect applied now: 訂正 writes the corrected fields; 利用停止 anonymises what the person's
    fields' policy says; 開示's package is made on request (disclosure_package). The 開示請求's holds are lifted."""
    check_version(request, expected_version, REQUEST_FIELDS)
    if not policy.may_decide_request(request, actor):
        raise NotPermitted("請求の決定は事務局管理者が行います（未決定の請求）。")
    if not grant and not (note or "").strip():
        raise InputError("不開示・不訂正・利用停止をしない理由を入力してください。", "note")
    changed: list[str] = []
    if grant and request.kind == "correction":
        changed = _correct(request, corrections or {})
    if grant and request.kind == "suspension":
        for table, ids in roots(request):
            model = {Officer.__table__: Officer, Inquiry.__table__: Inquiry, Application.__table__: Application}.get(table)
            for record in (db.session.get(model, i) for i in ids) if model else ():
                changed += _anonymise(record, when="suspension")
    request.status, request.decision_note = ("granted" if grant else "refused"), (note or "").strip()
    request.decided_by_id, request.decided_at = actor.id, now()
    for file in db.session.scalars(select(RecordFile).where(RecordFile.hold_reason == _hold_text(request))):
        file.hold_reason = ""
    audit.record("decide_request", None, object_type="PersonalRequest", actor=actor,
                 summary=f"{request.kind_label}（受付{request.id}）を{'認める' if grant else '認めない'}決定"
                         + (f": {'、'.join(dict.fromkeys(changed))}" if changed else ""))
    return request


def _correct(request: PersonalRequest, corrections: dict) -> list[str]:
    allowed = CORRECTABLE[request.person_kind]
    unknown = [k for k in corrections if k not in allowed]
    if unknown or not corrections:
        raise InputError(f"訂正できる項目は {'、'.join(allowed)} です。訂正後の内容を入力してください。", "corrections")
    changed = []
    for table, ids in roots(request):
        model = {Officer.__table__: Officer, Inquiry.__table__: Inquiry, Application.__table__: Application}.get(table)
        for record in (db.session.get(model, i) for i in ids) if model else ():
            for name, value in corrections.items():
                if hasattr(record, name) and getattr(record, name) != value:
                    setattr(record, name, str(value).strip()[:200])
                    changed.append(name)
    return changed


def overdue(day: date | None = None) -> list[PersonalRequest]:
    day = day or today_jst()
    return list(db.session.scalars(select(PersonalRequest).where(PersonalRequest.status == "open", PersonalRequest.due_on < day)))


__all__ = ["FIELDS", "KEPT", "anonymise_due", "held_about", "disclosure_package", "receive", "files_holding",
           "extend_due", "decide", "overdue", "CORRECTABLE"]
