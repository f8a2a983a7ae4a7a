"""公表 (PUB-2, PUB-3): the release of a phase's matching results, and the prefectures' contacts (PUB-4)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from banso.extensions import db
from banso.models.phase import Phase
from banso.models.user import User


class PublicationStatus(StrEnum):
    PREPARING = "preparing"   # 準備中: matching may change
    CONFIRMED = "confirmed"   # 確定: matching frozen; changes need an admin's unlock
    NOTIFIED = "notified"     # 事前通知済: municipalities and officers told, confidential
    RELEASED = "released"     # 公表済

    @property
    def label(self) -> str:
        return {"preparing": "準備中", "confirmed": "確定", "notified": "事前通知済", "released": "公表済"}[self]


class Publication(db.Model):
    __tablename__ = "publications"
    __table_args__ = (
        CheckConstraint("status IN ('preparing', 'confirmed', 'notified', 'released')", name="status_known"),
        CheckConstraint("(status = 'released') = (released_at IS NOT NULL)", name="released_when_released"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=PublicationStatus.PREPARING)
    unlocked: Mapped[bool] = mapped_column(default=False)  # an admin reopened the frozen matching
    share_before_release: Mapped[bool] = mapped_column(default=False)  # PUB-4: confidential sharing with prefectures
    confirmed_at: Mapped[datetime | None]
    # PUB-3: the release time fixed at confirmation; releasing before it is an early release, whatever the phase form says.
    release_planned_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    notified_at: Mapped[datetime | None]
    notified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    early_reason: Mapped[str] = mapped_column(String(1000), default="")
    early_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    early_requested_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    phase: Mapped[Phase] = relationship()
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    notified_by: Mapped[User | None] = relationship(foreign_keys=[notified_by_id])
    early_requested_by: Mapped[User | None] = relationship(foreign_keys=[early_requested_by_id])
    released_by: Mapped[User | None] = relationship(foreign_keys=[released_by_id])

    @property
    def status_label(self) -> str:
        return PublicationStatus(self.status).label

    @property
    def is_released(self) -> bool:
        return self.status == PublicationStatus.RELEASED


class PrefectureContact(db.Model):
    """Where a prefecture's packet goes (PUB-4)."""

    __tablename__ = "prefecture_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)  # edits check it: a stale form never overwrites (409)
    __mapper_args__ = {"version_id_col": version}  # two saves at the same moment: the second fails, never merges
    prefecture: Mapped[str] = mapped_column(String(10), unique=True)
    department: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254))


class PublishedResults(db.Model):
    """The public results page's content as released (services/public_results.py), removed by the database when
    something it shows changes (triggers), written again on the next view."""

    __tablename__ = "published_results"

    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[dict] = mapped_column(JSON)
    etag: Mapped[str] = mapped_column(String(64))
    written_at: Mapped[datetime]
