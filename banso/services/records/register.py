"""The 保存期間表 (rules per kind, an admin's change audited), the 行政文書ファイル made from them per fiscal year, the
行政文書ファイル管理簿 with exactly the columns of 第7条 (files under one year left out, tombstones kept), and the
annual 管理状況 figures of 第9条."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from banso.clock import now, today_jst
from banso.extensions import db
from banso.models import RecordFile, RetentionRule, User
from banso.models.records import DISPOSITIONS
from banso.policies import records as policy
from banso.services import InputError, NotPermitted, audit, check_version
from banso.services.records.kinds import KINDS

RULE_FIELDS = {"major": "大分類", "middle": "中分類", "name": "名称", "years": "保存期間", "disposition": "満了時の措置"}
# 第7条: 分類, 名称, 保存期間, 保存期間の満了する日, 保存期間が満了したときの措置及び保存場所
REGISTER_COLUMNS = ["分類", "名称", "保存期間", "保存期間の満了する日", "保存期間が満了したときの措置", "保存場所"]


def rules() -> list[RetentionRule]:
    """The schedule, a row per kind (the guideline's default the first time a kind is asked for)."""
    kept = {r.kind: r for r in db.session.scalars(select(RetentionRule))}
    for key, kind in KINDS.items():
        if key not in kept:
            kept[key] = RetentionRule(kind=key, major=kind.major, middle=kind.middle, name=kind.name, years=kind.years,
                                      disposition=kind.disposition)
            db.session.add(kept[key])
    db.session.flush()
    return [kept[key] for key in KINDS]


def rule_for(kind: str) -> RetentionRule:
    return next(r for r in rules() if r.kind == kind)


def update_rule(rule: RetentionRule, data: dict, *, actor: User, expected_version=None) -> RetentionRule:
    """An admin's change of one row of the schedule, audited; files not yet closed take the new period (a file's own
    extension stays on top of it)."""
    if not policy.may_edit_schedule(actor):
        raise NotPermitted("保存期間表を変更できるのは事務局管理者だけです。")
    check_version(rule, expected_version, RULE_FIELDS)
    years, disposition = data.get("years"), data.get("disposition")
    if not isinstance(years, int) or not 0 <= years <= 30:
        raise InputError("保存期間は0（1年未満）から30までの年数で入力してください。", "years")
    if disposition not in DISPOSITIONS:
        raise InputError("満了時の措置は「移管」か「廃棄」を選んでください。", "disposition")
    texts = {k: (data.get(k) or "").strip() for k in ("major", "middle", "name")}
    if not all(texts.values()) or "{年度}" not in texts["name"]:
        raise InputError("分類と名称を入力してください（名称には「{年度}」を含めます）。", "name")
    before = {k: getattr(rule, k) for k in RULE_FIELDS}
    rule.major, rule.middle, rule.name = texts["major"], texts["middle"], texts["name"]
    rule.years, rule.disposition, rule.version = years, disposition, rule.version + 1
    rule.updated_by_id, rule.updated_at = actor.id, now()
    for file in db.session.scalars(select(RecordFile).where(RecordFile.kind == rule.kind, RecordFile.status == "active")):
        _apply_rule(file, rule)
    audit.record("update_retention", None, object_type="RetentionRule", actor=actor,
                 summary=f"保存期間表「{rule.middle}」を変更（{before['years']}年・{DISPOSITIONS[before['disposition']]} → "
                         f"{years}年・{DISPOSITIONS[disposition]}）", before=before, after={k: getattr(rule, k) for k in RULE_FIELDS})
    return rule


def _apply_rule(file: RecordFile, rule: RetentionRule) -> None:
    extended = sum(e["years"] for e in file.extensions)
    file.major, file.middle, file.name = rule.major, rule.middle, rule.name.replace("{年度}", _nendo(file.fiscal_year))
    file.years, file.disposition = rule.years + extended, rule.disposition
    file.expires_on = expiry(file.starts_on, file.years)


def _nendo(fy: int) -> str:
    era = "令和" + ("元" if fy == 2019 else str(fy - 2018)) if fy >= 2019 else "平成" + str(fy - 1988)
    return f"{era}"


def expiry(starts_on: date, years: int) -> date:
    """保存期間の満了する日: the day before the period's anniversary (a 1年未満 file: the end of its own year)."""
    return date(starts_on.year + max(years, 0), 3, 31)


def ensure_files() -> int:
    """Every kind × fiscal year holding records has its file (起算日: 4月1日 of the next year, as the guideline says);
    returns how many were made."""
    made = 0
    existing = set(db.session.execute(select(RecordFile.kind, RecordFile.fiscal_year)))
    location = current_app.config["RECORDS_LOCATION"]
    for rule in rules():
        for fy in sorted(KINDS[rule.kind].present()):
            if (rule.kind, fy) in existing:
                continue
            file = RecordFile(kind=rule.kind, fiscal_year=fy, starts_on=date(fy + 1, 4, 1), location=location,
                              major="", middle="", name="", years=0, expires_on=date(fy + 1, 3, 31),
                              disposition=rule.disposition, extensions=[], removed={})
            _apply_rule(file, rule)
            db.session.add(file)
            made += 1
    db.session.flush()
    return made


def files_query(*, status: str | None = None, kind: str | None = None, fiscal_year: int | None = None, register: bool = False):
    stmt = select(RecordFile)
    if status:
        stmt = stmt.where(RecordFile.status == status)
    if kind:
        stmt = stmt.where(RecordFile.kind == kind)
    if fiscal_year:
        stmt = stmt.where(RecordFile.fiscal_year == fiscal_year)
    if register:
        stmt = stmt.where(RecordFile.years >= 1)  # 第7条: files under one year are not in the register
    return stmt.order_by(RecordFile.fiscal_year.desc(), RecordFile.kind)


def register_row(file: RecordFile) -> dict[str, str]:
    """A file as the register shows it: exactly the 第7条 columns; a closed file keeps its row with what was done."""
    done = {"destroyed": f"（{file.closed_at:%Y-%m-%d} 廃棄済）" if file.closed_at else "（廃棄済）",
            "transferred": f"（{file.closed_at:%Y-%m-%d} 移管済）" if file.closed_at else "（移管済）"}.get(file.status, "")
    extended = f"（延長{len(file.extensions)}回）" if file.extensions else ""
    return {"分類": f"{file.major}／{file.middle}", "名称": file.name, "保存期間": f"{file.years}年{extended}",
            "保存期間の満了する日": file.expires_on.isoformat(), "保存期間が満了したときの措置": file.disposition_label + done,
            "保存場所": file.location}


@dataclass
class YearReport:
    """第9条: the state of management in one fiscal year."""

    fiscal_year: int
    held: int  # files held at the year's end (not closed)
    made: int  # files made in the year (their records' year)
    destroyed: int
    transferred: int
    extended: int
    on_hold: int
    under_one_year: int


def year_report(fy: int | None = None) -> YearReport:
    fy = fy or (today_jst().year - (1 if today_jst().month < 4 else 0)) - 1
    start, end = date(fy, 4, 1), date(fy + 1, 3, 31)
    files = list(db.session.scalars(select(RecordFile)))

    def closed_in(f):
        return f.closed_at is not None and start <= f.closed_at.date() <= end

    return YearReport(
        fiscal_year=fy,
        held=sum(1 for f in files if f.fiscal_year <= fy and not (f.closed_at and f.closed_at.date() <= end)),
        made=sum(1 for f in files if f.fiscal_year == fy),
        destroyed=sum(1 for f in files if f.status == "destroyed" and closed_in(f)),
        transferred=sum(1 for f in files if f.status == "transferred" and closed_in(f)),
        extended=sum(1 for f in files for e in f.extensions if start.isoformat() <= e["at"][:10] <= end.isoformat()),
        on_hold=sum(1 for f in files if f.hold_reason and f.status not in ("destroyed", "transferred")),
        under_one_year=sum(1 for f in files if f.years < 1),
    )


def counts_by_status() -> dict[str, int]:
    return dict(db.session.execute(select(RecordFile.status, func.count()).group_by(RecordFile.status)).all())
