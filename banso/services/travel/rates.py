"""旅費の単価: the fiscal year, rate bands, the lodging caps and night allowances finance keeps, and yen as typed."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import literal, select, union_all

from banso.extensions import db
from banso.models import (LodgingRate, NightAllowanceRate, Officer, User)
from banso.models.travel import MEALS, RATE_BANDS
from banso.reference import PREFECTURES, typed
from banso.services import EditedMeanwhile, InputError, WrongState, audit

MAX_LINE_YEN = 1_000_000      # per traveller and category; above it is a typing error
MAX_ROOM_YEN = 100_000        # per night
MAX_NIGHTS = 14


def fiscal_year(day: date) -> int:
    """Japan's fiscal year starts on 1 April: 2026-03-31 is FY2025, 2026-04-01 FY2026."""
    return day.year if day.month >= 4 else day.year - 1


def rate_band(officer: Officer) -> str:
    return "指定職" if officer.grade_band == "指定職" else "課長級以下"


# --- rates ---------------------------------------------------------------------------------

def lodging_cap(year: int, band: str, prefecture: str) -> int:
    cap = db.session.scalar(select(LodgingRate.cap_yen).where(
        LodgingRate.fiscal_year == year, LodgingRate.band == band, LodgingRate.prefecture == prefecture))
    if cap is None:
        raise WrongState(f"{year}年度の宿泊費基準額（{prefecture}・{band}）が登録されていません。"
                                     "会計担当に旅費単価表への登録を依頼してください。")
    return cap


def night_allowance(year: int, meals: int) -> int:
    amount = db.session.scalar(select(NightAllowanceRate.amount_yen).where(
        NightAllowanceRate.fiscal_year == year, NightAllowanceRate.meals == meals))
    if amount is None:
        raise WrongState(f"{year}年度の宿泊手当（{MEALS[meals]}）が登録されていません。"
                                     "会計担当に旅費単価表への登録を依頼してください。")
    return amount


def nights_between(depart: date, back: date) -> list[date]:
    """The nights of a trip, each named by the day it starts (its fiscal year decides the rate)."""
    return [depart + timedelta(days=i) for i in range((back - depart).days)]


def rates_for(years: set[int], bands: set[str], prefecture: str, meals: int) -> tuple[dict[tuple[int, str], int], dict[int, int]]:
    """The lodging caps ((year, band) → yen) and nightly allowances (year → yen) a trip needs, in one statement; a
    missing rate is refused as ``lodging_cap`` and ``night_allowance`` refuse it."""
    lodging_rows = select(literal("lodging"), LodgingRate.fiscal_year, LodgingRate.band, LodgingRate.cap_yen).where(
        LodgingRate.fiscal_year.in_(years), LodgingRate.band.in_(bands), LodgingRate.prefecture == prefecture)
    allowance_rows = select(literal("allowance"), NightAllowanceRate.fiscal_year, literal(""), NightAllowanceRate.amount_yen).where(
        NightAllowanceRate.fiscal_year.in_(years), NightAllowanceRate.meals == meals)
    lodging, allowance = {}, {}
    for kind, year, band, yen in db.session.execute(union_all(lodging_rows, allowance_rows)):
        if kind == "lodging":
            lodging[(year, band)] = yen
        else:
            allowance[year] = yen
    for year in sorted(years):
        for band in sorted(bands):
            if (year, band) not in lodging:
                raise WrongState(f"{year}年度の宿泊費基準額（{prefecture}・{band}）が登録されていません。"
                                 "会計担当に旅費単価表への登録を依頼してください。")
        if year not in allowance:
            raise WrongState(f"{year}年度の宿泊手当（{MEALS[meals]}）が登録されていません。"
                             "会計担当に旅費単価表への登録を依頼してください。")
    return lodging, allowance


def lodging_limit(depart: date, back: date, band: str, prefecture: str) -> int:
    """The most lodging a traveller may be paid for the trip: the cap of each night's fiscal year."""
    return sum(lodging_cap(fiscal_year(night), band, prefecture) for night in nights_between(depart, back))


def allowance_limit(depart: date, back: date, meals: int) -> int:
    return sum(night_allowance(fiscal_year(night), meals) for night in nights_between(depart, back))


def fiscal_years() -> list[int]:
    years = set(db.session.scalars(select(LodgingRate.fiscal_year).distinct()))
    years |= set(db.session.scalars(select(NightAllowanceRate.fiscal_year).distinct()))
    return sorted(years, reverse=True)


def rate_table(year: int) -> tuple[dict[tuple[str, str], int], dict[int, int]]:
    lodging = {(r.band, r.prefecture): r.cap_yen
               for r in db.session.scalars(select(LodgingRate).where(LodgingRate.fiscal_year == year))}
    allowances = {r.meals: r.amount_yen
                  for r in db.session.scalars(select(NightAllowanceRate).where(NightAllowanceRate.fiscal_year == year))}
    return lodging, allowances


