"""問い合わせ (INQ-1): every inquiry — by the public form, e-mail or phone — is recorded with a
receipt number, an owner, a due date in business days and its whole thread, and is answered
from Banso through the outbox.

Business days (banso/business_days.py) exclude weekends, national holidays and the year-end closure
12/29–1/3. The response clock pauses while the secretariat waits for the inquirer.
"""
from __future__ import annotations

import hashlib
import logging
import re
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.utils import parseaddr

import redis
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified

from banso import queue
from banso.business_days import add_business_days
from banso.clock import JST, now
from banso.extensions import db
from banso.formatting import parse_id, strip_control, wareki
from banso.models import Application, Municipality, Notification, Phase, Role, Team, User
from banso.models.inquiry import (CATEGORIES, CHANNELS, MAIL_OUTCOMES, OPEN_STATUSES, ORG_TYPES, FaqEntry, InboundMail,
                                  Inquiry, InquiryAttachment, InquiryMessage, InquiryStatus, ReceiptCounter, ReplyTemplate)
from banso.policies import inquiries as policy
from banso.reference import PREFECTURES
from banso.services import (EditedMeanwhile, InputError, InputProblems, NotPermitted, RuleViolation, WrongState, audit,
                            check_version, files, notifications, phases)

log = logging.getLogger(__name__)
SIGNATURE = "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室\n地方創生伴走支援制度 担当"
RECEIPT = re.compile(r"問-(\d{4})-(\d{4,})")
REOPEN_WITHIN = timedelta(days=14)
SINGLE_LINE = ("name", "organisation", "phone", "email", "subject")
LIMITS = {"name": 100, "organisation": 200, "phone": 30, "subject": 200, "body": 10_000}


# --- business days (banso/business_days.py) --------------------------------------------------

def due_date(received: datetime) -> datetime:
    """17:00 JST on the N-th business day after receipt (N = INQUIRY_TARGET_DAYS)."""
    day = add_business_days(received.astimezone(JST).date(), current_app.config["INQUIRY_TARGET_DAYS"])
    return datetime.combine(day, time(17), JST)


# --- receiving ------------------------------------------------------------------------------

def _next_receipt_number(at: datetime) -> str:
    """問-2026-0001: numbered per calendar year, under the counter row's lock."""
    year = at.astimezone(JST).year
    if db.session.get(ReceiptCounter, year) is None:
        try:
            with db.session.begin_nested():
                db.session.add(ReceiptCounter(year=year, last=0))
        except IntegrityError:
            pass  # another request created it first
    db.session.execute(update(ReceiptCounter).where(ReceiptCounter.year == year).values(last=ReceiptCounter.last + 1)
                       .execution_options(synchronize_session=False))
    last = db.session.scalar(select(ReceiptCounter.last).where(ReceiptCounter.year == year))
    return f"問-{year}-{last:04d}"


def check_fields(data: dict, *, require_email: bool) -> dict:
    """Every field of an inquiry checked, and every problem reported at once (InputProblems), in the form's order.
    Text stays text."""
    clean = {k: strip_control(data.get(k) or "").strip() if isinstance(data.get(k, ""), str) else data.get(k) for k in data}
    for name in SINGLE_LINE:  # a line break in a name or subject would break every later e-mail of the inquiry
        if clean.get(name):
            clean[name] = re.sub(r"\s*[\r\n\t]+\s*", " ", clean[name])
    problems: list[tuple[str, str]] = []
    if clean.get("org_type") not in ORG_TYPES:
        problems.append(("org_type", "所属の種類を選んでください。"))
    if clean.get("prefecture") and clean["prefecture"] not in PREFECTURES:
        problems.append(("prefecture", f"都道府県「{clean['prefecture']}」は選択肢にありません。"))
    municipality = None
    if clean.get("municipality_code"):
        municipality = db.session.scalar(select(Municipality).where(Municipality.code == clean["municipality_code"]))
        if municipality is None:
            problems.append(("municipality_code", "市区町村を一覧から選んでください。"))
    elif clean.get("org_type") == "municipality" and not clean.get("organisation"):
        problems.append(("municipality_code", "市区町村を選ぶか、団体名を入力してください。"))
    if not clean.get("name"):
        problems.append(("name", "お名前を入力してください。"))
    email = clean.get("email") or ""
    if email or require_email:
        try:
            clean["email"] = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            problems.append(("email", "メールアドレスを入力してください（例: tanaka@example.lg.jp）。" if not email else
                             "メールアドレスの形式が正しくありません（例: tanaka@example.lg.jp）。"))
    if clean.get("category") not in CATEGORIES:
        problems.append(("category", "お問い合わせの分類を選んでください。"))
    for name, label in (("subject", "件名"), ("body", "お問い合わせ内容")):
        if not clean.get(name):
            problems.append((name, f"{label}を入力してください。"))
    for name, limit in LIMITS.items():
        if len(clean.get(name) or "") > limit:
            problems.append((name, f"{'本文' if name == 'body' else '入力'}が長すぎます（{limit:,}文字まで）。"))
    if len(problems) == 1:
        raise InputError(problems[0][1], problems[0][0])
    if problems:
        raise InputProblems(problems)
    clean["municipality"] = municipality
    return clean


def rate_refused() -> str:
    contact = current_app.config.get("SECRETARIAT_CONTACT")
    return ("短時間に多くのお問い合わせをいただいたため、受付を一時停止しています。1時間ほどおいて再度お送りください。"
            + (f"お急ぎの場合は、{contact}までお電話でご連絡ください。" if contact else ""))


