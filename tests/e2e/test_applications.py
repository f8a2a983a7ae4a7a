"""Staff take an e-mailed spreadsheet into the list: upload, exclude a bad row, import, filter, open."""
import pytest

from banso.extensions import db
from tests.e2e.test_signin import follow, go, sign_in
from tests.factories import make_municipality, make_phase, make_user
from tests.services.test_application_import import _row, _xlsx

pytestmark = pytest.mark.e2e


def test_staff_imports_a_spreadsheet_excluding_a_bad_row(app, live_server, page, tmp_path):
    with app.app_context():
        make_phase()
        iwate = make_municipality(prefecture="岩手県", name="大船渡市", code="032034", default_population=31_294)
        make_municipality(prefecture="高知県", name="梼原町", code="394050", default_population=3_200)
        make_user(email="staff@banso.example", name="坂本 翔太")
        rows = [_row(iwate), _row(None, 団体コード="999999"), _row(None, 都道府県="高知県", 市町村名="檮原町", 優先分野1="⑤農林水産業")]
        db.session.commit()
    spreadsheet = tmp_path / "回答フォーム記載事項リスト.xlsx"
    spreadsheet.write_bytes(_xlsx(rows))

    sign_in(page, live_server, "staff@banso.example", "correct-horse-battery")
    go(page, "活用希望調査")
    page.get_by_role("link", name="メールの回答を取込").click()
    page.get_by_label("回答フォーム記載事項リスト").set_input_files(str(spreadsheet))
    page.get_by_role("button", name="確認する").click()

    preview = page.locator("#import-preview")
    assert "正しい団体コードではありません" in preview.locator("#import-row-3").inner_text()
    assert page.get_by_text("誤りのある行が1行あります").is_visible()
    assert page.get_by_role("button", name="件を取り込む").count() == 0  # nothing can be imported yet
    page.get_by_label("3行目を除外").check()
    page.get_by_role("button", name="除外を反映").click()
    page.once("dialog", lambda dialog: dialog.accept())
    follow(page, page.get_by_role("button", name="2件を取り込む"))
    page.get_by_text("2件の活用希望調査の回答を取り込みました。").wait_for()

    page.get_by_label("地域ブロック").select_option("四国")
    page.wait_for_url("**block=%E5%9B%9B%E5%9B%BD**")
    rows = page.locator("#applications-list tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1 and "梼原町" in rows.first.inner_text()
    page.get_by_role("link", name="高知県 梼原町").click()
    page.get_by_role("heading", name="対象要件の判定").wait_for()
    assert "⑤農林水産業" in page.content()
    assert page.locator("#eligibility").get_by_text("APP-6").is_visible()
