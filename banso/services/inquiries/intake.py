"""Inquiries (INQ-1) by e-mail: the one way mail comes in (the mailbox on the worker, or a saved .eml uploaded by
staff) — decoded as Japanese mail programs write it, bounded, threaded, authenticated by the ministry's mail server
when it is trusted, and recorded with its original once."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.utils import parseaddr, parsedate_to_datetime

from flask import current_app
from sqlalchemy import select

from banso.clock import JST, now
from banso.extensions import db
from banso.formatting import parse_id, strip_control
from banso.models import Notification, User
from banso.models.inquiry import (InboundMail,
                                  Inquiry, InquiryAttachment, InquiryMessage, InquiryStatus)
from banso.services import (InputError, RuleViolation, WrongState, audit,
                            files)

from banso.services.inquiries.answering import add_incoming
from banso.services.inquiries.receiving import LIMITS, RECEIPT, REOPEN_WITHIN, receive


# --- e-mail: the one way mail comes in (the mailbox on the worker, or a saved .eml uploaded by staff) ---------

@dataclass
class Imported:
    inquiry: Inquiry | None  # None: nothing for a thread (an automatic message, an unreadable one)
    created: bool
    reason: str
    outcome: str = "thread"


class AlreadyTaken(WrongState):
    """This mail was taken in before (its Message-ID, or the same original)."""


# Charsets as Japanese mail programs label them, read with the codecs that hold what they actually send (①, ㈱).
_WIDER_CHARSETS = {"shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "windows-31j": "cp932",
                   "iso-2022-jp": "iso2022_jp_2", "euc-jp": "euc_jis_2004"}
_AUTO_REPLY_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}
_OUR_NOTIFICATION = re.compile(rb"<notification-(\d{1,10})@banso\.local>")


def _decoded(data: bytes, charset: str | None) -> str:
    """Bytes in the charset they are labelled with, read with the wider codec Japanese mail programs really use;
    unlabelled, UTF-8 else cp932 (raw Shift_JIS)."""
    charset = (charset or "utf-8").lower()
    for candidate in (_WIDER_CHARSETS.get(charset, charset), charset, "utf-8", "cp932"):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


def _text_of(part) -> str:
    return _decoded(part.get_payload(decode=True) or b"", part.get_content_charset())


def _file_name(part) -> str | None:
    """An attachment's name as its sender wrote it, read from the raw header (the parser's own reading decodes
    Shift_JIS without the Windows characters: 「①.xlsx」 became 「�@.xlsx」): RFC 2231 (``filename*=``), RFC 2047
    encoded words, or raw 8-bit bytes, each in its wider codec."""
    from email.header import decode_header
    from email.message import Message

    raw = Message()  # compat32 reads the parameters without decoding them; each byte as one Latin-1 character
    for header, value in part.raw_items():
        if header.lower() in ("content-disposition", "content-type"):
            raw[header] = str(value).encode("utf-8", "surrogateescape").decode("latin-1")
    value = raw.get_param("filename", header="content-disposition") or raw.get_param("name", header="content-type")
    if not value:
        return None
    if isinstance(value, tuple):  # RFC 2231: charset'language'%XX…
        return _decoded(value[2].encode("latin-1"), value[0])
    value = str(value).strip('"')
    if "=?" in value:
        return "".join(_decoded(chunk, charset) if isinstance(chunk, bytes) else chunk
                       for chunk, charset in decode_header(value))
    return _decoded(value.encode("latin-1"), None)  # raw 8-bit: UTF-8, else Shift_JIS


def _body_part(message):
    return message.get_body(preferencelist=("plain", "html"))


def _plain_body(part) -> str:
    if part is None:
        return ""
    text = _text_of(part)
    if part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)  # kept as text; never rendered as markup
    return text.strip()


# What one mail may make of itself: a crafted 2 MB mail of 20,000 parts made 20,000 attachment rows and a 4.9 MB page.
MAIL_MAX_PARTS = 500   # parts read; the rest stay in the original
MAIL_MAX_DEPTH = 8     # multiparts nested deeper are not opened
MAIL_MAX_FILES = 50    # attachments kept; the others are named in one note


@dataclass
class _Files:
    kept: list[tuple[str, bytes]]
    left: list[str]  # names of the files not taken, for the note
    unread: bool     # parts beyond MAIL_MAX_PARTS or MAIL_MAX_DEPTH were not opened


def _leaves(part, depth: int, budget: list[int]):
    """The leaf parts, depth first, within the mail's limits (``budget``: parts still to read, shared)."""
    if budget[0] <= 0:
        return
    budget[0] -= 1
    if not part.is_multipart():
        yield part
        return
    if depth >= MAIL_MAX_DEPTH:
        budget[0] = min(budget[0], -1)  # marks the mail as not wholly read
        return
    for sub in part.get_payload():
        yield from _leaves(sub, depth + 1, budget)