def check_rate(email: str, address: str | None) -> None:
    """At most INQUIRY_LIMIT_PER_HOUR submissions an hour per e-mail address and four times that per IP address,
    counted in Redis. While Redis is down the database counts instead: the form's inquiries of the last hour from
    this e-mail address, and from everyone (a flood), so an outage neither loses a question nor opens the gate."""
    limit = current_app.config["INQUIRY_LIMIT_PER_HOUR"]
    try:
        connection = queue.connection()
        for key in [f"email:{email.lower()}", f"ip:{address}" if address else None]:
            if key is None:
                continue
            name = "banso:contact:" + hashlib.sha256(key.encode()).hexdigest()
            count = connection.incr(name)
            if count == 1:
                connection.expire(name, 3600)
            if count > limit * (4 if key.startswith("ip:") else 1):
                raise NotPermitted(rate_refused())
    except (redis.RedisError, OSError) as exc:
        log.warning("問い合わせの送信回数をRedisで確認できませんでした（データベースで確認します）: %s", exc)
        since = now() - timedelta(hours=1)
        recent = select(func.count()).select_from(Inquiry).where(Inquiry.channel == "form", Inquiry.received_at >= since)
        # This inquiry is already counted (it was written before the check, and goes if refused).
        if db.session.scalar(recent.where(func.lower(Inquiry.email) == email.lower())) > limit \
                or db.session.scalar(recent) > limit * current_app.config["INQUIRY_FLOOD_FACTOR"]:
            raise NotPermitted(rate_refused()) from None


def receive(data: dict, *, channel: str, actor: User | None, at: datetime | None = None, email_message_id: str | None = None,
            follows: Inquiry | None = None, acknowledge: bool = True) -> Inquiry:
    """Record a new inquiry and its first message; the inquirer gets the receipt number by e-mail."""
    if channel not in CHANNELS:
        raise InputError("受付の経路を選んでください。", "channel")
    clean = check_fields(data, require_email=channel in ("form", "email"))
    at = at or now()
    municipality = clean["municipality"]
    phase = _phase_about(municipality, actor)
    inquiry = Inquiry(receipt_number=_next_receipt_number(at), phase=phase, channel=channel, org_type=clean["org_type"],
                      municipality=municipality, prefecture=clean.get("prefecture") or (municipality.prefecture if municipality else ""),
                      organisation=clean.get("organisation") or (municipality.full_name if municipality else ""),
                      name=clean["name"], email=clean.get("email") or "", phone=clean.get("phone") or "",
                      category=clean["category"], subject=clean["subject"], received_at=at, due_at=due_date(at),
                      last_message_at=at, follows=follows,
                      submitted_by_id=actor.id if actor is not None and actor.has_role(Role.OFFICER) else None)
    _link_related(inquiry)
    db.session.add(inquiry)
    db.session.add(InquiryMessage(inquiry=inquiry, kind="incoming", body=clean["body"], from_email=inquiry.email, at=at,
                                  email_message_id=email_message_id))
    db.session.flush()
    audit.record("receive", inquiry, actor=actor, summary=f"{inquiry.receipt_number} を受付（{inquiry.channel_label}・{inquiry.category_label}）{inquiry.subject}")
    if acknowledge and inquiry.email:
        notifications.notify(key=f"inquiry-{inquiry.id}-receipt", kind="inquiry_receipt", obj=inquiry,
                             recipient_email=inquiry.email, recipient_name="", recipient_user=inquiry.submitted_by,
                             subject=f"【地方創生伴走支援】お問い合わせを受け付けました（{inquiry.receipt_number}）",
                             # Nothing the sender typed is repeated (name, subject): the official sender must not carry
                             # someone's text to an address they entered.
                             body=(f"お問い合わせいただいた方へ\n\nお問い合わせを受け付けました。受付番号は {inquiry.receipt_number} です。\n"
                                   f"回答の目安は {wareki(inquiry.due_at)} です。このメールに返信いただくと、同じお問い合わせとして記録されます。\n"
                                   f"対応の状況と回答は、次のページでご覧になれます（このメールをお持ちの方だけが開けるアドレスです）。\n{status_url(inquiry)}\n"
                                   f"お心当たりのない場合は、このメールを破棄してください。\n\n{SIGNATURE}"))
    return inquiry


def status_url(inquiry: Inquiry) -> str:
    """The inquirer's status page, by a link signed with the secret key (no account needed). It names the inquiry and
    works until the inquiry's retention ends (INQUIRY_RETENTION_DAYS after it is closed)."""
    token = _status_signer().dumps([inquiry.id, inquiry.receipt_number])
    return f"{current_app.config['BASE_URL']}/contact/status/{token}"


@dataclass
class StatusView:
    inquiry: Inquiry   # the inquiry the link names: its receipt number and subject
    state: Inquiry     # where its thread goes on after a merge: the status shown
    thread: list       # what this inquirer wrote and was sent, nothing of anyone else's


