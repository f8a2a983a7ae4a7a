"""How Banso reads values as people type them and as Excel leaves them: one reader per kind of value, used by every
importer and every form. Each returns ``(value, problem)``: the value in Banso's one spelling, or None with a
sentence in Japanese naming what was written and how to write it.

- dates and times: 西暦 and 和暦 (令和7年12月24日, R7.12.24, 令7/12/24, 昭和62年4月3日, 平成元年), with or without a
  time and its seconds, a day of the week in brackets, slashes, dots or 年月日, full-width digits, and Excel's serial
  numbers (a date in a cell formatted 標準 arrives as 45999 or 45999.6875);
- lists of 課題分野: any usual separator (、 , ・ ／ / ; a line break, spaces between numbers), numbers, circled
  numbers or names, in the order written;
- e-mail addresses, telephone numbers and post codes: full-width characters, spaces and the many hyphens folded;
- 団体コード: with or without its check digit, with the leading zero Excel drops, as a number or as text with an
  apostrophe or spaces (which municipality a row means is decided with its name: services/municipalities.resolve).
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta

from banso.clock import JST
from banso.reference import CIRCLED, PREFECTURES, check_digit, parse_field, typed, valid_code

# 和暦: the era's names, its first day, and the year before its first (元年 = 1).
ERAS = [("令和", "R", date(2019, 5, 1)), ("平成", "H", date(1989, 1, 8)), ("昭和", "S", date(1926, 12, 25)),
        ("大正", "T", date(1912, 7, 30)), ("明治", "M", date(1868, 10, 23))]
_ERA_BY_MARK = {mark: start for name, letter, start in ERAS for mark in (name, name[0], letter, letter.lower())}
_ERA = "|".join(sorted(_ERA_BY_MARK, key=len, reverse=True))
_SEP = r"\s*[年./\-]\s*"
_DATE = re.compile(rf"^(?:(?P<era>{_ERA})\s*(?P<eyear>元|\d{{1,2}})|(?P<year>\d{{4}})){_SEP}(?P<month>\d{{1,2}})\s*[月./\-]\s*"
                   r"(?P<day>\d{1,2})\s*日?")
_COMPACT = re.compile(r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})")
_WEEKDAY = re.compile(r"[（(]\s*[月火水木金土日](?:曜日?)?\s*[）)]")
_TIME = re.compile(r"^(?:T|\s)*(?P<hour>\d{1,2})\s*[:時]\s*(?P<minute>\d{1,2})\s*分?\s*(?:[:]?\s*(?P<second>\d{1,2})\s*秒?)?$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
EXCEL_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (it counts 1900-02-29, which is why the epoch is the 30th)
DATE_EXAMPLE = "例: 2025-12-24、2025/12/24、令和7年12月24日、R7.12.24"
TIME_EXAMPLE = "例: 2025-12-24 16:30、令和7年12月24日 16時30分"


def _parts(text: str) -> tuple[date | None, str, str | None]:
    """The date at the start of ``text`` and what follows it, or the problem."""
    text = _WEEKDAY.sub(" ", typed(text)).strip()
    match = _DATE.match(text) or _COMPACT.match(text)
    if match is None:
        return None, text, "unreadable"
    fields = match.groupdict()
    if fields.get("era"):
        start = _ERA_BY_MARK[fields["era"]]
        year = start.year - 1 + (1 if fields["eyear"] == "元" else int(fields["eyear"]))
    else:
        year = int(fields["year"])
    try:
        found = date(year, int(fields["month"]), int(fields["day"]))
    except ValueError:
        return None, text, "no such day"
    if fields.get("era") and found < _ERA_BY_MARK[fields["era"]]:
        return None, text, "before the era"
    return found, text[match.end():].strip(), None


def _serial(text: str) -> datetime | None:
    """Excel's serial number of a date (and time) in a cell formatted as a number: 1954-10-05 … 2119."""
    text = typed(text)
    if not _SERIAL.match(text):
        return None
    return EXCEL_EPOCH + timedelta(seconds=round(float(text) * 86400))  # to the second, as Excel shows it


