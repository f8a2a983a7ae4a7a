"""Claims after a trip: filed with receipts within the approved limits, reviewed and settled by finance (TRV-2)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from banso.formatting import wareki
from banso.clock import now, today_jst
from banso.extensions import db
from banso.models import (Receipt, TravelClaim, TravelClaimLine, TripRequest, TripStatus, TripTraveller, User)
from banso.models.travel import CATEGORIES
from banso.policies import travel as policy
from banso.services import approvals as routes
from banso.services import (InputError, NotPermitted, WrongState, audit, check_version,
                            files)
from banso.services.travel.budget import check_cap, lock_budget
from banso.services.travel.rates import MAX_LINE_YEN, fiscal_year, nights_between, rates_for
from banso.services.travel.requests import TRIP_FIELDS, move_status, notify_trip, refuse_review

RECEIPT_TYPES = {b"%PDF-": ("application/pdf", (".pdf",)),
                 b"\xff\xd8\xff": ("image/jpeg", (".jpg", ".jpeg")),
                 b"\x89PNG\r\n\x1a\n": ("image/png", (".png",))}

# --- claims ----------------------------------------------------------------------------------

@dataclass
class ClaimInput:
    officer_id: int
    category: str
    claimed: int | None
    exception_reason: str = ""


def claim_limits(trip: TripRequest) -> dict[tuple[int, str], int]:
    """Per traveller: the lodging cap over the trip's nights, and the full nightly allowance."""
    if not trip.nights:
        return {}
    nights = nights_between(trip.depart_on, trip.return_on)
    bands = {t.band for t in trip.travellers}
    caps, allowances = rates_for({fiscal_year(n) for n in nights}, bands, trip.destination_prefecture, 0)
    lodging = {band: sum(caps[(fiscal_year(n), band)] for n in nights) for band in bands}
    allowance = sum(allowances[fiscal_year(n)] for n in nights)
    limits = {}
    for t in trip.travellers:
        limits[(t.officer_id, "lodging")] = lodging[t.band]
        limits[(t.officer_id, "night_allowance")] = allowance
    return limits


def claim_not_yet(trip: TripRequest) -> str | None:
    """Why a claim cannot be filed yet (the trip has not started): said before the form is filled in, not after."""
    if trip.depart_on > today_jst():
        return f"精算は出張の開始日（{wareki(trip.depart_on)}）以降に申請できます。出張を終えてから、領収書を添えて申請してください。"
    return None


