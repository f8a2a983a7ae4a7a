"""Demo travel: FY2025 and FY2026 rate tables, and a year of trips for the teams of both phases —
site visits requested, approved, claimed with receipts and settled, a few awaiting review,
returned, or beyond the team's plan with the bearer recorded (TRV-2).

The rates are demonstration values in the shape of the 宿泊費基準額 table (令和7年4月施行);
the real ones are entered by finance at /travel/rates from the Ministry of Finance ordinance."""
from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from banso.bulk import BulkWriter
from banso.clock import jst, today_jst
from banso.extensions import db, reset_sequences
from banso.models import (Activity, AuditEntry, Notification, NotificationStatus, Phase, Receipt, Team, TravelClaim,
                          TravelClaimLine, TripEstimateLine, TripRequest, TripTraveller, User)
from banso.models.travel import RATE_BANDS
from banso.reference import BLOCK_OF, PREFECTURES
from banso.services import files, travel

# Trips that came back more than this long ago were settled long since: they are written as the services
# leave them, in bulk (a year of them through every step of the services took most of the demo's load time).
SETTLED_LONG_AGO = timedelta(days=30)
DEMO_RECEIPT = b"%PDF-1.4\n% Banso demo receipt\n%%EOF\n"

# 課長級以下, FY2025 (令和7年度): the figures named in the programme's notes, the rest plausible.
FY2025 = {"東京都": 19_000, "京都府": 18_000, "福岡県": 18_000, "大阪府": 17_000, "神奈川県": 16_000, "兵庫県": 15_000,
          "千葉県": 14_000, "愛知県": 14_000, "北海道": 14_000, "沖縄県": 13_000, "広島県": 13_000, "宮城県": 12_000,
          "福島県": 8_000}
# FY2026 (令和8年度): 東京 21,000, 京都 20,000, 千葉・兵庫・福岡 17,000; many others raised, some lowered.
FY2026 = {"東京都": 21_000, "京都府": 20_000, "千葉県": 17_000, "兵庫県": 17_000, "福岡県": 17_000}
ALLOWANCES = {0: 2_400, 1: 1_800, 2: 1_200}
# One person's return fare from Tokyo by region block (demo figures): (category, yen).
FARES = {"北海道": ("air", 46_000), "東北": ("rail", 24_000), "関東": ("rail", 5_000), "中部": ("rail", 17_000),
         "近畿": ("rail", 28_000), "中国": ("rail", 36_000), "四国": ("air", 42_000), "九州・沖縄": ("air", 47_000)}


def rates_2025() -> dict[str, int]:
    return {p: FY2025.get(p, 10_000 + (i % 4) * 500) for i, p in enumerate(PREFECTURES)}


def rates_2026() -> dict[str, int]:
    base = rates_2025()
    return {p: FY2026.get(p, base[p] + (1_000, 2_000, 0, -1_000 if base[p] > 10_000 else 0)[i % 4])
            for i, p in enumerate(PREFECTURES)}


def load_rates(actor: User | None = None) -> None:
    for year, table in ((2025, rates_2025()), (2026, rates_2026())):
        lodging = {}
        for band in RATE_BANDS:
            for prefecture, cap in table.items():
                lodging[(band, prefecture)] = str(cap if band == "課長級以下" else int(round(cap * 1.3, -3)))
        travel.save_rates(year, lodging, {m: str(a) for m, a in ALLOWANCES.items()}, actor=actor)


def _trip_data(team: Team, depart: date, back: date, rng: random.Random, purpose: str = "site_visit") -> dict:
    prefecture = team.municipality.prefecture
    category, fare = FARES[BLOCK_OF[prefecture]]
    data = {"travellers": [str(m.officer.id) for m in team.current_members if m.joined_on <= depart], "purpose": purpose,
            "destination_prefecture": prefecture, "destination": team.municipality.name,
            "depart_on": depart, "return_on": back, "itinerary": f"東京 → {team.municipality.name}（{rng.choice(['市役所にて打合せ', '現地視察', '事業者ヒアリング'])}）→ 東京",
            "rail_yen": 0, "ship_yen": 0, "air_yen": 0, "other_transport_yen": rng.choice([0, 2_000, 3_500, 6_000]),
            "package_yen": 0, "room_rate_yen": rng.choice([8_500, 9_800, 11_000, 12_500, 14_000]) if back > depart else 0,
            "meals": rng.choice([0, 0, 1])}
    data[f"{category}_yen"] = fare + rng.randint(-2, 2) * 500
    return data