def status_view(token: str) -> StatusView | None:
    """The inquirer's status page from the link they were sent, while its retention lasts; None for a forged,
    altered or expired link. Merged into another inquiry, the link still shows only its own inquirer's side:
    their own inquiry's messages, and in the thread it joined what came from their address or went to it — never
    the other inquirer's messages, address or telephone number."""
    try:
        inquiry_id, receipt_number = _status_signer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    own = db.session.get(Inquiry, inquiry_id) if isinstance(inquiry_id, int) else None
    if own is None or own.receipt_number != receipt_number:
        return None
    state = own.merged_into or own  # merging keeps one level: a merged inquiry's duplicates move with it
    retention = timedelta(days=current_app.config["INQUIRY_RETENTION_DAYS"])
    if state.status == InquiryStatus.CLOSED and state.closed_at and now() - state.closed_at > retention:
        return None
    address = (own.email or "").lower()

    def theirs(m: InquiryMessage) -> bool:  # by address, in either inquiry: a merged inquirer's later mail joins ours
        sent_by = (m.from_email if m.kind == "incoming" else m.notification.recipient_email if m.notification else "")
        if not address or not sent_by:
            return m.inquiry_id == own.id
        return sent_by.lower() == address

    messages = db.session.scalars(select(InquiryMessage).options(joinedload(InquiryMessage.notification),
                                                                 selectinload(InquiryMessage.attachments))
                                  .where(InquiryMessage.inquiry_id.in_({own.id, state.id}))
                                  .order_by(InquiryMessage.at, InquiryMessage.id))
    return StatusView(own, state, [m for m in messages if shown_to_inquirer(m) and theirs(m)])


def _status_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="inquiry-status")


def submit_form(data: dict, *, address: str | None, actor: User | None) -> Inquiry:
    """The public form. The hourly limit is checked after the fields, so correcting a mistake costs nothing;
    over the limit, the caller's rollback leaves nothing stored."""
    inquiry = receive(data, channel="form", actor=actor)
    check_rate(inquiry.email, address)
    return inquiry


def _phase_about(municipality: Municipality | None, actor: User | None) -> Phase | None:
    """The phase an inquiry is about, from the sender's work, never from which phase was created last: of the live
    phases (services/phases.py), the one where the municipality has a team, else where it answered the survey; an
    officer's own team's phase; else none (a general question belongs to no phase)."""
    live = phases.live_phases()
    if municipality is not None and live:
        ids = [p.id for p in live]
        with_team = set(db.session.scalars(select(Team.phase_id).where(Team.municipality_id == municipality.id, Team.phase_id.in_(ids))))
        answered = set(db.session.scalars(select(Application.phase_id).where(Application.municipality_id == municipality.id,
                                                                            Application.phase_id.in_(ids))))
        found = next((p for p in live if p.id in with_team), None) or next((p for p in live if p.id in answered), None)
        if found is not None:
            return found
    if actor is not None and actor.has_role(Role.OFFICER):
        return phases.own_team_phase(actor)
    return None


def _link_related(inquiry: Inquiry) -> None:
    """The municipality's application and team of the phase, for the thread's links."""
    if inquiry.municipality is None or inquiry.phase is None:
        return
    inquiry.application = db.session.scalar(select(Application).where(Application.municipality_id == inquiry.municipality.id,
                                                                      Application.phase_id == inquiry.phase.id))
    inquiry.team = db.session.scalar(select(Team).where(Team.municipality_id == inquiry.municipality.id,
                                                        Team.phase_id == inquiry.phase.id))


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
            checked = sender_check(message, sender)
            doubt = ("Message-IDが既に取り込んだ別のメールと同じで内容が異なる" if collided else
                     "送信元の認証（SPF・DKIM・DMARC）に合格していない" if checked == "fail" else "")
            result = _thread(message, sender, sender_name[:LIMITS["name"]], subject, body, message_id, actor, doubt)
            result.message.sender_check = checked
            for name, data in attached.kept:
                _attach(result.message, name, data)
            if note := _left_note(attached):
                db.session.add(InquiryMessage(inquiry=result.inquiry, kind="note", at=now(), body=note))
            if collided:
                db.session.add(InquiryMessage(inquiry=result.inquiry, kind="note", at=now(), body=(
                    f"このメールのMessage-ID {collided} は、既に取り込んだ別のメールと同じです。内容が異なるため別のメールとして"
                    "取り込み、差出人を確認待ちにしました。なりすましなどでないか、原本で確かめてください。")))
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


def add_incoming(inquiry: Inquiry, body: str, *, from_email: str = "", email_message_id: str | None = None,
                 actor: User | None) -> InquiryMessage:
    """A new message from the inquirer reopens the inquiry and restarts its clock."""
    at = now()
    message = InquiryMessage(inquiry=inquiry, kind="incoming", body=body.strip(), from_email=from_email, at=at,
                             email_message_id=email_message_id)
    db.session.add(message)
    _reopen(inquiry, at, actor, f"{inquiry.receipt_number} に先方からのメッセージを追加")
    return message


def _reopen(inquiry: Inquiry, at: datetime, actor: User | None, what: str) -> None:
    before = inquiry.status
    if inquiry.status != InquiryStatus.NEW:
        inquiry.status = InquiryStatus.IN_PROGRESS
    if before in (InquiryStatus.ANSWERED, InquiryStatus.CLOSED, InquiryStatus.WAITING):
        inquiry.due_at, inquiry.waiting_since, inquiry.closed_at = due_date(at), None, None
    inquiry.last_message_at = at
    audit.record("incoming", inquiry, actor=actor, summary=f"{what}（{InquiryStatus(before).label} → {inquiry.status_label}）",
                 before={"status": before}, after={"status": inquiry.status})


def confirm_sender(message: InquiryMessage, *, actor: User, expected_version=None) -> InquiryMessage:
    """Staff confirm that mail from another address comes from the inquirer's side: it now counts as theirs
    (reopens the inquiry and restarts its clock as any message of theirs does)."""
    inquiry = message.inquiry
    check_version(inquiry, expected_version, INQUIRY_FIELDS)
    _staff(actor, inquiry)
    if not message.sender_unconfirmed:
        raise WrongState("このメールは確認済みです。")
    message.sender_unconfirmed = False
    _reopen(inquiry, now(), actor, f"{inquiry.receipt_number} の {message.from_email} からのメールを確認し、スレッドに含めました")
    return message