def file_claim(trip: TripRequest, lines: list[ClaimInput], uploads: list[tuple[str, bytes]], *, actor: User, expected_version=None) -> TravelClaim:
    """精算 after the trip: actual amounts per traveller and category, with receipts. Lodging above the
    cap needs a recorded exception; everything is checked before anything is stored."""
    check_version(trip, expected_version, TRIP_FIELDS)
    _check_claimable(trip, actor)
    travellers = {t.officer_id for t in trip.travellers}
    limits = claim_limits(trip)
    estimate = {(line.officer_id, line.category): line.amount_yen for line in trip.estimate_lines}
    names = {t.officer_id: t.officer.name for t in trip.travellers}
    clean: list[TravelClaimLine] = []
    for item in lines:
        if item.officer_id not in travellers or item.category not in CATEGORIES:
            raise InputError("精算の行に、この出張の出張者・費目ではないものがあります。")
        label = f"{names[item.officer_id]}さんの{CATEGORIES[item.category]}"
        if item.claimed is None or not 0 <= item.claimed <= MAX_LINE_YEN:
            raise InputError(f"{label}は0〜{MAX_LINE_YEN:,}円の整数で入力してください。", "lines")
        if item.category in ("lodging", "night_allowance") and not trip.nights and item.claimed:
            raise InputError(f"{label}: 日帰りの出張には宿泊費・宿泊手当は支給されません。", "lines")
        limit = limits.get((item.officer_id, item.category))
        reason = (item.exception_reason or "").strip()
        if item.category == "lodging" and limit is not None and item.claimed > limit and not reason:
            raise InputError(f"{label} {item.claimed:,}円は宿泊費基準額の合計 {limit:,}円を超えています。"
                                         "超える額を請求する場合は、やむを得ない理由（例外事由）を入力してください。", "lines")
        if item.category == "night_allowance" and limit is not None and item.claimed > limit:
            raise InputError(f"{label}は最大 {limit:,}円です。", "lines")
        if item.claimed or (item.officer_id, item.category) in estimate:
            clean.append(TravelClaimLine(officer_id=item.officer_id, category=item.category,
                                         estimate_yen=estimate.get((item.officer_id, item.category), 0),
                                         claimed_yen=item.claimed, cap_yen=limit if item.category == "lodging" else None,
                                         exception_reason=reason if item.category == "lodging" else ""))
    if not any(line.claimed_yen for line in clean):
        raise InputError("精算する金額を入力してください。", "lines")
    checked = [check_receipt(name, data) for name, data in uploads]
    if not checked and not (trip.claim is not None and trip.claim.receipts):
        raise InputError("領収書（PDF・JPEG・PNG）を1つ以上添付してください。", "receipts")
    claim = trip.claim
    if claim is None:
        claim = TravelClaim(trip=trip)
        db.session.add(claim)
    replaced = [_line_record(line) for line in claim.lines]  # a corrected claim keeps the lines it replaces
    claim.lines.clear()
    db.session.flush()
    claim.lines.extend(clean)
    claim.filed_by_id, claim.filed_at, claim.review_comment = actor.id, now(), ""
    for name, data, content_type in checked:
        _store_receipt(claim, name, data, content_type, actor=actor)
    if trip.status == TripStatus.CLAIM_RETURNED:
        trip.review_round += 1
    move_status(trip, policy.CLAIMABLE, TripStatus.CLAIM_SUBMITTED)
    _submit_on_route(trip, actor)
    db.session.flush()
    db.session.expire(claim, ["claimed_yen", "approved_yen"])
    audit.record("claim", trip, actor=actor, summary=f"{trip.number}の精算を申請（請求 {claim.claimed_yen:,}円、見積 {trip.estimated_yen:,}円）",
                 before={"lines": replaced} if replaced else None,
                 after={"claimed_yen": claim.claimed_yen, "lines": [_line_record(line) for line in claim.lines]})
    return claim


def _line_record(line: TravelClaimLine) -> dict:
    return {"officer": line.officer_id, "category": line.category, "claimed_yen": line.claimed_yen,
            "exception_reason": line.exception_reason}


def check_receipt(filename: str, data: bytes) -> tuple[str, bytes, str]:
    """A receipt is what its content says it is (PDF/JPEG/PNG), its extension agrees, and it fits the limit."""
    name = files.safe_name(filename)
    limit = current_app.config["RECEIPT_MAX_BYTES"]
    if not name:
        raise InputError("領収書のファイル名がありません。", "receipts")
    if not data:
        raise InputError(f"領収書「{name}」は空のファイルです。", "receipts")
    if len(data) > limit:
        raise InputError(f"領収書「{name}」は{len(data) / 1024 / 1024:.1f}MBあります。1ファイル{limit // 1024 // 1024}MBまでです。", "receipts")
    for magic, (content_type, extensions) in RECEIPT_TYPES.items():
        if data.startswith(magic):
            if not name.lower().endswith(extensions):
                raise InputError(f"領収書「{name}」の中身は{content_type.split('/')[1].upper()}ですが、拡張子が一致しません。", "receipts")
            return name, data, content_type
    raise InputError(f"領収書「{name}」はPDF・JPEG・PNGのいずれでもありません（中身を確認しました）。", "receipts")


def _store_receipt(claim: TravelClaim, name: str, data: bytes, content_type: str, *, actor: User) -> Receipt:
    digest = files.store(data)
    receipt = Receipt(claim=claim, filename=name, content_type=content_type, size_bytes=len(data), sha256=digest,
                      uploaded_by_id=actor.id)
    db.session.add(receipt)
    return receipt


