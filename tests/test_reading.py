"""Issue 33: one reader per kind of value (banso/reading.py), over generated corpora of the spellings people and Excel
produce; nonsense is refused with a message naming what was written."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from banso.reading import (ERAS, EXCEL_EPOCH, code_candidates, read_date, read_datetime, read_email, read_fields,
                           read_phone, read_postcode, read_prefecture, split_prefecture)
from banso.reference import CIRCLED, FIELDS, check_digit

FULL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
HYPHENS = ["-", "－", "ー", "‐", "−", "―"]


def _era(day: date) -> tuple[str, str, int]:
    for name, letter, start in ERAS:
        if day >= start:
            return name, letter, day.year - start.year + 1
    raise AssertionError(day)


@st.composite
def written_dates(draw):
    day = draw(st.dates(min_value=date(1927, 1, 1), max_value=date(2045, 12, 31)))
    name, letter, year = _era(day)
    era_year = "元" if year == 1 and draw(st.booleans()) else str(year)
    spellings = [
        day.isoformat(), f"{day.year}/{day.month}/{day.day}", f"{day.year}/{day.month:02d}/{day.day:02d}",
        f"{day.year}年{day.month}月{day.day}日", f"{day.year}.{day.month}.{day.day}", day.strftime("%Y%m%d"),
        f"{name}{era_year}年{day.month}月{day.day}日", f"{letter}{year}.{day.month}.{day.day}",
        f"{letter.lower()}{year}.{day.month}.{day.day}", f"{name[0]}{year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日（{'月火水木金土日'[day.weekday()]}）",
    ]
    text = draw(st.sampled_from(spellings))
    if draw(st.booleans()):
        text = text.translate(FULL)
    return day, text


@settings(max_examples=300, deadline=None)
@given(written_dates())
def test_a_date_is_read_in_every_usual_spelling(case):
    day, text = case
    assert read_date(text) == (day, None), text


@settings(max_examples=200, deadline=None)
@given(written_dates(), st.integers(0, 23), st.integers(0, 59), st.one_of(st.none(), st.integers(0, 59)),
       st.sampled_from([" ", "  ", "T"]), st.booleans())
def test_a_date_and_time_is_read_with_or_without_seconds(case, hour, minute, second, gap, kanji):
    day, text = case
    if kanji:
        clock = f"{hour}時{minute}分" + (f"{second}秒" if second is not None else "")
    else:
        clock = f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if second is not None else "")
    found, problem = read_datetime(f"{text}{gap if not text.endswith('）') else ' '}{clock}")
    assert problem is None, (text, clock)
    assert found.replace(tzinfo=None) == datetime(day.year, day.month, day.day, hour, minute, second or 0)


@settings(max_examples=100, deadline=None)
@given(st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2090, 1, 1)))
def test_an_excel_serial_number_in_a_general_cell_is_the_date_it_stands_for(moment):
    moment = moment.replace(second=0, microsecond=0)
    serial = (moment - EXCEL_EPOCH) / timedelta(days=1)
    assert read_date(f"{serial:.10f}".rstrip("0").rstrip("."))[0] == moment.date()
    assert read_datetime(f"{serial:.10f}")[0].replace(tzinfo=None) == moment


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="あいうえおabcxyz漢字!?", min_size=1, max_size=12))
def test_nonsense_is_refused_naming_what_was_written(text):
    for reader in (read_date, read_datetime):
        value, problem = reader(text)
        assert value is None and text.strip() in problem


def test_a_day_that_does_not_exist_or_precedes_its_era_is_refused():
    assert "という日はありません" in read_date("令和7年2月30日")[1]
    assert "元号" in read_date("平成1年1月7日")[1]  # 平成 began on the 8th
    assert read_date("") == (None, None) and read_datetime("  ") == (None, None)


FIELD_FORMS = [lambda n: str(n), lambda n: str(n).translate(FULL), lambda n: CIRCLED[n - 1],
               lambda n: FIELDS[n].split("（")[0], lambda n: f"{CIRCLED[n - 1]}{FIELDS[n]}", lambda n: f"{n} {FIELDS[n]}"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 26), min_size=1, max_size=4, unique=True), st.data())
def test_a_list_of_fields_is_read_in_the_order_written_whatever_the_separator(numbers, data):
    separator = data.draw(st.sampled_from(["、", ",", "，", "/", "／", ";", "\n", "・", " ・ "]))
    written = [data.draw(st.sampled_from(FIELD_FORMS))(n) for n in numbers]
    assert read_fields(separator.join(written)) == (numbers, None), separator.join(written)


def test_a_list_of_fields_with_numbers_side_by_side_or_a_name_holding_a_dot():
    assert read_fields("①③⑤") == ([1, 3, 5], None)
    assert read_fields("3 5 16") == ([3, 5, 16], None)
    assert read_fields("移住・定住") == ([10], None)  # one field's name holds ・
    assert read_fields("㉔国際関係（姉妹都市、海外販路開拓等）、3") == ([24, 3], None)
    assert read_fields("3、3") == ([3], None)
    values, problem = read_fields("観光、宇宙開発")
    assert values == [] and "宇宙開発" in problem


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z][a-z0-9._]{0,10}[a-z0-9]", fullmatch=True), st.from_regex(r"[a-z]{2,8}", fullmatch=True),
       st.sampled_from(["lg.jp", "go.jp", "example.jp"]), st.booleans(), st.booleans(), st.booleans())
def test_an_email_address_is_read_through_full_width_spaces_and_mailto(local, host, tld, full, spaced, mailto):
    expected = f"{local}@{host}.{tld}"
    text = f"{local}@{host.upper()}.{tld}"
    if full:
        text = text.translate(FULL)
    if spaced:
        text = f" {text} "
    if mailto:
        text = f"mailto:{text}"
    assert read_email(text) == (expected, None), text


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["03", "0192", "011", "06", "0120"]), st.from_regex(r"[0-9]{2,4}", fullmatch=True),
       st.from_regex(r"[0-9]{4}", fullmatch=True), st.sampled_from(HYPHENS), st.booleans(), st.booleans())
def test_a_telephone_number_is_read_through_any_hyphen_full_width_and_brackets(area, exchange, line, hyphen, full,
                                                                               brackets):
    digits = area + exchange + line
    if not 10 <= len(digits) <= 11:
        return
    text = f"({area}){exchange}{hyphen}{line}" if brackets else f"{area}{hyphen}{exchange}{hyphen}{line}"
    if full:
        text = text.translate(FULL)
    assert read_phone(text) == (f"{area}-{exchange}-{line}", None), text


def test_telephone_and_post_code_nonsense_is_refused_naming_it():
    assert "abc" in read_phone("abc")[1] and "123" in read_phone("123")[1]
    assert read_postcode("〒１００－８９１４") == ("100-8914", None) and read_postcode("1008914") == ("100-8914", None)
    assert "10089" in read_postcode("10089")[1]


@st.composite
def codes(draw):
    five = draw(st.from_regex(r"(0[1-9]|[1-4][0-9])[0-9]{3}", fullmatch=True))
    return five + str(check_digit(five))


@settings(max_examples=300, deadline=None)
@given(codes(), st.data())
def test_a_municipality_code_is_read_with_or_without_its_check_digit_and_leading_zero(code, data):
    spellings = [code, code[:5], f"'{code}", f" {code[:3]} {code[3:]} ", code.translate(FULL)]
    if code.startswith("0"):
        spellings += [code[1:], f"{int(code)}.0", code[1:5]]  # Excel dropped the zero (as a number)
    text = data.draw(st.sampled_from(spellings))
    candidates, problem = code_candidates(text)
    assert problem is None and code in candidates, text


def test_a_code_that_cannot_be_one_is_refused_naming_it():
    assert "012026" in code_candidates("012026")[1]  # a wrong check digit
    assert "abc" in code_candidates("abc")[1] and "12" in code_candidates("12")[1]
    assert code_candidates("") == ([], None)


def test_prefectures_are_read_with_or_without_their_suffix_and_split_from_a_name():
    assert read_prefecture("東京") == "東京都" and read_prefecture("大阪") == "大阪府" and read_prefecture("北海道") == "北海道"
    assert split_prefecture("北海道函館市") == ("北海道", "函館市") and split_prefecture("函館市") == ("", "函館市")
