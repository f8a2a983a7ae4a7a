"""INQ-1 over HTTP, the mail channel: replies that carry files, a reply crossed by another, who else is on an
inquiry, the inquirer's status link, the monthly report, the record of mail taken in."""
from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from banso.clock import jst
from banso.extensions import db
from banso.models import InboundMail, Inquiry, InquiryAttachment, Notification, Role
from banso.services import inquiries
from tests.conftest import login, run_worker
from tests.factories import make_user

FORM = {"org_type": "municipality", "prefecture": "岩手県", "organisation": "テスト町 企画課", "name": "佐藤 由美",
        "email": "sato@example.lg.jp", "category": "application", "subject": "記入方法", "body": "教えてください。"}
PDF = b"%PDF-1.4\n%%EOF\n"
MAIL_WITH_FILE = ("From: sato@example.lg.jp\r\nSubject: Re: {receipt}\r\nMessage-ID: <file-1@x>\r\nMIME-Version: 1.0\r\n"
                  'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
                  "様式です。\r\n--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=form.pdf\r\n\r\n"
                  "%PDF-1.4 form\r\n--B--\r\n")


def _inquiry(app, **extra) -> int:
    with app.app_context():
        inquiry = inquiries.receive(dict(FORM, **extra), channel="form", actor=None)
        db.session.commit()
        return inquiry.id


def _page_values(html: str) -> dict:
    """The reply form's hidden fields as the page carries them: the version, the last message seen, the one-time key."""
    return {name: re.search(rf'name="{name}" (?:type="hidden" )?value="([^"]*)"', html).group(1)
            for name in ("version", "seen_message_id", "submission_key")}