# --- answering ------------------------------------------------------------------------------

def _staff(actor: User, inquiry: Inquiry) -> None:
    if not policy.may_handle(inquiry, actor):
        raise NotPermitted("このお問い合わせに対応する権限がありません。")
    if inquiry.merged_into_id is not None:
        raise WrongState(f"このお問い合わせは {inquiry.merged_into.receipt_number} に統合されています。統合先で対応してください。")


# What a stale page is shown of the inquiry as saved (services.check_version).
INQUIRY_FIELDS = {"status_label": "状態", "assignee_name": "担当"}


class ReplyCrossed(EditedMeanwhile):
    """Another reply went out since this page was opened: the sender reads it, then sends again (or not)."""


def reply(inquiry: Inquiry, body: str, *, actor: User, close: bool = False, wait: bool = False, expected_version=None,
          seen_message_id=None, forward_ids=(), uploads=()) -> InquiryMessage:
    """A reply is sent by e-mail through the outbox (shown as sent once delivered); the inquiry is 回答済, or 完了
    (``close``), or 回答待ち(先方) (``wait``: the help desk reminds the inquirer, then closes). It may carry files of
    the thread (``forward_ids``) and new ones (``uploads``: (name, bytes)), within what the mail relay accepts.
    ``seen_message_id``: the last message on the page when it was opened; a reply sent since by someone else is
    named and this one waits for the sender to send it again."""
    _check_not_crossed(inquiry, seen_message_id, actor)
    check_version(inquiry, expected_version, INQUIRY_FIELDS)
    _staff(actor, inquiry)
    body = (body or "").strip()
    if not body:
        raise InputError("回答の本文を入力してください。", "body")
    if len(body) > LIMITS["body"]:
        raise InputError(f"回答が長すぎます（{LIMITS['body']:,}文字まで）。", "body")
    if not inquiry.email:
        raise WrongState("メールアドレスが登録されていないため、メールで回答できません。電話等で回答し、内部メモに記録してください。", "body")
    files_out = _reply_files(inquiry, forward_ids, uploads, len(body))
    at = now()
    message = InquiryMessage(inquiry=inquiry, kind="reply", body=body, author_id=actor.id, at=at)
    db.session.add(message)
    for name, content_type, size, digest in files_out:
        db.session.add(InquiryAttachment(message=message, filename=name, content_type=content_type, size_bytes=size, sha256=digest))
    db.session.flush()
    notification = notifications.notify(
        key=f"inquiry-{inquiry.id}-reply-{message.id}", kind="inquiry_reply", obj=inquiry,
        recipient_email=inquiry.email, recipient_name=inquiry.name, recipient_user=inquiry.submitted_by,
        subject=f"【地方創生伴走支援】{inquiry.subject}（{inquiry.receipt_number}）",
        body=f"{body}\n\n――――\n受付番号: {inquiry.receipt_number}\nこのメールに返信いただくと、同じお問い合わせとして記録されます。\n{SIGNATURE}")
    notification.attachments = list(message.attachments)
    message.notification_id = notification.id
    before = inquiry.status
    inquiry.status = InquiryStatus.CLOSED if close else InquiryStatus.WAITING if wait else InquiryStatus.ANSWERED
    inquiry.first_response_at = inquiry.first_response_at or at
    flag_modified(inquiry, "status")  # a reply is a new version of the inquiry even when its status stays
    inquiry.closed_at = at if close else None
    inquiry.waiting_since, inquiry.last_message_at = (at if wait and not close else None), at
    if inquiry.assignee_id is None:
        inquiry.assignee_id = actor.id
    audit.record("reply", inquiry, actor=actor, summary=f"{inquiry.receipt_number} に回答（{InquiryStatus(before).label} → {inquiry.status_label}）"
                 + (f"、添付{len(files_out)}件" if files_out else ""),
                 before={"status": before}, after={"status": inquiry.status, "files": [f[0] for f in files_out]})
    return message


def _check_not_crossed(inquiry: Inquiry, seen_message_id, actor: User) -> None:
    seen = parse_id(seen_message_id) if seen_message_id not in (None, "") else None
    if seen is None:
        return
    crossed = db.session.scalars(select(InquiryMessage).options(joinedload(InquiryMessage.author))
                                 .where(InquiryMessage.inquiry_id == inquiry.id, InquiryMessage.kind == "reply",
                                        InquiryMessage.id > seen, InquiryMessage.author_id != actor.id)
                                 .order_by(InquiryMessage.id)).all()
    if crossed:
        last = crossed[-1]
        refusal = ReplyCrossed(f"この画面を開いた後に、{last.author.name if last.author else '他の職員'}さんが"
                               f"{wareki(last.at)} {last.at.astimezone(JST):%H:%M}に回答を送信しています（やりとりの最後に表示しています）。"
                               "内容を確かめ、それでも送る場合はもう一度「回答を送信」を押してください。入力した回答は下に残しています。", "body")
        refusal.version = inquiry.version
        raise refusal


