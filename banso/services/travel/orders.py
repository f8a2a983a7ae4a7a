"""The 旅行命令 after its issue (旅費法第4条・第5条): a change of an issued order goes along its own route as a 変更
case, and is applied to the trip when it is decided — its new estimate against the cap then, as the order's was
(TRV-2); a trip made otherwise than its order said is recorded as such, with what happened and why. The 旅行命令簿
(lists.orders_query) shows both."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm.attributes import flag_modified

from banso.clock import now
from banso.extensions import db
from banso.formatting import wareki
from banso.models import ApprovalCase, TripRequest, User
from banso.policies import travel as policy
from banso.services import InputError, NotPermitted, WrongState, approvals, audit
from banso.services.travel.budget import check_cap, lock_budget
from banso.services.travel.requests import check_request, notify_trip, write_request

DATES = ("depart_on", "return_on")


def request_change(trip: TripRequest, data: dict, reason: str, *, actor: User) -> ApprovalCase:
    """起案 of a change of the issued order: the new request checked now (and again at the decision), kept on the case
    with the reason; the trip stays as ordered until the change is decided."""
    if not policy.may_request_change(trip, actor):
        if trip.status not in policy.CHANGEABLE:
            raise WrongState(f"「{trip.status_label}」の出張の旅行命令は変更できません（精算の前の、命令済みの出張が対象です）。")
        raise NotPermitted("旅行命令の変更を申請できるのは、申請者・出張者と事務局です。")
    if not (reason or "").strip():
        raise InputError("変更の理由を入力してください。", "reason")
    if approvals.open_case(policy.CHANGE, trip.id) is not None:
        raise WrongState("この旅行命令には決裁中の変更があります。その決裁を待つか、取り下げてから申請してください。")
    travellers, estimate = check_request(trip.team, data)
    stored = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items() if k != "version"}
    changes = _changes(trip, data, [t.id for t in travellers], estimate.total)
    if not changes:
        raise InputError("変更する内容がありません。日程・用務先・出張者・経路などを変えてから申請してください。")
    case = approvals.decide_through_route(
        policy.CHANGE, f"{trip.number} 旅行命令の変更（{'、'.join(c.split('：')[0] for c in changes)}）",
        {"data": stored, "reason": reason.strip(), "changes": changes, "estimate_yen": estimate.total},
        drafter=actor, subject_id=trip.id, team_id=trip.team_id)
    audit.record("request_change", trip, actor=actor, summary=f"{trip.number}の旅行命令の変更を申請（{reason.strip()}）",
                 after={"changes": changes})
    return case


def _changes(trip: TripRequest, data: dict, travellers: list[int], total: int) -> list[str]:
    """What the change changes, as the book and the case say it: 「日程：6月10日〜6月11日 → 6月12日〜6月13日」."""
    out = []
    if (trip.depart_on, trip.return_on) != (data["depart_on"], data["return_on"]):
        out.append(f"日程：{trip.depart_on:%-m月%-d日}〜{trip.return_on:%-m月%-d日} → {data['depart_on']:%-m月%-d日}〜{data['return_on']:%-m月%-d日}")
    destination = (data.get("destination") or "").strip() or trip.team.municipality.name
    if (trip.destination_prefecture, trip.destination) != (data["destination_prefecture"], destination):
        out.append(f"用務先：{trip.destination_prefecture}{trip.destination} → {data['destination_prefecture']}{destination}")
    if sorted(t.officer_id for t in trip.travellers) != sorted(travellers):
        out.append(f"出張者：{len(trip.travellers)}名 → {len(travellers)}名")
    if trip.purpose != data["purpose"]:
        out.append("用務")
    if (trip.itinerary or "") != (data.get("itinerary") or "").strip():
        out.append("経路・交通手段")
    if trip.estimated_yen != total:
        out.append(f"見積：{trip.estimated_yen:,}円 → {total:,}円")
    return out


def _decided_change(case: ApprovalCase, decider: User) -> None:
    """The change decided: the trip rewritten as the case says, its new estimate taken against the cap now."""
    trip = db.session.get(TripRequest, case.subject_id)
    if trip is None or trip.status not in policy.CHANGEABLE:
        raise WrongState("精算が始まった（または取り消された）出張の旅行命令は変更できません。変更を却下してください。")
    data = {k: (date.fromisoformat(v) if k in DATES else v) for k, v in case.payload["data"].items()}
    travellers, estimate = check_request(trip.team, data)
    before = {"estimate_yen": trip.estimated_yen, "depart_on": trip.depart_on.isoformat(), "return_on": trip.return_on.isoformat()}
    lock_budget(trip.phase)
    if trip.cost_bearer == "national":
        check_cap(trip.phase, estimate.total, releasing=trip.estimated_yen, action="変更")
    trip.travellers.clear()
    trip.estimate_lines.clear()
    db.session.flush()
    write_request(trip, data, travellers, estimate)
    flag_modified(trip, "team_id")  # its version moves: a form opened on the order as it was is stale
    db.session.flush()
    db.session.expire(trip, ["estimated_yen"])
    audit.record("order_change", trip, actor=decider, summary=f"{trip.number}の旅行命令を変更（{'／'.join(case.payload['changes'])}）",
                 before=before, after={"estimate_yen": estimate.total, "depart_on": trip.depart_on.isoformat(),
                                       "return_on": trip.return_on.isoformat()})
    notify_trip(trip, f"change-{case.id}", f"出張 {trip.number} の旅行命令が変更されました",
                f"{trip.team.name}の出張の旅行命令を、次のとおり変更しました（{wareki(trip.depart_on)}〜）。\n"
                + "\n".join(f"・{c}" for c in case.payload["changes"]) + f"\n\n理由: {case.payload['reason']}")


approvals.register(policy.CHANGE, _decided_change)


def record_departure(trip: TripRequest, note: str, *, actor: User) -> TripRequest:
    """旅費法第5条: the trip was made otherwise than its order said (an urgent change that could not wait for a 変更):
    what differed and why, kept on the trip and shown in the 旅行命令簿; finance reads it with the claim."""
    if not policy.may_record_departure(trip, actor):
        if trip.status not in policy.ORDERED:
            raise WrongState("命令済みの出張についてだけ記録できます。")
        raise NotPermitted("出発の後に、申請者・出張者か事務局が記録します。")
    note = (note or "").strip()
    if not note:
        raise InputError("旅行命令と異なった内容と、その理由を入力してください。", "departure_note")
    before = trip.departure_note
    trip.departure_note, trip.departure_recorded_by_id, trip.departure_recorded_at = note[:2000], actor.id, now()
    audit.record("record_departure", trip, actor=actor, summary=f"{trip.number}: 旅行命令と異なる旅行を記録（{note[:200]}）",
                 before={"departure_note": before} if before else None, after={"departure_note": trip.departure_note})
    return trip


def changes_of(trip_ids: list[int]) -> dict[int, list[ApprovalCase]]:
    """The decided changes of each trip's order, oldest first (the 旅行命令簿 lists them under the order)."""
    from sqlalchemy import select

    if not trip_ids:
        return {}
    found: dict[int, list[ApprovalCase]] = {}
    for case in db.session.scalars(select(ApprovalCase).where(ApprovalCase.kind == policy.CHANGE, ApprovalCase.subject_id.in_(trip_ids),
                                                              ApprovalCase.status == "approved")
                                   .order_by(ApprovalCase.decided_at)):
        found.setdefault(case.subject_id, []).append(case)
    return found


__all__ = ["request_change", "record_departure", "changes_of"]