def add_receipts(trip: TripRequest, uploads: list[tuple[str, bytes]], *, actor: User) -> list[Receipt]:
    if not policy.receipts_open(trip):
        raise WrongState("領収書は精算中（未精算）の出張にのみ追加できます。")
    if not policy.may_add_receipts(trip, actor):
        raise NotPermitted("この出張に領収書を追加できるのは、申請者・出張者と事務局です。")
    if not uploads:
        raise InputError("追加する領収書を選んでください。", "receipts")
    checked = [check_receipt(name, data) for name, data in uploads]
    receipts = [_store_receipt(trip.claim, name, data, content_type, actor=actor) for name, data, content_type in checked]
    audit.record("add_receipts", trip, actor=actor, summary=f"{trip.number}に領収書を{len(receipts)}件追加",
                 after={"files": [r.filename for r in receipts]})
    return receipts


CLAIM_DECISIONS = {"settle": "精算", "return": "差戻し"}


def _check_claimable(trip: TripRequest, actor: User) -> None:
    if trip.status not in policy.CLAIMABLE:
        raise WrongState(f"「{trip.status_label}」の出張は精算できません（承認済の出張が対象です）。")
    if not (policy.may_edit(trip, actor) or policy.may_claim(trip, actor)):
        raise NotPermitted("この出張を精算できるのは、申請者・出張者と事務局です。")
    if (wait := claim_not_yet(trip)) is not None:
        raise WrongState(wait)


def _submit_on_route(trip: TripRequest, actor: User) -> None:
    """The claim's case: started with the first filing, re-submitted (its next revision) after a return."""
    case = routes.open_case(policy.CLAIM, trip.id)
    claimed = {"claimed_yen": sum(line.claimed_yen for line in trip.claim.lines)}  # what the bulk decision reads
    if case is not None and case.status == "returned":
        case.payload = claimed
        routes.resubmit(case, actor)
    elif case is None:
        routes.start(policy.CLAIM, f"{trip.number} 精算（{trip.depart_on:%-m月%-d日}〜{trip.return_on:%-m月%-d日}）",
                     drafter=actor, subject_id=trip.id, team_id=trip.team_id, payload=claimed)