def _reply_files(inquiry: Inquiry, forward_ids, uploads, body_length: int) -> list[tuple[str, str, int, str]]:
    """(name, content type, size, hash) of each file a reply carries: the thread's own (kept ones of this inquiry),
    and uploads checked as received files are; the whole mail, as encoded, within MAIL_MAX_BYTES."""
    chosen = [parse_id(i) for i in forward_ids if parse_id(i)]
    out = []
    if chosen:
        found = db.session.scalars(select(InquiryAttachment).join(InquiryMessage)
                                   .where(InquiryAttachment.id.in_(chosen), InquiryMessage.inquiry_id == inquiry.id,
                                          InquiryAttachment.sha256.is_not(None))).all()
        if len(found) != len(set(chosen)):
            raise InputError("添付するファイルがこのお問い合わせのやりとりにありません。", "forward")
        out += [(a.filename, a.content_type, a.size_bytes, a.sha256) for a in found]
    limit = current_app.config["INQUIRY_ATTACHMENT_MAX_BYTES"]
    for filename, data in uploads:
        name = files.safe_name(filename)
        if not name or not data:
            raise InputError(f"添付ファイル「{name or '（名前なし）'}」が空です。", "files")
        if len(data) > limit:
            raise InputError(f"添付ファイル「{name}」は{len(data) / 1024 / 1024:.1f}MBあります。1ファイル{limit // 1024 // 1024}MBまでです。", "files")
        content_type, refused = files.kind_of(name, data)
        if content_type is None:
            raise InputError(f"添付ファイル「{name}」は送れません: {refused}。", "files")
        out.append((name, content_type, len(data), files.store(data)))
    relay = current_app.config["MAIL_MAX_BYTES"]
    encoded = sum(size for *_, size, _ in out) * 4 // 3 + body_length * 4 + 4096  # base64, and the text's own encoding
    if out and encoded > relay:
        raise InputError(f"添付ファイルが大きすぎて送れません（メール全体で{relay / 1024 / 1024:.0f}MBまで、添付はおよそ"
                         f"{relay * 3 / 4 / 1024 / 1024:.1f}MBまで）。ファイルを分けて送ってください。", "files")
    return out


def add_note(inquiry: Inquiry, body: str, *, actor: User) -> InquiryMessage:
    """An internal note: never sent, never shown to the inquirer."""
    _staff(actor, inquiry)
    if not (body or "").strip():
        raise InputError("メモの内容を入力してください。", "body")
    note = InquiryMessage(inquiry=inquiry, kind="note", body=body.strip()[:LIMITS["body"]], author_id=actor.id)
    db.session.add(note)
    audit.record("note", inquiry, actor=actor, summary=f"{inquiry.receipt_number} に内部メモを追加")
    return note


def set_status(inquiry: Inquiry, status: str, *, actor: User, expected_version=None) -> Inquiry:
    """Any status by hand; waiting for the inquirer pauses the clock, leaving it adds the pause to the due date."""
    check_version(inquiry, expected_version, INQUIRY_FIELDS)
    _staff(actor, inquiry)
    if status not in {s.value for s in InquiryStatus}:
        raise InputError("状態を選んでください。", "status")
    before, at = inquiry.status, now()
    if before == status:
        return inquiry
    if before == InquiryStatus.WAITING and inquiry.waiting_since is not None:
        inquiry.due_at = inquiry.due_at + (at - inquiry.waiting_since)
        inquiry.waiting_since = None
    if status == InquiryStatus.WAITING:
        inquiry.waiting_since = at
    inquiry.closed_at = at if status == InquiryStatus.CLOSED else None
    inquiry.status = status
    audit.record("status", inquiry, actor=actor, summary=f"{inquiry.receipt_number}: {InquiryStatus(before).label} → {inquiry.status_label}",
                 before={"status": before}, after={"status": status})
    return inquiry


def close_unanswered(inquiry: Inquiry, at: datetime) -> Inquiry:
    """The help desk closes an inquiry whose inquirer has not answered (helpdesk.chase_waiting); their answer reopens it."""
    before = inquiry.status
    inquiry.status, inquiry.closed_at, inquiry.waiting_since = InquiryStatus.CLOSED, at, None
    audit.record("status", inquiry, actor=None, summary=f"{inquiry.receipt_number}: 先方からの返信がないため完了（{InquiryStatus(before).label} → 完了）",
                 before={"status": before}, after={"status": InquiryStatus.CLOSED})
    return inquiry


def assign(inquiry: Inquiry, assignee: User | None, *, actor: User, expected_version=None) -> Inquiry:
    check_version(inquiry, expected_version, INQUIRY_FIELDS)
    _staff(actor, inquiry)
    if assignee is not None and not policy.may_be_assigned(assignee):
        raise InputError("担当者は事務局・会計担当の職員から選んでください。", "assignee")
    before = inquiry.assignee.name if inquiry.assignee else None
    inquiry.assignee = assignee
    if inquiry.status == InquiryStatus.NEW and assignee is not None:
        inquiry.status = InquiryStatus.IN_PROGRESS
    audit.record("assign", inquiry, actor=actor, summary=f"{inquiry.receipt_number} の担当を{assignee.name if assignee else '未割当'}に",
                 before={"assignee": before}, after={"assignee": assignee.name if assignee else None})
    return inquiry


def merge(inquiry: Inquiry, target: Inquiry, *, actor: User, expected_version=None) -> Inquiry:
    """A duplicate joins another thread: its messages show there, and replies to it arrive there."""
    check_version(inquiry, expected_version, INQUIRY_FIELDS)
    _staff(actor, inquiry)
    if target.id == inquiry.id:
        raise InputError("同じお問い合わせには統合できません。", "target")
    while target.merged_into is not None:
        target = target.merged_into
    if target.id == inquiry.id:
        raise InputError("統合先がこのお問い合わせに統合されています。", "target")
    inquiry.merged_into_id, inquiry.status, inquiry.closed_at = target.id, InquiryStatus.CLOSED, now()
    db.session.execute(update(Inquiry).where(Inquiry.merged_into_id == inquiry.id).values(merged_into_id=target.id)
                       .execution_options(synchronize_session="fetch"))
    audit.record("merge", inquiry, actor=actor, summary=f"{inquiry.receipt_number} を {target.receipt_number} に統合",
                 after={"merged_into": target.receipt_number})
    return target


