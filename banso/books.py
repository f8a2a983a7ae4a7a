"""Sheets laid out as the ministry's accountants and staff expect to open them: amounts in yen as #,##0, dates as
dates (yyyy/mm/dd, with the time where there is one), the header row frozen with a filter on it, and each column
as wide as what it holds (a full-width character counts twice). Used by every Excel export (listing.export_workbook)
and the import templates."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

YEN = "#,##0"
DATE = "yyyy/mm/dd"
DATETIME = "yyyy/mm/dd hh:mm"
MAX_WIDTH = 60
HEADER_FILL = PatternFill("solid", start_color="E8EEF7")


def is_money(label: str) -> bool:
    """A column of yen: Banso labels every one of them 「…（円）」."""
    return "（円）" in label or label.endswith("円)")


def width(value) -> int:
    """How many half-width characters a value takes in a cell."""
    text = value.strftime("%Y/%m/%d %H:%M") if isinstance(value, datetime) else (
        value.strftime("%Y/%m/%d") if isinstance(value, date) else f"{value:,}" if isinstance(value, int) else str(value))
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def write_sheet(workbook, name: str, header: list[str], rows: list[list], *, watermark: str | None = None) -> None:
    """One sheet of a write-only workbook: the optional watermark line, the header, the rows."""
    sheet = workbook.create_sheet(name[:31])
    widths = [width(label) for label in header]
    for row in rows:
        for i, value in enumerate(row[:len(widths)]):
            widths[i] = max(widths[i], width(value))
    for i, size in enumerate(widths, start=1):  # before any row: a write-only sheet sets its columns first
        sheet.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, size + 2)
    header_row = 2 if watermark else 1
    sheet.freeze_panes = f"A{header_row + 1}"
    if header:
        sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(len(header))}{header_row + max(len(rows), 1)}"
    if watermark:
        sheet.append([watermark])
    sheet.append([_header_cell(sheet, label) for label in header])
    money = [is_money(label) for label in header]
    for row in rows:
        sheet.append([_cell(sheet, value, money[i] if i < len(money) else False) for i, value in enumerate(row)])


def _header_cell(sheet, label: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=label)
    cell.font = Font(bold=True)
    cell.fill = HEADER_FILL
    cell.alignment = Alignment(vertical="center", wrap_text=False)
    return cell


def _cell(sheet, value, money: bool):
    if isinstance(value, bool) or value is None or value == "":
        return value
    if money and isinstance(value, (int, float)):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = YEN
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATETIME
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE
        return cell
    return value