def _files_of(message, body_part) -> _Files:
    """The files a mail carries: every leaf part with a file name or marked as an attachment, but its body; at most
    MAIL_MAX_FILES kept, read from at most MAIL_MAX_PARTS parts MAIL_MAX_DEPTH deep."""
    found = _Files([], [], False)
    budget = [MAIL_MAX_PARTS]
    for part in _leaves(message, 0, budget):
        if part is body_part:
            continue
        name = _file_name(part)
        if not name and part.get_content_disposition() != "attachment":
            continue
        name = files.safe_name(name, "添付ファイル")
        if len(found.kept) < MAIL_MAX_FILES:
            found.kept.append((name, part.get_payload(decode=True) or b""))
        else:
            found.left.append(name)
    found.unread = budget[0] < 0 or (budget[0] == 0 and message.is_multipart())
    return found


def _left_note(found: _Files) -> str:
    if not found.left and not found.unread:
        return ""
    named = "、".join(found.left[:20]) + (f" ほか{len(found.left) - 20}件" if len(found.left) > 20 else "")
    return ("このメールは取り込める範囲（添付ファイル" f"{MAIL_MAX_FILES}件、{MAIL_MAX_PARTS}パート、入れ子{MAIL_MAX_DEPTH}段）を"
            "超えています。" + (f"取り込まなかった添付ファイル{len(found.left)}件: {named}。" if found.left else "")
            + ("読み取らなかった部分があります。" if found.unread else "")
            + "原本（受信メールの記録）に含まれています。")


_AUTH_RESULT = re.compile(r"^\s*(dmarc|dkim|spf)\s*=\s*(\w+)(.*)$", re.IGNORECASE | re.DOTALL)
_AUTH_DOMAIN = {"dmarc": "header.from", "dkim": "header.d", "spf": "smtp.mailfrom"}


def sender_check(message, sender: str) -> str:
    """"pass" when the trusted mail server (INQUIRY_TRUSTED_AUTHSERV_ID) says SPF, DKIM or DMARC passed for the
    From: address's domain (or a domain it belongs to); "fail" when it says nothing of the kind; "unchecked" with no
    trusted server configured. Only that server's Authentication-Results count: it removes any a sender wrote."""
    trusted = (current_app.config.get("INQUIRY_TRUSTED_AUTHSERV_ID") or "").strip().lower()
    if not trusted:
        return "unchecked"
    domain = sender.rpartition("@")[2].lower()
    for header in message.get_all("Authentication-Results") or []:
        authserv, _, results = re.sub(r"\([^)]*\)", " ", str(header)).partition(";")
        if (authserv.split() or [""])[0].lower() != trusted:
            continue
        for result in results.split(";"):
            found = _AUTH_RESULT.match(result)
            if not found or found.group(2).lower() != "pass":
                continue
            properties = dict(re.findall(r"([\w.]+)\s*=\s*([^\s;]+)", found.group(3)))
            said = properties.get(_AUTH_DOMAIN[found.group(1).lower()], "").strip('"').lower().rpartition("@")[2]
            if said and (domain == said or domain.endswith("." + said)):
                return "pass"
    return "fail"