def _claim(trip, rng: random.Random, actor: User) -> None:
    lines = []
    for line in trip.estimate_lines:
        actual = line.amount_yen + (rng.randint(-3, 3) * 500 if line.category in ("rail", "air", "other_transport") else 0)
        lines.append(travel.ClaimInput(line.officer_id, line.category, max(0, actual)))
    receipt = (f"receipt-{trip.id}.pdf", b"%PDF-1.4\n% Banso demo receipt\n" + str(trip.id).encode() + b"\n%%EOF\n")
    travel.file_claim(trip, lines, [receipt], actor=actor)


def _trips_for(phase: Phase, rng: random.Random, staff: User, finance: User, officer_user: User, *, until: date) -> None:
    teams = list(db.session.scalars(select(Team).where(Team.phase_id == phase.id).order_by(Team.id)))
    visits = db.session.scalars(select(Activity).where(Activity.kind.in_(("site_visit", "company_visit")),
                                                       Activity.team_id.in_([t.id for t in teams]))
                                .order_by(Activity.started_on)).all()
    by_team = {t.id: t for t in teams}
    out, site_visits = BulkWriter(), {t.id: 0 for t in teams}
    recent = []
    for n, activity in enumerate(visits):
        team = by_team[activity.team_id]
        back = activity.ended_on if activity.kind == "site_visit" else activity.started_on + timedelta(days=1)
        data = _trip_data(team, activity.started_on, back, rng, activity.kind)
        if not data["travellers"]:
            continue
        if back > until - SETTLED_LONG_AGO:
            recent.append((n, team, data))
            continue
        site_visits[team.id] += activity.kind == "site_visit"
        over_plan = activity.kind == "site_visit" and site_visits[team.id] > travel.default_visits(team)
        _settled(out, team, data, rng, staff=staff, finance=finance, over_plan=over_plan, taxi_unpaid=n % 17 == 4)
    out.flush()
    reset_sequences()
    for n, team, data in recent:
        trip = travel.file_request(team, data, actor=staff)
        if trip.over_plan:
            travel.decide_bearer(trip, "national", "年度当初計画の見直しにより国負担とする", actor=staff)
        travel.review_request(trip, "approve", actor=finance)
        if data["return_on"] <= until - timedelta(days=3):
            _claim(trip, rng, staff)
            if data["return_on"] <= until - timedelta(days=20) or n % 3:
                approvals = {}
                if n % 17 == 4:  # a taxi fare without a receipt is not paid
                    line = next((ln for ln in trip.claim.lines if ln.category == "other_transport" and ln.claimed_yen), None)
                    if line is not None:
                        approvals[line.id] = (0, "領収書の添付がないため")
                travel.review_claim(trip, "settle", approvals, actor=finance)


