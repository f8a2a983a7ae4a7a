"""第8条 in Banso: the daily run lists each file reaching its expiry — for 廃棄 (the 廃棄協議リスト, waiting for the
Prime Minister's consent) or for 移管 — and carries out what may be done: a 移管 package (the rows as CSV, the
documents as kept, a SHA-256 manifest), or, once the consent's date is recorded by one person and approved by
another, the 廃棄 (rows and stored files removed, the register's row kept as its tombstone). A hold (開示請求, a
lawsuit) leaves a file as it is, with its reason, re-checked when the run would act; a period may be extended with a
reason. Audit entries are disposed of only after every file of their year and before."""
from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import date

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError

from banso.clock import now, today_jst
from banso.extensions import db
from banso.models import RecordFile, User
from banso.policies import records as policy
from banso.services import InputError, NotPermitted, WrongState, audit, check_version, files
from banso.services.records.kinds import KINDS, count, rows
from banso.services.records.register import ensure_files, expiry, register_row

FILE_FIELDS = {"status_label": "状態", "hold_reason": "保留の理由", "expires_on": "満了日"}
CLOSED = ("destroyed", "transferred")


def run(day: date | None = None) -> dict[str, int]:
    """The daily run: files made for new records, expired files listed, 移管 and consented 廃棄 carried out (each
    re-checking its hold). Returns what it did."""
    day = day or today_jst()
    done = {"made": ensure_files(), "listed": 0, "transferred": 0, "destroyed": 0, "skipped": 0}
    for file in list(db.session.scalars(select(RecordFile).where(RecordFile.status.in_(("active", "due", "consented")))
                                        .order_by(RecordFile.fiscal_year, RecordFile.kind))):
        if file.status == "active" and file.expires_on < day:
            file.status = "due"
            done["listed"] += 1
            audit.record("record_due", None, object_type="RecordFile", actor=None,
                         summary=f"「{file.name}」の保存期間が満了（{file.disposition_label}の対象）")
        why = _not_now(file, day)
        file.skipped = why
        if why:
            done["skipped"] += 1 if file.status in ("due", "consented") else 0
            continue
        if file.status == "due" and file.disposition == "transfer":
            transfer(file)
            done["transferred"] += 1
        elif file.status == "consented":
            destroy(file)
            done["destroyed"] += 1
    return done


def _not_now(file: RecordFile, day: date) -> str:
    """Why the run leaves a listed file as it is today ("" when it may act)."""
    if file.hold_reason:
        return f"保留中: {file.hold_reason}"
    if file.status == "consented" and file.consent_on and file.consent_on > day:
        return "同意の日の後に廃棄します。"
    if file.kind == "audit" and file.status in ("due", "consented"):
        waiting = db.session.scalar(select(RecordFile.name).where(RecordFile.kind != "audit", RecordFile.fiscal_year <= file.fiscal_year,
                                                                  RecordFile.status.not_in(CLOSED)).limit(1))
        if waiting:
            return f"この年度以前の記録（{waiting}）が保存中のため、監査ログは廃棄しません。"
    return ""


# --- consent, holds, extensions --------------------------------------------------------------------------------------

def record_consent(file: RecordFile, consent_on: date | None, *, actor: User, expected_version=None) -> RecordFile:
    """The day the Prime Minister consented to the 廃棄 (第8条第2項), recorded by one person; another approves it."""
    check_version(file, expected_version, FILE_FIELDS)
    if not policy.may_record_consent(file, actor):
        raise WrongState("廃棄の同意日を記録できるのは、廃棄協議リストに載っているファイルです。")
    if consent_on is None:
        raise InputError("内閣総理大臣の同意の日を入力してください。", "consent_on")
    file.consent_on, file.consent_recorded_by_id = consent_on, actor.id
    audit.record("record_consent", None, object_type="RecordFile", actor=actor,
                 summary=f"「{file.name}」の廃棄について同意日（{consent_on}）を記録")
    return file


def approve_consent(file: RecordFile, *, actor: User, expected_version=None) -> RecordFile:
    check_version(file, expected_version, FILE_FIELDS)
    if not policy.may_approve_consent(file, actor):
        if file.consent_recorded_by_id == actor.id:
            raise NotPermitted("同意日を記録した方とは別の事務局管理者が確認します。")
        raise WrongState("同意日が記録され、まだ確認されていないファイルだけを確認できます。")
    file.consent_approved_by_id, file.status = actor.id, "consented"
    audit.record("approve_consent", None, object_type="RecordFile", actor=actor,
                 summary=f"「{file.name}」の廃棄の同意日（{file.consent_on}）を確認（次の処理で廃棄）")
    return file


