"""Trip requests: the estimate from the rate tables, filing and correcting, the cost bearer, finance's review and
cancelling (TRV-1, TRV-2)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified

from banso.formatting import parse_id, wareki
from banso.clock import now
from banso.extensions import db
from banso.models import (Officer, Role,
                          Team, TravelClaim, TripEstimateLine,
                          TripRequest, TripStatus, TripTraveller, User)
from banso.models.travel import BEARERS, CATEGORIES, LIVE, MEALS, PURPOSES, TRANSPORT
from banso.policies import travel as policy
from banso.reference import PREFECTURES
from banso.services import (InputError, approvals, NotPermitted, RuleViolation, WrongState, audit, check_version,
                            notifications)
from banso.services.travel.budget import Budget, check_cap, figures, lock_budget, plan_for
from banso.services.travel.rates import (MAX_LINE_YEN, MAX_NIGHTS, MAX_ROOM_YEN, allowance_limit, fiscal_year, lodging_cap,
                                         nights_between, rate_band)

SIGNATURE = "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室"

def page_loads() -> list:
    """What a trip's page shows, loaded with the trip (a statement per relation, not one per row)."""
    return [joinedload(TripRequest.team).joinedload(Team.municipality), joinedload(TripRequest.phase),
            joinedload(TripRequest.filed_by), joinedload(TripRequest.reviewed_by),
            selectinload(TripRequest.travellers), selectinload(TripRequest.estimate_lines),
            joinedload(TripRequest.claim).options(joinedload(TravelClaim.filed_by), joinedload(TravelClaim.reviewed_by),
                                                  selectinload(TravelClaim.lines), selectinload(TravelClaim.receipts))]


# --- estimates -------------------------------------------------------------------------------

@dataclass
class EstimateLine:
    officer: Officer
    category: str
    amount: int
    detail: str = ""

    @property
    def category_label(self) -> str:
        return CATEGORIES[self.category]


