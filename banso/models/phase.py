from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from banso.extensions import db


class Phase(db.Model):
    """One programme year (期). Everything else belongs to a phase."""

    __tablename__ = "phases"
    __table_args__ = (
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("travel_budget_cap_yen >= 0", name="budget_cap_not_negative"),
        CheckConstraint("travel_standard_visit_yen >= 0", name="standard_visit_not_negative"),
        CheckConstraint("survey_opens_at < answer_deadline_at", name="survey_before_deadline"),
        CheckConstraint("support_start <= support_end", name="support_period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)  # edits check it: a stale form never overwrites (409)
    __mapper_args__ = {"version_id_col": version}  # two saves at the same moment: the second fails, never merges
    number: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)
    fiscal_year: Mapped[int] = mapped_column(unique=True)
    population_reference_date: Mapped[date]
    # The schedule (seed 002 §3). Times are aware; deadlines are compared in JST.
    survey_opens_at: Mapped[datetime]
    answer_deadline_at: Mapped[datetime]
    recruitment_opens_at: Mapped[datetime | None]
    recruitment_closes_at: Mapped[datetime | None]
    matching_deadline_at: Mapped[datetime | None]
    publication_at: Mapped[datetime | None]
    support_start: Mapped[date]
    support_end: Mapped[date]
    travel_budget_cap_yen: Mapped[int] = mapped_column(default=0)
    # TRV-2: what one planned site visit of a team costs, for the budget's forecast (finance sets it).
    travel_standard_visit_yen: Mapped[int] = mapped_column(default=150_000, server_default="150000")

    events: Mapped[list[PhaseEvent]] = relationship(
        back_populates="phase", cascade="all, delete-orphan", order_by="PhaseEvent.at"
    )

    def __repr__(self) -> str:
        return f"<Phase {self.name}>"


class PhaseEvent(db.Model):
    """Further dated entries of a phase's schedule, such as the briefings (説明会)."""

    __tablename__ = "phase_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]

    phase: Mapped[Phase] = relationship(back_populates="events")


class PhaseFigures(db.Model):
    """A closed phase's figures (seed 000's headline, regions, population bands, the officer breakdown), stored once
    when its last team's closing day has passed (services/statistics.py: ``store_closed``) and recomputed only by an
    admin (`flask banso recompute-figures`): pages read them instead of counting past years again."""

    __tablename__ = "phase_figures"

    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), primary_key=True)
    figures: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime]