def test_a_reply_carries_a_file_of_the_thread_and_an_upload_and_they_arrive_by_smtp(client, app, smtp):
    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        db.session.commit()
    inquiry_id = _inquiry(app)
    with app.app_context():
        inquiry = db.session.get(Inquiry, inquiry_id)
        inquiries.take_in(MAIL_WITH_FILE.format(receipt=inquiry.receipt_number).encode(), source="upload", actor=None)
        db.session.commit()
        received = db.session.scalar(select(InquiryAttachment))
    login(client, "staff@banso.example")
    page = client.get(f"/inquiries/{inquiry_id}").get_data(as_text=True)
    assert "form.pdf" in page and f"/inquiries/attachments/{received.id}" in page
    response = client.post(f"/inquiries/{inquiry_id}/reply", data={
        "body": "記入例をお送りします。", "forward": str(received.id), "files": (io.BytesIO(PDF), "記入例.pdf"), **_page_values(page)},
        content_type="multipart/form-data")
    assert response.status_code == 302
    run_worker(app)
    [sent] = [m for m in smtp.messages if "記入方法" in m["Subject"]]
    attached = {part.get_filename(): part.get_content() for part in sent.iter_attachments()}
    assert attached == {"form.pdf": b"%PDF-1.4 form", "記入例.pdf": PDF}
    assert sent.get_body(("plain",)).get_content().startswith("記入例をお送りします。")
    download = client.get(f"/inquiries/attachments/{received.id}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 form" and "no-store" in download.headers["Cache-Control"]


def test_a_reply_too_large_for_the_relay_is_refused_with_what_was_typed_kept(client, app):
    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        db.session.commit()
    app.config["MAIL_MAX_BYTES"] = 4000
    inquiry_id = _inquiry(app)
    login(client, "staff@banso.example")
    page = client.get(f"/inquiries/{inquiry_id}").get_data(as_text=True)
    response = client.post(f"/inquiries/{inquiry_id}/reply", data={
        "body": "資料を添付します。", "files": (io.BytesIO(PDF + b"0" * 5000), "資料.pdf"), **_page_values(page)},
        content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "添付ファイルが大きすぎて送れません" in body and "資料を添付します。" in body
    with app.app_context():
        assert db.session.scalar(select(Notification).where(Notification.kind == "inquiry_reply")) is None
    bad = client.post(f"/inquiries/{inquiry_id}/reply", data={
        "body": "実行ファイルです。", "files": (io.BytesIO(b"MZ\x90"), "tool.exe"), **_page_values(page)}, content_type="multipart/form-data")
    assert bad.status_code == 422 and "送れません" in bad.get_data(as_text=True)


def test_a_second_staff_member_sees_who_else_is_replying_and_a_crossed_reply_asks_to_be_sent_again(app):
    with app.app_context():
        make_user(Role.SECRETARIAT, email="first@banso.example", name="坂本 翔太")
        make_user(Role.SECRETARIAT, email="second@banso.example", name="小林 美咲")
        db.session.commit()
    inquiry_id = _inquiry(app)
    first, second = app.test_client(), app.test_client()
    login(first, "first@banso.example")
    login(second, "second@banso.example")
    first_page, second_page = (c.get(f"/inquiries/{inquiry_id}").get_data(as_text=True) for c in (first, second))
    assert 'hx-post="/inquiries/%d/presence"' % inquiry_id in first_page
    first.post(f"/inquiries/{inquiry_id}/presence", data={"body": "書きかけの回答"})
    warning = second.post(f"/inquiries/{inquiry_id}/presence", data={"body": ""}).get_data(as_text=True)
    assert "坂本 翔太さんがこのお問い合わせへの回答を入力中です" in warning
    assert "小林 美咲さんがこのお問い合わせを開いています" in first.post(f"/inquiries/{inquiry_id}/presence", data={}).get_data(as_text=True)
    assert first.post(f"/inquiries/{inquiry_id}/reply", data={"body": "先に送る回答", **_page_values(first_page)}).status_code == 302
    crossed = second.post(f"/inquiries/{inquiry_id}/reply", data={"body": "後から送る回答", **_page_values(second_page)})
    html = crossed.get_data(as_text=True)
    assert crossed.status_code == 409 and "坂本 翔太さんが" in html and "回答を送信しています" in html
    assert "後から送る回答" in html and "先に送る回答" in html  # the other reply on the thread, this one still typed
    again = second.post(f"/inquiries/{inquiry_id}/reply", data={"body": "後から送る回答", **_page_values(html)})
    assert again.status_code == 302
    with app.app_context():
        assert [m.body for m in db.session.get(Inquiry, inquiry_id).messages if m.kind == "reply"] == ["先に送る回答", "後から送る回答"]


def test_the_inquirer_follows_their_inquiry_by_the_link_in_the_receipt_until_its_retention_ends(client, app, clock):
    clock.set(jst(2026, 11, 24, 10))
    with app.app_context():
        staff = make_user(Role.SECRETARIAT)
        inquiry = inquiries.receive(FORM, channel="form", actor=None)
        inquiries.add_note(inquiry, "内部でのみ共有する検討メモ", actor=staff)
        inquiries.reply(inquiry, "様式第2号をお使いください。", actor=staff, close=True)
        inquiries.take_in(b"From: stranger@example.com\r\nSubject: Re: " + inquiry.receipt_number.encode()
                          + b"\r\nMessage-ID: <s@x>\r\n\r\nstranger text\r\n", source="upload", actor=None)
        receipt = db.session.scalar(select(Notification).where(Notification.kind == "inquiry_receipt"))
        link = re.search(r"http://\S+/contact/status/\S+", receipt.body).group(0)
        db.session.commit()
    path = link.split("127.0.0.1:5000", 1)[1]
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "完了" in html and "様式第2号をお使いください。" in html
    assert "検討メモ" not in html and "stranger text" not in html and page.headers["Referrer-Policy"] == "no-referrer"
    assert client.get(path[:-3] + "xyz").status_code == 404  # an altered link shows nothing
    clock.advance(days=app.config["INQUIRY_RETENTION_DAYS"] + 1)
    assert client.get(path).status_code == 404


def test_the_monthly_report_is_an_excel_workbook_and_the_report_shows_sla_and_handlers(client, app, clock):
    clock.set(jst(2026, 11, 24, 10))
    with app.app_context():
        staff = make_user(Role.SECRETARIAT, email="staff@banso.example", name="坂本 翔太")
        on_time = inquiries.receive(FORM, channel="form", actor=None)
        late = inquiries.receive(dict(FORM, subject="旅費の質問", category="travel"), channel="form", actor=None)
        inquiries.reply(on_time, "回答", actor=staff)
        clock.advance(days=5)
        inquiries.reply(late, "遅れた回答", actor=staff, close=True)
        numbers = [on_time.receipt_number, late.receipt_number]
        db.session.commit()
    login(client, "staff@banso.example")
    workbook = load_workbook(io.BytesIO(client.get("/inquiries/reports/monthly?month=2026-11").data))
    assert workbook.sheetnames == ["概要", "分類別", "担当者別", "一覧"]
    figures = {row[0]: row[1] for row in workbook["概要"].iter_rows(min_row=2, values_only=True)}
    assert figures["受付件数"] == 2 and figures["期限内の回答率"] == "50%" and figures["対象月"].startswith("令和8年11月")
    handlers = [row for row in workbook["担当者別"].iter_rows(min_row=2, values_only=True)]
    assert handlers[0][:2] == ("坂本 翔太", 2)
    assert [row[0] for row in workbook["一覧"].iter_rows(min_row=2, values_only=True)] == numbers
    page = client.get("/inquiries/reports").get_data(as_text=True)
    assert "期限内の回答率" in page and "坂本 翔太" in page and "50%" in page
    assert client.get("/inquiries/reports/monthly?month=13").status_code == 302


def test_the_record_of_mail_taken_in_lists_bounces_and_serves_the_original(client, app):
    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        inquiries.take_in(b"From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered\r\nMessage-ID: <bounce@x>\r\n"
                          b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\n"
                          b"Content-Type: text/plain\r\n\r\nfailed\r\n--B--\r\n", source="imap", actor=None)
        db.session.commit()
        mail_id = db.session.scalar(select(InboundMail.id))
    login(client, "staff@banso.example")
    page = client.get("/inquiries/mailbox?outcome=bounce").get_data(as_text=True)
    assert "配送不能通知" in page and "MAILER-DAEMON@mx.example" in page
    original = client.get(f"/inquiries/mailbox/{mail_id}/original")
    assert original.status_code == 200 and b"<bounce@x>" in original.data
    assert client.get("/inquiries/mailbox?outcome=thread").get_data(as_text=True).count('id="mail-') == 0
