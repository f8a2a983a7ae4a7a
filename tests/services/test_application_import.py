"""APP-6: answers that arrive by e-mail as a spreadsheet. Every row is checked; nothing is
half-imported."""
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from banso.clock import jst
from banso.extensions import db
from banso.models import Application, ImportBatch
from banso.services import RuleViolation, application_import, imports
from tests.conftest import run_worker
from tests.factories import make_application, make_municipality, make_phase, make_user

HEADER = [h for h, _ in application_import.COLUMNS]


def _row(m=None, **values):
    row = {
        "団体コード": m.code if m else "", "都道府県": m.prefecture if m else "", "市町村名": m.name if m else "",
        "担当部署": "企画政策課", "担当者氏名": "佐藤 翔", "メールアドレス": "sato@example.lg.jp", "電話番号": "0192-27-3111",
        "優先分野1": "4", "優先分野2": "⑭子育て支援", "優先分野3": "環境", "課題の性質（独立・複合）": "複合",
        "地域の状況・課題": "人口減少と林野火災からの復興が課題。", "国家公務員の出向等の予定（有・無）": "無",
        "地方創生人材支援制度での国家公務員派遣希望（有・無）": "無", "地方創生人材支援制度での民間専門人材派遣希望（有・無）": "無",
        "受付日時": "2025-12-20 10:00",
    }
    row.update(values)
    return row


def _xlsx(rows, extra_headers=()) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    header = HEADER + list(extra_headers)
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(h, "") for h in header])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv(rows, encoding="utf-8-sig") -> bytes:
    import csv

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([row.get(h, "") for h in HEADER])
    return text.getvalue().encode(encoding)


def _import(phase, filename, content):
    return imports.start(application_import.KIND, phase, filename, content, actor=None,
                         options={"received_at": jst(2025, 12, 22, 9).isoformat()})


def _count():
    return db.session.scalar(select(func.count()).select_from(Application))


def test_app_6_a_messy_spreadsheet_imports_nothing_and_reports_each_error(ctx):
    phase = make_phase()
    ok, answered, dup = make_municipality(), make_municipality(), make_municipality()
    make_application(phase, answered)
    before = _count()
    rows = [
        _row(ok),                                                       # 2: clean
        _row(None, 団体コード="999999"),                                  # 3: unknown / bad check digit
        _row(None, 団体コード="032035"),                                  # 4: check digit wrong (大船渡市 is 032034)
        _row(None, 都道府県="岩手県", 市町村名="存在しない町"),              # 5: unknown by name
        _row(dup, 優先分野4="観光"),                                       # 6: a 4th field
        _row(make_municipality(), 担当部署="", 担当者氏名=""),              # 7: missing contact
        _row(make_municipality(), 電話番号="０１９２-２７-３１１１"),       # 8: full-width digits
        _row(answered),                                                  # 9: already answered
        _row(dup),                                                        # 10: same municipality twice in the file
    ]
    batch = _import(phase, "回答.xlsx", _xlsx(rows, extra_headers=["優先分野4"]))
    errors = {r["row"]: r["errors"] for r in batch.rows}
    assert errors[2] == {}
    assert "正しい団体コードではありません" in errors[3]["団体コード"]
    assert "正しい団体コードではありません" in errors[4]["団体コード"]
    assert "マスタにありません" in errors[5]["市町村名"]
    assert "3つまで" in errors[6]["優先分野4"]
    assert "APP-8" in errors[7]["担当部署"]
    assert "電話番号" not in errors[8]  # full-width digits are read as typed (reference.typed), not refused
    assert "既に受け付けています" in errors[9]["市町村名"]
    assert "6行目と重複" in errors[10]["市町村名"]
    with pytest.raises(RuleViolation) as refused:
        imports.commit(batch, actor=None)
    assert "3、4、5、6、7、9、10行目" in refused.value.message
    assert _count() == before  # nothing imported


def test_app_6_excluding_the_bad_rows_explicitly_imports_the_rest(ctx):
    staff = make_user()
    phase = make_phase()
    good = [make_municipality() for _ in range(3)]
    rows = [_row(good[0]), _row(None, 団体コード="999999"), _row(good[1]), _row(good[2])]
    batch = _import(phase, "回答.xlsx", _xlsx(rows))
    imports.set_excluded(batch, [3], actor=staff)
    assert imports.commit(batch, actor=staff) == 3
    assert batch.status == "imported" and _count() == 3
    stored = db.session.scalar(select(Application).where(Application.municipality_id == good[0].id))
    assert stored.channel == "email" and stored.priority_fields == [4, 14, 8] and stored.issue_structure == "compound"
    assert stored.received_at == jst(2025, 12, 20, 10)
    with pytest.raises(RuleViolation):
        imports.commit(batch, actor=staff)  # importing twice changes nothing
    assert _count() == 3


