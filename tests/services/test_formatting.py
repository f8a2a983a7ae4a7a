from datetime import date, datetime, timezone

from banso.formatting import jst_datetime, seireki, wareki, yen


def test_wareki_shows_the_era_the_way_officials_write_it():
    assert wareki(date(2026, 3, 31)) == "令和8年3月31日"
    assert wareki(date(2019, 5, 1)) == "令和元年5月1日"
    assert wareki(date(2019, 4, 30)) == "平成31年4月30日"
    assert wareki(date(1985, 7, 1)) == "昭和60年7月1日"


def test_times_are_shown_in_japan_time():
    moment = datetime(2025, 12, 24, 8, 0, tzinfo=timezone.utc)
    assert jst_datetime(moment) == "令和7年12月24日 17:00"
    # 15:30 UTC on the 31st is already 1 January in Japan.
    assert wareki(datetime(2025, 12, 31, 15, 30, tzinfo=timezone.utc)) == "令和8年1月1日"
    assert seireki(date(2025, 12, 24)) == "2025年12月24日(水)"


def test_money_is_integer_yen():
    assert yen(97_000_000) == "97,000,000円"
    assert yen(None) == ""


def test_a_fiscal_year_is_named_in_wareki_by_its_first_day():
    """Found: the public results page said 「（2027年度）」 where officials write 令和9年度 (and FY2019, begun under 平成, is
    令和元年度)."""
    from banso.formatting import nendo

    assert (nendo(2027), nendo(2019), nendo(2018)) == ("令和9年度", "令和元年度", "平成30年度")
