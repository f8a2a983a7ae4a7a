"""決裁: a matter (起案) going along its route — steps of a person or a role, one after another, a step of several in
parallel (合議: all, N of them, or 回覧 for information) — with absences and their 代決者, and every action kept."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from banso.clock import now
from banso.extensions import db
from banso.models.user import User

CASE_STATUSES = {"in_progress": "決裁中", "approved": "決裁済", "returned": "差戻し", "withdrawn": "取下げ", "rejected": "却下"}
VERBS = {"submit": "起案", "approve": "承認", "return": "差戻し", "recall": "引戻し", "withdraw": "取下げ", "reject": "却下",
         "skip": "後閲（不在のため通過）", "read_after": "閲了",
         "pull_up": "引上げ（上位の決裁者が通過）", "reroute": "ルート変更（管理者）"}


class ApprovalRoute(db.Model):
    """The route of a kind of matter, as an admin set it: each version kept, so a case keeps the route it started on."""

    __tablename__ = "approval_routes"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    version: Mapped[int]
    # [{"label": "課長", "who": [{"user": 3} | {"role": "finance"}], "need": "one" | "all" | 2 | "inform",
    #   "no_proxy": false}, …] — the 起案者 is not a step
    steps: Mapped[list[dict[str, Any]]] = mapped_column(db.JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)


class ApprovalCase(db.Model):
    """One 起案 on its route: where it stands (the step, the revision after each 差戻し) and how it ended."""

    __tablename__ = "approval_cases"
    __table_args__ = (
        CheckConstraint("status IN ('in_progress', 'approved', 'returned', 'withdrawn', 'rejected')", name="status_known"),
        Index("ix_approval_cases_subject", "kind", "subject_id"),
        Index("ix_approval_cases_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int | None]
    # The team the matter concerns (a trip's, an extension's): the case is held with the team until release (PUB-2).
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    route_id: Mapped[int] = mapped_column(ForeignKey("approval_routes.id"))
    drafter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default="in_progress")
    step: Mapped[int] = mapped_column(default=0)  # the step it waits at (len(steps): past the last)
    revision: Mapped[int] = mapped_column(default=1)  # v1, v2 … after each 差戻し and re-submission
    payload: Mapped[dict[str, Any]] = mapped_column(db.JSON, default=dict)  # what the decision does, when taken
    # The steps as an admin changed them for this case alone while it ran (audited); None: its route's
    rerouted: Mapped[list[dict[str, Any]] | None] = mapped_column(db.JSON)
    submitted_at: Mapped[datetime] = mapped_column(default=now)
    step_since: Mapped[datetime | None] = mapped_column(default=now)  # when its current step began: its due date
    reminded: Mapped[int] = mapped_column(default=0, server_default="0")  # reminders sent for the current step
    decided_at: Mapped[datetime | None]

    route: Mapped[ApprovalRoute] = relationship()
    drafter: Mapped[User] = relationship()
    actions: Mapped[list[ApprovalAction]] = relationship(back_populates="case", order_by="ApprovalAction.id")

    @property
    def status_label(self) -> str:
        return CASE_STATUSES[self.status]

    @property
    def waiting_at(self) -> str:
        """The label of the step the case waits at ("" once it is no longer in progress)."""
        return self.steps[self.step].get("label", "") if self.status == "in_progress" and self.step < len(self.steps) else ""

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The steps this case goes along: its route's, or as an admin changed them for it."""
        return self.rerouted if self.rerouted is not None else self.route.steps


class ApprovalAction(db.Model):
    """Who did what on a case, at which step of which revision — ``on_behalf_of``: the absent person a 代決者 decided
    for, or the absent 中間者 a step passed (後閲)."""

    __tablename__ = "approval_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_cases.id"), index=True)
    revision: Mapped[int]
    step: Mapped[int]
    verb: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    read_at: Mapped[datetime | None]  # 後閲: when the absent person read what was done in their place (閲了)
    at: Mapped[datetime] = mapped_column(default=now)

    case: Mapped[ApprovalCase] = relationship(back_populates="actions")
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])

    @property
    def label(self) -> str:
        """「承認 B（代決: A）」: who acted, and for whom."""
        who = self.actor.name if self.actor else "（自動）"
        return f"{VERBS[self.verb]} {who}" + (f"（代決: {self.on_behalf_of.name}）" if self.on_behalf_of and self.verb == "approve"
                                                  else "")


class Absence(db.Model):
    """A person away from ``starts_on`` to ``ends_on`` (inclusive), and who decides in their place (代決者) — for every
    kind of matter, or those listed. It lapses by itself after its last day."""

    __tablename__ = "absences"
    __table_args__ = (CheckConstraint("starts_on <= ends_on", name="period_ordered"),
                      CheckConstraint("deputy_id IS NULL OR deputy_id <> user_id", name="not_oneself"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kinds: Mapped[list[str]] = mapped_column(db.JSON, default=list)  # empty: every kind
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    deputy: Mapped[User | None] = relationship(foreign_keys=[deputy_id])