@dataclass
class Estimate:
    lines: list[EstimateLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    def by_officer(self) -> dict[Officer, list[EstimateLine]]:
        grouped: dict[Officer, list[EstimateLine]] = {}
        for line in self.lines:
            grouped.setdefault(line.officer, []).append(line)
        return grouped


def members_on(team: Team, start: date, end: date) -> list[Officer]:
    """The team's members over the whole of start..end (a replaced member only for their own time)."""
    return [m.officer for m in team.memberships if m.joined_on <= start and (m.left_on is None or m.left_on >= end)]


def check_request(team: Team, data: dict) -> tuple[list[Officer], Estimate]:
    """Every input of a trip request checked, and the estimate from the rate tables.
    Raises one RuleViolation naming the field; changes nothing."""
    depart, back = _checked_dates(team, data)
    if data.get("purpose") not in PURPOSES:
        raise InputError("用務の種類を選んでください。", "purpose")
    prefecture = data.get("destination_prefecture")
    if prefecture not in PREFECTURES:
        raise InputError(f"都道府県「{prefecture or ''}」は選択肢にありません。", "destination_prefecture")
    travellers = _checked_travellers(team, data, depart, back)
    meals = data.get("meals") or 0
    if meals not in MEALS:
        raise InputError("食事の有無を選んでください。", "meals")
    amounts, room = _checked_amounts(data, nights_between(depart, back))
    return travellers, _estimate(travellers, amounts, room, depart, back, prefecture, meals)


def _checked_dates(team: Team, data: dict) -> tuple[date, date]:
    depart, back = data.get("depart_on"), data.get("return_on")
    if depart is None or back is None:
        raise InputError("出発日と帰着日を入力してください。", "depart_on")
    if back < depart:
        raise InputError("帰着日は出発日以降にしてください。", "return_on")
    if not (team.start_date <= depart and back <= team.end_date):
        raise InputError(f"出張はチームの支援期間（{wareki(team.start_date)}〜{wareki(team.end_date)}）内の日程にしてください。",
                         "depart_on")
    if (back - depart).days > MAX_NIGHTS:
        raise InputError(f"1回の出張は{MAX_NIGHTS}泊までです。日程をご確認ください。", "return_on")
    return depart, back


def _checked_travellers(team: Team, data: dict, depart: date, back: date) -> list[Officer]:
    """One to three of the team's members during the trip, in the order chosen."""
    ids = [n for n in map(parse_id, data.get("travellers") or []) if n]
    if not 1 <= len(set(ids)) <= 3:
        raise InputError("出張者はチームのメンバーから1〜3名を選んでください。", "travellers")
    members = {o.id: o for o in members_on(team, depart, back)}
    strangers = [i for i in ids if i not in members]
    if strangers:
        names = [o.name for o in db.session.scalars(select(Officer).where(Officer.id.in_(strangers)))] or ["選択された方"]
        raise InputError(f"{'、'.join(names)}さんは出張期間中の{team.name}のメンバーではありません。", "travellers")
    return [members[i] for i in dict.fromkeys(ids)]


def _checked_amounts(data: dict, nights: list) -> tuple[dict[str, int], int]:
    """Each traveller's fares and package (per person), and the room rate per night."""
    amounts = {}
    for name in [*TRANSPORT, "package"]:
        value = data.get(f"{name}_yen") or 0
        if not 0 <= value <= MAX_LINE_YEN:
            raise InputError(f"{CATEGORIES[name]}は1人あたり0〜{MAX_LINE_YEN:,}円で入力してください。", f"{name}_yen")
        amounts[name] = value
    room = data.get("room_rate_yen") or 0
    if not 0 <= room <= MAX_ROOM_YEN:
        raise InputError(f"宿泊料金は1泊あたり0〜{MAX_ROOM_YEN:,}円で入力してください。", "room_rate_yen")
    if amounts["package"] and room:
        raise InputError("包括宿泊費（パック）を使う場合、宿泊料金は0円にしてください（パック料金に含まれます）。", "room_rate_yen")
    if nights and not room and not amounts["package"]:
        raise InputError("宿泊を伴う出張です。1泊あたりの宿泊料金を入力してください。", "room_rate_yen")
    return amounts, room


def _estimate(travellers: list[Officer], amounts: dict[str, int], room: int, depart: date, back: date,
              prefecture: str, meals: int) -> Estimate:
    """The estimate from the rate tables: fares as paid, lodging up to each night's cap, the night allowance."""
    nights = nights_between(depart, back)
    estimate = Estimate()
    caps_by_band: dict[str, list[int]] = {}  # each night's cap, read once per band for all travellers
    allowance: int | None = None  # the same for every traveller
    for officer in travellers:
        for name in [*TRANSPORT, "package"]:
            if amounts[name]:
                estimate.lines.append(EstimateLine(officer, name, amounts[name], "実費"))
        if nights and room:
            band = rate_band(officer)
            if band not in caps_by_band:
                caps_by_band[band] = [lodging_cap(fiscal_year(n), band, prefecture) for n in nights]
            caps = caps_by_band[band]
            detail = f"{len(nights)}泊 × 実費（上限 {'／'.join(f'{c:,}円' for c in sorted(set(caps)))}）"
            estimate.lines.append(EstimateLine(officer, "lodging", sum(min(room, cap) for cap in caps), detail))
        if nights:
            if allowance is None:
                allowance = allowance_limit(depart, back, meals)
            estimate.lines.append(EstimateLine(officer, "night_allowance", allowance, f"{len(nights)}泊（{MEALS[meals]}）"))
    return estimate


@dataclass
class Fit:
    """Whether a request fits in what is available (shown while the form is filled in)."""

    estimate: Estimate
    budget: Budget
    over_plan: bool
    bearer: str

    @property
    def fits(self) -> bool:
        return self.bearer != "national" or self.estimate.total <= self.budget.available

    @property
    def available_after(self) -> int:
        return self.budget.available - (self.estimate.total if self.bearer == "national" else 0)


def fit(team: Team, data: dict, *, trip: TripRequest | None = None) -> Fit:
    _, estimate = check_request(team, data)
    over = _is_over_plan(team, data.get("purpose"), trip)
    bearer = trip.cost_bearer if trip is not None else "national"
    return Fit(estimate, figures(team.phase), over, bearer)


def _is_over_plan(team: Team, purpose: str | None, trip: TripRequest | None) -> bool:
    """TRV-2 / TEAM-5: a site visit beyond the team's planned number."""
    if purpose != "site_visit":
        return False
    plan = plan_for(team)
    already = plan.requested - (1 if trip is not None and trip.purpose == "site_visit" and trip.status in LIVE else 0)
    return already + 1 > plan.planned


# --- trip requests ---------------------------------------------------------------------------

def file_request(team: Team, data: dict, *, actor: User) -> TripRequest:
    """An officer files for their own team, or staff on an officer's behalf (TRV-1: 国 bears it)."""
    if not policy.may_file_for(team, actor):
        raise NotPermitted(f"{team.name}の出張を申請できるのは、そのチームのメンバーと事務局です。")
    travellers, estimate = check_request(team, data)
    trip = TripRequest(phase_id=team.phase_id, team_id=team.id, filed_by_id=actor.id, cost_bearer="national")
    write_request(trip, data, travellers, estimate)
    trip.over_plan = _is_over_plan(team, trip.purpose, None)
    db.session.add(trip)
    db.session.flush()
    db.session.expire(trip, ["estimated_yen"])  # computed in SQL from the lines just written
    # The 旅行命令 goes along its route. Its title names no team: a decider outside the secretariat reads it in their
    # inbox, and the team of a trip is held until release (PUB-2); the trip's own page is held as ever.
    title = f"{trip.number} {trip.purpose_label}（{trip.destination_prefecture}、{trip.depart_on:%-m月%-d日}〜）"
    approvals.start(policy.ORDER, title, drafter=actor, subject_id=trip.id, team_id=trip.team_id)
    audit.record("file", trip, actor=actor, summary=f"{trip.number} {team.name}の出張（{trip.purpose_label}、{trip.depart_on:%-m月%-d日}〜）を申請"
                 f"（見積 {estimate.total:,}円{'、計画超過' if trip.over_plan else ''}）",
                 after={"estimate_yen": estimate.total, "travellers": [o.id for o in travellers]})
    return trip


# What a stale form is shown of the trip as saved (services.check_version); a claim's filing and review move the
# trip's status, so the trip's version covers its claim too.
TRIP_FIELDS = {"status_label": "状態", "depart_on": "出発日", "return_on": "帰着日", "destination": "用務先"}


def update_request(trip: TripRequest, data: dict, *, actor: User, expected_version=None) -> TripRequest:
    """Correct a request awaiting review or returned; it goes back to finance."""
    check_version(trip, expected_version, TRIP_FIELDS)
    if trip.status not in policy.CORRECTABLE:
        raise WrongState(f"「{trip.status_label}」の申請は修正できません。")
    if not policy.may_edit(trip, actor):
        raise NotPermitted("この申請を修正できるのは、申請者・出張者と事務局です。")
    case = approvals.open_case(policy.ORDER, trip.id)
    if case is not None and case.status == "in_progress" and any(a.verb == "approve" and a.revision == case.revision
                                                                 for a in case.actions):
        raise WrongState("決裁が進んでいるため修正できません。決裁者に差戻しを依頼してください。")
    before = {"estimate_yen": trip.estimated_yen, "status": trip.status}
    travellers, estimate = check_request(trip.team, data)
    trip.travellers.clear()
    trip.estimate_lines.clear()
    db.session.flush()
    write_request(trip, data, travellers, estimate)
    trip.over_plan = _is_over_plan(trip.team, trip.purpose, trip)
    if trip.status == TripStatus.RETURNED:
        trip.review_round += 1
        if case is not None and case.status == "returned":
            approvals.resubmit(case, actor)  # the 旅行命令's next revision, from its first step
    trip.status = TripStatus.SUBMITTED
    db.session.flush()
    db.session.expire(trip, ["estimated_yen"])
    audit.record("update", trip, actor=actor, summary=f"{trip.number}を修正して再申請（見積 {estimate.total:,}円）",
                 before=before, after={"estimate_yen": estimate.total, "status": trip.status})
    return trip


def write_request(trip: TripRequest, data: dict, travellers: list[Officer], estimate: Estimate) -> None:
    trip.purpose = data["purpose"]
    trip.destination_prefecture = data["destination_prefecture"]
    trip.destination = (data.get("destination") or "").strip()[:200] or trip.team.municipality.name
    trip.depart_on, trip.return_on = data["depart_on"], data["return_on"]
    trip.itinerary = (data.get("itinerary") or "").strip()[:4000]
    trip.room_rate_yen, trip.meals = data.get("room_rate_yen") or 0, data.get("meals") or 0
    for officer in travellers:
        trip.travellers.append(TripTraveller(officer=officer, band=rate_band(officer)))
    for line in estimate.lines:
        trip.estimate_lines.append(TripEstimateLine(officer=line.officer, category=line.category, amount_yen=line.amount,
                                                    detail=line.detail))


def request_form_data(trip: TripRequest) -> dict:
    """A stored request as the form's data (to correct it); per-person amounts from the first traveller."""
    first = trip.travellers[0].officer_id if trip.travellers else None
    amount = {line.category: line.amount_yen for line in trip.estimate_lines if line.officer_id == first}
    data = {"travellers": [str(t.officer_id) for t in trip.travellers], "purpose": trip.purpose,
            "destination_prefecture": trip.destination_prefecture, "destination": trip.destination,
            "depart_on": trip.depart_on, "return_on": trip.return_on, "itinerary": trip.itinerary,
            "room_rate_yen": trip.room_rate_yen, "meals": trip.meals}
    data.update({f"{name}_yen": amount.get(name, 0) for name in [*TRANSPORT, "package"]})
    data["version"] = trip.version
    return data


def decide_bearer(trip: TripRequest, bearer: str, reason: str, *, actor: User, expected_version=None) -> TripRequest:
    """TRV-2: the secretariat records who bears a trip (a visit beyond the plan may be the municipality's)."""
    check_version(trip, expected_version, TRIP_FIELDS)
    if not policy.may_decide_bearer(None, actor):
        raise NotPermitted("費用負担者は事務局が決定します。")
    if bearer not in BEARERS:
        raise InputError("費用負担者を選んでください。", "cost_bearer")
    if not (reason or "").strip():
        raise InputError("費用負担者を決定した理由を入力してください。", "bearer_reason")
    if trip.status not in policy.CORRECTABLE:
        raise WrongState("費用負担者は承認前の申請についてのみ決定できます。")
    before = {"cost_bearer": trip.cost_bearer}
    trip.cost_bearer, trip.bearer_reason = bearer, reason.strip()
    trip.bearer_decided_by_id, trip.bearer_decided_at = actor.id, now()
    audit.record("decide_bearer", trip, actor=actor, summary=f"{trip.number}の費用負担者を「{BEARERS[bearer]}」に決定（{trip.bearer_reason}）",
                 before=before, after={"cost_bearer": bearer})
    return trip


def refuse_review(trip: TripRequest, actor: User, what: str, not_awaiting: str) -> None:
    """Why the policy refused a review (may_review_request, may_review_claim), in the order it asks: finance only,
    a request or claim awaiting review (else ``not_awaiting``), never one's own."""
    if not policy.may_review(actor):
        raise NotPermitted(f"{what}の審査は会計担当が行います。")
    if not policy.is_own(trip, actor):
        raise WrongState(not_awaiting)
    raise NotPermitted(f"ご自身が申請者・出張者である{what}は審査できません。別の会計担当が審査してください。")


def move_status(trip: TripRequest, from_status: tuple[str, ...], to_status: str) -> None:
    """Change the status only if nobody else has meanwhile: the second of two clicks loses here."""
    moved = db.session.execute(update(TripRequest).where(TripRequest.id == trip.id, TripRequest.status.in_(from_status))
                               .values(status=to_status).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        db.session.expire(trip, ["status"])
        raise WrongState(f"{trip.number}は既に他の方が処理しました（現在「{trip.status_label}」）。画面を再読み込みしてください。")
    db.session.expire(trip, ["status"])
    flag_modified(trip, "team_id")  # the trip joins the flush: its version moves, and a closed team's refuses (closing.py)


REVIEW_DECISIONS = {"approve": "承認", "return": "差戻し", "reject": "却下"}


def review_request(trip: TripRequest, decision: str, comment: str = "", *, actor: User, expected_version=None) -> TripRequest:
    """Finance approves (committing the estimate, never over the cap), returns with a comment, or rejects."""
    check_version(trip, expected_version, TRIP_FIELDS)
    case = approvals.open_case(policy.ORDER, trip.id)
    if not policy.may_review_request(trip, actor):
        if case is not None and trip.status == TripStatus.SUBMITTED and not policy.is_own(trip, actor):
            raise NotPermitted(approvals.may_act(case, actor)[2])
        refuse_review(trip, actor, "出張申請", f"「{trip.status_label}」の申請は審査できません。")
    if decision not in REVIEW_DECISIONS:
        raise InputError("審査の結果を選んでください。")
    comment = (comment or "").strip()
    if decision in ("return", "reject") and not comment:
        raise InputError(f"{REVIEW_DECISIONS[decision]}の理由をコメントに入力してください。", "comment")
    if case is not None and _decide_on_route(trip, case, decision, comment, actor) is not None:
        return trip  # a step before the decision: the 旅行命令 waits for the next one
    if decision == "approve":
        if trip.over_plan and trip.bearer_decided_at is None:
            raise RuleViolation("TRV-2", "チームの現地訪問計画を超える出張です。事務局が費用負担者（国／市町村）を決定してから承認してください。")
        lock_budget(trip.phase)
        if trip.cost_bearer == "national":
            check_cap(trip.phase, trip.estimated_yen, action="承認")
        move_status(trip, (TripStatus.SUBMITTED,), TripStatus.APPROVED)
        trip.approved_at = now()
    else:
        move_status(trip, (TripStatus.SUBMITTED,), TripStatus.RETURNED if decision == "return" else TripStatus.REJECTED)
    trip.review_comment, trip.reviewed_by_id, trip.reviewed_at = comment, actor.id, now()
    audit.record(f"review_{decision}", trip, actor=actor,
                 summary=f"{trip.number}を{REVIEW_DECISIONS[decision]}（見積 {trip.estimated_yen:,}円）{('：' + comment) if comment else ''}",
                 after={"status": trip.status})
    notify_trip(trip, f"request-{decision}", f"出張申請 {trip.number} が{REVIEW_DECISIONS[decision]}されました",
            f"{trip.team.name}の出張申請（{trip.purpose_label}、{wareki(trip.depart_on)}〜{trip.return_on:%-m月%-d日}、"
            f"見積 {trip.estimated_yen:,}円）を{REVIEW_DECISIONS[decision]}しました。" + (f"\n\nコメント: {comment}" if comment else "")
            + ("\n\n出張後、Bansoから精算を申請してください。" if decision == "approve" else "")
            + ("\n\n内容を修正して再申請してください。" if decision == "return" else ""))
    return trip


def _decide_on_route(trip: TripRequest, case, decision: str, comment: str, actor: User) -> str | None:
    """The 旅行命令 case's part of a review: an approval is one step of its route ("step" when more remain); a return
    or a rejection ends the case's revision, as it ends the request's."""
    if decision == "approve":
        approvals.approve(case, actor, comment)
        if case.status != "approved":
            audit.record("review_step", trip, actor=actor, summary=f"{trip.number}の旅行命令を承認（次の決裁者へ）")
            return "step"
        return None
    (approvals.send_back if decision == "return" else approvals.reject)(case, actor, comment)
    return None


def cancel_request(trip: TripRequest, *, actor: User, expected_version=None) -> TripRequest:
    """Withdraw a request before its claim: an approved estimate is released from the budget."""
    check_version(trip, expected_version, TRIP_FIELDS)
    if not policy.may_edit(trip, actor):
        raise NotPermitted("この申請を取り消せるのは、申請者・出張者と事務局です。")
    if trip.status == TripStatus.APPROVED:
        lock_budget(trip.phase)  # an approved estimate is released from the budget
    move_status(trip, policy.CANCELLABLE, TripStatus.CANCELLED)
    for kind in (policy.ORDER, policy.CHANGE):  # the order, or a change of it not yet decided
        if (case := approvals.open_case(kind, trip.id)) is not None:
            approvals.withdraw(case, actor, "申請の取消", for_the_subject=True)
    audit.record("cancel", trip, actor=actor, summary=f"{trip.number}を取消（見積 {trip.estimated_yen:,}円を解放）",
                 after={"status": trip.status})
    return trip


def _approve_order(case, user: User) -> None:
    """The 旅行命令 approved from the 決裁 inbox: the same review as on the trip's page (the cap taken at the decision)."""
    review_request(db.session.get(TripRequest, case.subject_id), "approve", actor=user)


approvals.register(policy.ORDER, approve=_approve_order)


def notify_trip(trip: TripRequest, event: str, subject: str, body: str) -> None:
    """The filer and the travellers hear of each decision, once each, through the outbox."""
    recipients: dict[str, tuple[str, User | None]] = {}
    for traveller in trip.travellers:
        recipients.setdefault(traveller.officer.email, (traveller.officer.name, traveller.officer.user))
    if trip.filed_by is not None and trip.filed_by.role == Role.OFFICER:
        recipients.setdefault(trip.filed_by.email, (trip.filed_by.name, trip.filed_by))
    for email, (name, user) in recipients.items():
        notifications.notify(key=f"trip-{trip.id}-{trip.review_round}-{event}-{email}", kind="travel_decision", obj=trip,
                             recipient_email=email, recipient_name=name, recipient_user=user,
                             subject=f"【地方創生伴走支援】{subject}", body=f"{name} 様\n\n{body}\n\n{SIGNATURE}")
