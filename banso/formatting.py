"""How Banso shows dates, times and money: JST, 和暦 beside 西暦, integer yen."""
from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache

from japanera import EraDate
from markupsafe import Markup, escape

from banso.clock import JST

WEEKDAYS = "月火水木金土日"
# C0 controls and DEL, but tab and line breaks: nobody types them, PostgreSQL refuses NUL, Excel refuses the rest.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# Ids are 32-bit on PostgreSQL: anything larger names no record (and must not reach the database as an error).
MAX_ID = 2**31 - 1


def parse_id(value) -> int | None:
    """The one reading of an id or a small whole number typed or sent in a URL: ASCII digits only (not 「²」 or
    full-width digits, which ``str.isdigit`` accepts), 1 … MAX_ID; anything else is None. Its length is bounded
    before converting: Python refuses to convert more than 4,300 digits (an error, not a None)."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ID))):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def strip_control(text: str) -> str:
    return CONTROL_CHARS.sub("", text)


def wareki(value: date | datetime | None) -> str:
    """令和8年3月31日 (元年 for an era's first year)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(JST).date()
    return _wareki_of(value)


@lru_cache(maxsize=8192)
def _wareki_of(value: date) -> str:
    """Kept per day: japanera looks the era up anew each time, and date-heavy pages format thousands of dates."""
    try:
        era = EraDate.from_date(value).era
    except ValueError:  # before 明治 (a mistyped year): shown as typed, in 西暦
        return f"{value.year}年{value.month}月{value.day}日"
    year = value.year - era.since.year + 1
    return f"{era.kanji}{'元' if year == 1 else year}年{value.month}月{value.day}日"


def nendo(fiscal_year: int | None) -> str:
    """令和9年度: a fiscal year (April to March) in 和暦, as the government names it: by the era of the calendar year
    it starts in (FY2019, begun under 平成 in April, is 令和元年度)."""
    if fiscal_year is None:
        return ""
    return wareki(date(fiscal_year, 12, 31)).split("年", 1)[0] + "年度"


def seireki(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(JST).date()
    return f"{value.year}年{value.month}月{value.day}日({WEEKDAYS[value.weekday()]})"


def jst_datetime(value: datetime | None) -> str:
    """令和7年12月24日 17:00 (Japan time). Banso's one rule for dates people read, on pages and in letters: 和暦
    (``wareki``), with the 西暦 beside it where officials expect both (``seireki``: travel dates, schedules); ISO
    dates only in files meant to be imported again (exports)."""
    if value is None:
        return ""
    return f"{wareki(value)} {value.astimezone(JST):%H:%M}"


def jst_time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(JST).strftime("%H:%M")


def yen(value: int | None) -> str:
    return "" if value is None else f"{value:,}円"


RULE_ID = re.compile(r"(?<![A-Za-z0-9])((?:APP|OFF|TEAM|TRV|INQ|PUB)-\d{1,2})[:：]\s*")


def rule_tagged(text) -> Markup:
    """A message that names the rule it applies (「TEAM-5: …」, 「担当者氏名: APP-8: …」) reads as a sentence, with
    the rule's number as a small tag beside it rather than inside it."""
    text = "" if text is None else str(text)
    ids = RULE_ID.findall(text)
    sentence = escape(RULE_ID.sub("", text))
    tags = "".join(f' <span class="rule-tag" title="実施要領の規程">{escape(rule)}</span>' for rule in dict.fromkeys(ids))
    return Markup(f"{sentence}{tags}")


def grouped_number(value) -> str:
    """12,345 — for chart labels and counts."""
    return f"{int(value):,}" if value is not None and value != "" else ""


FILTERS = {
    "rule_tagged": rule_tagged,
    "number": grouped_number,
    "wareki": wareki,
    "nendo": nendo,
    "seireki": seireki,
    "jst": jst_datetime,
    "jst_time": jst_time,
    "yen": yen,
}