def rates_fingerprint(year: int) -> str:
    """The year's table as it stands, in a few characters: the rate form carries it, so a table saved by someone
    else after the form was opened is never overwritten (the table is many rows; this is its version)."""
    import hashlib

    lodging, allowances = rate_table(year)
    text = repr((sorted(lodging.items()), sorted(allowances.items())))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def carry_rates(from_year: int, to_year: int, *, actor: User | None) -> int:
    """A new fiscal year starts from last year's table (finance then edits it); a year that has a table keeps it.
    Returns how many rates were carried."""
    lodging, allowances = rate_table(to_year)
    if lodging or allowances:
        return 0
    lodging, allowances = rate_table(from_year)
    for (band, prefecture), cap in lodging.items():
        db.session.add(LodgingRate(fiscal_year=to_year, band=band, prefecture=prefecture, cap_yen=cap))
    for meals, amount in allowances.items():
        db.session.add(NightAllowanceRate(fiscal_year=to_year, meals=meals, amount_yen=amount))
    if lodging or allowances:
        audit.record("carry_rates", None, actor=actor, object_type="rates", summary=f"{to_year}年度の旅費単価を{from_year}年度の単価から作成（{len(lodging) + len(allowances)}件）")
    return len(lodging) + len(allowances)


def save_rates(year: int, lodging: dict[tuple[str, str], str], allowances: dict[int, str], *, actor: User | None,
               expected_fingerprint: str | None = None) -> int:
    """Set a fiscal year's table from the rate form: every value checked first, then all saved."""
    if not 2000 <= year <= 2100:
        raise InputError("年度は西暦4桁で入力してください。", "fiscal_year")
    if expected_fingerprint is not None and expected_fingerprint != rates_fingerprint(year):
        raise EditedMeanwhile(f"他の方が先に{year}年度の単価表を更新しました。あなたの入力は下に残しています。"
                              "保存されている単価を別のタブで確かめ、必要なら直してからもう一度保存してください。")
    errors, clean_lodging, clean_allowances = [], {}, {}
    for (band, prefecture), text in lodging.items():
        if band not in RATE_BANDS or prefecture not in PREFECTURES:
            errors.append(f"区分「{band}」または都道府県「{prefecture}」が正しくありません。")
            continue
        value = _yen(text, 1, 200_000)
        if value is None:
            errors.append(f"{prefecture}（{band}）の宿泊費基準額は1〜200,000円の整数で入力してください。")
        clean_lodging[(band, prefecture)] = value
    for meals, text in allowances.items():
        value = _yen(text, 0, 100_000)
        if meals not in MEALS or value is None:
            errors.append(f"宿泊手当（{MEALS.get(meals, meals)}）は0〜100,000円の整数で入力してください。")
        clean_allowances[meals] = value
    if errors:
        raise InputError("；".join(errors[:5]) + (f"（ほか{len(errors) - 5}件）" if len(errors) > 5 else ""))
    current_lodging, current_allowances = rate_table(year)
    rows = {(r.band, r.prefecture): r for r in db.session.scalars(select(LodgingRate).where(LodgingRate.fiscal_year == year))}
    changed = {}
    for key, value in clean_lodging.items():
        if current_lodging.get(key) != value:
            changed[f"{key[1]}・{key[0]}"] = (current_lodging.get(key), value)
            row = rows.get(key) or LodgingRate(fiscal_year=year, band=key[0], prefecture=key[1])
            row.cap_yen = value
            db.session.add(row)
    allowance_rows = {r.meals: r for r in db.session.scalars(
        select(NightAllowanceRate).where(NightAllowanceRate.fiscal_year == year))}
    for meals, value in clean_allowances.items():
        if current_allowances.get(meals) != value:
            changed[f"宿泊手当・{MEALS[meals]}"] = (current_allowances.get(meals), value)
            row = allowance_rows.get(meals) or NightAllowanceRate(fiscal_year=year, meals=meals)
            row.amount_yen = value
            db.session.add(row)
    if changed:
        db.session.flush()
        marker = db.session.scalar(select(LodgingRate).where(LodgingRate.fiscal_year == year).limit(1)) \
            or db.session.scalar(select(NightAllowanceRate).where(NightAllowanceRate.fiscal_year == year).limit(1))
        audit.record("update_rates", marker, actor=actor, summary=f"{year}年度の旅費単価を{len(changed)}件更新",
                     before={k: v[0] for k, v in changed.items()}, after={k: v[1] for k, v in changed.items()})
    return len(changed)


def parse_yen(text, *, blank: int | None = None) -> int | None:
    """A typed amount ("12,000" or "12000円") as integer yen; ``blank`` for an empty field, None when not a number."""
    raw = typed(text).replace(",", "").replace("円", "").replace("¥", "").strip()
    if not raw:
        return blank
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 15 else None  # not 「²」; ≤ 999兆円


def _yen(text, low: int, high: int) -> int | None:
    value = parse_yen(text)
    return value if value is not None and low <= value <= high else None