def _settled(out: BulkWriter, team: Team, data: dict, rng: random.Random, *, staff: User, finance: User, over_plan: bool,
             taxi_unpaid: bool) -> None:
    """A trip requested, approved, claimed with a receipt and settled, with its audit rows and notices, at the
    times it happened; the estimate is the travel service's own."""
    travellers, estimate = travel.check_request(team, data)
    depart, back = data["depart_on"], data["return_on"]
    filed = jst(depart.year, depart.month, depart.day, 10) - timedelta(days=21)
    approved = filed + timedelta(days=2)
    claimed = jst(back.year, back.month, back.day, 17) + timedelta(days=5)
    settled = claimed + timedelta(days=7)
    trip_id = out.add(
        TripRequest, phase_id=team.phase_id, team_id=team.id, filed_by_id=staff.id, purpose=data["purpose"],
        destination_prefecture=data["destination_prefecture"], destination=data["destination"], depart_on=depart,
        return_on=back, itinerary=data["itinerary"], room_rate_yen=data["room_rate_yen"], meals=data["meals"],
        status="settled", cost_bearer="national", over_plan=over_plan,
        bearer_reason="年度当初計画の見直しにより国負担とする" if over_plan else "",
        bearer_decided_by_id=staff.id if over_plan else None, bearer_decided_at=filed + timedelta(days=1) if over_plan else None,
        review_round=1, review_comment="", reviewed_by_id=finance.id, reviewed_at=approved, approved_at=approved,
        created_at=filed)
    for officer in travellers:
        out.add(TripTraveller, trip_id=trip_id, officer_id=officer.id, band=travel.rate_band(officer))
    claim_id = out.add(TravelClaim, trip_id=trip_id, filed_by_id=staff.id, filed_at=claimed, review_comment="",
                       reviewed_by_id=finance.id, settled_at=settled)
    limits, taxi_done = None, False
    claimed_total = approved_total = 0
    for line in estimate.lines:
        out.add(TripEstimateLine, trip_id=trip_id, officer_id=line.officer.id, category=line.category,
                amount_yen=line.amount, detail=line.detail)
        actual = max(0, line.amount + (rng.randint(-3, 3) * 500 if line.category in ("rail", "air", "other_transport") else 0))
        paid, reason = actual, ""
        if taxi_unpaid and not taxi_done and line.category == "other_transport" and actual:
            paid, reason, taxi_done = 0, "領収書の添付がないため", True
        if line.category == "lodging" and limits is None:
            limits = {band: travel.lodging_limit(depart, back, band, data["destination_prefecture"]) for band in RATE_BANDS}
        out.add(TravelClaimLine, claim_id=claim_id, officer_id=line.officer.id, category=line.category,
                estimate_yen=line.amount, claimed_yen=actual, approved_yen=paid,
                cap_yen=limits[travel.rate_band(line.officer)] if line.category == "lodging" else None,
                exception_reason="", reduction_reason=reason)
        claimed_total, approved_total = claimed_total + actual, approved_total + paid
    out.add(Receipt, claim_id=claim_id, filename=f"receipt-{trip_id}.pdf", content_type="application/pdf",
            size_bytes=len(DEMO_RECEIPT), sha256=_demo_receipt(), uploaded_by_id=staff.id, uploaded_at=claimed)
    number = f"出-{trip_id:05d}"
    for action, actor, at, summary in (
            ("file", staff, filed, f"{number} {team.name}の出張を申請（見積 {estimate.total:,}円）"),
            ("approve", finance, approved, f"{number}を承認"),
            ("claim", staff, claimed, f"{number}の精算を申請（請求 {claimed_total:,}円）"),
            ("claim_settle", finance, settled, f"{number}の精算を精算（請求 {claimed_total:,}円、認定 {approved_total:,}円）")):
        out.add(AuditEntry, at=at, actor_id=actor.id, action=action, object_type="TripRequest", object_id=trip_id,
                summary=summary)
    for event, at, subject in (("approve", approved, f"出張 {number} が承認されました"),
                               ("claim-settle", settled, f"出張 {number} の精算が完了しました")):
        for officer in travellers:
            out.add(Notification, idempotency_key=f"trip-{trip_id}-1-{event}-{officer.email}", recipient_email=officer.email,
                    recipient_name=officer.name, recipient_user_id=officer.user_id, kind="travel_decision",
                    subject=f"【地方創生伴走支援】{subject}", body=f"{officer.name} 様\n\n{subject}。",
                    object_type="TripRequest", object_id=trip_id, status=NotificationStatus.SENT, attempts=1,
                    created_at=at, sent_at=at)


def _demo_receipt() -> str:
    """The receipt every long-settled demo trip carries, stored once where receipts are kept."""
    return files.store(DEMO_RECEIPT)


def _upcoming(phase: Phase, rng: random.Random, staff: User, finance: User, today: date) -> None:
    """Next month's visits: some awaiting review, one returned, one beyond the plan borne by the municipality."""
    teams = list(db.session.scalars(select(Team).where(Team.phase_id == phase.id).order_by(Team.id)))
    for i, team in enumerate(teams[:24]):
        depart = today + timedelta(days=10 + i)
        if depart + timedelta(days=1) > team.end_date:
            continue
        if i in (1, 7, 13):  # a smaller plan agreed with these municipalities: the next visit goes beyond it
            travel.set_plan(team, 3, phase.travel_standard_visit_yen, "市と合意した年3回の計画", actor=finance)
        trip = travel.file_request(team, _trip_data(team, depart, depart + timedelta(days=1), rng), actor=staff)
        if i == 3:
            travel.review_request(trip, "return", "宿泊料金の根拠（見積書）を行程欄に追記してください。", actor=finance)
        elif trip.over_plan and i != 13:  # one is left for the secretariat to decide
            travel.decide_bearer(trip, "municipality", "市の要望による追加訪問のため、市の負担とすることで合意（TRV-2）", actor=staff)
        elif i % 5 == 0:
            travel.review_request(trip, "approve", actor=finance)


def load(staff: User, finance: User, officer_user: User) -> None:
    load_rates(actor=finance)
    today = today_jst()
    first = db.session.scalar(select(Phase).where(Phase.number == 1))
    second = db.session.scalar(select(Phase).where(Phase.number == 2))
    _trips_for(first, random.Random(251), staff, finance, officer_user, until=today)
    _trips_for(second, random.Random(262), staff, finance, officer_user, until=today)
    _upcoming(second, random.Random(263), staff, finance, today)
    # The decisions of past trips reached their travellers at the time; the dev mailbox keeps only new mail.
    for notice in db.session.scalars(select(Notification).where(Notification.kind == "travel_decision",
                                                                Notification.status == NotificationStatus.PENDING)):
        notice.status, notice.sent_at = NotificationStatus.SENT, notice.created_at

