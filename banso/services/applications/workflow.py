"""An application's eligibility (APP-1 … APP-4) and its status workflow, one at a time or many, with the population
confirmed and a late answer accepted (APP-6)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from banso.clock import now
from banso.extensions import db
from banso.formatting import jst_datetime, parse_id
from banso.models import (Application, User)
from banso.policies import admin as policy
from banso.policies import applications as applications_policy
from banso.services import (InputError, NotPermitted, RuleViolation, WrongState, approvals, audit, municipalities,
                            notifications)
from banso.services.applications.answers import S, ministry_mentions, receipt_notice


# --- eligibility ----------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    rule_id: str
    verdict: str  # ok | ng | check | unconfirmed | note
    reason: str

    @property
    def label(self) -> str:
        return municipalities.VERDICT_LABELS[self.verdict]


def assess(application: Application) -> list[Check]:
    """Every eligibility rule with its verdict and reason, as shown on each application."""
    m, phase = application.municipality, application.phase
    verdict, reason = municipalities.population_verdict(municipalities.population_for(m, phase), phase.population_reference_date)
    if verdict in ("check", "unconfirmed") and application.population_confirmed_at is not None:
        who = application.population_confirmed_by.name if application.population_confirmed_by else "事務局管理者"
        verdict, reason = "ok", (f"{who}が{jst_datetime(application.population_confirmed_at)}に人口要件を確認しました: "
                                 f"{application.population_confirmed_reason}（{reason}）")
    checks = [Check("APP-1", verdict, reason)]
    if application.seconded_national_staff:
        checks.append(Check("APP-2", "ng", f"{phase.fiscal_year}年度に国家公務員が出向等により市町村職員として勤務する予定のため対象外です。"))
    else:
        checks.append(Check("APP-2", "ok", "国家公務員の出向等の予定はありません（退職者の採用や身分を保ったままの支援は該当しません）。"))
    if application.requested_national_staff:
        when = jst_datetime(application.jinzai_request_withdrawn_at)
        checks.append(Check("APP-3", "note", f"地方創生人材支援制度の国家公務員派遣希望は取り下げたものとみなし、{when}に記録・通知しました。"))
    else:
        note = "（民間専門人材の派遣希望は対象に影響しません）" if application.requested_private_expert else ""
        checks.append(Check("APP-3", "ok", f"地方創生人材支援制度での国家公務員の派遣希望はありません{note}。"))
    if application.is_continuing:
        checks.append(Check("APP-4", "ok", "前期の支援先として継続意向調査で継続を希望しました。"))
    else:
        checks.append(Check("APP-4", "ok", "前期の支援先ではありません（新規）。"))
    checks.append(Check("APP-5", "ok", f"{phase.name}の{m.full_name}の回答はこの1件です。"))
    if application.is_continuing:
        checks.append(Check("APP-6", "ok", "継続意向調査による回答です。"))
    elif not application.is_late:
        checks.append(Check("APP-6", "ok", f"締切（{jst_datetime(phase.answer_deadline_at)}）までに受け付けました。"))
    elif application.late_acceptance_reason:
        by = application.late_accepted_by.name if application.late_accepted_by else "管理者"
        checks.append(Check("APP-6", "note", f"期限後の回答ですが、{by}が受け付けました。理由: {application.late_acceptance_reason}"))
    else:
        checks.append(Check("APP-6", "ng", f"締切（{jst_datetime(phase.answer_deadline_at)}）後の受付（{jst_datetime(application.received_at)}）のため受け付けていません。"))
    mentioned = ministry_mentions(application)
    if mentioned:
        checks.append(Check("APP-9", "check", f"記載に省庁名（{'、'.join(mentioned)}）があります。省庁や個人を特定した希望は受け入れられないため、内容を確認してください。"))
    else:
        checks.append(Check("APP-9", "ok", "省庁や個人を特定した希望はありません。"))
    return checks


# --- the workflow ---------------------------------------------------------------

TRANSITIONS = {
    "confirm": ({S.RECEIVED}, S.CONFIRMED, "確認済にしました"),
    "eligible": ({S.CONFIRMED}, S.ELIGIBLE, "対象と判定しました"),
    "ineligible": ({S.RECEIVED, S.CONFIRMED, S.LATE}, S.INELIGIBLE, "対象外と判定しました"),
    "matched": ({S.ELIGIBLE}, S.MATCHED, "マッチング済にしました"),
    "unmatched": ({S.ELIGIBLE}, S.UNMATCHED, "マッチング不成立にしました"),
    "withdraw": ({S.LATE, S.RECEIVED, S.CONFIRMED, S.ELIGIBLE, S.UNMATCHED}, S.WITHDRAWN, "取下げにしました"),
}
NEEDS_REASON = {"ineligible", "withdraw"}


def available_actions(application: Application) -> list[str]:
    return [action for action, (sources, _, _) in TRANSITIONS.items() if application.status in sources]


def change_status(application: Application, action: str, *, reason: str = "", actor: User | None) -> Application:
    if action not in TRANSITIONS:
        raise InputError("この操作はできません。")
    sources, target, done = TRANSITIONS[action]
    if application.status not in sources:
        raise WrongState(f"「{application.status_label}」の回答にはこの操作はできません。")
    reason = (reason or "").strip()
    if action in NEEDS_REASON and not reason:
        raise InputError("理由を入力してください。", "reason")
    if action == "eligible":
        checks = assess(application)
        failed = [c for c in checks if c.verdict == "ng"]
        if failed:
            raise RuleViolation(failed[0].rule_id, f"{failed[0].rule_id}: {failed[0].reason} 対象とすることはできません。")
        if checks[0].verdict != "ok":  # APP-1 確認要 or 未確認: an admin confirms the population first
            raise RuleViolation("APP-1", f"APP-1: 人口要件が「{checks[0].label}」のため、対象とすることはできません。"
                                "公式人口を登録するか、事務局管理者が人口を確認して記録してから対象にしてください。")
    before = {"status": application.status, "status_reason": application.status_reason}
    application.status = target
    application.status_reason = reason or None
    audit.record(action, application, actor=actor, summary=f"{application.municipality.full_name}の回答を{done}",
                 before=before, after={"status": target, "status_reason": application.status_reason})
    return application


BULK_ACTIONS = {"confirm": "確認済", "eligible": "対象"}
BULK_LIMIT = 500


def by_ids(values: list[str]) -> list[Application]:
    """The answers named by ids sent from a list (odd values ignored), at most BULK_LIMIT + 1 of them."""
    ids = [i for i in (parse_id(v) for v in values[:BULK_LIMIT + 1]) if i]
    return list(db.session.scalars(select(Application).where(Application.id.in_(ids)).order_by(Application.id))) if ids else []


def change_status_many(selected: list[Application], action: str, *, actor: User) -> tuple[int, list[tuple[Application, str]]]:
    """The same step for many answers at once (確認済, 対象), each under exactly the rules one at a time applies;
    an answer refused keeps its state and is reported with the reason, the others go on. (changed, refused)."""
    if action not in BULK_ACTIONS:
        raise InputError("まとめて行える操作は「確認済にする」「対象にする」です。")
    if not selected:
        raise InputError("回答を1件以上選んでください。")
    if len(selected) > BULK_LIMIT:
        raise InputError(f"一度に操作できるのは{BULK_LIMIT}件までです。絞り込んでから操作してください。")
    changed, refused = 0, []
    for application in selected:
        try:
            with db.session.begin_nested():
                change_status(application, action, actor=actor)
            changed += 1
        except RuleViolation as violation:
            refused.append((application, violation.message))
    return changed, refused


def confirm_population(application: Application, *, reason: str, actor: User) -> Application:
    """APP-1 確認要 or 未確認: an admin records how the population was confirmed (e.g. the municipality's own total
    at the reference date); staff may then mark the answer 対象. A figure of 100,000 or more is never overridden."""
    if not policy.may_confirm_population(actor):
        raise NotPermitted("人口要件の確認を記録できるのは事務局管理者だけです。")
    verdict, _ = municipalities.population_verdict(municipalities.population_for(application.municipality, application.phase),
                                                   application.phase.population_reference_date)
    if verdict not in ("check", "unconfirmed"):
        raise WrongState("人口要件が「確認要」「未確認」の回答ではありません。")
    if not (reason or "").strip():
        raise InputError("確認した方法と人口（例: 市の住民基本台帳人口 総計 98,500人を電話で確認）を入力してください。", "reason")
    application.population_confirmed_reason = reason.strip()[:1000]
    application.population_confirmed_by_id, application.population_confirmed_at = actor.id, now()
    audit.record("confirm_population", application, actor=actor,
                 summary=f"{application.municipality.full_name}の人口要件（APP-1）の確認を記録: {reason.strip()[:200]}",
                 after={"verdict": verdict, "reason": application.population_confirmed_reason})
    return application


def request_late_acceptance(application: Application, *, reason: str, actor: User):
    """APP-6's acceptance of a late answer as a decision on its route: taken now by an admin (the default, as today),
    or when the route's last step approves it — APP-6 checked then."""
    if not (reason or "").strip():
        raise InputError("期限後に受け付ける理由を入力してください。", "reason")
    if not applications_policy.is_late(application):
        raise WrongState("期限後（保留）の回答ではありません。")
    return approvals.decide_through_route("late_acceptance", f"{application.municipality.full_name}の期限後の回答を受付",
                                          {"application_id": application.id, "reason": reason.strip()},
                                          drafter=actor, subject_id=application.id)


def _decided_late(case, decider: User) -> None:
    accept_late(db.session.get(Application, case.payload["application_id"]), reason=case.payload["reason"], actor=decider)


approvals.register("late_acceptance", _decided_late)


def accept_late(application: Application, *, reason: str, actor: User) -> Application:
    """APP-6: only an admin may accept a late answer, and only with a recorded reason."""
    if not policy.may_accept_late(actor):
        raise NotPermitted("期限後の回答を受け付けられるのは事務局管理者だけです。")
    if not applications_policy.is_late(application):
        raise WrongState("期限後（保留）の回答ではありません。")
    if not (reason or "").strip():
        raise InputError("期限後に受け付ける理由を入力してください。", "reason")
    application.late_acceptance_reason = reason.strip()
    application.late_accepted_by_id = actor.id
    application.status = S.RECEIVED
    audit.record("accept_late", application, actor=actor,
                 summary=f"APP-6: {application.municipality.full_name}の期限後の回答を受付", before={"status": S.LATE},
                 after={"status": S.RECEIVED, "late_acceptance_reason": application.late_acceptance_reason})
    notifications.notify(**receipt_notice(application))
    return application