def link_municipality(inquiry: Inquiry, code: str, *, actor: User, expected_version=None) -> Inquiry:
    check_version(inquiry, expected_version, INQUIRY_FIELDS)
    _staff(actor, inquiry)
    municipality = db.session.scalar(select(Municipality).where(Municipality.code == (code or "").strip()))
    if municipality is None:
        raise InputError("市区町村を一覧から選んでください。", "municipality_code")
    inquiry.municipality, inquiry.prefecture = municipality, municipality.prefecture
    _link_related(inquiry)
    audit.record("link", inquiry, actor=actor, summary=f"{inquiry.receipt_number} を{municipality.full_name}に関連付け")
    return inquiry


def page_loads() -> list:
    """What an inquiry's page shows of it, loaded with it."""
    return [joinedload(Inquiry.municipality), joinedload(Inquiry.application), joinedload(Inquiry.phase), joinedload(Inquiry.team),
            joinedload(Inquiry.assignee), joinedload(Inquiry.merged_into), joinedload(Inquiry.follows)]


def related(inquiry: Inquiry) -> tuple[list[Inquiry], list[Inquiry]]:
    """(the duplicates merged into it, the inquiries that followed it after it closed), in one statement."""
    found = db.session.scalars(select(Inquiry).where(or_(Inquiry.merged_into_id == inquiry.id, Inquiry.follows_id == inquiry.id))
                               .order_by(Inquiry.id)).all()
    return [i for i in found if i.merged_into_id == inquiry.id], [i for i in found if i.follows_id == inquiry.id]


def thread(inquiry: Inquiry, viewer: User) -> list[InquiryMessage]:
    """The conversation in order, with the messages of the inquiries merged into this one that ``viewer`` may see
    (an officer's own inquiry does not show a citizen's duplicate merged into it)."""
    ids = [inquiry.id] + list(db.session.scalars(select(Inquiry.id).where(Inquiry.merged_into_id == inquiry.id,
                                                                          policy.visible_condition(viewer))))
    return list(db.session.scalars(select(InquiryMessage).options(joinedload(InquiryMessage.author),
                                                                  joinedload(InquiryMessage.notification),
                                                                  selectinload(InquiryMessage.attachments))
                                   .where(InquiryMessage.inquiry_id.in_(ids)).order_by(InquiryMessage.at, InquiryMessage.id)))


def shown_to_inquirer(message: InquiryMessage) -> bool:
    """What the inquirer's side sees of a thread (an officer's own page, the status link): their messages and our
    replies; never internal notes, nor mail from another address nobody has confirmed."""
    return message.kind != "note" and not message.sender_unconfirmed


# --- templates and FAQ ----------------------------------------------------------------------

def fill_template(template: ReplyTemplate, inquiry: Inquiry) -> str:
    return template.body.replace("{氏名}", inquiry.name).replace("{受付番号}", inquiry.receipt_number)


def save_template(title: str, body: str, *, actor: User, template: ReplyTemplate | None = None,
                  expected_version=None) -> ReplyTemplate:
    if template is not None:
        check_version(template, expected_version, {"title": "名前", "body": "本文"})
    title, body = (title or "").strip(), (body or "").strip()
    if not title or not body:
        raise InputError("定型文の名前と本文を入力してください。", "title")
    clash = db.session.scalar(select(ReplyTemplate).where(ReplyTemplate.title == title))
    if clash is not None and clash is not template:
        raise InputError(f"「{title}」という定型文は既にあります。", "title")
    before = audit.snapshot(template, ["title", "body"]) if template is not None else None
    template = template or ReplyTemplate()
    template.title, template.body = title[:100], body[:LIMITS["body"]]
    db.session.add(template)
    audit.record("save_template", template, actor=actor, summary=f"定型文「{template.title}」を保存", before=before,
                 after=audit.snapshot(template, ["title", "body"]))
    return template


def delete_template(template: ReplyTemplate, *, actor: User, expected_version=None) -> None:
    check_version(template, expected_version, {"title": "名前", "body": "本文"})
    audit.record("delete_template", template, actor=actor, summary=f"定型文「{template.title}」を削除", before={"body": template.body})
    db.session.delete(template)


def promote_to_faq(inquiry: Inquiry, question: str, answer: str, *, actor: User) -> FaqEntry:
    _staff(actor, inquiry)
    if inquiry.status not in (InquiryStatus.ANSWERED, InquiryStatus.CLOSED):
        raise WrongState("回答済または完了のお問い合わせだけをFAQにできます。")
    question, answer = (question or "").strip(), (answer or "").strip()
    if not question or not answer:
        raise InputError("FAQの質問と回答を入力してください（個人名や団体名は含めないでください）。", "question")
    entry = FaqEntry(category=inquiry.category, question=question[:2000], answer=answer[:LIMITS["body"]], source_inquiry_id=inquiry.id)
    db.session.add(entry)
    audit.record("promote_faq", inquiry, actor=actor, summary=f"{inquiry.receipt_number} をFAQに掲載")
    return entry