def test_app_6_a_clean_shift_jis_csv_matched_by_name_imports_all(ctx):
    phase = make_phase()
    ryugasaki = make_municipality(prefecture="茨城県", name="龍ケ崎市", code="082082")
    yusuhara = make_municipality(prefecture="高知県", name="梼原町", code="394050")
    plain = make_municipality()
    rows = [
        _row(None, 都道府県="茨城県", 市町村名="龍ヶ崎市"),            # ケ/ヶ
        _row(None, 都道府県="高知県", 市町村名="檮原町", 受付日時=""),  # 檮/梼, time from the e-mail
        _row(None, 都道府県=plain.prefecture, 市町村名=plain.name.replace("テスト", "ﾃｽﾄ")),  # half-width kana
    ]
    batch = _import(phase, "kaitou.csv", _csv(rows, encoding="cp932"))
    assert [r["errors"] for r in batch.rows] == [{}, {}, {}]
    assert imports.commit(batch, actor=None) == 3
    ids = set(db.session.scalars(select(Application.municipality_id)))
    assert ids == {ryugasaki.id, yusuhara.id, plain.id}
    late_default = db.session.scalar(select(Application).where(Application.municipality_id == yusuhara.id))
    assert late_default.received_at == jst(2025, 12, 22, 9)


def test_app_6_a_late_row_is_imported_as_late(ctx):
    phase = make_phase()
    m = make_municipality()
    batch = _import(phase, "late.csv", _csv([_row(m, 受付日時="2025-12-24 17:00:01")]))
    imports.commit(batch, actor=None)
    assert db.session.scalar(select(Application)).status == "late"


@pytest.mark.parametrize("filename,content,message", [
    ("answers.pdf", b"%PDF-1.7", "Excel（.xlsx）またはCSV"),
    ("answers.xlsx", b"not a zip at all", "Excelファイルとして読み取れません"),
    ("answers.csv", "市町村名,担当部署\n大船渡市,企画\n".encode(), "見出し行に必要な列がありません"),
    ("answers.csv", b"", "ファイルが空です"),
])
def test_app_6_an_unreadable_file_is_refused_at_once_and_stores_nothing(ctx, filename, content, message):
    phase = make_phase()
    with pytest.raises(RuleViolation) as refused:
        imports.start(application_import.KIND, phase, filename, content, actor=None)
    assert message in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_app_6_a_large_file_is_checked_on_the_worker_with_progress(app, client):
    from tests.conftest import login

    with app.app_context():
        make_phase()
        municipalities = [make_municipality() for _ in range(imports.INLINE_ROWS + 5)]
        content = _xlsx([_row(m) for m in municipalities])
        staff = make_user().email
        db.session.commit()
    login(client, staff)
    response = client.post("/applications/imports/new?phase=2", data={
        "file": (io.BytesIO(content), "large.xlsx"), "received_at": "2025-12-22T09:00"}, content_type="multipart/form-data")
    assert response.status_code == 302
    batch_path = response.location
    progress = client.get(batch_path + "/progress", headers={"HX-Request": "true"})
    assert progress.status_code == 200 and "<progress" in progress.get_data(as_text=True)
    run_worker(app)
    done = client.get(batch_path + "/progress", headers={"HX-Request": "true"})
    assert done.status_code == 286  # htmx stops polling
    assert "確認が終わりました" in done.get_data(as_text=True)
    commit = client.post(batch_path + "/commit")
    assert commit.status_code == 302
    with app.app_context():
        assert _count() == imports.INLINE_ROWS + 5