def set_hold(file: RecordFile, reason: str, *, actor: User, expected_version=None) -> RecordFile:
    """A hold (開示請求 or a lawsuit pending): the file is not disposed of while it stands. An empty reason lifts it."""
    check_version(file, expected_version, FILE_FIELDS)
    if not policy.may_hold(file, actor) and not (file.status == "consented" and policy.may_extend(file, actor)):
        raise NotPermitted("保留を設定・解除できるのは事務局管理者です（保存中・満了のファイル）。")
    before, file.hold_reason = file.hold_reason, (reason or "").strip()[:1000]
    audit.record("hold_record" if file.hold_reason else "release_record", None, object_type="RecordFile", actor=actor,
                 summary=f"「{file.name}」を保留（{file.hold_reason}）" if file.hold_reason else f"「{file.name}」の保留を解除（{before}）")
    return file


def extend(file: RecordFile, years: int | None, reason: str, *, actor: User, expected_version=None) -> RecordFile:
    """A longer period, with a reason (第5条第4項; at expiry without consent, 第8条): the file is kept again."""
    check_version(file, expected_version, FILE_FIELDS)
    if not policy.may_extend(file, actor):
        raise NotPermitted("保存期間を延長できるのは事務局管理者です（廃棄・移管の前のファイル）。")
    if not isinstance(years, int) or not 1 <= years <= 30:
        raise InputError("延長する年数を1〜30で入力してください。", "years")
    if not (reason or "").strip():
        raise InputError("延長の理由を入力してください。", "reason")
    file.extensions = [*file.extensions, {"years": years, "reason": reason.strip(), "by": actor.id, "at": now().isoformat()}]
    file.years += years
    file.expires_on = expiry(file.starts_on, file.years)
    file.status, file.consent_on, file.consent_recorded_by_id, file.consent_approved_by_id = "active", None, None, None
    audit.record("extend_record", None, object_type="RecordFile", actor=actor,
                 summary=f"「{file.name}」の保存期間を{years}年延長（満了 {file.expires_on}、理由: {reason.strip()}）")
    return file


# --- 廃棄 and 移管 ---------------------------------------------------------------------------------------------------

def destroy(file: RecordFile) -> RecordFile:
    """廃棄: the file's rows (dependants first) and stored files removed in one transaction; refused, changing nothing,
    if a record kept elsewhere still refers to one of them. The file's row stays with what was removed."""
    if file.status != "consented" or file.consent_on is None or file.consent_approved_by_id is None:
        raise WrongState("廃棄は、同意日が記録され別の管理者が確認したファイルだけに行います。")
    kind = KINDS[file.kind]
    stored = [sha for sha, _name in kind.stored(file.fiscal_year)]
    removed = {}
    try:
        with db.session.begin_nested():
            if file.kind == "audit" and db.engine.dialect.name == "postgresql":
                db.session.execute(text("SET LOCAL banso.disposal = 'on'"))
            kept_money = _keep_money(file)
            for column, removing in kind.detach:
                db.session.execute(update(column.class_).where(column.in_(removing(file.fiscal_year))).values({column.key: None})
                                   .execution_options(synchronize_session=False))
            for part in kind.parts:
                result = db.session.execute(delete(part.model).where(part.where(file.fiscal_year))
                                            .execution_options(synchronize_session=False))
                removed[part.label] = result.rowcount
            _check_no_orphans(kind)
            kept_money()
    except IntegrityError as error:  # PostgreSQL refuses it at the statement: the same answer as the check's
        table = getattr(getattr(error.orig, "diag", None), "table_name", None) or "別の表"
        raise WrongState(_REFERRED.format(table=table)) from None
    db.session.expire_all()
    gone = sum(1 for sha in dict.fromkeys(stored) if files.discard_if_unreferenced(sha))
    file.status, file.closed_at = "destroyed", now()
    file.removed = {"rows": removed, "files": gone}
    audit.record("destroy_record", None, object_type="RecordFile", actor=None,
                 summary=f"「{file.name}」を廃棄（同意日 {file.consent_on}、記録 {sum(removed.values())}件・ファイル {gone}件）",
                 after=file.removed)
    return file