def faq_by_category() -> dict[str, list[FaqEntry]]:
    entries = db.session.scalars(select(FaqEntry).where(FaqEntry.published.is_(True)).order_by(FaqEntry.category, FaqEntry.id))
    grouped: dict[str, list[FaqEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.category, []).append(entry)
    return {key: grouped[key] for key in CATEGORIES if key in grouped}


# --- who sees what, and the lists ------------------------------------------------------------

def can_view(inquiry: Inquiry, user: User) -> bool:
    return db.session.scalar(select(Inquiry.id).where(Inquiry.id == inquiry.id, policy.visible_condition(user))) is not None


def visible_attachment(attachment_id: int, user: User) -> InquiryAttachment | None:
    """A kept file, to someone who may see its message: staff who see the inquiry, or the officer who sent it (not
    notes, nor mail nobody has confirmed)."""
    attachment = db.session.get(InquiryAttachment, attachment_id)
    if attachment is None or not attachment.kept or not can_view(attachment.message.inquiry, user):
        return None
    if not policy.may_handle(attachment.message.inquiry, user) and not shown_to_inquirer(attachment.message):
        return None
    return attachment


def inbound_query(*, q=None, outcome=None):
    stmt = select(InboundMail).options(joinedload(InboundMail.inquiry))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(InboundMail.from_email.like(like), InboundMail.subject.like(like)))
    if outcome in MAIL_OUTCOMES:
        stmt = stmt.where(InboundMail.outcome == outcome)
    return stmt


def original_mail(mail_id: int, *, actor: User) -> InboundMail | None:
    """A mail's original (.eml) for staff, audited: it may hold what no thread shows (a refused file, a bounce)."""
    found = db.session.get(InboundMail, mail_id)
    if found is None or found.raw_sha256 is None:
        return None
    audit.record("download_mail", found, actor=actor, summary=f"受信メールの原本を取得（{found.from_email}・{found.subject}）")
    return found


def list_query(user: User, *, q=None, status=None, category=None, org_type=None, assignee=None, overdue=None, phase_id=None,
               channel=None):
    stmt = (select(Inquiry).options(joinedload(Inquiry.assignee), joinedload(Inquiry.municipality))
            .where(policy.visible_condition(user), Inquiry.merged_into_id.is_(None)))
    if q:
        like = f"%{q.strip()}%"
        in_body = select(InquiryMessage.id).where(InquiryMessage.inquiry_id == Inquiry.id, InquiryMessage.kind != "note",
                                                  InquiryMessage.body.like(like)).exists()
        stmt = stmt.where(or_(Inquiry.subject.like(like), Inquiry.receipt_number.like(like), Inquiry.name.like(like),
                              Inquiry.organisation.like(like), in_body))
    if status in {s.value for s in InquiryStatus}:
        stmt = stmt.where(Inquiry.status == status)
    if category in CATEGORIES:
        stmt = stmt.where(Inquiry.category == category)
    if org_type in ORG_TYPES:
        stmt = stmt.where(Inquiry.org_type == org_type)
    if channel in CHANNELS:
        stmt = stmt.where(Inquiry.channel == channel)
    if assignee == "none":
        stmt = stmt.where(Inquiry.assignee_id.is_(None))
    elif parse_id(assignee):
        stmt = stmt.where(Inquiry.assignee_id == int(assignee))
    if overdue == "1":
        stmt = stmt.where(Inquiry.status.in_(OPEN_STATUSES), Inquiry.due_at < now())
    if parse_id(phase_id):
        stmt = stmt.where(Inquiry.phase_id == int(phase_id))
    return stmt


def status_counts(user: User, *, open_only: bool = False) -> dict[str, int]:
    """Inquiries by status, and how many open ones are past their due time: one grouped statement, answered from the
    index of unmerged inquiries by status and due time (ix_inquiries_unmerged_status_due) without reading the table.
    ``open_only``: the open statuses alone (the home pages), a few rows of the index instead of every closed one.
    One grouped statement over the index of unmerged inquiries."""
    at = now()
    stmt = (select(Inquiry.status, func.count(), func.count().filter(Inquiry.due_at < at))
            .where(policy.visible_condition(user), Inquiry.merged_into_id.is_(None)).group_by(Inquiry.status))
    if open_only:
        stmt = stmt.where(Inquiry.status.in_(OPEN_STATUSES))
    rows = db.session.execute(stmt).all()
    counts = {s.value: 0 for s in InquiryStatus} | {status: n for status, n, _ in rows}
    counts["overdue"] = sum(late for status, _, late in rows if status in OPEN_STATUSES)
    return counts


def handlers() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.role.in_((Role.ADMIN, Role.SECRETARIAT, Role.FINANCE)))
                                   .order_by(User.role, User.name)))


@dataclass
class Report:
    weeks: list[tuple[str, int]]
    categories: list[tuple[str, int]]
    median_first_response_hours: float | None
    overdue: int
    total: int
    sla_rows: list[tuple[str, list[str]]]  # week label → met % per category (and all), "—" where none was due
    handlers: list[tuple[str, int, float | None, float | None, str]]  # name, count, medians, met %
    median_resolution_hours: float | None


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() / 3600


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 1) if values else None


def sla_met(received_at, due_at, first_response_at, at: datetime) -> bool | None:
    """Answered by its due time: True/False, None while it is not yet due and unanswered."""
    if first_response_at is not None:
        return first_response_at <= due_at
    return False if due_at < at else None


def _percent(flags) -> str:
    flags = [f for f in flags if f is not None]
    return f"{100 * sum(flags) / len(flags):.0f}%" if flags else "—"


