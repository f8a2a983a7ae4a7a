"""旅費: rate tables, the budget cap's revisions, team visit plans, trip requests (出張申請) and
their claims (精算) with receipts. Money is integer yen."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from banso.clock import now
from banso.extensions import db, one_of
from banso.models.officer import Officer
from banso.models.phase import Phase
from banso.models.team import Team
from banso.models.user import User

# The two bands of the 宿泊費基準額 table: 指定職 and everyone below (課長級以下).
RATE_BANDS = ["課長級以下", "指定職"]
MEALS = {0: "食事なし", 1: "朝食または夕食付き", 2: "朝食・夕食付き"}
PURPOSES = {"site_visit": "現地訪問", "company_visit": "企業訪問", "other": "その他"}
BEARERS = {"national": "国（内閣府予算）", "municipality": "市町村"}
# Categories of the revised 旅費法 (令和7年4月施行): transport at cost, lodging capped, the nightly allowance.
CATEGORIES = {
    "rail": "鉄道賃", "ship": "船賃", "air": "航空賃", "other_transport": "その他の交通費",
    "lodging": "宿泊費", "package": "包括宿泊費", "night_allowance": "宿泊手当",
}
TRANSPORT = ["rail", "ship", "air", "other_transport"]


class TripStatus(StrEnum):
    """One workflow from request to settlement, so every list filters on one column."""

    SUBMITTED = "submitted"            # 申請: awaiting finance
    RETURNED = "returned"              # 申請の差戻し
    APPROVED = "approved"              # 承認: the estimate is committed
    REJECTED = "rejected"
    CLAIM_SUBMITTED = "claim_submitted"  # 精算: awaiting finance
    CLAIM_RETURNED = "claim_returned"
    SETTLED = "settled"                # 精算済: the approved amount is spent
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return TRIP_STATUS_LABELS[self]


TRIP_STATUS_LABELS = {
    TripStatus.SUBMITTED: "申請・審査待ち", TripStatus.RETURNED: "申請差戻し", TripStatus.APPROVED: "承認済（精算前）",
    TripStatus.REJECTED: "却下", TripStatus.CLAIM_SUBMITTED: "精算・審査待ち", TripStatus.CLAIM_RETURNED: "精算差戻し",
    TripStatus.SETTLED: "精算済", TripStatus.CANCELLED: "取消",
}
# Approved requests not yet settled hold their estimate against the budget.
COMMITTED = (TripStatus.APPROVED, TripStatus.CLAIM_SUBMITTED, TripStatus.CLAIM_RETURNED)
# Requests that count as planned or made visits (everything not withdrawn or refused).
LIVE = (TripStatus.SUBMITTED, TripStatus.RETURNED, *COMMITTED, TripStatus.SETTLED)



class LodgingRate(db.Model):
    """宿泊費基準額: the per-night cap by fiscal year, band and prefecture (edited by finance)."""

    __tablename__ = "lodging_rates"
    __table_args__ = (
        UniqueConstraint("fiscal_year", "band", "prefecture", name="uq_lodging_rates_key"),
        CheckConstraint("cap_yen > 0 AND cap_yen <= 200000", name="cap_plausible"),
        CheckConstraint(one_of("band", RATE_BANDS), name="band_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int]
    band: Mapped[str] = mapped_column(String(10))
    prefecture: Mapped[str] = mapped_column(String(10))
    cap_yen: Mapped[int]


class NightAllowanceRate(db.Model):
    """宿泊手当 per night by fiscal year, reduced when the room price includes meals."""

    __tablename__ = "night_allowance_rates"
    __table_args__ = (
        UniqueConstraint("fiscal_year", "meals", name="uq_night_allowance_rates_key"),
        CheckConstraint("meals IN (0, 1, 2)", name="meals_known"),
        CheckConstraint("amount_yen >= 0 AND amount_yen <= 100000", name="amount_plausible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int]
    meals: Mapped[int]
    amount_yen: Mapped[int]


class BudgetRevision(db.Model):
    """Every revision of a phase's travel budget cap, with who decided it and why."""

    __tablename__ = "budget_revisions"
    __table_args__ = (CheckConstraint("new_cap_yen >= 0", name="cap_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"), index=True)
    previous_cap_yen: Mapped[int]
    new_cap_yen: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    revised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revised_at: Mapped[datetime] = mapped_column(default=now)

    revised_by: Mapped[User | None] = relationship()


