"""Issue 31, the mail intake (items 6, 7 and 9): attachment names read as their senders wrote them and made safe once,
where mail comes in."""
from __future__ import annotations

import base64

from sqlalchemy import select

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
