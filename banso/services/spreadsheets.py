"""Reading the spreadsheets people send: Excel (.xlsx) or CSV in UTF-8 or Shift_JIS."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

from openpyxl import load_workbook

from banso.formatting import strip_control
from banso.services import InputError, RuleViolation

MAX_ROWS = 20_000
MAX_COLUMNS = 100  # the widest form Banso reads has about 20 columns
MAX_UNCOMPRESSED = 50 * 1024 * 1024  # a .xlsx is a zip: refuse one that inflates beyond this


def read_table(filename: str, content: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows as stripped strings. Raises RuleViolation('IMPORT', …) for an unreadable file."""
    name = (filename or "").lower()
    if not content:
        raise InputError("ファイルが空です。", "file")
    if name.endswith(".xlsx"):
        rows = _read_xlsx(content)
    elif name.endswith(".csv"):
        rows = _read_csv(content)
    else:
        raise InputError("Excel（.xlsx）またはCSV（.csv）のファイルを選んでください。", "file")
    rows = [r for r in rows if any(cell for cell in r)]
    if not rows:
        raise InputError("ファイルに見出し行がありません。", "file")
    if len(rows) - 1 > MAX_ROWS:
        raise InputError(f"一度に取り込めるのは{MAX_ROWS:,}行までです。ファイルを分けてください。", "file")
    header = [h.strip() for h in rows[0]]
    width = len(header)
    body = [(r + [""] * width)[:max(width, len(r))] for r in rows[1:]]
    return header, body


def _read_csv(content: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError("文字コードを判別できません。UTF-8 または Shift_JIS で保存してください。", "file")
    if "\x00" in text:
        raise InputError("CSVとして読み取れないデータが含まれています。", "file")
    return [[strip_control(cell).strip() for cell in row] for row in csv.reader(io.StringIO(text, newline=""))]


def _read_xlsx(content: bytes) -> list[list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED:
                raise InputError("Excelファイルの展開後の大きさが上限を超えています。", "file")
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except RuleViolation:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise InputError("Excelファイルとして読み取れません。ファイルが壊れていないかご確認ください。", "file") from exc
    try:
        sheet = workbook.worksheets[0]
        # The size a sheet declares is checked before reading, and reading stops at the limits whatever it declared:
        # a tiny file declaring 16,384 columns or a million rows must not cost minutes and gigabytes.
        if (sheet.max_column or 0) > MAX_COLUMNS:
            raise InputError(f"列が多すぎます（{MAX_COLUMNS}列まで）。所定の様式でご提出ください。", "file")
        if (sheet.max_row or 0) > MAX_ROWS + 1:
            raise InputError(f"一度に取り込めるのは{MAX_ROWS:,}行までです。ファイルを分けてください。", "file")
        return [[_cell_text(v) for v in row]
                for row in sheet.iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True)]
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")  # 17:00:01 stays late
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return strip_control(str(value)).strip()