def test_app_6_the_cli_import_exits_non_zero_with_the_row_errors(app, tmp_path):
    with app.app_context():
        make_phase()
        good = make_municipality()
        db.session.commit()
        bad_file = tmp_path / "bad.csv"
        bad_file.write_bytes(_csv([_row(good), _row(None, 団体コード="999999")]))
        good_file = tmp_path / "good.csv"
        good_file.write_bytes(_csv([_row(good)]))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["banso", "import-applications", str(bad_file), "--phase", "2"])
    assert result.exit_code == 1
    assert "3行目「団体コード」" in result.output and "何も取り込んでいません" in result.output
    with app.app_context():
        assert _count() == 0
    result = runner.invoke(args=["banso", "import-applications", str(good_file), "--phase", "2"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _count() == 1


def test_the_export_round_trips_through_the_import(ctx):

    phase = make_phase()
    source = make_application(phase, make_municipality(), priority_fields=[3, 7])
    exported = dict(zip(HEADER, [str(v) for v in application_import.export_row(source)]))
    other = make_phase(number=3, name="第3期", fiscal_year=2027, survey_opens_at=jst(2026, 12, 1), answer_deadline_at=jst(2026, 12, 24, 17))
    exported["受付日時"] = "2026-12-10 10:00:00"
    batch = _import(other, "again.csv", _csv([exported]))
    assert batch.rows[0]["errors"] == {}
    assert batch.rows[0]["data"]["priority_fields"] == [3, 7]
    assert batch.rows[0]["label"] == source.municipality.full_name


def test_a_sheet_declaring_huge_dimensions_is_refused_before_it_is_read():
    """Found: a 1.5 KB .xlsx declaring 16,384 columns cost ~30 s of CPU and ~330 MB per upload."""
    import io as _io

    from openpyxl import Workbook

    from banso.services import InputError, spreadsheets

    for row, column, message in ((1, 16_384, "列が多すぎます"), (1_048_576, 1, "20,000行まで")):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["団体コード", "担当部署"])
        sheet.cell(row=row, column=column, value="x")
        buffer = _io.BytesIO()
        workbook.save(buffer)
        assert len(buffer.getvalue()) < 10_000  # tiny on disk
        with pytest.raises(InputError, match=message):
            spreadsheets.read_table("huge.xlsx", buffer.getvalue())


def _lying_workbook(cells: int, *, rows: int = 1) -> bytes:
    """A workbook whose sheet declares A1:B2 and holds ``rows`` rows of ``cells`` cells each, as a crafted file can."""
    import io as _io
    import zipfile

    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["団体コード", "担当部署"])
    buffer = _io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(buffer)
    out = _io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                row = "".join(f'<c t="n"><v>{i % 10}</v></c>' for i in range(cells))
                body = "".join(f'<row r="{r + 2}">{row}</row>' for r in range(rows))
                data = data.replace(b"</sheetData>", body.encode() + b"</sheetData>")
            target.writestr(info, data)
    return out.getvalue()


def test_a_sheet_that_lies_about_its_size_is_refused_while_it_is_read():
    """Issue 31 (#7): a 134 KB .xlsx declaring A1:B2 with one row of 1.2 M cells passed every check and cost 48 s of
    CPU and 1.2 GB. Cells are now counted as the file inflates, before openpyxl builds anything."""
    import time

    from banso.services import InputError, spreadsheets

    wide = _lying_workbook(1_200_000)
    assert len(wide) < 200_000  # small on disk
    started = time.monotonic()
    with pytest.raises(InputError, match="列が多すぎます"):
        spreadsheets.read_table("wide.xlsx", wide)
    assert time.monotonic() - started < 5  # refused while counting, not after reading
    with pytest.raises(InputError, match="セルが多すぎます"):
        spreadsheets.read_table("tall.xlsx", _lying_workbook(900, rows=2_300))
    header, rows = spreadsheets.read_table("fine.xlsx", _lying_workbook(20, rows=3))  # an honest width reads
    assert header[:2] == ["団体コード", "担当部署"] and len(rows) == 3


def test_a_csv_too_wide_or_with_a_giant_field_is_refused_with_a_message():
    from banso.services import InputError, spreadsheets

    with pytest.raises(InputError, match="列が多すぎます"):
        spreadsheets.read_table("wide.csv", ("a," * 5_000 + "\n").encode())
    with pytest.raises(InputError, match="CSVとして読み取れません"):
        spreadsheets.read_table("long.csv", ("団体コード\n\"" + "x" * 200_000 + "\"\n").encode())
    with pytest.raises(InputError, match="セルが多すぎます"):
        spreadsheets.read_table("tall.csv", ("a,b\n" * 20_005).encode())


