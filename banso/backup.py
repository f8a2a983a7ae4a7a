"""Backup and restore: `flask banso export FILE` and `flask banso import FILE`.

One zip archive holds every table (one JSON line per row, in primary-key order), the uploaded receipts
and a manifest naming the schema revision and the row counts. A restore goes into an empty, migrated
database of the same revision, in one transaction: it lands whole or not at all.
"""
from __future__ import annotations

import base64
import json
import zipfile
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import Date, LargeBinary, func, insert, select, text, update

from banso.extensions import UTCDateTime, db, reset_sequences

FORMAT = 1
CHUNK = 5_000


class RestoreRefused(Exception):
    pass


def _revision() -> str | None:
    return db.session.scalar(text("SELECT version_num FROM alembic_version"))


def _encode(column, value):
    if value is None:
        return None
    if isinstance(column.type, UTCDateTime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(column.type, Date):
        return value.isoformat()
    if isinstance(column.type, LargeBinary):
        return base64.b64encode(value).decode("ascii")
    return value


def _decode(column, value):
    if value is None:
        return None
    if isinstance(column.type, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, Date):
        return date.fromisoformat(value)
    if isinstance(column.type, LargeBinary):
        return base64.b64decode(value)
    return value


def export(path: str | Path, *, echo: Callable[[str], None] = print) -> dict[str, int]:
    """Write every table and uploaded file to ``path``. Returns rows per table."""
    counts: dict[str, int] = {}
    receipts = Path(current_app.config["RECEIPT_DIR"])
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in db.metadata.sorted_tables:
            columns = list(table.c)
            order = list(table.primary_key.columns) or columns
            with archive.open(f"tables/{table.name}.jsonl", "w") as out:
                count = 0
                for row in db.session.execute(select(table).order_by(*order)).yield_per(CHUNK):
                    line = {c.name: _encode(c, value) for c, value in zip(columns, row)}
                    out.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
                    count += 1
            counts[table.name] = count
            echo(f"  {table.name:28} {count:>10,}")
        files = sorted(p for p in receipts.rglob("*") if p.is_file()) if receipts.exists() else []
        for file in files:
            archive.write(file, f"files/receipts/{file.relative_to(receipts).as_posix()}")
        manifest = {"format": FORMAT, "revision": _revision(), "exported_at": datetime.now(timezone.utc).isoformat(),
                    "tables": counts, "files": len(files)}
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    return counts


def restore(path: str | Path, *, echo: Callable[[str], None] = print) -> dict[str, int]:
    """Load an archive into this (empty, migrated) database. Raises RestoreRefused before writing anything."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as broken:
        raise RestoreRefused(f"バックアップファイルとして読めません（{broken}）。") from broken
    if manifest.get("format") != FORMAT:
        raise RestoreRefused("この版の Banso では読めない形式のバックアップです。")
    if manifest.get("revision") != _revision():
        raise RestoreRefused(f"データベースの版（{_revision()}）がバックアップの版（{manifest.get('revision')}）と違います。"
                             "同じ版にマイグレーションしてから復元してください。")
    filled = [t.name for t in db.metadata.sorted_tables if db.session.scalar(select(func.count()).select_from(t))]
    if filled:
        raise RestoreRefused(f"空のデータベースにのみ復元できます（データあり: {', '.join(filled[:5])}）。")

    counts: dict[str, int] = {}
    with zipfile.ZipFile(path) as archive:
        # Tables the database keeps itself (triggers add every trip's money and each team's activity dates as their
        # rows arrive) are restored last, as they were: what the triggers added on the way is replaced by the archive's.
        kept_by_triggers = {"budget_totals", "budget_breakdown", "team_activity_dates"}
        ordered = [t for t in db.metadata.sorted_tables if t.name not in kept_by_triggers] + \
                  [t for t in db.metadata.sorted_tables if t.name in kept_by_triggers]
        for table in ordered:
            if table.name in kept_by_triggers:
                db.session.execute(table.delete())
            counts[table.name] = _restore_table(archive, table)
            if counts[table.name] != manifest["tables"].get(table.name, 0):
                raise RestoreRefused(f"{table.name} の行数がマニフェストと合いません。ファイルが壊れています。")
            echo(f"  {table.name:28} {counts[table.name]:>10,}")
        reset_sequences()
        receipts = Path(current_app.config["RECEIPT_DIR"])
        for name in archive.namelist():
            if name.startswith("files/receipts/") and not name.endswith("/"):
                target = receipts / name.removeprefix("files/receipts/")
                if ".." in target.relative_to(receipts).parts:
                    raise RestoreRefused(f"不正なファイル名です: {name}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))
    db.session.flush()
    return counts


def _restore_table(archive: zipfile.ZipFile, table) -> int:
    """Rows in key order; a column pointing into its own table is filled in afterwards."""
    columns = {c.name: c for c in table.c}
    self_refs = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    later: list[dict] = []
    batch: list[dict] = []
    count = 0
    with archive.open(f"tables/{table.name}.jsonl") as source:
        for raw in source:
            line = json.loads(raw)
            row = {name: _decode(columns[name], value) for name, value in line.items()}
            if any(row.get(name) is not None for name in self_refs):
                later.append({"key": row["id"], **{name: row[name] for name in self_refs}})
                row.update({name: None for name in self_refs})
            batch.append(row)
            count += 1
            if len(batch) >= CHUNK:
                db.session.execute(insert(table), batch)
                batch = []
    if batch:
        db.session.execute(insert(table), batch)
    for row in later:
        db.session.execute(update(table).where(table.c.id == row.pop("key")).values(**row))
    return count

