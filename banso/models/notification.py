from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from banso.clock import now
from banso.extensions import db
from banso.models.user import User


# Files a notification carries (an inquiry reply's attachments), sent with it by the outbox.
notification_attachments = Table(
    "notification_attachments", db.metadata,
    Column("notification_id", ForeignKey("notifications.id"), primary_key=True),
    Column("attachment_id", ForeignKey("inquiry_attachments.id"), primary_key=True),
)


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {"pending": "送信待ち", "sending": "送信中", "sent": "送信済", "failed": "送信失敗"}[self]


class Notification(db.Model):
    """The outbox: written in the same transaction as the change it reports."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed')", name="status_known"
        ),
        CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_has_time"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_notifications_status_created", "status", "created_at"),
        Index("ix_notifications_created", "created_at"),  # the log, newest first
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient_email: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(100), default="")
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[int | None]
    hold_until: Mapped[datetime | None]
    # PUB-2: held until this phase's matching results are released (the release job lets it go).
    release_phase_id: Mapped[int | None] = mapped_column(ForeignKey("phases.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)
    sent_at: Mapped[datetime | None]

    recipient_user: Mapped[User | None] = relationship()
    attachments = relationship("InquiryAttachment", secondary=notification_attachments, order_by="InquiryAttachment.id")

    @property
    def status_label(self) -> str:
        return NotificationStatus(self.status).label

    @property
    def message_id(self) -> str:
        """Stable Message-ID so a recipient's mail system can drop an accidental repeat."""
        return f"<notification-{self.id}@banso.local>"


class MailboxMessage(db.Model):
    """Development mailbox: where mail goes when no SMTP server is configured."""

    __tablename__ = "mailbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    message_id: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(254))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[str] = mapped_column(Text, default="")  # the attached files' names, one per line
    delivered_at: Mapped[datetime] = mapped_column(default=now)
