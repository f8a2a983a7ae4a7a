"""Reading the spreadsheets people send: Excel (.xlsx) or CSV in UTF-8 or Shift_JIS."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime

from openpyxl import load_workbook

from banso.formatting import strip_control
from banso.services import InputError, RuleViolation

MAX_ROWS = 20_000
MAX_COLUMNS = 100  # the widest form Banso reads has about 20 columns
MAX_UNCOMPRESSED = 50 * 1024 * 1024  # a .xlsx is a zip: refuse one that inflates beyond this
# Counted while reading, whatever a file declares: a 134 KB workbook declaring A1:B2 held one row of 1.2 million
# cells (48 s and 1.2 GB to read). A row may carry formatted empty cells beyond its data, so a row's cap is wider
# than MAX_COLUMNS; the whole sheet's is what MAX_ROWS rows of MAX_COLUMNS make.
MAX_CELLS_PER_ROW = 1_000
MAX_CELLS = (MAX_ROWS + 2) * MAX_COLUMNS
TOO_WIDE = f"列が多すぎます（{MAX_COLUMNS}列まで）。所定の様式でご提出ください。"
TOO_BIG = f"セルが多すぎます（{MAX_ROWS:,}行・{MAX_COLUMNS}列まで）。所定の様式で、必要な範囲だけを保存してください。"


def read_table(filename: str, content: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows as stripped strings. Raises RuleViolation('IMPORT', …) for an unreadable file."""
    rows = read_rows(filename, content)
    header = [h.strip() for h in rows[0]]
    width = len(header)
    body = [(r + [""] * width)[:max(width, len(r))] for r in rows[1:]]
    return header, body


def read_rows(filename: str, content: bytes, *, keep_empty: bool = False) -> list[list[str]]:
    """Every non-empty row as strings, the header rows included (a published table's several header rows are the
    importer's to read); ``keep_empty``: the empty ones too, so that a row's place is its number in the file."""
    name = (filename or "").lower()
    if not content:
        raise InputError("ファイルが空です。", "file")
    if name.endswith(".xlsx"):
        rows = _read_xlsx(content)
    elif name.endswith(".csv"):
        rows = _read_csv(content)
    else:
        raise InputError("Excel（.xlsx）またはCSV（.csv）のファイルを選んでください。", "file")
    if not keep_empty:
        rows = [r for r in rows if any(cell for cell in r)]
    if not any(any(cell for cell in r) for r in rows):
        raise InputError("ファイルに見出し行がありません。", "file")
    if len(rows) - 1 > MAX_ROWS:
        raise InputError(f"一度に取り込めるのは{MAX_ROWS:,}行までです。ファイルを分けてください。", "file")
    return rows


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
    rows, cells = [], 0
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            cells += len(row)
            if len(row) > MAX_CELLS_PER_ROW:
                raise InputError(TOO_WIDE, "file")
            if cells > MAX_CELLS or len(rows) > MAX_ROWS + 1:
                raise InputError(TOO_BIG, "file")
            rows.append([strip_control(cell).strip() for cell in row])
    except csv.Error as exc:  # a field longer than the csv module's limit (131,072 characters), say
        raise InputError(f"CSVとして読み取れません（{exc}）。", "file") from exc
    return rows


def _read_xlsx(content: bytes) -> list[list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED:
                raise InputError("Excelファイルの展開後の大きさが上限を超えています。", "file")
            _count_cells(archive)
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
            raise InputError(TOO_WIDE, "file")
        if (sheet.max_row or 0) > MAX_ROWS + 1:
            raise InputError(f"一度に取り込めるのは{MAX_ROWS:,}行までです。ファイルを分けてください。", "file")
        return [[_cell_text(v) for v in row]
                for row in sheet.iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True)]
    finally:
        workbook.close()


_ROW_OR_CELL = re.compile(rb"<(?:\w+:)?(row|c|si)[\s>/]")


def _count_cells(archive: zipfile.ZipFile) -> None:
    """Count the cells of every sheet (and the shared strings) as the archive inflates, a megabyte at a time, before
    openpyxl builds anything: past MAX_CELLS_PER_ROW in a row or MAX_CELLS in all, the file is refused at once. The
    inflated size read this way is counted too (a zip's declared sizes can lie)."""
    for info in archive.infolist():
        name = info.filename
        if not (name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml") or not name.endswith(".xml"):
            continue
        per_row = MAX_CELLS if name == "xl/sharedStrings.xml" else MAX_CELLS_PER_ROW  # strings have no rows
        cells = in_row = inflated = 0
        tail = b""
        with archive.open(info) as stream:
            while True:
                chunk = stream.read(1024 * 1024)
                inflated += len(chunk)
                if inflated > MAX_UNCOMPRESSED:
                    raise InputError("Excelファイルの展開後の大きさが上限を超えています。", "file")
                data = tail + chunk
                cut = len(data) - 16 if chunk else len(data)  # a tag cut by this read is counted with the next
                for found in _ROW_OR_CELL.finditer(data, 0, len(data)):
                    if found.start() >= cut:
                        break
                    if found.group(1) == b"row":
                        in_row = 0
                        continue
                    cells, in_row = cells + 1, in_row + 1
                    if in_row > per_row:
                        raise InputError(TOO_WIDE, "file")
                    if cells > MAX_CELLS:
                        raise InputError(TOO_BIG, "file")
                if not chunk:
                    break
                tail = data[max(cut, 0):]


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
