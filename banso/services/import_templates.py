"""Blank workbooks to fill, one per import, generated from the columns the importer reads (``importer.columns``) and
the guide it gives for each (``importer.guide``: a note, the choices, an example), so the file sent out and the file
read back cannot drift apart: the header, an example row, drop-down lists where the answer is one of a list (the 26
fields, 都道府県, 有・無 …) and a note on each heading. tests/services/test_import_templates.py imports each template's
example row."""
from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from banso.books import HEADER_FILL, width

CHOICES_SHEET = "選択肢"
EXAMPLE_FILL = PatternFill("solid", start_color="FFF7D6")
ROWS_WITH_LISTS = 1000  # the drop-downs reach this far down the sheet


@dataclass(frozen=True)
class Guide:
    """How one column is filled: what the note on its heading says, the answers to choose from (a drop-down), and
    the example row's value."""
    note: str = ""
    choices: tuple[str, ...] = ()
    example: str = ""
    strict: bool = False  # only the listed answers (otherwise the list helps but other spellings are read too)


def workbook(importer) -> bytes:
    """The blank workbook of ``importer``: 入力 (header, example row marked as such) and 選択肢 (the lists)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "入力"
    lists = book.create_sheet(CHOICES_SHEET)
    guide = getattr(importer, "guide", {})
    headers = [header for header, _ in importer.columns]
    sheet.append(headers)
    sheet.append([guide.get(header, Guide()).example for header in headers])
    sheet.freeze_panes = "A2"
    list_column = 0
    for index, header in enumerate(headers, start=1):
        letter = get_column_letter(index)
        column = guide.get(header, Guide())
        cell = sheet.cell(row=1, column=index)
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        required = "（必須）" if header in getattr(importer, "required", set()) else ""
        listed = ("一覧から選んでください。" if column.strict else "一覧から選べます。") if column.choices else ""
        if column.note or required or listed:
            cell.comment = Comment(f"{required}{column.note}{listed}", "Banso", width=300, height=120)
        sheet.cell(row=2, column=index).fill = EXAMPLE_FILL
        sheet.column_dimensions[letter].width = min(40, max(width(header), width(column.example)) + 2)
        if column.choices:
            list_column += 1
            _add_list(sheet, lists, list_column, header, column, letter)
    lists.sheet_state = "hidden"
    note = sheet.cell(row=2, column=len(headers) + 1, value="← 記入例（この行は消して、3行目以降も同じように記入してください）")
    note.font = Font(color="808080")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _add_list(sheet, lists, list_column: int, header: str, column: Guide, letter: str) -> None:
    list_letter = get_column_letter(list_column)
    lists.cell(row=1, column=list_column, value=header)
    for row, choice in enumerate(column.choices, start=2):
        lists.cell(row=row, column=list_column, value=choice)
    source = f"={quote_sheetname(CHOICES_SHEET)}!${list_letter}$2:${list_letter}${len(column.choices) + 1}"
    validation = DataValidation(type="list", formula1=source, allow_blank=True, showErrorMessage=column.strict,
                                errorTitle="選択肢にありません", error=f"「{header}」は一覧から選んでください。")
    sheet.add_data_validation(validation)
    validation.add(f"{letter}2:{letter}{ROWS_WITH_LISTS}")
