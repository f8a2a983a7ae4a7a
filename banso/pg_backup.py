"""Backups that restore, with PostgreSQL's own tools (`flask banso backup DIR` / `flask banso restore DIR`):

- ``database.dump``: pg_dump's custom format (one consistent snapshot, restored by pg_restore);
- ``files.tar``: the stored files (receipts, attachments, documents, 移管 packages), content-addressed by SHA-256;
- ``manifest.json``: the schema revision, every table's row count, the SHA-256 of the dump and of the tar, and the
  list of stored files.

A restore checks the manifest first, then restores into an empty database and the files directory, and compares row
counts and every file's hash with the manifest: it says what differs or that the copy is whole. pg_dump suits a small
site; a ministry runs WAL archiving with point-in-time recovery as well (the runbook, docs/runbook.md). The embedded
SQLite has `flask banso export` / `import` (banso/backup.py)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, text

from banso.extensions import db


class BackupProblem(Exception):
    pass


def _libpq_url() -> str:
    url = db.engine.url
    if url.get_backend_name() != "postgresql":
        raise BackupProblem("backup / restore は PostgreSQL 用です（組み込みの SQLite では flask banso export / import を使います）。")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def row_counts() -> dict[str, int]:
    return {table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables}


def stored_files() -> dict[str, str]:
    """Every stored file under RECEIPT_DIR: its path there → its SHA-256."""
    root = Path(current_app.config["RECEIPT_DIR"])
    return {str(p.relative_to(root)): _sha256(p) for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith(".part")}


def backup(directory: str | Path) -> dict:
    """Write the dump, the files and the manifest into ``directory`` (made if missing, refused if not empty)."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise BackupProblem(f"{target} は空ではありません。新しいディレクトリを指定してください。")
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={target / 'database.dump'}",
                    _libpq_url()], check=True, capture_output=True)
    root = Path(current_app.config["RECEIPT_DIR"])
    with tarfile.open(target / "files.tar", "w") as archive:
        if root.exists():
            archive.add(root, arcname="files")
    manifest = {"format": 1, "revision": db.session.scalar(text("SELECT version_num FROM alembic_version")),
                "rows": row_counts(), "files": stored_files(),
                "sha256": {name: _sha256(target / name) for name in ("database.dump", "files.tar")}}
    (target / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


def restore(directory: str | Path) -> dict:
    """Restore ``directory`` into the configured database (empty: no table of Banso's) and RECEIPT_DIR, then check."""
    source = Path(directory)
    manifest = json.loads((source / "manifest.json").read_text())
    for name, expected in manifest["sha256"].items():
        if _sha256(source / name) != expected:
            raise BackupProblem(f"{name} が manifest と一致しません（壊れているか、別のバックアップのものです）。")
    present = db.session.scalar(text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"))
    db.session.rollback()
    if present:
        raise BackupProblem("復元先のデータベースが空ではありません。新しいデータベースに復元してください。")
    subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={_libpq_url()}",
                    str(source / "database.dump")], check=True, capture_output=True)
    root = Path(current_app.config["RECEIPT_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source / "files.tar") as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith("files/") and ".." not in Path(member.name).parts:
                destination = root / Path(member.name).relative_to("files")
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(archive.extractfile(member).read())
    return {"problems": check(manifest), "rows": sum(manifest["rows"].values()), "files": len(manifest["files"])}


def check(manifest: dict) -> list[str]:
    """What the restored copy does not match in the manifest (nothing, for a whole copy)."""
    db.session.expire_all()
    rows, files = row_counts(), stored_files()
    problems = [f"{name}: {rows.get(name)} 行（バックアップ時 {count} 行）" for name, count in manifest["rows"].items()
                if rows.get(name) != count]
    problems += [f"ファイル {name} がない、または内容が違う" for name, digest in manifest["files"].items() if files.get(name) != digest]
    return problems


def describe(manifest: dict) -> str:
    return f"スキーマ {manifest['revision']}、{sum(manifest['rows'].values()):,} 行、ファイル {len(manifest['files'])} 件"
