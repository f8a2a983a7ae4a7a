"""Inquiries (INQ-1) as they arrive: checked fields and the hourly limit, receipt numbers, due dates in business days,
the public form, and the inquirer's status link (what their side of a thread shows)."""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import redis
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from banso import queue
from banso.business_days import add_business_days
from banso.clock import JST, now
from banso.extensions import db
from banso.formatting import strip_control, wareki
from banso.models import Application, Municipality, Phase, Team, User
from banso.policies import inquiries as policy
from banso.models.inquiry import (CATEGORIES, CHANNELS, ORG_TYPES, Inquiry, InquiryMessage, InquiryStatus, ReceiptCounter)
from banso.reference import PREFECTURES
from banso.services import (InputError, InputProblems, NotPermitted, audit,
                            notifications, phases)


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
                      submitted_by_id=actor.id if actor is not None and policy.asks_as_officer(actor) else None)
    link_related(inquiry)
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
    if actor is not None and policy.asks_as_officer(actor):
        return phases.own_team_phase(actor)
    return None


def link_related(inquiry: Inquiry) -> None:
    """The municipality's application and team of the phase, for the thread's links."""
    if inquiry.municipality is None or inquiry.phase is None:
        return
    inquiry.application = db.session.scalar(select(Application).where(Application.municipality_id == inquiry.municipality.id,
                                                                      Application.phase_id == inquiry.phase.id))
    inquiry.team = db.session.scalar(select(Team).where(Team.municipality_id == inquiry.municipality.id,
                                                        Team.phase_id == inquiry.phase.id))


def shown_to_inquirer(message: InquiryMessage) -> bool:
    """What the inquirer's side sees of a thread (an officer's own page, the status link): their messages and our
    replies; never internal notes, nor mail from another address nobody has confirmed."""
    return message.kind != "note" and not message.sender_unconfirmed
