"""INQ-1 by mail: the inquiries' mailbox on a real IMAP server (Dovecot on loopback, STARTTLS), fetched as the
worker fetches it — threading, Japanese encodings, attachments, bounces, and no loss or double across a crash."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from sqlalchemy import func, select

from banso import queue
from banso.clock import jst
from banso.extensions import db
from banso.models import InboundMail, Inquiry, InquiryAttachment, InquiryMessage
from banso.models.inquiry import InquiryStatus
from banso.services import files, inquiries
from worker import mailbox as mailbox_service
from tests.factories import inquiry_data as _form
from tests.factories import mail as _mail
from tests.factories import make_user
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _shift_jis(subject: str, body: str, *, sender: str, message_id: str) -> bytes:
    """As Windows mail programs write it: labelled Shift_JIS, written in its Microsoft form (①, ㈱), base64."""
    import base64
    from email.header import Header

    return (f"From: {sender}\r\nTo: toiawase@banso.example\r\nSubject: {Header(subject, 'iso-2022-jp').encode()}\r\n"
            f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=Shift_JIS\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n").encode() + base64.encodebytes(body.encode("cp932"))


def _iso_2022_jp_with_pdf(subject: str, body: str, filename: str) -> bytes:
    """As a Japanese mail program writes it: ISO-2022-JP text, base64 PDF, the file name RFC 2047-encoded."""
    message = MIMEMultipart()
    message["From"] = "sato@example.lg.jp"
    message["To"] = "toiawase@banso.example"
    message["Subject"] = subject
    message["Message-ID"] = "<with-pdf-1@example.lg.jp>"
    message.attach(MIMEText(body, "plain", "iso-2022-jp"))
    part = MIMEApplication(PDF, "pdf")
    part.add_header("Content-Disposition", "attachment", filename=("iso-2022-jp", "", filename))
    message.attach(part)
    return message.as_bytes()


@pytest.fixture
def staff(ctx, clock):
    clock.set(jst(2026, 11, 24, 10))
    return make_user("secretariat")


def test_inq_1_a_reply_in_the_mailbox_joins_its_thread_by_header_and_leaves_the_folder(staff, mailbox):
    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    sent = inquiries.reply(inquiry, "回答します。", actor=staff)
    mailbox.deliver(_mail(f"Re: 【地方創生伴走支援】{inquiry.subject}", "追加で質問があります。",
                          in_reply_to=f"<notification-{sent.notification_id}@banso.local>"))
    fetched = mailbox_service.fetch()
    assert fetched.taken == {"thread": 1} and inquiry.messages[-1].body == "追加で質問があります。"
    assert inquiry.status == InquiryStatus.IN_PROGRESS
    assert mailbox.folder("INBOX") == [] and len(mailbox.folder("Banso-processed")) == 1
    assert any(b"\\Seen" in flags for flags in mailbox.flags("Banso-processed"))
    assert mailbox_service.fetch().count == 0  # nothing left: nothing taken twice


def test_inq_1_a_reply_finds_its_thread_by_the_receipt_number_and_a_new_sender_a_new_inquiry(staff, mailbox):
    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    mailbox.deliver(_mail(f"Re: {inquiry.receipt_number} について", "補足です。", charset="iso-2022-jp"))
    mailbox.deliver(_shift_jis("はじめて問い合わせます", "制度について①教えてください。㈱遠野", sender="new@example.lg.jp",
                               message_id="<sjis-1@x>"))
    fetched = mailbox_service.fetch()
    assert fetched.taken == {"thread": 1, "new": 1}
    assert inquiry.messages[-1].body == "補足です。"
    newcomer = db.session.scalar(select(Inquiry).where(Inquiry.email == "new@example.lg.jp"))
    assert newcomer.messages[0].body == "制度について①教えてください。㈱遠野" and newcomer.channel == "email"
    assert newcomer.subject == "はじめて問い合わせます"


def test_imaps_and_quoted_printable_and_a_wrong_certificate_is_refused(staff, mailbox, app, tmp_path):
    import ssl

    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    app.config.update(mailbox.server.settings(mailbox.user, security="ssl"))
    raw = (f"From: sato@example.lg.jp\r\nSubject: Re: {inquiry.receipt_number}\r\nMessage-ID: <qp-1@x>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
           "=E8=A3=9C=E8=B6=B3=E3=81=A7=E3=81=99=E3=80=82\r\n").encode()
    mailbox.deliver(raw)
    assert mailbox_service.fetch().taken == {"thread": 1} and inquiry.messages[-1].body == "補足です。"
    other = tmp_path / "other-ca.pem"  # a CA that did not sign the server's certificate
    import subprocess as run

    run.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other",
             "-keyout", str(tmp_path / "k.pem"), "-out", str(other)], check=True, capture_output=True)
    app.config["INQUIRY_IMAP_CA_FILE"] = str(other)
    with pytest.raises(ssl.SSLError):
        mailbox_service.fetch()


def test_inq_1_iso_2022_jp_mail_with_an_attachment_keeps_the_file(staff, mailbox):
    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    mailbox.deliver(_iso_2022_jp_with_pdf(f"Re: {inquiry.receipt_number} 様式を送ります", "様式を添付します。ご確認ください。",
                                          "活用希望調査票（遠野市）.pdf"))
    assert mailbox_service.fetch().taken == {"thread": 1}
    message = inquiry.messages[-1]
    assert message.body == "様式を添付します。ご確認ください。"
    [attachment] = message.attachments
    assert attachment.filename == "活用希望調査票（遠野市）.pdf" and attachment.content_type == "application/pdf"
    assert files.read(attachment.sha256) == PDF and attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    record = db.session.scalar(select(InboundMail))
    assert record.outcome == "thread" and b"<with-pdf-1@example.lg.jp>" in files.read(record.raw_sha256)  # the original kept


def test_an_attachment_of_a_kind_banso_does_not_keep_is_listed_with_the_reason(staff, mailbox):
    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    message = MIMEMultipart()
    message["From"], message["Subject"], message["Message-ID"] = "sato@example.lg.jp", f"Re: {inquiry.receipt_number}", "<exe-1@x>"
    message.attach(MIMEText("ツールです。", "plain", "utf-8"))
    for name, data in (("tool.exe", b"MZ\x90\x00"), ("偽物.pdf", b"MZ\x90\x00"), ("集計.xlsx", b"PK\x03\x04 not a workbook")):
        part = MIMEApplication(data)
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        message.attach(part)
    mailbox.deliver(message.as_bytes())
    mailbox_service.fetch()
    refused = {a.filename: a.refused_reason for a in inquiry.messages[-1].attachments}
    assert set(refused) == {"tool.exe", "偽物.pdf", "集計.xlsx"}
    assert all(reason.endswith("元のメールに含まれています") for reason in refused.values())
    assert "保存しません" in refused["tool.exe"] and "一致しません" in refused["偽物.pdf"]
    assert db.session.scalar(select(func.count()).select_from(InquiryAttachment).where(InquiryAttachment.sha256.is_not(None))) == 0


def test_bounces_and_automatic_replies_become_no_inquiry_and_a_bounced_reply_is_noted(staff, mailbox):
    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    sent = inquiries.reply(inquiry, "回答します。", actor=staff)
    bounce = (  # as Postfix returns it
        "From: MAILER-DAEMON@mx.example.lg.jp\r\nTo: toiawase@banso.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <b1@mx>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.lg.jp\r\n\r\n"
        "Final-Recipient: rfc822; sato@example.lg.jp\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <notification-{sent.notification_id}@banso.local>\r\n"
        "Subject: x\r\n--B--\r\n").encode()
    mailbox.deliver(bounce)
    away = EmailMessage()
    away["From"], away["Subject"], away["Message-ID"], away["Auto-Submitted"] = "sato@example.lg.jp", "不在のお知らせ", "<ooo@x>", "auto-replied"
    away.set_content("12月28日まで不在です。")
    mailbox.deliver(away.as_bytes())
    count = db.session.scalar(select(func.count()).select_from(Inquiry))
    assert mailbox_service.fetch().taken == {"bounce": 1, "auto_reply": 1}
    assert db.session.scalar(select(func.count()).select_from(Inquiry)) == count
    assert inquiry.messages[-1].kind == "note" and "配送不能" in inquiry.messages[-1].body
    assert inquiry.status == InquiryStatus.ANSWERED  # a bounce reopens nothing
    assert mailbox.folder("INBOX") == []


def test_mail_over_the_size_limit_is_taken_by_its_headers_and_the_same_mail_twice_once(staff, mailbox, app):
    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    app.config["INQUIRY_MAIL_MAX_BYTES"] = 2000
    mailbox.deliver(_mail(f"Re: {inquiry.receipt_number} 大きな資料", "資料" * 2000, message_id="<big@x>"))
    mailbox.deliver(_mail(f"Re: {inquiry.receipt_number} 小さな補足", "補足", message_id="<small@x>"))
    mailbox.deliver(_mail(f"Re: {inquiry.receipt_number} 小さな補足", "補足", message_id="<small@x>"))  # the same mail again
    fetched = mailbox_service.fetch()
    assert fetched.taken == {"thread": 2} and fetched.moved_again == 1
    bodies = [m.body for m in inquiry.messages if m.kind == "incoming"][1:]
    assert "取り込んでいません" in bodies[0] and bodies[1] == "補足"
    assert mailbox.folder("INBOX") == []


# --- a crash between fetching and committing, and between committing and moving (a worker killed) -------------

WORKER = r"""
import os, signal, sys
from banso import create_app
from banso.services import inquiries
from worker import mailbox
import imapclient

