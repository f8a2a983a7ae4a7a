"""Inquiries (INQ-1) being answered: the inquirer's further messages, replies through the outbox, notes, status,
assignment, merging, and the reply templates and FAQ."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified

from banso.clock import JST, now
from banso.extensions import db
from banso.formatting import parse_id, wareki
from banso.models import Municipality, User
from banso.models.inquiry import (CATEGORIES, FaqEntry, Inquiry, InquiryAttachment, InquiryMessage, InquiryStatus, ReplyTemplate)
from banso.policies import inquiries as policy
from banso.services import (EditedMeanwhile, InputError, NotPermitted, WrongState, audit,
                            check_version, files, notifications)

from banso.services.inquiries.receiving import LIMITS, SIGNATURE, due_date, link_related


# --- the inquirer's side of a thread ----------------------------------------------------------

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
    link_related(inquiry)
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
    if not policy.may_promote(inquiry, actor):
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
