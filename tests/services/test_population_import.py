"""Issue 33: the official population loaded from the 住民基本台帳 table as the ministry publishes it — a title, headings
over two rows (人口 merged over 男・女・計, then 世帯数), prefecture subtotals and a designated city's wards — with a
preview of what it will set, and nothing stored until it is committed."""
import io

from openpyxl import Workbook
from sqlalchemy import select

from banso.extensions import db
from banso.models import OfficialPopulation, Role
from banso.reference import check_digit
from banso.services import imports, population_import
from tests.factories import make_municipality, make_phase, make_user


def _code(five: str) -> str:
    return five + str(check_digit(five))


def _published(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["市区町村別 住民基本台帳人口（日本人住民及び外国人住民）　令和7年1月1日現在"])
    sheet.append([])
    sheet.append(["団体コード", "都道府県名", "市区町村名", "人口", None, None, "世帯数"])
    sheet.merge_cells("D3:F3")
    sheet.append([None, None, None, "男", "女", "計", None])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_published_table_is_read_by_its_headings_without_subtotals_or_wards(ctx):
    admin = make_user(Role.ADMIN)
    phase = make_phase()
    sapporo = make_municipality(name="札幌市", code=_code("01100"), prefecture="北海道", default_population=1_950_000)
    hakodate = make_municipality(name="函館市", code="012025", prefecture="北海道", default_population=240_000)
    town = make_municipality(name="奥尻町", code=_code("01367"), prefecture="北海道", default_population=2_300)
    content = _published([
        [_code("01000"), "北海道", "", "2,500,000", "2,600,000", "5,100,000", "2,800,000"],  # the prefecture's total
        [sapporo.code, "北海道", "札幌市", 930_000, 1_030_000, 1_960_000, 1_000_000],
        [_code("01101"), "北海道", "札幌市中央区", 110_000, 130_000, 240_000, 150_000],  # a ward: the city's row counts
        [hakodate.code, "北海道", "函館市", "110,000", "130,500", "240,500", "140,000"],
        [int(town.code), "北海道", "奥尻町", 1_150, 1_080, 2_230, 1_300],  # the code as a number
    ])
    batch = imports.start(population_import.KIND, phase, "000892947.xlsx", content, actor=admin, inline=True)
    assert batch.options["notes"] == ["都道府県の計・全国の計の1行は取り込みません。"]
    rows = {row["label"]: row for row in batch.rows}
    assert rows["北海道札幌市"]["data"] == {"municipality_id": sapporo.id, "population": 1_960_000}
    assert rows["北海道札幌市中央区"]["data"] == {"skip": True} and "区の行" in rows["北海道札幌市中央区"]["warnings"][0]
    assert rows["北海道函館市"]["data"]["population"] == 240_500 and "240,500人（新規" in rows["北海道函館市"]["summary"]
    assert rows["北海道奥尻町"]["data"]["population"] == 2_230
    assert [row["row"] for row in batch.rows] == [6, 7, 8, 9]  # the rows as numbered in the file
    assert db.session.scalar(select(OfficialPopulation.id)) is None  # nothing until committed
    imports.commit(batch, actor=admin)
    stored = dict(db.session.execute(select(OfficialPopulation.municipality_id, OfficialPopulation.population)).all())
    assert stored == {sapporo.id: 1_960_000, hakodate.id: 240_500, town.id: 2_230}


def test_only_an_admin_commits_the_official_population(ctx):
    import pytest

    from banso.services import RuleViolation

    phase = make_phase()
    town = make_municipality()
    batch = imports.start(population_import.KIND, phase, "p.csv", f"団体コード,人口\n{town.code},5000\n".encode(),
                          actor=None, inline=True)
    with pytest.raises(RuleViolation):
        imports.commit(batch, actor=make_user(Role.SECRETARIAT))