settings = dict(arg.split("=", 1) for arg in sys.argv[2:])
settings["INQUIRY_IMAP_PORT"] = int(settings["INQUIRY_IMAP_PORT"])
app = create_app(settings)
stage = sys.argv[1]
taken = inquiries.take_in

def take_then_die(*args, **kwargs):
    result = taken(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # fetched and taken in, not committed

def die_before_moving(self, *args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # committed, not yet marked seen or moved

if stage == "before-commit":
    inquiries.take_in = take_then_die
else:
    imapclient.IMAPClient.add_flags = die_before_moving
with app.app_context():
    mailbox.fetch()
"""


@pytest.mark.timing
@pytest.mark.commits
def test_a_worker_killed_between_fetch_and_commit_or_before_moving_loses_and_doubles_nothing(app, mailbox, database_url, redis_url):
    with app.app_context():
        receipt = inquiries.receive(_form(), channel="form", actor=None).receipt_number
        db.session.commit()
    settings = [f"{k}={v}" for k, v in mailbox.server.settings(mailbox.user).items()]
    settings += [f"DATABASE_URL={database_url}", f"REDIS_URL={redis_url}", f"SECRET_KEY={app.config['SECRET_KEY']}",
                 f"RECEIPT_DIR={app.config['RECEIPT_DIR']}"]
    for number, stage in enumerate(("before-commit", "before-move")):
        mailbox.deliver(_mail(f"Re: {receipt} 補足{number}", f"補足{number}です。", message_id=f"<crash-{number}@x>"))
        worker = subprocess.run([sys.executable, "-c", WORKER, stage, *settings], capture_output=True, timeout=60)
        assert worker.returncode == -signal.SIGKILL, worker.stderr.decode()[-2000:]
        with app.app_context():
            queue.connection().delete(mailbox_service.LOCK)  # a killed worker's lock lapses by itself in two minutes
            stored = db.session.scalar(select(func.count()).select_from(InquiryMessage).where(InquiryMessage.body == f"補足{number}です。"))
            assert stored == (0 if stage == "before-commit" else 1)
            assert len(mailbox.folder("INBOX")) == 1  # still there either way
            fetched = mailbox_service.fetch()
            assert (fetched.count, fetched.moved_again) == ((1, 0) if stage == "before-commit" else (0, 1))
            stored = db.session.scalar(select(func.count()).select_from(InquiryMessage).where(InquiryMessage.body == f"補足{number}です。"))
            assert stored == 1 and mailbox.folder("INBOX") == []
            db.session.remove()


@pytest.mark.timing
@pytest.mark.commits
def test_with_the_mailbox_configured_a_running_worker_puts_a_reply_and_its_file_on_the_thread(app, mailbox, database_url, redis_url):
    """The worker as deployed (`python -m worker` with INQUIRY_IMAP_* in its environment): its mailbox timer takes
    the inquirer's reply in at its first round, well within the minute."""
    with app.app_context():
        inquiry = inquiries.receive(_form(), channel="form", actor=None)
        inquiry_id, receipt = inquiry.id, inquiry.receipt_number
        db.session.commit()
    mailbox.deliver(_iso_2022_jp_with_pdf(f"Re: {receipt}", "記入した調査票を送ります。", "調査票.pdf"))
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": app.config["SECRET_KEY"],
           "RECEIPT_DIR": app.config["RECEIPT_DIR"], **{k: str(v) for k, v in mailbox.server.settings(mailbox.user).items()}}
    worker = subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        def taken_in():
            with app.app_context():
                found = db.session.scalar(select(InquiryMessage).where(InquiryMessage.inquiry_id == inquiry_id,
                                                                        InquiryMessage.body == "記入した調査票を送ります。"))
                names = [(a.filename, files.read(a.sha256)) for a in found.attachments] if found is not None else None
                db.session.remove()
                return names

        assert wait_until(taken_in, what="the worker's mailbox timer to take the reply in") == [("調査票.pdf", PDF)]
        # The worker moves the message after the commit that took it in: wait for that too, before stopping it.
        wait_until(lambda: mailbox.folder("INBOX") == [] and len(mailbox.folder("Banso-processed")) == 1,
                   what="the worker to move the taken-in message to the processed folder")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def test_a_mailbox_that_cannot_be_fetched_is_shown_to_staff_and_its_mail_waits(app, mailbox, client):
    from imapclient.exceptions import LoginError

    from tests.conftest import login
    from worker import jobs

    with app.app_context():
        make_user("secretariat", email="staff@banso.example")
        db.session.commit()
    mailbox.deliver(_mail("はじめて問い合わせます", "制度について教えてください。", message_id="<wait-1@x>"))
    app.config["INQUIRY_IMAP_PASSWORD"] = "wrong"
    with app.app_context(), pytest.raises(LoginError):
        jobs.fetch_mailbox()
    login(client, "staff@banso.example")
    page = client.get("/inquiries/mailbox").get_data(as_text=True)
    assert "メールボックスを取得できませんでした" in page and "LoginError" in page and len(mailbox.folder("INBOX")) == 1
    app.config.update(mailbox.server.settings(mailbox.user))
    with app.app_context():
        assert jobs.fetch_mailbox() == 1
    page = client.get("/inquiries/mailbox").get_data(as_text=True)
    assert "1件を取り込み" in page and "はじめて問い合わせます" in page


def test_mail_banso_cannot_take_as_an_inquiry_is_recorded_and_moved_not_fetched_again_every_minute(staff, mailbox):
    """A sender address no reply could reach (an intranet name without a domain) and a Message-ID longer than the
    column: recorded with the reason and the original, and out of the inbox — the next mail goes on."""
    mailbox.deliver(_mail("内部からの問い合わせ", "本文です。", sender="taro@intranet", message_id="<internal-1@x>"))
    mailbox.deliver(_mail("長いID", "本文です。", sender="long@example.lg.jp", message_id="<" + "x" * 300 + "@example.lg.jp>"))
    fetched = mailbox_service.fetch()
    assert fetched.taken == {"unreadable": 1, "new": 1} and fetched.left == 0
    refused = db.session.scalar(select(InboundMail).where(InboundMail.outcome == "unreadable"))
    assert "受付できませんでした" in refused.reason and refused.from_email == "taro@intranet" and refused.raw_sha256
    assert db.session.scalar(select(func.count()).select_from(Inquiry).where(Inquiry.email == "taro@intranet")) == 0
    assert mailbox.folder("INBOX") == [] and mailbox_service.fetch().count == 0
