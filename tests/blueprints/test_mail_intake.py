"""Issue 31, the mail intake (items 6, 7 and 9): attachment names read as their senders wrote them and made safe once,
where mail comes in."""
from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from banso.extensions import db
from banso.models import Inquiry, InquiryAttachment, Role
from banso.services import inquiries
from tests.blueprints.test_inquiry_mail import FORM, _inquiry
from tests.conftest import login
from tests.factories import make_user


def _mail(receipt: str, dispositions: list[bytes], *, message_id: str = "<names-1@example.lg.jp>") -> bytes:
    parts = b"".join(b"--B\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; " + d
                     + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"memo") + b"\r\n" for d in dispositions)
    return (b"From: sato@example.lg.jp\r\nSubject: Re: " + receipt.encode() + b"\r\nMessage-ID: " + message_id.encode()
            + b'\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
            b"Content-Type: text/plain; charset=utf-8\r\n\r\nfiles\r\n" + parts + b"--B--\r\n")


def test_attachment_names_in_shift_jis_keep_windows_characters_and_lose_line_breaks(app, client):
    """Found: 「①.xlsx」 in Shift_JIS arrived as 「�@.xlsx」, raw 8-bit Shift_JIS names were garbled, and a name with
    CR/LF was stored as it came and its download was a 500."""
    inquiry_id = _inquiry(app)
    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        receipt = db.session.get(Inquiry, inquiry_id).receipt_number
        inquiries.take_in(_mail(receipt, [
            b"filename*=shift_jis''%87%40%8E%91%97%BF.txt",  # RFC 2231: ①資料.txt
            b'filename="=?shift_jis?B?' + base64.b64encode("②議事録.txt".encode("cp932")) + b'?="',  # RFC 2047
            b'filename="' + "③名簿.txt".encode("cp932") + b'"',  # raw 8-bit Shift_JIS, as some programs send
            b'filename="' + "④メモ.txt".encode() + b'"',  # raw 8-bit UTF-8
            b"filename*=utf-8''%E5%A0%B1%E5%91%8A%0D%0AX-Injected%3A%20yes.txt",  # CR/LF inside
            b'filename="' + "C:\\Users\\sato\\⑤.txt".encode() + b'"',  # a Windows path
        ]), source="upload", actor=None)
        db.session.commit()
        names = [a.filename for a in db.session.scalars(select(InquiryAttachment).order_by(InquiryAttachment.id))]
    assert names == ["①資料.txt", "②議事録.txt", "③名簿.txt", "④メモ.txt", "報告X-Injected: yes.txt", "⑤.txt"]
    login(client, "staff@banso.example")
    with app.app_context():
        injected = db.session.scalar(select(InquiryAttachment.id).where(InquiryAttachment.filename.like("報告%")))
    response = client.get(f"/inquiries/attachments/{injected}")
    assert response.status_code == 200 and "X-Injected" not in response.headers


def test_a_name_kept_with_a_line_break_before_intake_read_names_once_still_downloads(app, client):
    inquiry_id = _inquiry(app)
    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        receipt = db.session.get(Inquiry, inquiry_id).receipt_number
        inquiries.take_in(_mail(receipt, [b"filename=plain.txt"]), source="upload", actor=None)
        attachment = db.session.scalar(select(InquiryAttachment))
        attachment.filename = "古い\r\n名前.txt"  # as an earlier intake stored it
        db.session.commit()
        attachment_id = attachment.id
    login(client, "staff@banso.example")
    response = client.get(f"/inquiries/attachments/{attachment_id}")
    assert response.status_code == 200 and "\r" not in response.headers["Content-Disposition"]


def test_a_mail_of_two_thousand_parts_keeps_fifty_files_and_names_the_rest_in_one_note(app):
    """Found (N3): a 2 MB .eml of 20,000 parts made 20,000 attachment rows, 15 s of import and a 4.9 MB page."""
    from banso.models import InquiryMessage
    from banso.services.inquiries import MAIL_MAX_FILES

    inquiry_id = _inquiry(app)
    with app.app_context():
        receipt = db.session.get(Inquiry, inquiry_id).receipt_number
        raw = _mail(receipt, [f"filename=f{i:04}.txt".encode() for i in range(2000)], message_id="<many@x>")
        inquiries.take_in(raw, source="upload", actor=None)
        db.session.commit()
        kept = db.session.scalars(select(InquiryAttachment.filename).order_by(InquiryAttachment.id)).all()
        assert len(kept) == MAIL_MAX_FILES and kept[0] == "f0000.txt"
        [note] = db.session.scalars(select(InquiryMessage.body).where(InquiryMessage.inquiry_id == inquiry_id,
                                                                      InquiryMessage.kind == "note")).all()
        assert "f0050.txt" in note and "原本" in note and "読み取らなかった部分があります" in note  # 500 parts read


