"""発出文書: the documents Banso issues — an officer's 辞令 for the 併任, a municipality's 決定通知 and 不成立通知, the
notice of a member's replacement — each with a 文書番号 counted without gaps per fiscal year, the files as issued
(Word and PDF, kept by their SHA-256) and the batch that made them on the worker."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from banso.clock import now
from banso.extensions import db
from banso.models.phase import Phase
from banso.models.user import User

DOCUMENT_KINDS = {
    "appointment": "辞令（併任）",
    "decision": "支援決定通知",
    "not_matched": "不成立通知",
    "replacement": "支援官交代通知",
}


class DocumentCounter(db.Model):
    """The last 文書番号 used in a fiscal year: taken under the row's lock in the transaction that stores the
    document, so a number is used once and a rolled-back document gives its number back."""

    __tablename__ = "document_counters"

    fiscal_year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class DocumentBatch(db.Model):
    """One request to issue documents of a kind, made on the worker with its progress shown."""

    __tablename__ = "document_batches"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
        CheckConstraint("done <= total", name="progress_bounded"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"))
    subject_ids: Mapped[list[int]] = mapped_column(db.JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None]

    phase: Mapped[Phase] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        return DOCUMENT_KINDS[self.kind]


class IssuedDocument(db.Model):
    """One document as issued: its number, whom it is for, and its files exactly as they were made."""

    __tablename__ = "issued_documents"
    __table_args__ = (
        UniqueConstraint("fiscal_year", "serial"),
        Index("ix_issued_documents_subject", "kind", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("document_batches.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"), index=True)
    subject_id: Mapped[int]  # the appointment, application or replacement it is about (by ``kind``)
    fiscal_year: Mapped[int]
    serial: Mapped[int]
    number: Mapped[str] = mapped_column(String(40))  # as printed (文書番号); unique with its fiscal year by serial
    issued_on: Mapped[date]
    recipient: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text, default="")  # what it says, for search and for checking the PDF
    docx_sha256: Mapped[str] = mapped_column(String(64))
    docx_bytes: Mapped[int] = mapped_column(default=0)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))  # None where PDF cannot be made (no Pango on the machine)
    pdf_bytes: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    phase: Mapped[Phase] = relationship()

    @property
    def kind_label(self) -> str:
        return DOCUMENT_KINDS[self.kind]