def test_input_as_people_type_it_one_reading_for_codes_numbers_and_times(ctx):
    """Found: full-width codes and phone numbers were refused; a time cell with seconds lost them (17:00:01 became on
    time); a code that disagreed with the name was filed under the code's municipality without a word; a ward's or
    a prefecture's code got the same message as a typo."""
    from datetime import datetime

    from banso.reference import check_digit

    phase = make_phase()
    ofunato = make_municipality(name="大船渡市", code="032034", prefecture="岩手県")
    kamaishi = make_municipality(name="釜石市", code="032115", prefecture="岩手県")
    rikuzentakata = make_municipality(name="陸前高田市", code="032107", prefecture="岩手県")
    sendai_code = "04100" + str(check_digit("04100"))
    make_municipality(name="仙台市", code=sendai_code, prefecture="宮城県", default_population=90_000)
    ward = "04101" + str(check_digit("04101"))
    prefecture_code = "03000" + str(check_digit("03000"))
    fullwidth = _row(None, 団体コード="０３２０３４", 電話番号="０１９２－２７－３１１１")
    mismatch = _row(None, 団体コード=kamaishi.code, 都道府県="岩手県", 市町村名="陸前高田市")
    wards = _row(None, 団体コード=ward)
    prefecture = _row(None, 団体コード=prefecture_code)
    wb = Workbook()
    sheet = wb.active
    sheet.append(HEADER)
    for row in (fullwidth, mismatch, wards, prefecture):
        sheet.append([row.get(h, "") for h in HEADER])
    sheet.cell(row=2, column=HEADER.index("受付日時") + 1, value=datetime(2025, 12, 24, 17, 0, 1))
    buffer = io.BytesIO()
    wb.save(buffer)
    batch = imports.start(application_import.KIND, phase, "回答.xlsx", buffer.getvalue(), actor=None, inline=True)
    first, second, third, fourth = batch.rows
    assert first["errors"] == {} and first["data"]["municipality_id"] == ofunato.id
    assert first["data"]["contact_phone"] == "0192-27-3111"
    assert first["data"]["received_at"].startswith("2025-12-24T17:00:01")  # the second is kept
    # a code and a name that disagree: the unambiguous name decides, and the preview says what was read
    assert "市町村名" not in second["errors"] and second["data"]["municipality_id"] == rikuzentakata.id
    assert any("釜石市" in note and "陸前高田市" in note and kamaishi.code in note for note in second["warnings"])
    assert "仙台市の区" in third["errors"]["団体コード"] and sendai_code in third["errors"]["団体コード"]
    assert "都道府県のコード" in fourth["errors"]["団体コード"]


@pytest.mark.parametrize("typed, value", [("１２，０００円", 12_000), ("¥12,000", 12_000), ("①", None), ("²", None), ("12000", 12_000)])
def test_amounts_are_read_as_typed_and_look_alike_digits_are_refused(typed, value):
    from banso.services import travel

    assert travel.parse_yen(typed) == value


def test_an_old_municipality_name_after_a_merger_names_its_successor(ctx):
    """Found: an old name (after a merger) got the same "not in the master" message as a typo, with no hint."""
    from openpyxl import Workbook

    from banso.reference import check_digit
    from banso.services import municipal_lookup

    phase = make_phase()
    oshu = make_municipality(name="奥州市", code="03215" + str(check_digit("03215")), prefecture="岩手県")
    wb = Workbook()
    sheet = wb.active
    sheet.append(HEADER)
    for row in (_row(None, 都道府県="岩手県", 市町村名="水沢市"), _row(None, 都道府県="岩手県", 市町村名="水沢巿")):
        sheet.append([row.get(h, "") for h in HEADER])
    buffer = io.BytesIO()
    wb.save(buffer)
    batch = imports.start(application_import.KIND, phase, "回答.xlsx", buffer.getvalue(), actor=None, inline=True)
    merged, typo = (" ".join(row["errors"].values()) for row in batch.rows)
    assert "合併により、現在は岩手県奥州市" in merged and oshu.code in merged and "平成18年2月20日" in merged
    assert "合併" in typo and "奥州市" not in typo  # a typo is not taken for a merger
    assert municipal_lookup.Lookup().successor("", "水沢市")[0] == oshu  # the name alone is enough when it is unique


def test_importing_runs_as_many_statements_for_forty_rows_as_for_four_with_the_same_audit_and_notices(app, ctx):
    """Issue 19: the import stores in bulk (found: each row ran its own checks, insert, audit row and notice — about
    eight statements a row, 6.9 s for 1,000 rows). The rules, audit rows and notices stay those of one answer."""
    from sqlalchemy import event

    from banso.models import AuditEntry, Notification

    phase = make_phase()
    counts = {}
    for size in (4, 40):
        rows = [_row(make_municipality(), **({"地方創生人材支援制度での国家公務員派遣希望（有・無）": "有"} if i == 0 else {}))
                for i in range(size)]
        batch = _import(phase, f"回答{size}.xlsx", _xlsx(rows))
        statements = []
        listener = lambda *_: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert imports.commit(batch, actor=None) == size
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        counts[size] = len(statements)
    if db.engine.dialect.name == "postgresql":  # SQLite's driver cannot return ids of a many-row INSERT in order: a row each
        assert counts[40] == counts[4], counts
    receipts = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "application_receipt"))
    withdrawals = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "jinzai_withdrawn"))
    audited = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "create",
                                                                                   AuditEntry.object_type == "Application"))
    assert (receipts, withdrawals, audited) == (44, 2, 44)


