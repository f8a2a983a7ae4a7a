"""Records that outlive the phase (公文書管理法 第5条・第7条・第8条・第9条, 個人情報保護法 行政機関等): the 保存期間表 as data,
the 行政文書ファイル each kind of record is grouped into per fiscal year with its period, expiry and 満了時の措置, and the
requests people make about their own data (開示・訂正・利用停止)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from banso.clock import now
from banso.extensions import db
from banso.models.user import User

DISPOSITIONS = {"transfer": "移管", "destroy": "廃棄"}
FILE_STATES = {"active": "保存中", "due": "満了（措置待ち）", "consented": "廃棄同意済", "destroyed": "廃棄済",
               "transferred": "移管済"}


class RetentionRule(db.Model):
    """One row of the 保存期間表: a kind of record Banso keeps, its 分類, the name of its 行政文書ファイル, its period in
    years (0: 1年未満, left out of the register), and what happens at expiry. Defaults from the guideline; the
    secretariat's 文書管理者 confirms them (an admin's change is audited)."""

    __tablename__ = "retention_rules"
    __table_args__ = (CheckConstraint("years >= 0 AND years <= 30", name="years_known"),
                      CheckConstraint("disposition IN ('transfer', 'destroy')", name="disposition_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), unique=True)
    major: Mapped[str] = mapped_column(String(100))  # 大分類
    middle: Mapped[str] = mapped_column(String(100))  # 中分類
    name: Mapped[str] = mapped_column(String(200))  # 小分類: the file's name, 「{年度}」 filled in
    years: Mapped[int]
    disposition: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(default=1)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=now)

    @property
    def disposition_label(self) -> str:
        return DISPOSITIONS[self.disposition]


class RecordFile(db.Model):
    """A 行政文書ファイル: the records of one kind and fiscal year, sharing one period. Its row stays after 廃棄 or 移管
    (the register's tombstone) with what was done, when, and on whose consent."""

    __tablename__ = "record_files"
    __table_args__ = (UniqueConstraint("kind", "fiscal_year"),
                      CheckConstraint("status IN ('active', 'due', 'consented', 'destroyed', 'transferred')",
                                      name="status_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    kind: Mapped[str] = mapped_column(String(30))
    fiscal_year: Mapped[int]
    major: Mapped[str] = mapped_column(String(100))
    middle: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date]  # 起算日: 4月1日 of the year after (guideline)
    years: Mapped[int]
    expires_on: Mapped[date]  # 保存期間の満了する日
    disposition: Mapped[str] = mapped_column(String(10))
    location: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)
    hold_reason: Mapped[str] = mapped_column(Text, default="")  # 開示請求・訴訟: not disposed of while it stands
    extensions: Mapped[list[dict]] = mapped_column(db.JSON, default=list)  # [{"years", "reason", "by", "at"}]
    consent_on: Mapped[date | None]  # 内閣総理大臣の同意の日 (第8条第2項)
    consent_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    consent_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]  # 廃棄 or 移管 done
    removed: Mapped[dict] = mapped_column(db.JSON, default=dict)  # what a 廃棄 removed (rows per table, files)
    package_sha256: Mapped[str | None] = mapped_column(String(64))  # the 移管 package kept (files.store)
    skipped: Mapped[str] = mapped_column(Text, default="")  # why the last run left it (a hold)

    consent_recorded_by: Mapped[User | None] = relationship(foreign_keys=[consent_recorded_by_id])
    consent_approved_by: Mapped[User | None] = relationship(foreign_keys=[consent_approved_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def status_label(self) -> str:
        return FILE_STATES[self.status]

    @property
    def disposition_label(self) -> str:
        return DISPOSITIONS[self.disposition]


REQUEST_KINDS = {"disclosure": "開示請求", "correction": "訂正請求", "suspension": "利用停止請求"}
PERSON_KINDS = {"officer": "支援官", "inquirer": "問い合わせをした方", "contact": "市町村の担当者"}


class PersonalRequest(db.Model):
    """A person's request about their own 保有個人情報: 開示 (decided within 30 days, extendable with a reason), 訂正 and
    利用停止 (decided, and their effect applied and audited)."""

    __tablename__ = "personal_requests"
    __table_args__ = (CheckConstraint("kind IN ('disclosure', 'correction', 'suspension')", name="kind_known"),
                      CheckConstraint("status IN ('open', 'granted', 'refused')", name="status_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    kind: Mapped[str] = mapped_column(String(12))
    person_kind: Mapped[str] = mapped_column(String(10))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    email: Mapped[str] = mapped_column(String(254), default="")  # an inquirer's or a municipal contact's
    requester: Mapped[str] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text, default="")  # what is asked (the fields to correct and how)
    received_on: Mapped[date]
    due_on: Mapped[date]  # 30 days (第83条), or as extended
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def kind_label(self) -> str:
        return REQUEST_KINDS[self.kind]

    @property
    def person_label(self) -> str:
        return PERSON_KINDS[self.person_kind]