def _keep_money(file: RecordFile):
    """The money of a phase whose trips are disposed of stays as the books had it (the kept totals are not summed
    down by the removal): read before, written back after."""
    if file.kind != "travel":
        return lambda: None
    from banso.models import BudgetBreakdown, BudgetTotal, Phase

    phases = list(db.session.scalars(select(Phase.id).where(Phase.fiscal_year == file.fiscal_year)))
    tables = (BudgetTotal.__table__, BudgetBreakdown.__table__)
    saved = [(table, [dict(r._mapping) for r in db.session.execute(select(table).where(table.c.phase_id.in_(phases)))])
             for table in tables]

    def restore():
        for table, saved_rows in saved:
            db.session.execute(delete(table).where(table.c.phase_id.in_(phases)))
            if saved_rows:
                db.session.execute(table.insert(), saved_rows)
    return restore


_REFERRED = ("このファイルの記録を、保存中の別の記録（{table}）が参照しているため廃棄できません。"
             "参照している記録のファイルの措置を待つか、保存期間を延長してください。")


def _check_no_orphans(kind) -> None:
    """Every foreign key pointing into the tables just emptied must still find its row: otherwise a record kept
    elsewhere refers to one removed, and the 廃棄 is refused (the savepoint rolls back)."""
    from sqlalchemy import exists

    targets = {part.table for part in kind.parts}
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table in targets:
                orphan = db.session.execute(select(fk.parent).where(fk.parent.is_not(None), ~exists().where(
                    fk.column == fk.parent)).limit(1)).first()
                if orphan is not None:
                    raise WrongState(_REFERRED.format(table=table.name))


def transfer(file: RecordFile) -> RecordFile:
    """移管: the file as a package for the National Archives — metadata.csv (the register's row and the counts), the rows
    of each part as CSV, the stored documents as kept, and manifest-sha256.txt over every entry — kept by Banso."""
    if file.status != "due" or file.disposition != "transfer":
        raise WrongState("移管は、満了した移管のファイルだけに行います。")
    package = package_of(file)
    file.package_sha256 = files.store(package)
    file.status, file.closed_at = "transferred", now()
    audit.record("transfer_record", None, object_type="RecordFile", actor=None,
                 summary=f"「{file.name}」を移管（パッケージ SHA-256 {file.package_sha256[:12]}…）")
    return file


def package_of(file: RecordFile) -> bytes:
    kind, entries = KINDS[file.kind], {}
    meta = io.StringIO()
    writer = csv.writer(meta)
    row = register_row(file)
    writer.writerow([*row, "年度", *[f"件数:{k}" for k in count(kind, file.fiscal_year)]])
    writer.writerow([*row.values(), file.fiscal_year, *count(kind, file.fiscal_year).values()])
    entries["metadata.csv"] = "\ufeff".encode() + meta.getvalue().encode()
    for label, table, found in rows(kind, file.fiscal_year):
        out = io.StringIO()
        table_writer = csv.writer(out)
        table_writer.writerow([c.name for c in table.columns])
        for record in found:
            table_writer.writerow(["" if v is None else v for v in record])
        entries[f"records/{table.name}.csv"] = "\ufeff".encode() + out.getvalue().encode()
    for sha, name in kind.stored(file.fiscal_year):
        try:
            entries[f"files/{sha[:12]}_{files.safe_name(str(name), 'file')}"] = files.read(sha)
        except FileNotFoundError:
            entries[f"files/{sha[:12]}_MISSING.txt"] = f"保存されていないファイル: {sha}".encode()
    entries["manifest-sha256.txt"] = "".join(f"{hashlib.sha256(data).hexdigest()}  {path}\n"
                                             for path, data in sorted(entries.items())).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries.items():
            archive.writestr(path, data)
    return buffer.getvalue()


def verify_package(data: bytes) -> list[str]:
    """What in a 移管 package does not match its manifest (nothing, for a sound one)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        listed = dict(line.split("  ", 1)[::-1] for line in archive.read("manifest-sha256.txt").decode().splitlines())
        names = set(archive.namelist()) - {"manifest-sha256.txt"}
        problems = [f"目録にないファイル: {n}" for n in sorted(names - set(listed))]
        problems += [f"ファイルがない: {n}" for n in sorted(set(listed) - names)]
        problems += [f"ハッシュが違う: {n}" for n in sorted(names & set(listed))
                     if hashlib.sha256(archive.read(n)).hexdigest() != listed[n]]
    return problems
