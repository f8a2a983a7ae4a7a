from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from banso.clock import now
from banso.extensions import db


class Municipality(db.Model):
    """A 市区町村 of the master file (全国地方公共団体コード with its check digit)."""

    __tablename__ = "municipalities"
    __table_args__ = (
        CheckConstraint("length(code) = 6", name="code_six_digits"),
        CheckConstraint("default_population >= 0", name="population_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    prefecture: Mapped[str] = mapped_column(String(10), index=True)
    region_block: Mapped[str] = mapped_column(String(10), index=True)
    name: Mapped[str] = mapped_column(String(50))
    name_kana: Mapped[str] = mapped_column(String(100), default="")
    # 住民基本台帳人口 (Japanese residents) of the master file; an official figure for a
    # phase's reference date, when imported, takes precedence (see OfficialPopulation).
    default_population: Mapped[int]
    default_population_date: Mapped[date]

    official_populations: Mapped[list[OfficialPopulation]] = relationship(
        back_populates="municipality", cascade="all, delete-orphan"
    )

    @property
    def full_name(self) -> str:
        return f"{self.prefecture}{self.name}"

    def __repr__(self) -> str:
        return f"<Municipality {self.code} {self.full_name}>"


class OfficialPopulation(db.Model):
    """The official 住民基本台帳人口 (総計) of one reference date, imported by an admin."""

    __tablename__ = "official_populations"
    __table_args__ = (
        UniqueConstraint("municipality_id", "reference_date"),
        CheckConstraint("population >= 0", name="population_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="CASCADE"))
    reference_date: Mapped[date] = mapped_column(index=True)
    population: Mapped[int]
    imported_at: Mapped[datetime] = mapped_column(default=now)

    municipality: Mapped[Municipality] = relationship(back_populates="official_populations")