def automatic_kind(message, sender: str) -> str | None:
    """"bounce" for a delivery-status notice, "auto_reply" for an out-of-office or list mail, None for a person's."""
    if message.get_content_type() == "multipart/report" or any(p.get_content_type() == "message/delivery-status" for p in message.walk()):
        return "bounce"
    if sender.partition("@")[0].lower() in _BOUNCE_SENDERS or str(message.get("Return-Path", "")).strip() == "<>":
        return "bounce"
    if str(message.get("Auto-Submitted", "no")).strip().lower() != "no":
        return "auto_reply"
    if str(message.get("Precedence", "")).strip().lower() in _AUTO_REPLY_PRECEDENCE:
        return "auto_reply"
    if any(message.get(h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply")):
        return "auto_reply"
    return None


def _content_digest(sender: str, subject: str, body: str, attached: _Files) -> str:
    """What a mail says, whatever its transport headers: the same mail fetched or uploaded again has the same."""
    digest = hashlib.sha256()
    for piece in (sender.lower(), subject, body, *(f"{name}:{hashlib.sha256(data).hexdigest()}" for name, data in attached.kept)):
        digest.update(piece.encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()


def _message_key(message_id: str | None, raw: bytes, content: str | None = None) -> str:
    """A mail is the same mail by its Message-ID *and* what it says: a mail sent first with a later mail's
    Message-ID cannot make the real one vanish. Without a Message-ID, by its original's hash."""
    if message_id and content:
        return f"{message_id[:180]}#{content}"
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}>"


def _message_id_taken(message_id: str) -> bool:
    """Another mail with this Message-ID was taken in (with other content: the same content is AlreadyTaken)."""
    return (db.session.scalar(select(InboundMail.id).where(InboundMail.message_key.startswith(f"{message_id[:180]}#", autoescape=True))
                              .limit(1)) is not None
            or db.session.scalar(select(InboundMail.id).where(InboundMail.message_key == message_id)) is not None  # kept by its id alone
            or db.session.scalar(select(InquiryMessage.id).where(InquiryMessage.email_message_id == message_id)) is not None)


def mail_date(message) -> datetime | None:
    """The mail's own Date header, when it reads as a date with its zone (one without is taken as Japan time)."""
    try:
        sent = parsedate_to_datetime(str(message.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None
    return sent if sent.tzinfo is not None else sent.replace(tzinfo=JST)


def _join(message, sender: str, sender_name: str, subject: str, body: str, message_id: str | None,
          collided: str | None, attached: _Files, actor: User | None):
    """The mail as a message of its thread (or a new inquiry), with its sender's check, its files and the notes on
    what was left out or looked doubtful."""
    checked = sender_check(message, sender)
    doubt = ("Message-IDが既に取り込んだ別のメールと同じで内容が異なる" if collided else
             "送信元の認証（SPF・DKIM・DMARC）に合格していない" if checked == "fail" else "")
    result = _thread(message, sender, sender_name[:LIMITS["name"]], subject, body, message_id, actor, doubt)
    result.message.sender_check = checked
    result.message.sent_at = mail_date(message)
    for name, data in attached.kept:
        _attach(result.message, name, data)
    if note := _left_note(attached):
        db.session.add(InquiryMessage(inquiry=result.inquiry, kind="note", at=now(), body=note))
    if collided:
        db.session.add(InquiryMessage(inquiry=result.inquiry, kind="note", at=now(), body=(
            f"このメールのMessage-ID {collided} は、既に取り込んだ別のメールと同じです。内容が異なるため別のメールとして"
            "取り込み、差出人を確認待ちにしました。なりすましなどでないか、原本で確かめてください。")))
    return result


def take_in(raw: bytes, *, source: str, actor: User | None, too_large: bool = False) -> Imported:
    """One mail, in the caller's transaction: a reply joins its thread (or the thread it was merged into); a reply to
    a thread closed over 14 days ago opens a new inquiry linked to it; mail from another address than the
    inquiry's joins the thread flagged and reopens nothing until staff confirm it; bounces and automatic replies
    are recorded and become nothing; attachments are kept (or listed with why not). Every mail is recorded in
    ``InboundMail`` with its original, once: a second arrival of the same mail raises AlreadyTaken.
    ``too_large``: ``raw`` holds only the headers of a mail over the size limit (its original stays in the mailbox)."""
    try:
        message = message_from_bytes(raw, policy=email_policy.default)
        sender_name, sender = (strip_control(part) for part in parseaddr(str(message.get("From", ""))))
        subject = re.sub(r"\s*[\r\n\t]+\s*", " ", strip_control(str(message.get("Subject", "")))).strip()[:200]
        message_id = re.sub(r"\s+", "", strip_control(str(message.get("Message-ID", ""))))[:250] or None
        body_part = None if too_large else _body_part(message)
        body = strip_control(_plain_body(body_part))  # the same rule as typed input (a NUL would fail on PostgreSQL)
        attached = _Files([], [], False) if too_large else _files_of(message, body_part)
    except Exception as exc:  # a broken mail must never reach anyone as a 500, nor stop the mailbox
        return _unreadable(raw, source, f"メールを読み取れませんでした（{type(exc).__name__}）", actor)
    if too_large:
        limit = current_app.config["INQUIRY_MAIL_MAX_BYTES"] // 1024 // 1024
        body = (f"（このメールは{limit}MBを超えるため、本文と添付ファイルを取り込んでいません。"
                "原本はメールボックスの処理済みフォルダにあります。）")
    key = _message_key(message_id, raw, _content_digest(sender, subject, body, attached))
    if db.session.scalar(select(InboundMail.id).where(InboundMail.message_key == key)) is not None:
        raise AlreadyTaken("このメールは既に取り込まれています。", "file")  # the same mail again
    collided = message_id if message_id and _message_id_taken(message_id) else None
    if collided:
        message_id = None  # the thread keeps the first mail's Message-ID; this one is flagged instead
    record = InboundMail(message_key=key, source=source, from_email=sender[:254], subject=subject, size_bytes=len(raw),
                         raw_sha256=files.store(raw), outcome="unreadable", at=now())
    db.session.add(record)
    db.session.flush()  # two workers taking the same mail: the second stops here, at the unique key
    if not sender or "@" not in sender:
        record.reason = "差出人がありません"
        return Imported(None, False, record.reason, "unreadable")
    if (kind := automatic_kind(message, sender)) is not None:
        record.outcome, record.reason = kind, _bounced(raw, record) if kind == "bounce" else "自動応答のため受付していません"
        return Imported(db.session.get(Inquiry, record.inquiry_id) if record.inquiry_id else None, False, record.reason, kind)
    body = (body or "（本文なし）")[:LIMITS["body"]]
    try:
        with db.session.begin_nested():  # a refusal keeps the record of the mail, and nothing of a half-made inquiry
            result = _join(message, sender, sender_name, subject, body, message_id, collided, attached, actor)
    except RuleViolation as refused:
        if source == "upload":
            raise
        # From the mailbox, a mail Banso cannot take as an inquiry (a sender address it cannot answer, say) must not
        # come back every minute: it is recorded with the reason and its original, for staff to record by hand.
        record.reason = f"受付できませんでした（{refused.message}）原本から内容を確認し、必要なら記録してください"[:300]
        return Imported(None, False, record.reason, "unreadable")
    record.outcome, record.reason, record.inquiry_id = result.outcome, result.reason[:300], result.inquiry.id
    return Imported(result.inquiry, result.created, result.reason, result.outcome)


@dataclass
class _Threaded:
    inquiry: Inquiry
    message: InquiryMessage
    created: bool
    reason: str
    outcome: str


def _thread(message, sender: str, sender_name: str, subject: str, body: str, message_id: str | None,
            actor: User | None, doubt: str = "") -> _Threaded:
    inquiry, reason = _thread_of(message)
    replied_to = inquiry  # after a merge, its own inquirer still writes as themselves
    while inquiry is not None and inquiry.merged_into is not None:
        inquiry, reason = inquiry.merged_into, reason + "（統合先のスレッド）"
    at = now()
    if inquiry is not None and inquiry.status == InquiryStatus.CLOSED and inquiry.closed_at and at - inquiry.closed_at > REOPEN_WITHIN:
        data = {"org_type": inquiry.org_type, "category": inquiry.category, "name": inquiry.name, "email": sender,
                "organisation": inquiry.organisation, "prefecture": inquiry.prefecture,
                "municipality_code": inquiry.municipality.code if inquiry.municipality else "",
                "subject": subject or inquiry.subject, "body": body}
        created = receive(data, channel="email", actor=actor, email_message_id=message_id, follows=inquiry)
        return _Threaded(created, created.messages[0], True,
                         f"{inquiry.receipt_number} は完了から14日を過ぎているため、新しいお問い合わせとして受け付けました", "new")
    if inquiry is None:
        data = {"org_type": "other", "category": "other", "name": (sender_name or sender)[:LIMITS["name"]], "email": sender,
                "subject": subject or "（件名なし）", "body": body}
        created = receive(data, channel="email", actor=actor, email_message_id=message_id)
        return _Threaded(created, created.messages[0], True, "該当するスレッドがないため、新しいお問い合わせとして受け付けました", "new")
    if doubt or sender.lower() not in {(inquiry.email or "").lower(), (replied_to.email or "").lower()}:
        doubt = doubt or "差出人が登録のアドレスと異なる"
        # Anyone can write a receipt number into a subject: mail from another address (or reusing another mail's
        # Message-ID, or failing the mail server's sender authentication) is shown on the thread, flagged, and
        # reopens nothing until staff confirm it comes from the inquirer's side (confirm_sender).
        added = InquiryMessage(inquiry=inquiry, kind="incoming", body=body, from_email=sender, at=at,
                               email_message_id=message_id, sender_unconfirmed=True)
        db.session.add(added)
        audit.record("incoming", inquiry, actor=actor, summary=f"{inquiry.receipt_number} に{sender}からのメールを追加（{doubt}ため確認待ち）")
        return _Threaded(inquiry, added, False, f"{reason}で {inquiry.receipt_number} のスレッドに追加しましたが、{doubt}ため"
                                               "確認待ちです。同じ方からのものと確認できたら「確認して再開」を押してください", "unconfirmed")
    added = add_incoming(inquiry, body, from_email=sender, email_message_id=message_id, actor=actor)
    return _Threaded(inquiry, added, False, f"{reason}により {inquiry.receipt_number} のスレッドに追加しました", "thread")


def _unreadable(raw: bytes, source: str, reason: str, actor: User | None) -> Imported:
    if source == "upload":
        raise InputError(f"{reason}。.eml 形式で保存したメールを選んでください。", "file")
    key = _message_key(None, raw)
    if db.session.scalar(select(InboundMail.id).where(InboundMail.message_key == key)) is not None:
        raise AlreadyTaken("このメールは既に取り込まれています。", "file")
    db.session.add(InboundMail(message_key=key, source=source, size_bytes=len(raw), raw_sha256=files.store(raw),
                               outcome="unreadable", reason=reason[:300], at=now()))
    return Imported(None, False, reason, "unreadable")


def _bounced(raw: bytes, record: InboundMail) -> str:
    """A delivery-status notice for one of our replies: the inquiry gets an internal note, for staff to reach the
    inquirer another way."""
    for found in _OUR_NOTIFICATION.findall(raw):
        notification_id = parse_id(found.decode())
        notification = db.session.get(Notification, notification_id) if notification_id else None
        if notification is None or notification.object_type != "Inquiry":
            continue
        inquiry = db.session.get(Inquiry, notification.object_id)
        if inquiry is None:
            continue
        record.inquiry_id = inquiry.id
        db.session.add(InquiryMessage(inquiry=inquiry, kind="note", at=now(),
                                      body=f"送信したメール「{notification.subject}」が {notification.recipient_email} に届かず、配送不能通知が戻りました。"
                                           "アドレスを確かめ、電話など別の方法で連絡してください。"))
        audit.record("bounce", inquiry, actor=None, summary=f"{inquiry.receipt_number} への送信メールが配送不能で戻りました")
        return f"配送不能通知（{inquiry.receipt_number} への送信メール）: スレッドに内部メモを残しました"
    return "配送不能通知のため受付していません"


def _attach(message: InquiryMessage, name: str, data: bytes) -> InquiryAttachment:
    """A received file: kept when it is of a kind Banso keeps and within the limit, else listed with why not."""
    limit = current_app.config["INQUIRY_ATTACHMENT_MAX_BYTES"]
    content_type, refused = (None, "空のファイル") if not data else \
        (None, f"{limit // 1024 // 1024}MBを超えるため保存していません") if len(data) > limit else files.kind_of(name, data)
    attachment = InquiryAttachment(message=message, filename=name, size_bytes=len(data),
                                   content_type=content_type or "application/octet-stream",
                                   sha256=files.store(data) if content_type else None,
                                   refused_reason=(refused + "。元のメールに含まれています")[:200] if refused else "")
    db.session.add(attachment)
    return attachment


def _thread_of(message) -> tuple[Inquiry | None, str]:
    """By In-Reply-To / References (our notices carry <notification-N@banso.local>), else a receipt number in the subject."""
    ids = " ".join(str(message.get(h, "")) for h in ("In-Reply-To", "References"))
    for notification_id in re.findall(r"<notification-(\d+)@banso\.local>", ids):
        notification = db.session.get(Notification, int(notification_id))
        if notification is not None and notification.object_type == "Inquiry":
            return db.session.get(Inquiry, notification.object_id), "返信先のメッセージID"
    for message_id in re.findall(r"<[^>]+>", ids):
        found = db.session.scalar(select(InquiryMessage).where(InquiryMessage.email_message_id == message_id))
        if found is not None:
            return found.inquiry, "返信先のメッセージID"
    match = RECEIPT.search(str(message.get("Subject", "")))
    if match:
        found = db.session.scalar(select(Inquiry).where(Inquiry.receipt_number == match.group(0)))
        if found is not None:
            return found, f"件名の受付番号 {match.group(0)}"
    return None, ""


def import_eml(data: bytes, *, actor: User) -> Imported:
    """A saved e-mail (.eml, any Japanese encoding) uploaded by staff: taken in as the mailbox takes mail in."""
    if not data or len(data) > current_app.config["EML_MAX_BYTES"]:
        raise InputError("メールファイルが空か、大きすぎます（10MBまで）。", "file")
    result = take_in(data, source="upload", actor=actor)
    if result.outcome == "unreadable":
        raise InputError(f"メールファイルを読み取れませんでした（{result.reason}）。.eml 形式で保存したメールを選んでください。", "file")
    return result
