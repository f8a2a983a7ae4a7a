"""One way to take in a spreadsheet, whatever it holds.

Upload → every row checked (on the worker with a progress bar when the file is large) →
a preview with errors by row and column → the user may exclude bad rows explicitly →
all remaining rows stored in one transaction, or none. Each area registers an ``Importer``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from banso.clock import now
from banso.extensions import db
from banso.models import ImportBatch, Phase, User
from banso.services import InputError, RuleViolation, WrongState, audit, files, spreadsheets

INLINE_ROWS = 200  # larger files are checked on the worker


ROW_NUMBER = "__row__"  # an importer that reads its own table (``read``) gives each row's number in the file here


class Importer(Protocol):
    kind: str
    title: str                         # e.g. "活用希望調査の回答"
    columns: list[tuple[str, str]]     # (header, key), the layout for import and export
    required: set[str]                 # headers that must be present

    def check_headers(self, found: set[str]) -> list[str]: ...   # further missing headers
    def context(self, batch: ImportBatch) -> Any: ...            # lookups shared by all rows
    def check_row(self, values: dict[str, str], ctx: Any) -> "Row": ...
    def store(self, batch: ImportBatch, row: dict, actor: User | None) -> None: ...
    # Optional: ``store_all(batch, rows, actor)`` stores every included row at once (and names a refused row itself).
    # Optional: ``read(filename, content) -> (header, rows, notes)`` reads a published table with its own layout (several
    # header rows, subtotals): the rows carry their number in the file under ROW_NUMBER; the notes go on the preview.
    def done_url(self, batch: ImportBatch) -> str: ...


@dataclass
class Row:
    label: str                                   # what the row is (a municipality, a person)
    summary: str = ""                            # the main values, for the preview
    errors: dict[str, str] = field(default_factory=dict)   # column → message
    warnings: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)     # JSON-safe, what ``store`` needs


IMPORTERS: dict[str, Importer] = {}


def read_cell(values: dict[str, str], column: str, reader, errors: dict[str, str], **options):
    """A row's cell read by one of banso/reading.py's readers; what it cannot read goes on the column's error."""
    value, problem = reader(values.get(column, ""), **options)
    if problem:
        errors[column] = problem
    return value


def register(importer: Importer) -> Importer:
    IMPORTERS[importer.kind] = importer
    return importer


def header_key(text: str) -> str:
    return re.sub(r"[\s（）()・]", "", unicodedata.normalize("NFKC", text or ""))


def _positions(importer: Importer, header: list[str]) -> dict[str, int]:
    known = {header_key(h): h for h, _ in importer.columns}
    positions: dict[str, int] = {}
    for index, text in enumerate(header):
        name = known.get(header_key(text)) or unicodedata.normalize("NFKC", text).strip()
        positions.setdefault(name, index)
    missing = sorted(importer.required - positions.keys()) + importer.check_headers(set(positions))
    if missing:
        raise InputError(f"見出し行に必要な列がありません: {'、'.join(missing)}。所定の様式でご提出ください。", "file")
    return positions


def _table(importer: Importer, filename: str, content: bytes) -> tuple[list[str], list[list[str]], list[str]]:
    if hasattr(importer, "read"):
        return importer.read(filename, content)
    header, rows = spreadsheets.read_table(filename, content)
    return header, rows, []


def start(kind: str, phase: Phase | None, filename: str, content: bytes, *, options: dict | None = None,
          actor: User | None, inline: bool | None = None) -> ImportBatch:
    """Read the file (a file-level problem raises and nothing is stored); check it now if small
    (or ``inline``). Otherwise the caller enqueues ``worker.jobs.validate_import`` after commit."""
    importer = IMPORTERS[kind]
    header, rows, notes = _table(importer, filename, content)
    _positions(importer, header)
    batch = ImportBatch(kind=kind, phase=phase, filename=files.safe_name(filename, "取込ファイル"), content=content, status="validating",
                        total_rows=len(rows), processed_rows=0, rows=None, excluded_rows=[],
                        options={**(options or {}), **({"notes": notes} if notes else {})},
                        created_by_id=actor.id if actor else None)
    db.session.add(batch)
    db.session.flush()
    if inline or (inline is None and batch.total_rows <= INLINE_ROWS):
        validate(batch)
    return batch


def validate(batch: ImportBatch, on_progress: Callable[[ImportBatch], None] | None = None) -> ImportBatch:
    importer = IMPORTERS[batch.kind]
    header, rows, _notes = _table(importer, batch.filename, batch.content)
    positions = _positions(importer, header)
    ctx = importer.context(batch)
    checked = []
    for index, raw in enumerate(rows):
        values = {h: (raw[i] if i < len(raw) else "").strip() for h, i in positions.items()}
        number = int(values.pop(ROW_NUMBER)) if ROW_NUMBER in values else index + 2
        row = importer.check_row(values, ctx)
        checked.append({"row": number, "values": values, "label": row.label, "summary": row.summary,
                        "errors": row.errors, "warnings": row.warnings, "data": row.data})
        batch.processed_rows = index + 1
        if on_progress and (index + 1) % 50 == 0:
            on_progress(batch)
    batch.rows = checked
    batch.status = "ready"
    return batch


def set_excluded(batch: ImportBatch, rows: list[int], *, actor: User) -> ImportBatch:
    if batch.status != "ready":
        raise WrongState("この取込は確認できる状態ではありません。")
    batch.excluded_rows = sorted(set(rows) & {r["row"] for r in batch.rows})
    return batch


def enqueue_validation(batch: ImportBatch) -> None:
    """Check a large file on the worker, once the batch it reads is committed."""
    from banso import queue

    queue.enqueue_after_commit("imports", queue.Job.VALIDATE_IMPORT, batch.id, job_timeout=600)


def commit(batch: ImportBatch, *, actor: User | None) -> int:
    """Store every included row, or none (the caller rolls back on RuleViolation)."""
    if batch.status != "ready":
        raise WrongState("この取込は既に完了しているか、確認中です。")
    if batch.blocking_rows:
        rows = "、".join(str(r["row"]) for r in batch.blocking_rows[:20])
        raise InputError(f"エラーのある行（{rows}行目）が残っています。修正したファイルを取り込み直すか、取り込まない行として除外してください。")
    included = [r for r in batch.rows if r["row"] not in batch.excluded_rows]
    if not included:
        raise InputError("取り込む行がありません。")
    importer = IMPORTERS[batch.kind]
    if hasattr(importer, "store_all"):  # in bulk: the importer names the row it refuses
        try:
            importer.store_all(batch, included, actor)
        except RuleViolation as violation:
            raise RuleViolation(violation.rule_id, f"{violation.message}（何も取り込んでいません）", violation.field) from violation
    else:
        for row in included:
            try:
                importer.store(batch, row, actor)
            except RuleViolation as violation:
                raise RuleViolation(violation.rule_id, f"{row['row']}行目: {violation.message}（何も取り込んでいません）") from violation
    batch.status = "imported"
    batch.imported_at = now()
    batch.imported_count = len(included)
    audit.record("import", batch, actor=actor,
                 summary=f"{importer.title}を「{batch.filename}」から{len(included)}件取り込み（除外 {len(batch.excluded_rows)}行）",
                 after={"kind": batch.kind, "imported": len(included), "excluded_rows": batch.excluded_rows})
    return len(included)