def read_date(text, *, what: str = "日付") -> tuple[date | None, str | None]:
    """A date as written (a time after it is ignored: Excel gives a date cell 00:00). Empty: (None, None)."""
    if not typed(text):
        return None, None
    if (serial := _serial(text)) is not None:
        return serial.date(), None
    found, _rest, problem = _parts(text)
    if problem == "no such day":
        return None, f"「{typed(text)}」という日はありません。{what}を確かめてください。"
    if problem == "before the era":
        return None, f"「{typed(text)}」はその元号の始まる前の日付です。元号と年を確かめてください。"
    if problem:
        return None, f"「{typed(text)}」は{what}として読み取れません（{DATE_EXAMPLE}）。"
    return found, None


def read_datetime(text, *, what: str = "日時") -> tuple[datetime | None, str | None]:
    """A date and time in Japan time, as written (a date alone is 0:00 of that day). Empty: (None, None): the caller
    says what stands in for it, and the preview says so."""
    if not typed(text):
        return None, None
    if (serial := _serial(text)) is not None:
        return serial.replace(microsecond=0).replace(tzinfo=JST), None
    day, rest, problem = _parts(text)
    if problem:
        found, message = read_date(text, what=what)
        return None, message if message else f"「{typed(text)}」は{what}として読み取れません（{TIME_EXAMPLE}）。"
    if not rest:
        return datetime.combine(day, time()).replace(tzinfo=JST), None
    match = _TIME.match(rest)
    if match is None or int(match["hour"]) > 23 or int(match["minute"]) > 59 or int(match["second"] or 0) > 59:
        return None, f"「{typed(text)}」の時刻が読み取れません（{TIME_EXAMPLE}）。"
    return datetime.combine(day, time(int(match["hour"]), int(match["minute"]), int(match["second"] or 0))).replace(tzinfo=JST), None


# --- lists of 課題分野 -----------------------------------------------------------------------------------------------

_LIST_SEPARATORS = "、,，/／;；\n\r\t"


def read_fields(text) -> tuple[list[int], str | None]:
    """課題分野 written in one cell or field, in the order written, each once: numbers (5, ５), circled numbers (⑤,
    ①③⑤ side by side), names (農林水産業, 国際関係), separated by 、 , ／ / ; a line break, ・ between names or numbers
    (a name that holds ・ itself, 移住・定住, stays one), or spaces between numbers. A parenthesis inside a name
    (㉔国際関係（姉妹都市、海外販路開拓等）) is not split."""
    numbers: list[int] = []
    for part in _split_outside_brackets(str(text or ""), _LIST_SEPARATORS):
        for number, problem in _read_part(part.strip()):
            if problem:
                return [], problem
            if number not in numbers:
                numbers.append(number)
    return numbers, None


def _split_outside_brackets(text: str, separators: str) -> list[str]:
    parts, current, depth = [], "", 0
    for ch in text:
        depth += 1 if ch in "（(" else -1 if ch in "）)" and depth else 0
        if depth == 0 and ch in separators:
            parts.append(current)
            current = ""
        else:
            current += ch
    return parts + [current]


def _read_part(part: str) -> list[tuple[int | None, str | None]]:
    if not part:
        return []
    number, problem = parse_field(part)
    if not problem:
        return [(number, None)]
    if all(ch in CIRCLED or ch.isspace() for ch in part):  # ①③⑤
        return [(CIRCLED.index(ch) + 1, None) for ch in part if ch in CIRCLED]
    folded = typed(part)
    if re.fullmatch(r"\d{1,2}(?:\s+\d{1,2})+", folded):  # 3 5 16
        return [parse_field(piece) for piece in folded.split()]
    pieces = [p.strip() for p in _split_outside_brackets(part, "・･") if p.strip()]
    if len(pieces) > 1 and (read := _segment(pieces)) is not None:
        return [(number, None) for number in read]
    return [(None, problem)]


def _segment(pieces: list[str]) -> list[int] | None:
    """Pieces split at ・ joined back into field names where a name holds ・ itself (1・デジタル・未来技術 → 1, 9)."""
    if not pieces:
        return []
    for size in range(len(pieces), 0, -1):
        number, problem = parse_field("・".join(pieces[:size]))
        if not problem and (rest := _segment(pieces[size:])) is not None:
            return [number, *rest]
    return None


# --- addresses and numbers people type ------------------------------------------------------------------------------

_HYPHENS = "‐‑‒–—―−ｰー─━﹣－"
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def _hyphens(text: str) -> str:
    return text.translate({ord(ch): "-" for ch in _HYPHENS})


