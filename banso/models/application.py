from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from banso.clock import now
from banso.extensions import db
from banso.models.municipality import Municipality
from banso.models.phase import Phase
from banso.models.user import User


class ApplicationStatus(StrEnum):
    LATE = "late"
    RECEIVED = "received"
    CONFIRMED = "confirmed"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    MATCHED = "matched"
    UNMATCHED = "unmatched"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return APPLICATION_STATUS_LABELS[self]


APPLICATION_STATUS_LABELS = {
    ApplicationStatus.LATE: "期限後（保留）",
    ApplicationStatus.RECEIVED: "受付",
    ApplicationStatus.CONFIRMED: "確認済",
    ApplicationStatus.ELIGIBLE: "対象",
    ApplicationStatus.INELIGIBLE: "対象外",
    ApplicationStatus.MATCHED: "マッチング済",
    ApplicationStatus.UNMATCHED: "マッチング不成立",
    ApplicationStatus.WITHDRAWN: "取下げ",
}
CHANNEL_LABELS = {"form": "フォーム", "email": "メール", "survey": "継続意向調査"}
ISSUE_STRUCTURE_LABELS = {"independent": "それぞれ独立", "compound": "複合的"}


class Application(db.Model):
    """市町村活用希望調査への回答 (one per municipality per phase: APP-5)."""

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("phase_id", "municipality_id"),  # APP-5, under concurrent submissions too
        CheckConstraint("priority_field_1 BETWEEN 1 AND 26", name="field_1_known"),
        CheckConstraint("priority_field_2 IS NULL OR (priority_field_2 BETWEEN 1 AND 26 AND priority_field_2 <> priority_field_1)", name="field_2_known"),
        CheckConstraint("priority_field_3 IS NULL OR (priority_field_2 IS NOT NULL AND priority_field_3 BETWEEN 1 AND 26 "
                        "AND priority_field_3 <> priority_field_1 AND priority_field_3 <> priority_field_2)", name="field_3_known"),
        CheckConstraint("issue_structure IN ('independent', 'compound')", name="issue_structure_known"),
        CheckConstraint("channel IN ('form', 'email', 'survey')", name="channel_known"),
        CheckConstraint("status IN ('late', 'received', 'confirmed', 'eligible', 'ineligible', 'matched', 'unmatched', 'withdrawn')", name="status_known"),
        CheckConstraint("status NOT IN ('ineligible', 'withdrawn') OR status_reason IS NOT NULL", name="decision_has_reason"),
        CheckConstraint("late_accepted_by_id IS NULL OR late_acceptance_reason IS NOT NULL", name="late_acceptance_has_reason"),
        Index("ix_applications_phase_status", "phase_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)  # edits check it: a stale form never overwrites (409)
    __mapper_args__ = {"version_id_col": version}  # two saves at the same moment: the second fails, never merges
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    # APP-8: who the team deals with.
    contact_department: Mapped[str] = mapped_column(String(100))
    contact_person: Mapped[str] = mapped_column(String(100))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str] = mapped_column(String(30))
    # APP-7: 1–3 of the 26 fields in order of priority; independent or compound; the situation.
    priority_field_1: Mapped[int]
    priority_field_2: Mapped[int | None]
    priority_field_3: Mapped[int | None]
    issue_structure: Mapped[str] = mapped_column(String(20))
    local_situation: Mapped[str] = mapped_column(Text)
    # APP-2 / APP-3 declarations.
    seconded_national_staff: Mapped[bool] = mapped_column(default=False)
    requested_national_staff: Mapped[bool] = mapped_column(default=False)
    requested_private_expert: Mapped[bool] = mapped_column(default=False)
    jinzai_request_withdrawn_at: Mapped[datetime | None]
    # APP-6: when and how it arrived.
    received_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(10))
    # 継続: created from a "continue" answer of the continuation survey (APP-4), not by applying.
    is_continuing: Mapped[bool] = mapped_column(default=False)
    is_late: Mapped[bool] = mapped_column(default=False)
    late_acceptance_reason: Mapped[str | None] = mapped_column(Text)
    late_accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # APP-1 not yet 適合 (確認要, 未確認): an admin's recorded confirmation of the population lets staff mark it 対象.
    population_confirmed_reason: Mapped[str | None] = mapped_column(Text)
    population_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    population_confirmed_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default=ApplicationStatus.RECEIVED)
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    phase: Mapped[Phase] = relationship()
    municipality: Mapped[Municipality] = relationship()
    late_accepted_by: Mapped[User | None] = relationship(foreign_keys=[late_accepted_by_id])
    population_confirmed_by: Mapped[User | None] = relationship(foreign_keys=[population_confirmed_by_id])

    @property
    def priority_fields(self) -> list[int]:
        return [f for f in (self.priority_field_1, self.priority_field_2, self.priority_field_3) if f]

    @property
    def status_label(self) -> str:
        return APPLICATION_STATUS_LABELS[ApplicationStatus(self.status)]

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS[self.channel]

    @property
    def issue_structure_label(self) -> str:
        return ISSUE_STRUCTURE_LABELS[self.issue_structure]


class ContinuationResponse(db.Model):
    """継続意向調査 (APP-4): a previous phase's supported municipality's answer for this phase."""

    __tablename__ = "continuation_responses"
    __table_args__ = (UniqueConstraint("phase_id", "municipality_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    wishes_to_continue: Mapped[bool | None]
    issue_changes: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    reminder_count: Mapped[int] = mapped_column(default=0)

    phase: Mapped[Phase] = relationship()
    municipality: Mapped[Municipality] = relationship()


class ImportBatch(db.Model):
    """An uploaded spreadsheet: validated row by row, previewed, imported all at once or not at all."""

    __tablename__ = "import_batches"
    __table_args__ = (
        CheckConstraint("status IN ('validating', 'ready', 'failed', 'imported')", name="status_known"),
        CheckConstraint("processed_rows <= total_rows", name="progress_bounded"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    phase_id: Mapped[int | None] = mapped_column(ForeignKey("phases.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="validating")
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    rows: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    excluded_rows: Mapped[list[int]] = mapped_column(JSON, default=list)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # importer settings (e.g. default 受付日時)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    imported_at: Mapped[datetime | None]
    imported_count: Mapped[int] = mapped_column(default=0)

    phase: Mapped[Phase | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def error_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.rows or [] if r["errors"]]

    @property
    def blocking_rows(self) -> list[dict[str, Any]]:
        """Rows with errors the user has not excluded: while any remain, nothing is imported."""
        return [r for r in self.error_rows if r["row"] not in (self.excluded_rows or [])]

    @property
    def progress_percent(self) -> int:
        return 100 if not self.total_rows else int(100 * self.processed_rows / self.total_rows)