def test_a_row_answered_meanwhile_by_another_way_is_named_at_commit_and_nothing_is_kept(ctx):
    phase = make_phase()
    first, second = make_municipality(), make_municipality()
    batch = _import(phase, "回答.xlsx", _xlsx([_row(first), _row(second)]))
    make_application(phase, second)  # the form, after the file was checked
    before = _count()
    with pytest.raises(RuleViolation, match="3行目: .*既に受け付けています"):
        imports.commit(batch, actor=None)
    assert _count() == before and batch.status == "ready"  # nothing stored before the refusal


def test_a_file_as_excel_leaves_it_imports_and_the_preview_says_what_was_read(app, ctx):
    """Issue 33: a code whose leading zero Excel dropped (12165 for 芦別市), a name with its prefecture in front and
    without 市, a full-width ＠, 和暦 and full-width digits, several fields in one cell — read, each said in the
    preview; APP-1 shown before anything is stored (長野市)."""
    phase = make_phase()
    ashibetsu = make_municipality(name="芦別市", code="012165", prefecture="北海道")
    hakodate = make_municipality(name="函館市", code="012025", prefecture="北海道")
    nagano = make_municipality(name="長野市", code="202011", prefecture="長野県", default_population=357_966)
    rows = [
        _row(None, 団体コード=12165, 都道府県="北海道", 市町村名="芦別市", メールアドレス="ａｓｈｉ＠ｅｘａｍｐｌｅ．ｌｇ．ｊｐ",
             受付日時="令和7年12月24日 16時30分", 優先分野1="観光、防災", 優先分野2="", 優先分野3=""),
        _row(None, 団体コード="", 都道府県="", 市町村名="北海道函館", 電話番号="（0138）21－3111", 受付日時="R7.12.25"),
        _row(nagano),
    ]
    batch = _import(phase, "回答.xlsx", _xlsx(rows))
    first, second, third = batch.rows
    assert first["errors"] == {} and first["data"]["municipality_id"] == ashibetsu.id
    assert any("12165 → 012165 北海道芦別市" in note for note in first["warnings"])
    assert first["data"]["contact_email"] == "ashi@example.lg.jp"
    assert first["data"]["received_at"].startswith("2025-12-24T16:30")
    assert first["data"]["priority_fields"] == [3, 16] and any("書かれた順" in note for note in first["warnings"])
    assert second["errors"] == {} and second["data"]["municipality_id"] == hakodate.id
    assert second["data"]["contact_phone"] == "0138-21-3111" and second["data"]["received_at"].startswith("2025-12-25T00:00")
    assert third["errors"] == {} and any(note.startswith("APP-1") and "対象外" in note for note in third["warnings"])


def test_an_empty_receipt_time_is_never_silently_the_upload_moment(app, ctx):
    """With no mail's receipt time given, a row without 受付日時 is refused and says what to do; with it, the row takes
    it and the preview says so."""
    phase = make_phase()
    town = make_municipality()
    content = _xlsx([_row(town, 受付日時="")])
    refused = imports.start(application_import.KIND, phase, "回答.xlsx", content, actor=None, inline=True)
    assert "受付日時" in refused.rows[0]["errors"] and "メールの受信日時" in refused.rows[0]["errors"]["受付日時"]
    taken = imports.start(application_import.KIND, phase, "回答.xlsx", content, actor=None, inline=True,
                          options={"received_at": jst(2025, 12, 22, 9, 15).isoformat(),
                                   "received_source": "メールの受信日時"})
    assert taken.rows[0]["errors"] == {} and taken.rows[0]["data"]["received_at"].startswith("2025-12-22T09:15")
    assert any("空欄のため、メールの受信日時" in note for note in taken.rows[0]["warnings"])


def test_more_than_three_fields_across_the_cells_is_app_7s_refusal(app, ctx):
    phase = make_phase()
    batch = _import(phase, "回答.xlsx", _xlsx([_row(make_municipality(), 優先分野1="1、2", 優先分野2="3", 優先分野3="4")]))
    assert "APP-7" in batch.rows[0]["errors"]["優先分野1"]
