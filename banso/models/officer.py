from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from banso.clock import now
from banso.extensions import db
from banso.models.phase import Phase
from banso.models.user import User


class Ministry(db.Model):
    """府省庁等 (managed list); a 外局 names its parent ministry."""

    __tablename__ = "ministries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("ministries.id"))
    sort_order: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Ministry | None] = relationship(remote_side="Ministry.id")

    @property
    def label(self) -> str:
        return f"{self.name}（{self.parent.name}）" if self.parent else self.name


class Officer(db.Model):
    """A national civil servant: 地方創生支援官, or 地方創生支援オフィサー (staff on secondment)."""

    __tablename__ = "officers"
    __table_args__ = (
        UniqueConstraint("name", "ministry_id", "birth_date", name="uq_officers_person"),
        CheckConstraint("officer_type IN ('officer', 'secondee')", name="type_known"),
        CheckConstraint("effort_percent IS NULL OR (effort_percent BETWEEN 0 AND 100)", name="effort_is_a_share"),
        Index("ix_officers_name_kana", "name_kana"),  # the officer list's order: its first page without sorting them all
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)  # edits check it: a stale form never overwrites (409)
    __mapper_args__ = {"version_id_col": version}  # two saves at the same moment: the second fails, never merges
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_kana: Mapped[str] = mapped_column(String(100))
    # Official record (OFF-5: changed only through the secretariat).
    ministry_id: Mapped[int] = mapped_column(ForeignKey("ministries.id"), index=True)
    bureau: Mapped[str] = mapped_column(String(100), default="")
    division: Mapped[str] = mapped_column(String(100), default="")
    post_title: Mapped[str] = mapped_column(String(100), default="")
    grade_band: Mapped[str] = mapped_column(String(20))
    job_type: Mapped[str] = mapped_column(String(10))
    workplace_type: Mapped[str] = mapped_column(String(20))
    officer_type: Mapped[str] = mapped_column(String(10), default="officer")
    sex: Mapped[str] = mapped_column(String(10))
    birth_date: Mapped[date]
    # Kept by the officer.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(30), default="")
    expertise_fields: Mapped[list[int]] = mapped_column(JSON, default=list)
    home_town: Mapped[str] = mapped_column(String(100), default="")
    region_ties: Mapped[str] = mapped_column(Text, default="")
    preferences: Mapped[str] = mapped_column(Text, default="")
    introduction: Mapped[str] = mapped_column(Text, default="")
    availability: Mapped[str] = mapped_column(Text, default="")
    effort_percent: Mapped[int | None]  # OFF-4: the expected share of working time
    notes: Mapped[str] = mapped_column(Text, default="")  # secretariat only
    anonymised_at: Mapped[datetime | None]  # its personal fields cleared (services/records/personal.py)
    created_at: Mapped[datetime] = mapped_column(default=now)

    ministry: Mapped[Ministry] = relationship(lazy="joined")  # named wherever an officer is: one join, never a query each
    user: Mapped[User | None] = relationship()
    candidacies: Mapped[list[OfficerCandidacy]] = relationship(back_populates="officer", cascade="all, delete-orphan")
    appointments: Mapped[list[ConcurrentAppointment]] = relationship(
        back_populates="officer", order_by="ConcurrentAppointment.effective_from")

    @property
    def home_ministry(self) -> "Ministry":
        """A 外局 counts with its ministry: 観光庁 and 国土交通省 are one ministry for 省庁混成 (TEAM-1) and as published."""
        return self.ministry.parent or self.ministry

    @property
    def type_label(self) -> str:
        return {"officer": "地方創生支援官", "secondee": "地方創生支援オフィサー"}[self.officer_type]

    def age_on(self, day: date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


class CandidacyStatus(StrEnum):
    APPLIED = "applied"
    SELECTED = "selected"
    NOT_SELECTED = "not_selected"
    ASSIGNED = "assigned"
    ENDED = "ended"

    @property
    def label(self) -> str:
        return CANDIDACY_LABELS[self]


CANDIDACY_LABELS = {
    CandidacyStatus.APPLIED: "応募", CandidacyStatus.SELECTED: "選定", CandidacyStatus.NOT_SELECTED: "非選定",
    CandidacyStatus.ASSIGNED: "配属済", CandidacyStatus.ENDED: "終了",
}


class OfficerCandidacy(db.Model):
    """An officer's application in one phase's public call, with the OFF-1/OFF-2 verdict."""

    __tablename__ = "officer_candidacies"
    __table_args__ = (
        UniqueConstraint("officer_id", "phase_id"),
        CheckConstraint("status IN ('applied', 'selected', 'not_selected', 'assigned', 'ended')", name="status_known"),
        CheckConstraint("eligible OR ineligibility_reason IS NOT NULL", name="ineligible_has_reason"),
        CheckConstraint("eligible OR status IN ('applied', 'not_selected')", name="only_eligible_selected"),
        Index("ix_officer_candidacies_phase_status", "phase_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"))
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"))
    status: Mapped[str] = mapped_column(String(20), default=CandidacyStatus.APPLIED)
    eligible: Mapped[bool] = mapped_column(default=True)
    ineligibility_reason: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(default=now)

    officer: Mapped[Officer] = relationship(back_populates="candidacies")
    phase: Mapped[Phase] = relationship(lazy="joined")  # an officer's history names each phase: one join, not a query a year

    @property
    def status_label(self) -> str:
        return CANDIDACY_LABELS[CandidacyStatus(self.status)]


class AppointmentState(StrEnum):
    PLANNED = "planned"
    ISSUED = "issued"
    ENDED = "ended"

    @property
    def label(self) -> str:
        return {"planned": "予定", "issued": "発令済", "ended": "解除"}[self]


class ConcurrentAppointment(db.Model):
    """併任発令 (OFF-3): the order appointing an officer to the Cabinet Secretariat / Office for the term."""

    __tablename__ = "concurrent_appointments"
    __table_args__ = (
        UniqueConstraint("officer_id", "phase_id"),  # issuing twice makes no second order
        UniqueConstraint("order_number"),
        CheckConstraint("state IN ('planned', 'issued', 'ended')", name="state_known"),
        CheckConstraint("effective_from <= effective_to", name="term_ordered"),
        CheckConstraint("(state = 'planned') OR (order_number IS NOT NULL AND order_date IS NOT NULL)", name="issued_has_order"),
        CheckConstraint("(state = 'ended') = (ended_on IS NOT NULL)", name="ended_has_date"),
        Index("ix_concurrent_appointments_phase_order", "phase_id", "order_number"),  # a phase's orders in number order
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"), index=True)
    post: Mapped[str] = mapped_column(String(50))
    order_number: Mapped[str | None] = mapped_column(String(50))
    order_date: Mapped[date | None]
    effective_from: Mapped[date]
    effective_to: Mapped[date]
    state: Mapped[str] = mapped_column(String(10), default=AppointmentState.PLANNED)
    ended_on: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(Text)

    officer: Mapped[Officer] = relationship(back_populates="appointments")
    phase: Mapped[Phase] = relationship(lazy="joined")  # as for candidacies

    @property
    def state_label(self) -> str:
        return AppointmentState(self.state).label

    def covers(self, start: date, end: date) -> bool:
        """OFF-3: an issued order in force over the whole of start..end (an ended one, up to its end)."""
        last = self.ended_on or self.effective_to
        return self.state != AppointmentState.PLANNED and self.effective_from <= start and end <= last


class ProfileChangeRequest(db.Model):
    """OFF-5: an officer asks the secretariat to change an official field (e.g. after 人事異動)."""

    __tablename__ = "profile_change_requests"
    __table_args__ = (CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)  # field → requested value
    reason: Mapped[str] = mapped_column(Text)
    effective_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=now)

    officer: Mapped[Officer] = relationship()
    decided_by: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return {"pending": "承認待ち", "approved": "承認", "rejected": "却下"}[self.status]
