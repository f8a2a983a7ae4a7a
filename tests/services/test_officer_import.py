"""The officer import: a row for a known person shows what it changes, field by field, and stores exactly that."""
import csv
import io

from sqlalchemy import select

from banso.extensions import db
from banso.models import OfficerCandidacy, Phase
from banso.services import imports, officer_import
from tests.factories import make_officer, make_phase, make_user


def _csv(rows: list[dict]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([h for h, _ in officer_import.COLUMNS])
    for row in rows:
        writer.writerow([row.get(h, "") for h, _ in officer_import.COLUMNS])
    return text.getvalue().encode("utf-8-sig")


def test_a_known_person_now_in_a_regional_office_is_stored_as_the_preview_says(ctx):
    """Found: the preview said an existing officer (now 地方支分部局) would be registered 対象外 under OFF-2; after the
    import the record still said 本省 / 適合, and the officer was selected, appointed and published."""
    first = make_phase()
    second = make_phase(number=3, name="第3期", fiscal_year=2027)
    officer = make_officer(first, workplace_type="本省", post_title="課長補佐")
    row = dict(zip([h for h, _ in officer_import.COLUMNS], officer_import.export_row(officer)))
    row.update({"勤務先区分": "地方支分部局", "役職": "調整官", "生年月日": officer.birth_date.isoformat(), "専門分野": ""})
    batch = imports.start("officers", second, "応募者.csv", _csv([row]), actor=None, inline=True)
    [checked] = batch.rows
    assert checked["errors"] == {}
    preview = " ".join(checked["warnings"])
    assert "勤務先区分「本省」→「地方支分部局」" in preview and "役職「課長補佐」→「調整官」" in preview
    assert "対象外として登録します" in preview and "OFF-2" in preview
    assert "専門分野" not in preview  # an empty cell changes nothing
    imports.commit(batch, actor=make_user())
    db.session.refresh(officer)
    assert officer.workplace_type == "地方支分部局" and officer.post_title == "調整官"
    candidacy = db.session.scalar(select(OfficerCandidacy).where(OfficerCandidacy.officer_id == officer.id,
                                                                 OfficerCandidacy.phase_id == second.id))
    assert candidacy.eligible is False and "OFF-2" in candidacy.ineligibility_reason
    assert db.session.get(Phase, first.id) is not None


def test_a_known_person_with_nothing_new_is_joined_without_change(ctx):
    first, second = make_phase(), make_phase(number=3, name="第3期", fiscal_year=2027)
    officer = make_officer(first)
    row = dict(zip([h for h, _ in officer_import.COLUMNS], officer_import.export_row(officer)))
    row["生年月日"] = officer.birth_date.isoformat()
    batch = imports.start("officers", second, "応募者.csv", _csv([row]), actor=None, inline=True)
    assert "記録の内容は変わりません" in " ".join(batch.rows[0]["warnings"])
    version = officer.version
    imports.commit(batch, actor=make_user())
    assert officer.version == version


def test_a_row_as_people_write_it_is_read_wareki_full_width_and_fields_in_one_cell(ctx):
    """Issue 33: 「昭和62年4月3日」, a full-width ＠ and digits, several 専門分野 in one cell are read, not refused."""
    first = make_phase()
    second = make_phase(number=3, name="第3期", fiscal_year=2027)
    officer = make_officer(first)
    row = dict(zip([h for h, _ in officer_import.COLUMNS], officer_import.export_row(officer)))
    row.update({"氏名": "新野 花子", "ふりがな": "ニイノ ハナコ", "メールアドレス": "ｎｉｉｎｏ＠ｍｌｉｔ．ｇｏ．ｊｐ",
                "生年月日": "昭和62年4月3日", "電話番号": "０３－５２５３－２１１１", "専門分野": "観光・防災／⑤"})
    [checked] = imports.start("officers", second, "応募者.csv", _csv([row]), actor=None, inline=True).rows
    assert checked["errors"] == {}, checked["errors"]
    assert checked["data"]["birth_date"] == "1987-04-03" and checked["data"]["email"] == "niino@mlit.go.jp"
    assert checked["data"]["phone"] == "03-5253-2111" and checked["data"]["expertise_fields"] == [3, 16, 5]