def read_email(text) -> tuple[str | None, str | None]:
    """An e-mail address: full-width letters and ＠, spaces, 「mailto:」 and angle brackets dropped; the domain in lower
    case. Empty: (None, None)."""
    raw = typed(text)
    value = re.sub(r"\s+", "", _hyphens(raw).replace("。", ".").replace("．", "."))
    value = re.sub(r"^(?:mailto:)", "", value, flags=re.IGNORECASE).strip("<>")
    if not value:
        return None, None
    if not _EMAIL.match(value):
        return None, f"「{raw}」はメールアドレスとして読み取れません（例: sousei@example.lg.jp）。"
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}", None


def read_phone(text) -> tuple[str | None, str | None]:
    """A telephone number: full-width digits, any hyphen, spaces and brackets around the area code folded to
    「03-1234-5678」 (digits run together are kept as written). Empty: (None, None)."""
    raw = typed(text)
    value = _hyphens(raw)
    value = re.sub(r"^\(?(0\d{1,4})\)\s*", r"\1-", value)  # (03)1234-5678
    value = re.sub(r"\s*[()]\s*", "-", value)
    value = re.sub(r"[\s-]+", "-", value).strip("-")
    value = re.sub(r"^(?:tel|TEL|Tel|電話)[:：]?-?", "", value)
    if not value:
        return None, None
    digits = re.sub(r"\D", "", value)
    if not re.fullmatch(r"[0-9-]+", value) or not 10 <= len(digits) <= 11 or not digits.startswith("0"):
        return None, f"「{raw}」は電話番号として読み取れません（例: 03-1234-5678）。"
    return value, None


def read_postcode(text) -> tuple[str | None, str | None]:
    """A post code: 〒, full-width digits and any hyphen folded to 「123-4567」. Empty: (None, None)."""
    raw = typed(text)
    digits = re.sub(r"[\s〒-]", "", _hyphens(raw))
    if not digits:
        return None, None
    if not re.fullmatch(r"\d{7}", digits):
        return None, f"「{raw}」は郵便番号として読み取れません（例: 100-8914）。"
    return f"{digits[:3]}-{digits[3:]}", None


# --- 団体コード and prefectures ---------------------------------------------------------------------------------------

def code_candidates(text) -> tuple[list[str], str | None]:
    """The 6-digit 団体コード a written code may mean, most likely first: 012025 as written; 01202 (no check digit)
    → 012025; 12025 (Excel dropped the leading zero) → 012025; 1202 (both) → 012025. A number cell's 「12025.0」,
    a text cell's leading apostrophe and spaces are read through. Empty: ([], None)."""
    raw = typed(text)
    value = re.sub(r"\s+", "", raw).lstrip("'’`")
    value = re.sub(r"\.0+$", "", value)
    if not value:
        return [], None
    if not value.isdigit():
        return [], f"「{raw}」は団体コードとして読み取れません（6桁の数字。例: 012025）。"
    if len(value) == 6:
        if valid_code(value):
            return [value], None
        return [], f"「{raw}」は正しい団体コードではありません（6桁・末尾の検査数字をご確認ください）。"
    candidates = []
    if len(value) == 5:
        candidates.append(value + str(check_digit(value)))
        if valid_code("0" + value):
            candidates.append("0" + value)
    elif len(value) == 4:
        candidates.append("0" + value + str(check_digit("0" + value)))
    if not candidates:
        return [], f"「{raw}」は団体コードとして読み取れません（6桁の数字。例: 012025）。"
    return candidates, None


_PREFECTURE_BY_STEM = {re.sub(r"[都道府県]$", "", p): p for p in PREFECTURES if p != "北海道"} | {"北海道": "北海道"}


def read_prefecture(text) -> str:
    """A prefecture with or without 都・府・県 (東京 → 東京都); what is not one is returned as written."""
    value = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))
    if value in PREFECTURES:
        return value
    return _PREFECTURE_BY_STEM.get(value, value)


def split_prefecture(name: str) -> tuple[str, str]:
    """「北海道函館市」 → (北海道, 函館市); a name without a prefecture in front → ("", name)."""
    value = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name or "")))
    for prefecture in sorted(PREFECTURES, key=len, reverse=True):
        if value.startswith(prefecture) and len(value) > len(prefecture):
            return prefecture, value[len(prefecture):]
    return "", value
