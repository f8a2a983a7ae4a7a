"""One way to list things: search, sort, paginate, answer the page or its fragment, export."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable

from flask import current_app, make_response, render_template, request
from openpyxl import Workbook
from sqlalchemy import Select, func, literal, select, tuple_

from banso.clock import JST
from banso.formatting import parse_id, strip_control
from banso.extensions import db
from banso import request_path


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)


@dataclass
class LogPage:
    """A page of a growing log, newest first, reached by where the previous page ended (``?before=<time>_<id>``): no
    count of the whole log and no OFFSET over it, so the thousandth page costs what the first does."""

    items: list[Any]
    before: str | None       # where this page started (None: the newest)
    next_before: str | None  # where to continue (None: nothing older)


def log_page(stmt: Select, time_column, id_column) -> LogPage:
    """``stmt`` newest first by (``time_column``, ``id_column``), one page below ``?before``."""
    per_page = current_app.config["PER_PAGE"]
    before = request.args.get("before") or None
    if before:
        moment, _, key = before.rpartition("_")
        try:
            stmt = stmt.where(tuple_(time_column, id_column) < tuple_(datetime.fromisoformat(moment), int(key)))
        except ValueError:
            before = None  # a cursor typed by hand: start from the newest
    rows = list(db.session.scalars(stmt.order_by(time_column.desc(), id_column.desc()).limit(per_page + 1)))
    items = rows[:per_page]
    last = items[-1] if len(rows) > per_page else None
    cursor = None
    if last is not None:
        cursor = f"{getattr(last, time_column.key).isoformat()}_{getattr(last, id_column.key)}"
    return LogPage(items, before, cursor)


def int_arg(name: str, default: int = 1) -> int:
    return parse_id(request.args.get(name)) or default


def sort_by(stmt: Select, columns: dict[str, Any], default: str) -> tuple[Select, str]:
    """Order by ``?sort=name`` or ``?sort=-name`` among the allowed columns."""
    sort = request.args.get("sort", default)
    key = sort.lstrip("-")
    if key not in columns:
        sort, key = default, default.lstrip("-")
    column = columns[key]
    return stmt.order_by(column.desc() if sort.startswith("-") else column.asc()), sort


def paginate(stmt: Select, *, rows: bool = False, counted: Select | None = None) -> Page:
    """One page of ``stmt``: entities, or whole result rows with ``rows=True``. ``counted``: the same rows without
    what is joined only to show them (counting needs no display join)."""
    per_page = current_app.config["PER_PAGE"]
    counted = (stmt if counted is None else counted).order_by(None)
    if not rows and not counted._distinct:  # the rows' FROM and WHERE only: no column (a trip's sum) computed to count
        counted = counted.with_only_columns(literal(1), maintain_column_froms=True)
    total = db.session.scalar(select(func.count()).select_from(counted.subquery()))
    pages = max(1, -(-total // per_page))
    page = min(int_arg("page"), pages)
    window = stmt.limit(per_page).offset((page - 1) * per_page)
    items = list(db.session.execute(window)) if rows else list(db.session.scalars(window))
    return Page(items, page, per_page, total)


def page_or_fragment(template: str, fragment: str, **context):
    """The full page for a normal request, the list fragment for htmx."""
    name = fragment if request.htmx and not request.htmx.boosted else template
    response = make_response(render_template(name, **context))
    response.headers["Vary"] = "HX-Request"
    return response


Column = tuple[str, Callable[[Any], Any]]


def export(rows: Iterable[Any], columns: list[Column], filename: str):
    """Every row of a filtered list, as CSV (UTF-8 with BOM, opens in Excel) or Excel (?format=xlsx)."""
    if request.args.get("format") == "xlsx":
        return export_workbook([(filename, columns, rows)], filename)
    cells = [[_cell(get(row)) for _, get in columns] for row in rows]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    watermark = request_path.watermark_text()
    if watermark:
        writer.writerow([watermark])
    writer.writerow([label for label, _ in columns])
    writer.writerows(cells)
    _audit_export(filename, "csv", len(cells))
    return _download("\ufeff" + text.getvalue(), "text/csv; charset=utf-8", filename, "csv")


def export_workbook(sheets: list[tuple[str, list[Column], Iterable[Any]]], filename: str):
    """One Excel workbook of several sheets (name, columns, rows), e.g. for the accounting books, laid out as an
    accountant would (books.py: amounts as #,##0, dates as dates, the header frozen with a filter, columns fitted).
    Every export is audited (which list, its filters, how many rows) and, if it shows results still held (PUB-2),
    every sheet's first line is the watermark naming who exported it and when: both here, for every list."""
    from banso.books import write_sheet

    tables = [(name, columns, [[_cell(get(row)) for _, get in columns] for row in rows]) for name, columns, rows in sheets]
    watermark = request_path.watermark_text()
    workbook = Workbook(write_only=True)
    for name, columns, cells in tables:
        write_sheet(workbook, name, [label for label, _ in columns], cells, watermark=watermark)
    buffer = io.BytesIO()
    workbook.save(buffer)
    _audit_export(filename, "xlsx", sum(len(cells) for _, _, cells in tables))
    return _download(buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename, "xlsx")


def _audit_export(filename: str, kind: str, rows: int) -> None:
    from flask_login import current_user

    from banso.services import audit

    filters = {k: v for k, v in request.args.items() if k not in ("format", "page")}
    actor = current_user if getattr(current_user, "is_authenticated", False) else None
    audit.record("export", None, object_type="Export", actor=actor,
                 summary=f"「{filename}」を出力（{kind.upper()}、{rows}行{'、条件: ' + str(filters) if filters else ''}）",
                 after={"list": filename, "path": request.path, "filters": filters, "rows": rows, "format": kind})


def send_stored(digest: str, mimetype: str, filename: str, *, as_attachment: bool = True):
    """A kept file (banso/services/files.py) to a viewer the caller's policy has let through; never cached."""
    from flask import abort, send_file

    from banso.services import files

    path = files.path(digest)
    if not path.exists():
        abort(404)
    name = files.safe_name(filename, "file")  # a name kept before names were read once at intake
    response = send_file(path, mimetype=mimetype, download_name=name, as_attachment=as_attachment)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def send_workbook(body: bytes, filename: str):
    """An Excel file Banso made (a template, a register) as a download."""
    return send_bytes(body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename, "xlsx")


def send_bytes(body: bytes, mimetype: str, filename: str, ext: str):
    """A file Banso made for this request (a template to fill or edit) as a download, never cached."""
    response = _download(body, mimetype, filename, ext)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _download(body, mimetype: str, filename: str, ext: str):
    from urllib.parse import quote

    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}.{ext}"
    return response


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(JST).replace(tzinfo=None)  # spreadsheets hold no zone: times are Japan time
    if isinstance(value, str):
        value = strip_control(value)  # Excel cannot hold them
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # a cell typed by a user must never run as a formula
    return value