def report(user: User, weeks: int = 12) -> Report:
    """The last 12 weeks: receipts per week and category, the share answered by the due time (SLA) per week and
    category, the medians of first response and of resolution, and the same per handler."""
    return _report(user, weeks)


def _report(user: User, weeks: int) -> Report:
    today = now().astimezone(JST).date()
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday - timedelta(weeks=weeks - 1), time(0), JST)
    rows = _report_rows(user, start, None)
    at = now()
    per_week = {monday - timedelta(weeks=i): [] for i in range(weeks)}
    for row in rows:
        day = row.received_at.astimezone(JST).date()
        per_week.setdefault(day - timedelta(days=day.weekday()), []).append(row)
    per_category = {key: 0 for key in CATEGORIES}
    for row in rows:
        per_category[row.category] += 1
    sla_rows = []
    for week in sorted(per_week):
        found = per_week[week]
        flags = [(r.category, sla_met(r.received_at, r.due_at, r.first_response_at, at)) for r in found]
        sla_rows.append((f"{week.month}/{week.day}週", [_percent(f for c, f in flags if c == key) for key in CATEGORIES]
                         + [_percent(f for _, f in flags)]))
    counts = status_counts(user)
    return Report(weeks=[(f"{w.month}/{w.day}週", len(per_week[w])) for w in sorted(per_week)],
                  categories=[(CATEGORIES[k], v) for k, v in per_category.items()],
                  median_first_response_hours=_median(_hours(r.received_at, r.first_response_at) for r in rows),
                  median_resolution_hours=_median(_hours(r.received_at, r.closed_at) for r in rows),
                  overdue=counts["overdue"], total=len(rows), sla_rows=sla_rows, handlers=_by_handler(rows, at))


def _report_rows(user: User, start: datetime, end: datetime | None):
    stmt = (select(Inquiry.received_at, Inquiry.due_at, Inquiry.first_response_at, Inquiry.closed_at, Inquiry.category,
                   User.name.label("handler"))
            .outerjoin(User, Inquiry.assignee_id == User.id)
            .where(policy.visible_condition(user), Inquiry.merged_into_id.is_(None), Inquiry.received_at >= start))
    if end is not None:
        stmt = stmt.where(Inquiry.received_at < end)
    return db.session.execute(stmt).all()


def _by_handler(rows, at: datetime) -> list[tuple[str, int, float | None, float | None, str]]:
    grouped: dict[str, list] = {}
    for row in rows:
        grouped.setdefault(row.handler or "未割当", []).append(row)
    return [(name, len(found), _median(_hours(r.received_at, r.first_response_at) for r in found),
             _median(_hours(r.received_at, r.closed_at) for r in found),
             _percent(sla_met(r.received_at, r.due_at, r.first_response_at, at) for r in found))
            for name, found in sorted(grouped.items(), key=lambda item: (-len(item[1]), item[0]))]


def parse_month(value: str | None) -> date | None:
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", (value or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)


def report_months(count: int = 12) -> list[date]:
    first = now().astimezone(JST).date().replace(day=1)
    months = []
    for _ in range(count):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return months


@dataclass
class MonthlyReport:
    month: date
    figures: list[tuple[str, object]]
    categories: list[tuple[str, int, float | None, float | None, str]]
    handlers: list[tuple[str, int, float | None, float | None, str]]
    inquiries: list[Inquiry]

    def sheets(self, inquiry_columns) -> list:
        breakdown = [("区分", lambda r: r[0]), ("件数", lambda r: r[1]), ("初回回答まで（中央値・時間）", lambda r: r[2]),
                     ("完了まで（中央値・時間）", lambda r: r[3]), ("期限内の回答率", lambda r: r[4])]
        return [("概要", [("項目", lambda r: r[0]), ("値", lambda r: r[1])], self.figures),
                ("分類別", breakdown, self.categories), ("担当者別", breakdown, self.handlers),
                ("一覧", inquiry_columns, self.inquiries)]


def monthly_report(user: User, month: date) -> MonthlyReport:
    """One month's inquiries (by receipt date, JST) for the monthly report (Excel)."""
    start = datetime.combine(month, time(0), JST)
    end = datetime.combine((month + timedelta(days=32)).replace(day=1), time(0), JST)
    rows = _report_rows(user, start, end)
    at = now()
    categories = []
    for key, label in CATEGORIES.items():
        found = [r for r in rows if r.category == key]
        categories.append((label, len(found), _median(_hours(r.received_at, r.first_response_at) for r in found),
                           _median(_hours(r.received_at, r.closed_at) for r in found),
                           _percent(sla_met(r.received_at, r.due_at, r.first_response_at, at) for r in found)))
    listed = list(db.session.scalars(select(Inquiry).options(joinedload(Inquiry.assignee))
                                     .where(policy.visible_condition(user), Inquiry.merged_into_id.is_(None),
                                            Inquiry.received_at >= start, Inquiry.received_at < end)
                                     .order_by(Inquiry.received_at)))
    figures = [("対象月", f"{wareki(month).removesuffix('1日')}（{month:%Y-%m}）"),
               ("受付件数", len(rows)),
               ("期限内の回答率", _percent(sla_met(r.received_at, r.due_at, r.first_response_at, at) for r in rows)),
               ("初回回答まで（中央値・時間）", _median(_hours(r.received_at, r.first_response_at) for r in rows)),
               ("完了まで（中央値・時間）", _median(_hours(r.received_at, r.closed_at) for r in rows)),
               ("未完了", sum(1 for i in listed if i.status != InquiryStatus.CLOSED))]
    return MonthlyReport(month, figures, categories, _by_handler(rows, at), listed)
