"""The matching assistant's records (PUB-1): each phase's weights and exclusion rules, the pairs staff pin or
forbid before planning, and the plans the worker computes (the page reads a stored plan, never computes one)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from banso.clock import now
from banso.extensions import db
from banso.models.application import Application
from banso.models.officer import Officer
from banso.models.phase import Phase
from banso.models.user import User


class MatchingSettings(db.Model):
    """A phase's fit weights and conflict-of-interest rules; absent until staff change the defaults."""

    __tablename__ = "matching_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)  # edits check it: a stale form never overwrites (409)
    __mapper_args__ = {"version_id_col": version}
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"), unique=True)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    exclude_home_municipality: Mapped[bool] = mapped_column(default=False)
    exclude_home_prefecture: Mapped[bool] = mapped_column(default=False)
    exclude_secondment: Mapped[bool] = mapped_column(default=True)
    within_budget: Mapped[bool] = mapped_column(default=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    phase: Mapped[Phase] = relationship()


class MatchingConstraint(db.Model):
    """A decision staff take before planning: this officer with this municipality (pin), never together (forbid),
    or the municipality's continuing members kept (keep: no officer)."""

    __tablename__ = "matching_constraints"
    __table_args__ = (
        CheckConstraint("kind IN ('pin', 'forbid', 'keep')", name="kind_known"),
        CheckConstraint("(kind = 'keep') = (officer_id IS NULL)", name="officer_unless_keep"),
        Index("ix_matching_constraints_phase", "phase_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"))
    kind: Mapped[str] = mapped_column(String(10))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    application: Mapped[Application] = relationship()
    officer: Mapped[Officer | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        return {"pin": "固定", "forbid": "除外", "keep": "継続チームを維持"}[self.kind]


class MatchingPlan(db.Model):
    """One run of the planner: queued by staff or by a change of its inputs, computed on the worker."""

    __tablename__ = "matching_plans"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'infeasible', 'failed')", name="status_known"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
        Index("ix_matching_plans_phase", "phase_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"))
    status: Mapped[str] = mapped_column(String(12), default="queued")
    progress: Mapped[int] = mapped_column(default=0)
    stage: Mapped[str] = mapped_column(Text, default="順番を待っています")
    inputs_digest: Mapped[str] = mapped_column(String(64), default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None]

    phase: Mapped[Phase] = relationship()
    requested_by: Mapped[User | None] = relationship()

    @property
    def busy(self) -> bool:
        return self.status in ("queued", "running")
