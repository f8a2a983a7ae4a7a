"""The official population (APP-1) loaded from the ministry's 住民基本台帳 table as it is published — a title, headings
over several rows (人口 over 男・女・計; 日本人住民・外国人住民・総計), prefecture subtotals and the wards of designated
cities — or from a plain two-column file (団体コード, 人口). Columns are recognised by their headings; the preview
(the shared import flow) shows, for each municipality, the figure it will set beside the one it replaces."""
from __future__ import annotations

import re
import unicodedata

from flask import url_for
from sqlalchemy import select

from banso.extensions import db
from banso.models import ImportBatch, OfficialPopulation, User
from banso.reading import code_candidates
from banso.reference import check_digit, typed
from banso.policies import admin as admin_policy
from banso.services import NotPermitted, audit, imports, municipal_lookup, spreadsheets
from banso.services.import_templates import Guide

KIND = "population"
COLUMNS: list[tuple[str, str]] = [("団体コード", "code"), ("都道府県", "prefecture"), ("市区町村名", "name"), ("人口", "population")]
GUIDE = {
    "団体コード": Guide("6桁の全国地方公共団体コード。", example="012025"), "都道府県": Guide(example="北海道"),
    "市区町村名": Guide(example="函館市"),
    "人口": Guide("住民基本台帳人口の総計（日本人住民と外国人住民の計）。", example="241000"),
}
HEADER_ROWS = 12  # a published table's title and headings are within its first rows


