"""問い合わせ (INQ-1): every inquiry, by any channel, with its thread, owner, due date and history."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from banso.clock import now
from banso.extensions import db, one_of
from banso.models.application import Application
from banso.models.municipality import Municipality
from banso.models.phase import Phase
from banso.models.team import Team
from banso.models.user import User

CHANNELS = {"form": "フォーム", "email": "メール", "phone": "電話", "other": "その他"}
ORG_TYPES = {"municipality": "市町村", "prefecture": "都道府県", "officer": "地方創生支援官", "other": "その他"}
CATEGORIES = {"general": "制度全般", "application": "活用希望調査", "matching": "マッチング", "travel": "旅費",
              "activity": "活動", "other": "その他"}
MAIL_OUTCOMES = {"thread": "スレッドに追加", "new": "新規受付", "unconfirmed": "差出人の確認待ち", "bounce": "配送不能通知",
                 "auto_reply": "自動応答", "unreadable": "読み取れないメール"}
MESSAGE_KINDS = {"incoming": "先方から", "reply": "回答", "note": "内部メモ"}


class InquiryStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"        # 回答待ち(先方): the response clock pauses
    ANSWERED = "answered"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {InquiryStatus.NEW: "新規", InquiryStatus.IN_PROGRESS: "対応中", InquiryStatus.WAITING: "回答待ち(先方)",
                 InquiryStatus.ANSWERED: "回答済", InquiryStatus.CLOSED: "完了"}
OPEN_STATUSES = (InquiryStatus.NEW, InquiryStatus.IN_PROGRESS)  # the ones whose due date runs



class Inquiry(db.Model):
    __tablename__ = "inquiries"
    __table_args__ = (
        CheckConstraint(one_of("status", InquiryStatus), name="status_known"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel_known"),
        CheckConstraint(one_of("org_type", ORG_TYPES), name="org_type_known"),
        CheckConstraint(one_of("category", CATEGORIES), name="category_known"),
        CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_itself"),
        Index("ix_inquiries_status_due", "status", "due_at"),
        # The inbox's counts by status and overdue: read from this index alone (merged duplicates are never counted).
        Index("ix_inquiries_unmerged_status_due", "status", "due_at", postgresql_where=text("merged_into_id IS NULL"),
              sqlite_where=text("merged_into_id IS NULL")),
        Index("ix_inquiries_received", "received_at"),  # the inbox, newest first
        Index("ix_inquiries_merged_into", "merged_into_id"),
        Index("ix_inquiries_follows", "follows_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)  # edits check it: a stale form never overwrites (409)
    __mapper_args__ = {"version_id_col": version}  # two saves at the same moment: the second fails, never merges
    receipt_number: Mapped[str] = mapped_column(String(20), unique=True)  # 問-2026-0001
    phase_id: Mapped[int | None] = mapped_column(ForeignKey("phases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    org_type: Mapped[str] = mapped_column(String(20))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"), index=True)
    prefecture: Mapped[str] = mapped_column(String(10), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), default="", index=True)
    phone: Mapped[str] = mapped_column(String(30), default="")
    category: Mapped[str] = mapped_column(String(20), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=InquiryStatus.NEW)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # a signed-in officer
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    received_at: Mapped[datetime] = mapped_column(default=now)
    due_at: Mapped[datetime]
    waiting_since: Mapped[datetime | None]
    anonymised_at: Mapped[datetime | None]  # its personal fields cleared (services/records/personal.py)
    # The due time an admin was last told this inquiry had passed (helpdesk.escalate: each due time once).
    escalated_due_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime] = mapped_column(default=now)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("inquiries.id"))
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("inquiries.id"))  # a new inquiry after a closed thread

    phase: Mapped[Phase | None] = relationship()
    municipality: Mapped[Municipality | None] = relationship()
    application: Mapped[Application | None] = relationship()
    team: Mapped[Team | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    merged_into: Mapped[Inquiry | None] = relationship(remote_side="Inquiry.id", foreign_keys=[merged_into_id])
    follows: Mapped[Inquiry | None] = relationship(remote_side="Inquiry.id", foreign_keys=[follows_id])
    messages: Mapped[list[InquiryMessage]] = relationship(back_populates="inquiry", order_by="InquiryMessage.at, InquiryMessage.id")

    @property
    def assignee_name(self) -> str:
        return self.assignee.name if self.assignee is not None else "未割当"

    @property
    def status_label(self) -> str:
        return InquiryStatus(self.status).label

    @property
    def category_label(self) -> str:
        return CATEGORIES[self.category]

    @property
    def channel_label(self) -> str:
        return CHANNELS[self.channel]

    @property
    def org_type_label(self) -> str:
        return ORG_TYPES[self.org_type]

    @property
    def is_overdue(self) -> bool:
        return self.status in OPEN_STATUSES and self.due_at < now()


class InquiryMessage(db.Model):
    """One entry of a thread: the inquirer's message, our reply (sent through the outbox), or an internal note."""

    __tablename__ = "inquiry_messages"
    __table_args__ = (CheckConstraint(one_of("kind", MESSAGE_KINDS), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_email: Mapped[str] = mapped_column(String(254), default="")
    email_message_id: Mapped[str | None] = mapped_column(String(250), unique=True)  # of an imported mail
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))  # of a reply
    # Mail from an address other than the inquiry's: on the thread, but it reopens nothing until staff confirm it.
    sender_unconfirmed: Mapped[bool] = mapped_column(default=False)
    # A mail's sender as the ministry's mail server authenticated it (Authentication-Results, SPF/DKIM/DMARC):
    # "pass", "fail", or "unchecked" when no trusted server is configured; None for what did not come by mail.
    sender_check: Mapped[str | None] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(default=now)
    sent_at: Mapped[datetime | None]  # a mail's own Date header (when its sender sent it); ``at``: when Banso took it in

    inquiry: Mapped[Inquiry] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()
    notification = relationship("Notification")
    attachments: Mapped[list[InquiryAttachment]] = relationship(back_populates="message", order_by="InquiryAttachment.id")

    @property
    def kind_label(self) -> str:
        return MESSAGE_KINDS[self.kind]


