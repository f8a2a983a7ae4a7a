from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, select, text
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from banso.clock import now
from banso.extensions import db
from banso.models.application import Application
from banso.models.municipality import Municipality
from banso.models.officer import Officer
from banso.models.phase import Phase
from banso.models.user import User


class TeamStatus(StrEnum):
    FORMING = "forming"
    ACTIVE = "active"
    EXTENDED = "extended"
    ENDED = "ended"

    @property
    def label(self) -> str:
        return {"forming": "編成中", "active": "活動中", "extended": "延長", "ended": "終了"}[self]


class Team(db.Model):
    """伴走支援チーム: 2–3 officers of different ministries for one municipality (TEAM-1, TEAM-2)."""

    __tablename__ = "teams"
    __table_args__ = (
        UniqueConstraint("phase_id", "municipality_id"),  # TEAM-2: at most one team per municipality per phase
        CheckConstraint("status IN ('forming', 'active', 'extended', 'ended')", name="status_known"),
        CheckConstraint("start_date <= end_date", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)  # edits check it: a stale form never overwrites (409)
    __mapper_args__ = {"version_id_col": version}  # two saves at the same moment: the second fails, never merges
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"), index=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), unique=True)
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))  # the previous phase's team (継続)
    themes: Mapped[list[int]] = mapped_column(JSON, default=list)
    start_date: Mapped[date]
    end_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default=TeamStatus.ACTIVE)
    issues: Mapped[str] = mapped_column(Text, default="")        # 市の課題 (seed 001)
    support_flow: Mapped[str] = mapped_column(Text, default="")  # 支援の流れ
    results: Mapped[str] = mapped_column(Text, default="")       # 成果・展望
    reopened_until: Mapped[date | None]  # after the closing day, an admin's reopening (services/closing.py)
    created_at: Mapped[datetime] = mapped_column(default=now)

    phase: Mapped[Phase] = relationship()
    municipality: Mapped[Municipality] = relationship()
    application: Mapped[Application | None] = relationship()
    predecessor: Mapped[Team | None] = relationship(remote_side="Team.id")
    memberships: Mapped[list[TeamMembership]] = relationship(
        back_populates="team", order_by="TeamMembership.joined_on, TeamMembership.id")

    @property
    def name(self) -> str:
        return f"{self.municipality.name}チーム"

    @property
    def status_label(self) -> str:
        return TeamStatus(self.status).label

    @property
    def current_members(self) -> list[TeamMembership]:
        return [m for m in self.memberships if m.left_on is None]


class TeamMembership(db.Model):
    """Who served on a team when; a member who leaves keeps the row with ``left_on`` (history)."""

    __tablename__ = "team_memberships"
    __table_args__ = (
        # An officer serves on at most one team at a time in a phase.
        Index("uq_team_memberships_active_officer", "officer_id", "phase_id", unique=True,
              sqlite_where=text("left_on IS NULL"), postgresql_where=text("left_on IS NULL")),
        Index("ix_team_memberships_phase_current", "phase_id",  # a phase's current members (lists, counts)
              sqlite_where=text("left_on IS NULL"), postgresql_where=text("left_on IS NULL")),
        CheckConstraint("left_on IS NULL OR joined_on <= left_on", name="stay_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"))
    joined_on: Mapped[date]
    left_on: Mapped[date | None]
    leave_reason: Mapped[str | None] = mapped_column(Text)

    team: Mapped[Team] = relationship(back_populates="memberships")
    officer: Mapped[Officer] = relationship(lazy="joined")  # a membership is shown with its officer


class TeamExtension(db.Model):
    """TEAM-3: an extension beyond one year is a recorded decision."""

    __tablename__ = "team_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    previous_end: Mapped[date]
    new_end: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=now)

    decided_by: Mapped[User | None] = relationship()


REPLACEMENT_REASONS = ["人事異動", "退職", "健康上の理由", "その他"]


class MemberReplacement(db.Model):
    """TEAM-4: a member swapped mid-term. Recorded ahead of its date it is 予定 (``applied_at`` empty): the team, its
    members' appointments and the public results change on ``effective_on`` (the worker's timer), not before."""

    __tablename__ = "member_replacements"
    __table_args__ = (CheckConstraint("reason IN ('人事異動', '退職', '健康上の理由', 'その他')", name="reason_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    leaving_officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    joining_officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    effective_on: Mapped[date]
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    applied_at: Mapped[datetime | None]

    leaving_officer: Mapped[Officer] = relationship(foreign_keys=[leaving_officer_id])
    joining_officer: Mapped[Officer] = relationship(foreign_keys=[joining_officer_id])


ACTIVITY_KINDS = {"online_meeting": "オンライン会議", "site_visit": "現地訪問", "company_visit": "企業訪問", "other": "その他"}


class Activity(db.Model):
    """TEAM-5: the activity record (online meetings, site visits, company visits …)."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint("kind IN ('online_meeting', 'site_visit', 'company_visit', 'other')", name="kind_known"),
        CheckConstraint("started_on <= ended_on", name="dates_ordered"),
        CheckConstraint("company_count >= 0", name="company_count_not_negative"),
        Index("ix_activities_team_kind_date", "team_id", "kind", "started_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)  # corrections check it: a stale form never overwrites (409)
    __mapper_args__ = {"version_id_col": version}
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    kind: Mapped[str] = mapped_column(String(20))
    started_on: Mapped[date]
    ended_on: Mapped[date]
    participants: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    company_count: Mapped[int] = mapped_column(default=0)
    summary: Mapped[str] = mapped_column(Text, default="")
    follow_ups: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    team: Mapped[Team] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        return ACTIVITY_KINDS[self.kind]


class TeamActivityDates(db.Model):
    """TEAM-5's summary of a team — its last online meeting and site visit — kept by the database: triggers on
    ``activities`` rewrite it in the same transaction, whoever writes (migration e7a3c9d4b581), so recording an
    activity writes no team row and the home page counts quiet teams by a join."""

    __tablename__ = "team_activity_dates"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    last_meeting_on: Mapped[date | None]
    last_visit_on: Mapped[date | None]


def _kept(column):
    return column_property(select(column).where(TeamActivityDates.team_id == Team.id)
                           .correlate_except(TeamActivityDates).scalar_subquery(), deferred=True)


Team.last_meeting_on = _kept(TeamActivityDates.last_meeting_on)
Team.last_visit_on = _kept(TeamActivityDates.last_visit_on)


class HalfYearReport(db.Model):
    """TEAM-6: a status report per half year, in seed 001's headings."""

    __tablename__ = "half_year_reports"
    __table_args__ = (UniqueConstraint("team_id", "period"), CheckConstraint("period IN (1, 2)", name="period_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    period: Mapped[int]  # 1: first half, 2: second half of the support year
    issues: Mapped[str] = mapped_column(Text)
    support_given: Mapped[str] = mapped_column(Text)
    results: Mapped[str] = mapped_column(Text)
    outlook: Mapped[str] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=now)

    team: Mapped[Team] = relationship()
    submitted_by: Mapped[User | None] = relationship()