def _label(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def _is_code(text: str) -> bool:
    candidates, problem = code_candidates(text)
    return not problem and bool(candidates) and len(re.sub(r"\D", "", typed(text))) >= 5


def _headings(rows: list[list[str]]) -> tuple[int, list[str]]:
    """Where the data starts, and each column's heading read down the rows above it (a merged 人口 over 男・女・計 is
    carried to the columns under it)."""
    start = next((i for i, row in enumerate(rows[:HEADER_ROWS + 1]) if row and any(_is_code(c) for c in row[:3])), None)
    if start is None or start == 0:
        return 1, [_label(c) for c in rows[0]]
    width = max(len(row) for row in rows[:start + 1])
    first = next((i for i in range(start) if sum(1 for c in rows[i] if c) >= 2), start - 1)  # after the title lines
    block = [list(row) + [""] * (width - len(row)) for row in rows[first:start]]
    for depth, row in enumerate(block[:-1]):  # a heading over several columns is written once, in its first
        for i in range(1, width):
            if not row[i] and row[i - 1] and any(below[i] for below in block[depth + 1:]):
                row[i] = row[i - 1]
    return start, ["".join(_label(row[i]) for row in block if i < len(row)) for i in range(width)]


def _column(headings: list[str], *tests) -> int | None:
    for test in tests:
        found = [i for i, h in enumerate(headings) if test(h)]
        if found:
            return found[-1] if test is _total_of_all else found[0]
    return None


def _total_of_all(heading: str) -> bool:
    """The total of every resident: 総計's 計, or a 人口 column that is no one sex and not one group alone."""
    return ("人口" in heading or "総計" in heading or "総数" in heading) and not re.search(r"男|女|世帯|増減|率|日本人|外国人", heading) \
        and bool(re.search(r"計|総数|人口$", heading))


def read(filename: str, content: bytes) -> tuple[list[str], list[list[str]], list[str]]:
    """The table as published, as rows of 団体コード, 都道府県, 市区町村名, 人口 with their number in the file;
    prefecture subtotals and the nation's total left out, and named in the notes."""
    rows = spreadsheets.read_rows(filename, content, keep_empty=True)
    start, headings = _headings(rows)
    code = _column(headings, lambda h: "団体コード" in h, lambda h: "コード" in h or h.lower() == "code")
    prefecture = _column(headings, lambda h: "都道府県" in h)
    name = _column(headings, lambda h: "市区町村" in h or "市町村" in h, lambda h: "団体名" in h)
    population = _column(headings, lambda h: h in ("人口", "population"), _total_of_all, lambda h: "総計" in h)
    header = [h for h, _ in COLUMNS] + [imports.ROW_NUMBER]
    if population is None or (code is None and name is None):
        header = ["（見出しを読み取れません）", imports.ROW_NUMBER]  # the flow names the missing columns
        return header, [], []
    body, subtotals = [], 0
    for number, row in enumerate(rows[start:], start=start + 1):
        if not any(row):
            continue
        cell = (lambda i: row[i] if i is not None and i < len(row) else "")
        candidates, _problem = code_candidates(cell(code))
        if any(c[2:5] == "000" for c in candidates) or re.search(r"^(全国|合計|総計)$", _label(cell(name))):
            subtotals += 1
            continue
        body.append([cell(code), cell(prefecture), cell(name), cell(population), str(number)])
    notes = [f"都道府県の計・全国の計の{subtotals}行は取り込みません。"] if subtotals else []
    return header, body, notes


class PopulationImporter:
    kind = KIND
    title = "公式人口（住民基本台帳人口）"
    columns = COLUMNS
    guide = GUIDE
    required = {"人口"}
    read = staticmethod(read)

    def check_headers(self, found: set[str]) -> list[str]:
        return [] if "団体コード" in found or "市区町村名" in found else ["団体コード（または 市区町村名）"]

    def context(self, batch: ImportBatch):
        day = batch.phase.population_reference_date
        known = dict(db.session.execute(select(OfficialPopulation.municipality_id, OfficialPopulation.population)
                                        .where(OfficialPopulation.reference_date == day)).all())
        return {"lookup": municipal_lookup.Lookup(), "known": known, "seen": {}, "wards": {}}

    def check_row(self, values: dict[str, str], ctx) -> imports.Row:
        lookup = ctx["lookup"]
        label = f"{values.get('都道府県', '')}{values.get('市区町村名', '')}".strip() or values.get("団体コード", "")
        population = _population(values.get("人口", ""))
        if (city := _ward_city(lookup, values.get("団体コード", ""))) is not None:
            return imports.Row(label=label, summary="政令指定都市の区", warnings=[
                f"{city.full_name}の区の行です。市の行の人口を使い、区の行は取り込みません。"], data={"skip": True})
        reading = lookup.resolve(values.get("団体コード", ""), values.get("都道府県", ""), values.get("市区町村名", ""))
        row = imports.Row(label=reading.municipality.full_name if reading.municipality else label)
        if reading.problem:
            row.errors[reading.column if reading.column != "市町村名" else "市区町村名"] = reading.problem
        if population is None:
            row.errors["人口"] = f"「{values.get('人口', '')}」は人口として読み取れません（数字で記入してください）。"
        if row.errors:
            return row
        municipality = reading.municipality
        if municipality.id in ctx["seen"]:
            row.errors["団体コード"] = f"{municipality.full_name}は{ctx['seen'][municipality.id]}の行と重複しています。"
            return row
        ctx["seen"][municipality.id] = label
        before = ctx["known"].get(municipality.id)
        row.summary = f"{population:,}人（" + (f"これまで {before:,}人" if before is not None else "新規") + \
                      f"、マスタ {municipality.default_population:,}人）"
        row.warnings += [f"団体コード: {reading.note}"] if reading.note else []
        row.data = {"municipality_id": municipality.id, "population": population}
        return row

    def store_all(self, batch: ImportBatch, rows: list[dict], actor: User | None) -> None:
        if actor is not None and not admin_policy.may_confirm_population(actor):
            raise NotPermitted("公式人口を登録できるのは事務局管理者だけです。")
        day = batch.phase.population_reference_date
        figures = {r["data"]["municipality_id"]: r["data"]["population"] for r in rows if not r["data"].get("skip")}
        existing = {o.municipality_id: o for o in db.session.scalars(
            select(OfficialPopulation).where(OfficialPopulation.reference_date == day))}
        for municipality_id, population in figures.items():
            record = existing.get(municipality_id) or OfficialPopulation(municipality_id=municipality_id, reference_date=day)
            record.population = population
            db.session.add(record)
        audit.record("import_population", batch.phase, actor=actor,
                     summary=f"{batch.phase.name}の公式人口（基準日 {day}）を{len(figures)}件取り込み",
                     after={"filename": batch.filename, "rows": len(figures)})

    def store(self, batch: ImportBatch, row: dict, actor: User | None) -> None:
        self.store_all(batch, [row], actor)

    def done_url(self, batch: ImportBatch) -> str:
        return url_for("municipalities.population", phase=batch.phase.number)


def _population(text: str) -> int | None:
    value = re.sub(r"[,，\s人]", "", typed(text))
    value = re.sub(r"\.0+$", "", value)
    return int(value) if value.isdigit() and len(value) <= 9 else None


def _ward_city(lookup, text: str):
    """The designated city a ward's code belongs to (011011 → 札幌市), when the ward is not itself in the master."""
    digits = re.sub(r"\D", "", typed(text)).zfill(6)
    if len(digits) != 6 or digits in lookup.by_code or not "101" <= digits[2:5] <= "199":
        return None
    return lookup.by_code.get(digits[:2] + "100" + str(check_digit(digits[:2] + "100")))


imports.register(PopulationImporter())