def review_claim(trip: TripRequest, decision: str, approvals: dict[int, tuple[int | None, str]], comment: str = "", *,
                 actor: User, expected_version=None) -> TravelClaim:
    """Finance settles (approved amount per line, less than claimed only with a reason; the trip's
    estimate leaves committed and the approved total enters spent, never over the cap) or returns."""
    check_version(trip, expected_version, TRIP_FIELDS)
    case = routes.open_case(policy.CLAIM, trip.id)
    if not policy.may_review_claim(trip, actor):
        if case is not None and trip.status == TripStatus.CLAIM_SUBMITTED and not policy.is_own(trip, actor):
            raise NotPermitted(routes.may_act(case, actor)[2])
        refuse_review(trip, actor, "精算", f"「{trip.status_label}」の出張は精算の審査ができません。")
    if decision not in CLAIM_DECISIONS:
        raise InputError("審査の結果を選んでください。")
    claim, comment = trip.claim, (comment or "").strip()
    if decision == "return":
        if not comment:
            raise InputError("差戻しの理由をコメントに入力してください。", "comment")
        if case is not None:
            routes.send_back(case, actor, comment)
        move_status(trip, (TripStatus.CLAIM_SUBMITTED,), TripStatus.CLAIM_RETURNED)
    else:
        for line in claim.lines:
            approved, reason = approvals.get(line.id, (line.claimed_yen, ""))
            label = f"{line.officer.name}さんの{line.category_label}"
            if approved is None or not 0 <= approved <= line.claimed_yen:
                raise InputError(f"{label}の認定額は0〜{line.claimed_yen:,}円（請求額以内）で入力してください。", "approvals")
            if approved < line.claimed_yen and not (reason or "").strip():
                raise InputError(f"{label}を請求額より減額する理由を入力してください。", "approvals")
            line.approved_yen, line.reduction_reason = approved, (reason or "").strip() if approved < line.claimed_yen else ""
        db.session.flush()
        if case is not None:
            routes.approve(case, actor, comment)
            if case.status != "approved":  # a step before the settlement: the next one decides
                audit.record("claim_step", trip, actor=actor, summary=f"{trip.number}の精算を承認（次の決裁者へ）")
                return claim
        total = sum(line.approved_yen for line in claim.lines)
        lock_budget(trip.phase)
        if trip.cost_bearer == "national":
            check_cap(trip.phase, total, releasing=trip.estimated_yen, action="精算")
        move_status(trip, (TripStatus.CLAIM_SUBMITTED,), TripStatus.SETTLED)
        claim.settled_at = now()
    claim.review_comment, claim.reviewed_by_id = comment, actor.id
    db.session.flush()
    db.session.expire(claim, ["claimed_yen", "approved_yen"])
    audit.record(f"claim_{decision}", trip, actor=actor,
                 summary=f"{trip.number}の精算を{CLAIM_DECISIONS[decision]}（請求 {claim.claimed_yen:,}円、認定 {claim.approved_yen:,}円）",
                 after={"status": trip.status, "approved_yen": claim.approved_yen})
    reduced = [f"・{line.officer.name} {line.category_label}: 請求 {line.claimed_yen:,}円 → 認定 {line.approved_yen:,}円（{line.reduction_reason}）"
               for line in claim.lines if decision == "settle" and line.approved_yen < line.claimed_yen]
    notify_trip(trip, f"claim-{decision}", f"出張 {trip.number} の精算が{'完了しました' if decision == 'settle' else '差し戻されました'}",
            f"{trip.team.name}の出張（{wareki(trip.depart_on)}〜{trip.return_on:%-m月%-d日}）の精算を"
            + (f"完了しました。認定額は {claim.approved_yen:,}円です。" if decision == "settle" else "差し戻しました。内容を修正して再申請してください。")
            + ("\n\n減額した項目:\n" + "\n".join(reduced) if reduced else "") + (f"\n\nコメント: {comment}" if comment else ""))
    return claim


def _approve_claim(case, user: User) -> None:
    """A claim settled from the 決裁 inbox (alone or in bulk): every line at its claimed amount, as on the trip's page."""
    review_claim(db.session.get(TripRequest, case.subject_id), "settle", {}, actor=user)


def _routine_claim(case) -> bool:
    """精算 up to APPROVAL_BULK_CLAIM_LIMIT_YEN may be decided in bulk (each line as claimed)."""
    return case.payload.get("claimed_yen", float("inf")) <= current_app.config["APPROVAL_BULK_CLAIM_LIMIT_YEN"]


routes.register(policy.CLAIM, approve=_approve_claim, routine=_routine_claim)


def duplicate_claims(trip: TripRequest) -> list[TripRequest]:
    """Other claimed trips of any of this trip's travellers over overlapping dates (flagged for finance)."""
    officer_ids = [t.officer_id for t in trip.travellers]
    if not officer_ids:
        return []
    return list(db.session.scalars(
        select(TripRequest).join(TripTraveller, TripTraveller.trip_id == TripRequest.id)
        .where(TripRequest.id != trip.id, TripTraveller.officer_id.in_(officer_ids),
               TripRequest.status.in_((TripStatus.CLAIM_SUBMITTED, TripStatus.CLAIM_RETURNED, TripStatus.SETTLED)),
               TripRequest.depart_on <= trip.return_on, TripRequest.return_on >= trip.depart_on)
        .distinct().order_by(TripRequest.depart_on)))


def visible_receipt(receipt_id: int, user: User) -> Receipt | None:
    receipt = db.session.get(Receipt, receipt_id)
    if receipt is None or not policy.may_view(receipt.claim.trip, user):
        return None
    return receipt
