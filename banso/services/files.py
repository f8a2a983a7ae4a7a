"""Uploaded and received files (travel receipts, inquiry attachments, the originals of mail taken in): kept once
by their SHA-256 under RECEIPT_DIR, outside the web root, and served only by views that ask a policy first.

A file's kind is decided by its content, never by its name alone: the name's extension must agree with it."""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from pathlib import Path

from flask import current_app

# The kinds an inquiry may carry, by what the content starts with; ZIP and OLE containers are told apart by name.
KINDS = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".jpg": ("image/jpeg", b"\xff\xd8\xff"),
    ".jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    ".png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04"),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", b"PK\x03\x04"),
    ".xls": ("application/vnd.ms-excel", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    ".doc": ("application/msword", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    ".ppt": ("application/vnd.ms-powerpoint", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    ".csv": ("text/csv", b""),
    ".txt": ("text/plain", b""),
}
KIND_NAMES = "PDF・画像（JPEG・PNG）・Excel・Word・PowerPoint・CSV・テキスト"


def safe_name(name: str | None, default: str = "") -> str:
    """The one reading of a file name sent to Banso (an upload, a mail's attachment, a spreadsheet), applied once,
    where the file comes in: its last part after any ``/`` or ``\\``, in NFC, without control or format
    characters (CR/LF would break a download's header; U+202E would disguise an extension), trimmed, at most 255
    characters; ``default`` when nothing is left."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    text = text.strip(" .\u3000")[:255].strip()
    return text or default


def path(digest: str) -> Path:
    return Path(current_app.config["RECEIPT_DIR"]) / digest[:2] / digest


def store(data: bytes) -> str:
    """Keep ``data`` under its hash and return the hash. Content-addressed: the same file is kept once, and a
    rolled-back transaction leaves only an unreferenced file."""
    digest = hashlib.sha256(data).hexdigest()
    target = path(digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".part")
        temporary.write_bytes(data)
        temporary.replace(target)
    return digest


def read(digest: str) -> bytes:
    return path(digest).read_bytes()


def referenced(digest: str) -> bool:
    """Whether any row still names ``digest`` (every column of Banso's tables that holds a stored file's hash)."""
    from sqlalchemy import or_, select

    from banso.extensions import db

    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if c.name == "sha256" or c.name.endswith("_sha256")]
        if columns and db.session.execute(select(columns[0]).where(or_(*(c == digest for c in columns))).limit(1)).first():
            return True
    return False


def discard_if_unreferenced(digest: str | None) -> bool:
    """Remove a stored file nothing refers to any more (a 廃棄); a file another record still uses is kept."""
    if not digest or referenced(digest):
        return False
    target = path(digest)
    if target.exists():
        target.unlink()
        return True
    return False


def kind_of(filename: str, data: bytes) -> tuple[str | None, str]:
    """(content type, "") for a file whose content is what its name says, else (None, why it is not kept)."""
    extension = Path(filename).suffix.lower()
    if extension not in KINDS:
        return None, f"この種類のファイル（{extension or '拡張子なし'}）は保存しません（保存できるのは{KIND_NAMES}）"
    content_type, magic = KINDS[extension]
    if magic and not data.startswith(magic):
        return None, f"ファイルの中身が拡張子（{extension}）と一致しません"
    if magic == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "[Content_Types].xml" not in archive.namelist():
                    raise zipfile.BadZipFile
        except zipfile.BadZipFile:
            return None, f"ファイルの中身が拡張子（{extension}）と一致しません"
    if not magic:  # text: no NUL bytes, and readable as UTF-8 or Shift_JIS
        if b"\x00" in data or not _decodes(data):
            return None, f"ファイルの中身が拡張子（{extension}）と一致しません（テキストではありません）"
    return content_type, ""


def _decodes(data: bytes) -> bool:
    for encoding in ("utf-8", "cp932"):
        try:
            data.decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    return False