def test_a_mail_nested_too_deep_is_taken_in_with_what_could_be_read(app):
    from banso.models import InquiryMessage

    inquiry_id = _inquiry(app)
    with app.app_context():
        receipt = db.session.get(Inquiry, inquiry_id).receipt_number
        nested = b"Content-Type: text/plain\r\nContent-Disposition: attachment; filename=deep.txt\r\n\r\ndeep\r\n"
        for level in range(30):
            nested = (f'Content-Type: multipart/mixed; boundary="L{level}"\r\n\r\n--L{level}\r\n'.encode() + nested
                      + f"\r\n--L{level}--\r\n".encode())
        raw = (b"From: sato@example.lg.jp\r\nSubject: Re: " + receipt.encode() + b"\r\nMessage-ID: <deep@x>\r\nMIME-Version: 1.0\r\n"
               + nested)
        imported = inquiries.take_in(raw, source="upload", actor=None)
        db.session.commit()
        assert imported.inquiry.id == inquiry_id
        assert db.session.scalar(select(InquiryAttachment.id)) is None
        notes = db.session.scalars(select(InquiryMessage.body).where(InquiryMessage.kind == "note")).all()
        assert any("入れ子8段" in n and "読み取らなかった部分があります" in n for n in notes)


def test_a_mail_sent_first_with_a_later_mails_message_id_does_not_make_the_real_one_vanish(app):
    """Found (N5): idempotency by Message-ID alone refused the real mail on upload (and moved it from the mailbox
    without a record). Now the same Message-ID with other content is taken in, flagged and reopens nothing."""
    from banso.models import InboundMail, InquiryMessage

    inquiry_id = _inquiry(app)
    with app.app_context():
        receipt = db.session.get(Inquiry, inquiry_id).receipt_number
        mail = (b"From: sato@example.lg.jp\r\nSubject: Re: " + receipt.encode() + b"\r\nMessage-ID: <real-1@example.lg.jp>\r\n"
                b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
        inquiries.take_in(mail + "先に届いた偽物です。".encode(), source="upload", actor=None)
        db.session.commit()
        real = inquiries.take_in(mail + "本物の回答です。".encode(), source="upload", actor=None)
        db.session.commit()
        assert real.outcome == "unconfirmed" and "Message-ID" in real.reason
        bodies = db.session.scalars(select(InquiryMessage.body).where(InquiryMessage.inquiry_id == inquiry_id)
                                    .order_by(InquiryMessage.id)).all()
        assert "本物の回答です。" in bodies and any("Message-ID <real-1@example.lg.jp>" in b for b in bodies)
        flagged = db.session.scalar(select(InquiryMessage).where(InquiryMessage.body == "本物の回答です。"))
        assert flagged.sender_unconfirmed
        assert db.session.scalar(select(func.count()).select_from(InboundMail)) == 2
        with pytest.raises(inquiries.AlreadyTaken):  # the very same mail again is still taken once
            inquiries.take_in(mail + "本物の回答です。".encode(), source="upload", actor=None)


def test_after_a_merge_each_inquirers_status_link_shows_only_their_own_side(app, client):
    """Found (N2): after merging A's inquiry into B's, A's status link showed B's thread with B's address and phone.
    Now each link shows what its own inquirer wrote and was sent, whatever merges happen."""
    from banso.models import Notification
    from banso.services.inquiries import status_url

    with app.app_context():
        staff = make_user(Role.SECRETARIAT)
        a = inquiries.receive(dict(FORM, email="a@example.lg.jp", name="青木 一郎", body="Aの質問です。"), channel="form", actor=None)
        b = inquiries.receive(dict(FORM, email="b@example.lg.jp", name="馬場 花子", organisation="馬場町",
                                   body="Bの質問です。連絡先 090-1111-2222"), channel="form", actor=None)
        inquiries.reply(b, "Bさんへの回答", actor=staff)
        inquiries.merge(a, b, actor=staff)
        inquiries.reply(b, "統合後の回答", actor=staff)  # goes to B's inquirer
        reply_to_a = db.session.scalar(select(Notification).where(Notification.recipient_email == "a@example.lg.jp"))
        inquiries.take_in((f"From: a@example.lg.jp\r\nSubject: Re: {a.receipt_number}\r\nMessage-ID: <a-2@x>\r\n"
                           f"In-Reply-To: <notification-{reply_to_a.id}@banso.local>\r\n\r\nAからの追記です。\r\n").encode(),
                          source="upload", actor=None)  # A writes again: it joins B's thread
        links = {name: status_url(i).split("/contact/status/", 1)[1] for name, i in (("a", a), ("b", b))}
        db.session.commit()
    page_a = client.get(f"/contact/status/{links['a']}").get_data(as_text=True)
    page_b = client.get(f"/contact/status/{links['b']}").get_data(as_text=True)
    assert "Aの質問です。" in page_a and "Aからの追記です。" in page_a
    assert "Bの質問です。" not in page_a and "090-1111-2222" not in page_a and "Bさんへの回答" not in page_a
    assert "統合後の回答" not in page_a and "b@example.lg.jp" not in page_a and "馬場" not in page_a
    assert "Bの質問です。" in page_b and "Bさんへの回答" in page_b and "統合後の回答" in page_b
    assert "Aの質問です。" not in page_b and "Aからの追記です。" not in page_b


def test_a_forged_from_of_the_registered_address_reopens_nothing_when_the_mail_server_is_trusted(app, client):
    """Found (N7): a mail with a forged From: of the inquirer's registered address reopened the thread. With the
    ministry's mail server's authserv-id configured, only mail it authenticated (SPF, DKIM or DMARC for the From:
    domain) counts as the inquirer's; without it, every mail says on the thread that its sender is unverified."""
    from banso.models import InquiryMessage
    from banso.models.inquiry import InquiryStatus

    inquiry_id = _inquiry(app)
    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        inquiry = db.session.get(Inquiry, inquiry_id)
        inquiry.status = InquiryStatus.WAITING
        receipt = inquiry.receipt_number
        db.session.commit()

    def mail(message_id: str, body: str, results: str = "") -> bytes:
        return (f"{results}From: sato@example.lg.jp\r\nSubject: Re: {receipt}\r\nMessage-ID: <{message_id}@x>\r\n"
                f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()

    with app.app_context():  # not configured: taken as today, marked unverified
        inquiries.take_in(mail("plain", "設定なしの返信"), source="upload", actor=None)
        db.session.commit()
        assert db.session.scalar(select(InquiryMessage.sender_check).where(InquiryMessage.body == "設定なしの返信")) == "unchecked"
    login(client, "staff@banso.example")
    assert "送信元未検証" in client.get(f"/inquiries/{inquiry_id}").get_data(as_text=True)

    app.config["INQUIRY_TRUSTED_AUTHSERV_ID"] = "mx1.example.go.jp"
    with app.app_context():
        db.session.get(Inquiry, inquiry_id).status = InquiryStatus.WAITING
        forged = [mail("forged-1", "偽の返信1"),  # no results at all
                  mail("forged-2", "偽の返信2", "Authentication-Results: evil.example; spf=pass smtp.mailfrom=example.lg.jp\r\n"),
                  mail("forged-3", "偽の返信3", "Authentication-Results: mx1.example.go.jp; spf=fail smtp.mailfrom=example.lg.jp;"
                                             " dkim=pass header.d=evil.example\r\n")]
        for raw in forged:
            assert inquiries.take_in(raw, source="upload", actor=None).outcome == "unconfirmed"
        assert db.session.get(Inquiry, inquiry_id).status == InquiryStatus.WAITING  # reopened by none of them
        genuine = mail("genuine", "本物の返信", "Authentication-Results: mx1.example.go.jp;\r\n spf=pass (sender IP is 192.0.2.1)"
                                            " smtp.mailfrom=sato@example.lg.jp;\r\n dkim=pass header.d=example.lg.jp\r\n")
        assert inquiries.take_in(genuine, source="upload", actor=None).outcome == "thread"
        assert db.session.get(Inquiry, inquiry_id).status != InquiryStatus.WAITING  # the inquirer's reply reopens it
        checks = dict(db.session.execute(select(InquiryMessage.body, InquiryMessage.sender_check)
                                         .where(InquiryMessage.body.in_(["偽の返信1", "偽の返信2", "偽の返信3", "本物の返信"]))).all())
        assert checks == {"偽の返信1": "fail", "偽の返信2": "fail", "偽の返信3": "fail", "本物の返信": "pass"}
        db.session.commit()
    page = client.get(f"/inquiries/{inquiry_id}").get_data(as_text=True)
    assert "送信元の認証（SPF・DKIM・DMARC）に合格していないメールです" in page and "送信元認証済" in page