class BudgetTotal(db.Model):
    """A phase's money as it stands (TRV-2): committed and spent, national and municipality-borne. Kept by the database
    itself — triggers on the trips, their estimate lines and claim lines add each change in the transaction that makes
    it, whoever writes (Banso, psql, a script) — so the cap check and the budget page read one row, never a sum over the
    phase's trips. The cap check locks this row (``services/travel/budget.lock_budget``). Banso never writes its figures."""

    __tablename__ = "budget_totals"

    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), primary_key=True)
    national_committed_yen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    national_spent_yen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    municipality_committed_yen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    municipality_spent_yen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class BudgetBreakdown(db.Model):
    """The same money by (phase, team, departure month, destination prefecture, bearer), kept by the same triggers: the
    budget page's charts read a few hundred rows, not the phase's trips and lines."""

    __tablename__ = "budget_breakdown"

    phase_id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)   # "2026-06": the departure's month
    prefecture: Mapped[str] = mapped_column(String(10), primary_key=True)
    bearer: Mapped[str] = mapped_column(String(20), primary_key=True)
    committed_yen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    spent_yen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class TeamTravelPlan(db.Model):
    """The secretariat's plan for a team's site visits (TRV-2): beyond it, the bearer is decided per trip."""

    __tablename__ = "team_travel_plans"
    __table_args__ = (
        CheckConstraint("planned_site_visits BETWEEN 0 AND 52", name="visits_plausible"),
        CheckConstraint("standard_visit_cost_yen BETWEEN 0 AND 10000000", name="cost_plausible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)  # edits check it: a stale form never overwrites (409)
    __mapper_args__ = {"version_id_col": version}  # two saves at the same moment: the second fails, never merges
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), unique=True)
    planned_site_visits: Mapped[int]
    standard_visit_cost_yen: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")

    team: Mapped[Team] = relationship()