class InquiryAttachment(db.Model):
    """A file that came with a message or went with a reply, kept by its hash outside the web root (like receipts).
    A file of a kind Banso does not keep, or too large, is listed with the reason (the original mail keeps it)."""

    __tablename__ = "inquiry_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inquiry_messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size_bytes: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))  # None: not kept (refused_reason says why)
    refused_reason: Mapped[str] = mapped_column(String(200), default="")

    message: Mapped[InquiryMessage] = relationship(back_populates="attachments")

    @property
    def kept(self) -> bool:
        return self.sha256 is not None


class InboundMail(db.Model):
    """Every mail Banso took in (the mailbox or an uploaded .eml), what became of it and its original, kept by hash.
    ``message_key`` (the Message-ID, else the original's hash) makes taking a mail in idempotent."""

    __tablename__ = "inbound_mails"
    __table_args__ = (CheckConstraint(one_of("outcome", MAIL_OUTCOMES), name="outcome_known"),
                      Index("ix_inbound_mails_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    message_key: Mapped[str] = mapped_column(String(250), unique=True)
    source: Mapped[str] = mapped_column(String(10))  # imap / upload
    from_email: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")
    size_bytes: Mapped[int] = mapped_column(default=0)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(300), default="")
    inquiry_id: Mapped[int | None] = mapped_column(ForeignKey("inquiries.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=now)

    inquiry: Mapped[Inquiry | None] = relationship()

    @property
    def outcome_label(self) -> str:
        return MAIL_OUTCOMES[self.outcome]


class ReplyTemplate(db.Model):
    """定型文, with placeholders {氏名} and {受付番号}."""

    __tablename__ = "reply_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)  # edits check it: a stale form never overwrites (409)
    __mapper_args__ = {"version_id_col": version}  # two saves at the same moment: the second fails, never merges
    title: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)


class FaqEntry(db.Model):
    """よくある質問, promoted from an answered inquiry and shown above the public form."""

    __tablename__ = "faq_entries"
    __table_args__ = (CheckConstraint(one_of("category", CATEGORIES), name="category_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(20))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    source_inquiry_id: Mapped[int | None] = mapped_column(ForeignKey("inquiries.id"))
    published: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)

    @property
    def category_label(self) -> str:
        return CATEGORIES[self.category]


class ReceiptCounter(db.Model):
    """The last receipt number given in a year (問-2026-0001 …), incremented under the row's lock."""

    __tablename__ = "receipt_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)
