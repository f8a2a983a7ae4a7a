"""The municipality master (all 市区町村) and the population that decides APP-1."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from banso.extensions import db
from banso.formatting import wareki
from banso.models import Municipality, OfficialPopulation, Phase
from banso.reference import BLOCK_OF, POPULATION_BANDS, POPULATION_LIMIT, normalize_name, valid_code
from banso.services import InputError

MASTER_FILE = Path(__file__).resolve().parent.parent / "data" / "municipalities.csv"
MASTER_DATE = date(2025, 1, 1)
# Within this share of the limit, a figure without foreign residents may be over it in the official total.
CHECK_MARGIN = 0.05


def import_master(path: Path = MASTER_FILE) -> int:
    """Load or refresh the master file. Every row is checked before anything is written."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    errors = []
    for number, row in enumerate(rows, start=2):
        if not valid_code(row.get("code", "")):
            errors.append(f"{number}行目: 団体コード「{row.get('code')}」の検査数字が正しくありません。")
        if row.get("prefecture") not in BLOCK_OF:
            errors.append(f"{number}行目: 都道府県「{row.get('prefecture')}」が不明です。")
        if not (row.get("population_japanese_2025_01_01") or "").isascii() or not (row.get("population_japanese_2025_01_01") or "").isdigit():
            errors.append(f"{number}行目: 人口が数字ではありません。")
    if errors:
        raise InputError("\n".join(errors[:50]))
    existing = {m.code: m for m in db.session.scalars(select(Municipality))}
    for row in rows:
        municipality = existing.get(row["code"]) or Municipality(code=row["code"])
        municipality.prefecture = row["prefecture"]
        municipality.region_block = BLOCK_OF[row["prefecture"]]
        municipality.name = row["name"]
        municipality.name_kana = row.get("name_kana", "")
        municipality.default_population = int(row["population_japanese_2025_01_01"])
        municipality.default_population_date = MASTER_DATE
        db.session.add(municipality)
    db.session.flush()
    return len(rows)


def population_column(phase: Phase | None):
    """SQL for the population that decides APP-1 in ``phase``: official figure, else the master's."""
    official = aliased(OfficialPopulation)
    if phase is None:
        return Municipality.default_population, None
    join = (official, and_(official.municipality_id == Municipality.id,
                           official.reference_date == phase.population_reference_date))
    return func.coalesce(official.population, Municipality.default_population), join


@dataclass(frozen=True)
class PopulationFigure:
    population: int
    reference_date: date
    official: bool

    @property
    def source(self) -> str:
        if self.official:
            return f"公式人口（{wareki(self.reference_date)}現在の住民基本台帳人口・総計）"
        return f"マスタの人口（{wareki(self.reference_date)}現在・日本人住民のみ）"


def population_for(municipality: Municipality, phase: Phase) -> PopulationFigure:
    official = db.session.scalar(
        select(OfficialPopulation.population).where(OfficialPopulation.municipality_id == municipality.id,
                                                    OfficialPopulation.reference_date == phase.population_reference_date)
    )
    return _figure(municipality, phase, official)


def _figure(municipality: Municipality, phase: Phase, official: int | None) -> PopulationFigure:
    """The phase's official figure when loaded, else the master's (dated, so APP-1 can tell it is not the one wanted)."""
    if official is not None:
        return PopulationFigure(official, phase.population_reference_date, True)
    return PopulationFigure(municipality.default_population, municipality.default_population_date, False)


def populations_by_phase(municipality: Municipality, all_phases: list[Phase]) -> list[tuple[Phase, PopulationFigure]]:
    """``population_for`` for every phase, in one statement (the municipality's page: its history grows every year)."""
    official = {row.reference_date: row.population for row in db.session.execute(
        select(OfficialPopulation.reference_date, OfficialPopulation.population)
        .where(OfficialPopulation.municipality_id == municipality.id))}
    return [(phase, _figure(municipality, phase, official.get(phase.population_reference_date))) for phase in all_phases]


def population_verdict(figure: PopulationFigure, wanted: date | None = None) -> tuple[str, str]:
    """APP-1 for one figure: ('ok' | 'ng' | 'check' | 'unconfirmed', reason). ``wanted``: the phase's reference date.
    A figure of Japanese residents only that is already 100,000 or more is 不適合 (the total can only be larger);
    a master figure older than the reference date decides nothing (未確認) until the date's figure is loaded."""
    shown = f"{figure.population:,}人（{figure.source}）"
    if figure.population >= POPULATION_LIMIT:
        if figure.official:
            return "ng", f"人口 {shown} が10万人以上のため対象外です。"
        return "ng", f"人口 {shown} が日本人住民だけで10万人以上のため対象外です（外国人住民を含む総計はこれより多くなります）。"
    if not figure.official and wanted is not None and figure.reference_date < wanted:
        return "unconfirmed", (f"基準日（{wareki(wanted)}）の人口が登録されていないため確認できません（参考: {shown}）。"
                               "事務局管理者が「市区町村」の公式人口の取込から、基準日の人口を登録してください。")
    if not figure.official and figure.population >= POPULATION_LIMIT * (1 - CHECK_MARGIN):
        return "check", f"人口 {shown} は上限の5%以内です。外国人住民を含む公式人口で確認が必要です（確認要）。"
    return "ok", f"人口 {shown} は10万人未満です。"


VERDICT_LABELS = {"ok": "適合", "ng": "不適合", "check": "確認要", "unconfirmed": "未確認", "note": "記録"}


def official_counts() -> list[tuple[date, int]]:
    return list(db.session.execute(
        select(OfficialPopulation.reference_date, func.count()).group_by(OfficialPopulation.reference_date)
        .order_by(OfficialPopulation.reference_date)))


def list_query(phase: Phase | None, *, q=None, prefecture=None, block=None, band=None):
    population, join = population_column(phase)
    stmt = select(Municipality, population.label("population"))
    if join is not None:
        stmt = stmt.outerjoin(*join)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(Municipality.name.like(like) | Municipality.name_kana.like(like) | Municipality.code.like(like))
    return where_located(stmt, population, prefecture=prefecture, block=block, band=band), population


def where_located(stmt, population, *, prefecture=None, block=None, band=None):
    """The filters every list of municipalities (or of their answers) offers: prefecture, region block and population
    band, ``population`` being the phase's reference count (``population_column``)."""
    if prefecture:
        stmt = stmt.where(Municipality.prefecture == prefecture)
    if block:
        stmt = stmt.where(Municipality.region_block == block)
    if band in POPULATION_BANDS:
        low, high = POPULATION_BANDS[band]
        stmt = stmt.where(population >= low, *([population < high] if high is not None else []))
    return stmt


def find_by_input(text: str) -> Municipality | None:
    """What a person typed or picked: '012025 北海道函館市', '012025' or '北海道函館市'."""
    text = normalize_name(text)
    code = text[:6]
    if code.isdigit():
        return db.session.scalar(select(Municipality).where(Municipality.code == code))
    for m in db.session.scalars(select(Municipality).where(Municipality.name.like(f"%{text[-4:]}%"))):
        if normalize_name(m.full_name) == text or normalize_name(m.name) == text:
            return m
    return None


def choices() -> list[tuple[str, str]]:
    return list(db.session.execute(select(Municipality.code, Municipality.prefecture + Municipality.name).order_by(Municipality.code)))