class TripRequest(db.Model):
    """出張申請: 1–3 members of one team travel; the estimate is computed from the rate tables."""

    __tablename__ = "trip_requests"
    __table_args__ = (
        CheckConstraint("depart_on <= return_on", name="dates_ordered"),
        CheckConstraint(one_of("status", TripStatus), name="status_known"),
        CheckConstraint(one_of("purpose", PURPOSES), name="purpose_known"),
        CheckConstraint(one_of("cost_bearer", BEARERS), name="bearer_known"),
        CheckConstraint("meals IN (0, 1, 2)", name="meals_known"),
        CheckConstraint("room_rate_yen >= 0", name="room_rate_not_negative"),
        Index("ix_trip_requests_phase_depart", "phase_id", "depart_on"),  # the phase's trips by date (lists, months)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)  # edits check it: a stale form never overwrites (409)
    __mapper_args__ = {"version_id_col": version}  # two saves at the same moment: the second fails, never merges
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    destination_prefecture: Mapped[str] = mapped_column(String(10))
    destination: Mapped[str] = mapped_column(String(200))
    depart_on: Mapped[date]
    return_on: Mapped[date]
    itinerary: Mapped[str] = mapped_column(Text, default="")
    room_rate_yen: Mapped[int] = mapped_column(default=0)  # per night, per person, as booked
    meals: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default=TripStatus.SUBMITTED, index=True)
    cost_bearer: Mapped[str] = mapped_column(String(20), default="national")  # TRV-1
    over_plan: Mapped[bool] = mapped_column(default=False)  # TRV-2: beyond the team's planned visits
    bearer_reason: Mapped[str] = mapped_column(Text, default="")
    bearer_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    bearer_decided_at: Mapped[datetime | None]
    review_round: Mapped[int] = mapped_column(default=1)  # each (re)submission, for one notice per decision
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    # 旅費法第5条: the trip was made otherwise than its 旅行命令 said (a change that could not wait), as recorded
    departure_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    departure_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    departure_recorded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)

    phase: Mapped[Phase] = relationship()
    team: Mapped[Team] = relationship()
    filed_by: Mapped[User | None] = relationship(foreign_keys=[filed_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    bearer_decided_by: Mapped[User | None] = relationship(foreign_keys=[bearer_decided_by_id])
    departure_recorded_by: Mapped[User | None] = relationship(foreign_keys=[departure_recorded_by_id])
    travellers: Mapped[list[TripTraveller]] = relationship(back_populates="trip", cascade="all, delete-orphan",
                                                           order_by="TripTraveller.id")
    estimate_lines: Mapped[list[TripEstimateLine]] = relationship(back_populates="trip", cascade="all, delete-orphan",
                                                                  order_by="TripEstimateLine.id")
    claim: Mapped[TravelClaim | None] = relationship(back_populates="trip", uselist=False)

    @property
    def number(self) -> str:
        return f"出-{self.id:05d}"

    @property
    def status_label(self) -> str:
        return TripStatus(self.status).label

    @property
    def purpose_label(self) -> str:
        return PURPOSES[self.purpose]

    @property
    def bearer_label(self) -> str:
        return BEARERS[self.cost_bearer]

    @property
    def nights(self) -> int:
        return (self.return_on - self.depart_on).days

    @property
    def traveller_officers(self) -> list[Officer]:
        return [t.officer for t in self.travellers]


class TripTraveller(db.Model):
    __tablename__ = "trip_travellers"
    __table_args__ = (UniqueConstraint("trip_id", "officer_id", name="uq_trip_travellers_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trip_requests.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    band: Mapped[str] = mapped_column(String(10))  # the rate band at the time of the request

    trip: Mapped[TripRequest] = relationship(back_populates="travellers")
    officer: Mapped[Officer] = relationship(lazy="joined")  # a traveller is shown with their name and band


class TripEstimateLine(db.Model):
    """One traveller's estimated cost in one category."""

    __tablename__ = "trip_estimate_lines"
    __table_args__ = (
        CheckConstraint(one_of("category", CATEGORIES), name="category_known"),
        CheckConstraint("amount_yen >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trip_requests.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    category: Mapped[str] = mapped_column(String(20))
    amount_yen: Mapped[int]
    detail: Mapped[str] = mapped_column(String(200), default="")

    trip: Mapped[TripRequest] = relationship(back_populates="estimate_lines")
    officer: Mapped[Officer] = relationship()

    @property
    def category_label(self) -> str:
        return CATEGORIES[self.category]


class TravelClaim(db.Model):
    """精算: the actual cost of an approved trip, line by line, with receipts."""

    __tablename__ = "travel_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trip_requests.id"), unique=True)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[datetime] = mapped_column(default=now)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    settled_at: Mapped[datetime | None]

    trip: Mapped[TripRequest] = relationship(back_populates="claim")
    filed_by: Mapped[User | None] = relationship(foreign_keys=[filed_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    lines: Mapped[list[TravelClaimLine]] = relationship(back_populates="claim", cascade="all, delete-orphan",
                                                        order_by="TravelClaimLine.id")
    receipts: Mapped[list[Receipt]] = relationship(back_populates="claim", order_by="Receipt.id")


class TravelClaimLine(db.Model):
    """Claimed and approved amounts per traveller and category; the estimate beside them."""

    __tablename__ = "travel_claim_lines"
    __table_args__ = (
        CheckConstraint(one_of("category", CATEGORIES), name="category_known"),
        CheckConstraint("claimed_yen >= 0 AND estimate_yen >= 0", name="amounts_not_negative"),
        CheckConstraint("approved_yen IS NULL OR (approved_yen >= 0 AND approved_yen <= claimed_yen)",
                        name="approved_within_claimed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("travel_claims.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    category: Mapped[str] = mapped_column(String(20))
    estimate_yen: Mapped[int] = mapped_column(default=0)
    claimed_yen: Mapped[int]
    approved_yen: Mapped[int | None]
    cap_yen: Mapped[int | None]  # for lodging: the cap × nights the claim is held to
    exception_reason: Mapped[str] = mapped_column(Text, default="")  # lodging above the cap
    reduction_reason: Mapped[str] = mapped_column(Text, default="")  # approved below claimed

    claim: Mapped[TravelClaim] = relationship(back_populates="lines")
    officer: Mapped[Officer] = relationship()

    @property
    def category_label(self) -> str:
        return CATEGORIES[self.category]

    @property
    def difference(self) -> int:
        return self.claimed_yen - self.estimate_yen


class Receipt(db.Model):
    """A receipt file (PDF/JPEG/PNG, checked by content), stored outside the web root by its hash."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("travel_claims.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=now)

    claim: Mapped[TravelClaim] = relationship(back_populates="receipts")


# Totals computed in SQL from the lines, so lists sort and sum on the truth, in the same query.
# The services expire them when they change the lines (a flush of the row itself changes nothing here).
# Written on the lines' tables, not their classes: the row a total sits on is held itself (PUB-2), and the hold's
# criteria on the lines inside each correlated sum tripled what PostgreSQL planned for the trip list.
_estimate_lines, _claim_lines = TripEstimateLine.__table__, TravelClaimLine.__table__
TripRequest.estimated_yen = column_property(
    select(func.coalesce(func.sum(_estimate_lines.c.amount_yen), 0))
    .where(_estimate_lines.c.trip_id == TripRequest.id).correlate_except(_estimate_lines).scalar_subquery(), expire_on_flush=False)
TravelClaim.claimed_yen = column_property(
    select(func.coalesce(func.sum(_claim_lines.c.claimed_yen), 0))
    .where(_claim_lines.c.claim_id == TravelClaim.id).correlate_except(_claim_lines).scalar_subquery(), expire_on_flush=False)
TravelClaim.approved_yen = column_property(
    select(func.coalesce(func.sum(func.coalesce(_claim_lines.c.approved_yen, _claim_lines.c.claimed_yen)), 0))
    .where(_claim_lines.c.claim_id == TravelClaim.id).correlate_except(_claim_lines).scalar_subquery(), expire_on_flush=False)
