"""A visitor asks through the public form, staff reply from the inbox, the visitor's e-mailed
answer is imported as .eml and reopens the inquiry (INQ-1)."""
from email.message import EmailMessage

import pytest

from banso.extensions import db
from banso.models import Role
from tests.conftest import run_worker
from tests.e2e.test_signin import go, sign_in
from tests.factories import PASSWORD, make_municipality, make_user

pytestmark = pytest.mark.e2e


def test_visitor_asks_staff_reply_and_the_emailed_answer_reopens_it(app, live_server, page, open_page, smtp, tmp_path):
    with app.app_context():
        make_municipality(name="遠野市", prefecture="岩手県")
        make_user(Role.SECRETARIAT, email="staff@banso.example", name="坂本 翔太")
        db.session.commit()

    visitor = open_page()
    visitor.goto(f"{live_server}/contact")
    visitor.get_by_label("ご所属の種類").select_option(label="市町村")
    visitor.get_by_label("都道府県").select_option("岩手県")
    visitor.locator("#municipality_code option", has_text="遠野市").wait_for(state="attached")
    visitor.locator("#municipality_code").select_option(label="遠野市")
    visitor.get_by_label("お名前").fill("佐藤 由美")
    visitor.get_by_label("メールアドレス").fill("sato@example.lg.jp")
    visitor.get_by_label("お問い合わせの分類").select_option(label="活用希望調査")
    visitor.get_by_label("件名").fill("課題分野の選び方")
    visitor.get_by_label("お問い合わせ内容").fill("複数の分野にまたがる場合はどう書けばよいですか。")
    visitor.get_by_role("button", name="送信する").click()
    receipt = visitor.locator("#receipt-number").inner_text().replace("受付番号 ", "")
    assert receipt.startswith("問-")
    visitor.context.close()

    sign_in(page, live_server, "staff@banso.example", PASSWORD)
    go(page, "問い合わせ")
    page.get_by_role("link", name=receipt).click()
    assert "遠野市" in page.locator("dl.facts").inner_text()
    page.get_by_role("button", name="自分が担当する").click()
    page.get_by_text("担当を坂本 翔太にしました").wait_for()
    page.get_by_label("本文").fill("佐藤 様\n\n優先度の高い分野から3つまでお選びください。")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="回答を送信", exact=True).click()
    page.get_by_text("回答を送信しました").wait_for()
    assert page.locator("#inquiry-status").inner_text() == "回答済"

    run_worker(app)
    reply = next(m for m in smtp.messages if receipt in m["Subject"] and "受け付けました" not in m["Subject"])
    answer = EmailMessage()
    answer["From"] = "佐藤 由美 <sato@example.lg.jp>"
    answer["Subject"] = "Re: " + str(reply["Subject"])
    answer["Message-ID"] = "<answer-1@example.lg.jp>"
    answer["In-Reply-To"] = reply["Message-ID"]
    answer.set_content("ありがとうございます。もう一点、締切の時刻を教えてください。", charset="iso-2022-jp")
    eml = tmp_path / "返信.eml"
    eml.write_bytes(answer.as_bytes())

    page.goto(f"{live_server}/inquiries/import")
    page.get_by_label("保存したメール（.eml）").set_input_files(str(eml))
    page.get_by_role("button", name="取り込む").click()
    page.get_by_text(f"{receipt} のスレッドに追加しました").wait_for()
    assert page.locator("#inquiry-status").inner_text() == "対応中"
    assert "締切の時刻を教えてください" in page.locator("#thread").inner_text()


@pytest.mark.timing
def test_two_staff_see_each_other_on_an_inquiry_and_a_crossed_reply_is_read_before_it_goes(app, live_server, page, open_page,
                                                                                           smtp, tmp_path):
    """The collision warning as staff meet it in Chromium: the page polls (htmx) who else has the inquiry open or is
    typing; a reply sent after a colleague's is shown again with theirs, then goes with its file."""
    from banso.services import inquiries

    with app.app_context():
        make_user(Role.SECRETARIAT, email="sakamoto@banso.example", name="坂本 翔太")
        make_user(Role.SECRETARIAT, email="kobayashi@banso.example", name="小林 美咲")
        inquiry = inquiries.receive({"org_type": "municipality", "category": "travel", "name": "佐藤 由美", "email": "sato@example.lg.jp",
                                     "organisation": "遠野市 企画課", "subject": "旅費の精算", "body": "精算の期限を教えてください。"},
                                    channel="form", actor=None)
        url = f"{live_server}/inquiries/{inquiry.id}"
        db.session.commit()
    sign_in(page, live_server, "sakamoto@banso.example", PASSWORD)
    colleague = open_page(expected_errors=["409 (CONFLICT)"])  # the crossed reply is answered 409, by design
    sign_in(colleague, live_server, "kobayashi@banso.example", PASSWORD)
    page.goto(url)
    colleague.goto(url)
    page.get_by_label("本文").fill("佐藤 様\n\n精算は出張の終了後1か月以内にお願いします。")
    colleague.locator("#presence").get_by_text("坂本 翔太さんがこのお問い合わせへの回答を入力中です").wait_for(timeout=20_000)
    page.locator("#presence").get_by_text("小林 美咲さんがこのお問い合わせを開いています").wait_for(timeout=20_000)

    guide = tmp_path / "精算の手引き.pdf"
    guide.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.get_by_label("ファイルを選んで添付").set_input_files(str(guide))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="回答を送信", exact=True).click()
    page.get_by_text("回答を送信しました").wait_for()
    assert "精算の手引き.pdf" in page.locator("#thread").inner_text()

    colleague.get_by_label("本文").fill("佐藤 様\n\n期限は1か月です。")
    colleague.once("dialog", lambda dialog: dialog.accept())
    colleague.get_by_role("button", name="回答を送信", exact=True).click()
    colleague.get_by_text("坂本 翔太さんが").first.wait_for()
    assert "精算は出張の終了後1か月以内" in colleague.locator("#thread").inner_text()  # the colleague's reply, to read
    assert colleague.get_by_label("本文").input_value() == "佐藤 様\n\n期限は1か月です。"  # what was typed, kept
    colleague.once("dialog", lambda dialog: dialog.accept())
    colleague.get_by_role("button", name="回答を送信", exact=True).click()
    colleague.get_by_text("回答を送信しました").wait_for()
    colleague.context.close()
    run_worker(app)
    sent = [m for m in smtp.messages if "旅費の精算" in str(m["Subject"])]
    assert len(sent) == 2 and [p.get_filename() for p in sent[0].iter_attachments()] == ["精算の手引き.pdf"]
