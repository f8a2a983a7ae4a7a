"""市町村活用希望調査: applications and their eligibility (APP-1 … APP-9), the status
workflow, and the continuation survey (継続意向調査) for the previous phase's municipalities."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from banso.clock import now
from banso.extensions import db
from banso.formatting import jst_datetime, parse_id
from banso.models import (Application, ApplicationStatus, ContinuationResponse, Municipality, Phase,
                          User)
from banso.policies import admin as policy
from banso.reference import FIELDS, MINISTRY_NAMES, POPULATION_BANDS, field_label
from banso.services import InputError, NotPermitted, RuleViolation, WrongState, audit, check_version, municipalities, notifications

S = ApplicationStatus
EDITABLE = [
    "contact_department", "contact_person", "contact_email", "contact_phone", "priority_field_1",
    "priority_field_2", "priority_field_3", "issue_structure", "local_situation", "seconded_national_staff",
    "requested_national_staff", "requested_private_expert", "received_at", "channel",
]
AUDITED = EDITABLE + ["status", "status_reason", "is_late", "late_acceptance_reason"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^[0-9+()\-]{6,20}$")
SIGNATURE = "内閣官房地域未来戦略本部事務局・内閣府地方創生推進室"


# --- checking the answer itself (APP-7, APP-8) -------------------------------

def field_errors(data: dict) -> dict[str, str]:
    """Errors by field for one answer, in Japanese. Shared by the form and the spreadsheet import."""
    errors: dict[str, str] = {}
    for name, label in (("contact_department", "担当部署"), ("contact_person", "担当者氏名"),
                        ("contact_email", "メールアドレス"), ("contact_phone", "電話番号")):
        if not (data.get(name) or "").strip():
            errors[name] = f"APP-8: {label}を入力してください（担当部署・担当者の設定が必要です）。"
    email = (data.get("contact_email") or "").strip()
    if email and not EMAIL.match(email):
        errors["contact_email"] = "メールアドレスの形式が正しくありません。"
    phone = (data.get("contact_phone") or "").strip()
    if phone and not PHONE.match(phone):
        errors["contact_phone"] = "電話番号は半角の数字とハイフンで入力してください。"
    fields = [f for f in data.get("priority_fields") or [] if f is not None]
    if not fields:
        errors["priority_fields"] = "APP-7: 優先する課題分野を1つ以上選んでください。"
    elif len(fields) > 3:
        errors["priority_fields"] = "APP-7: 優先する課題分野は3つまでです。"
    elif len(set(fields)) != len(fields):
        errors["priority_fields"] = "APP-7: 同じ課題分野が重複しています。"
    elif any(f not in FIELDS for f in fields):
        errors["priority_fields"] = "APP-7: 課題分野は①〜㉖から選んでください。"
    if data.get("issue_structure") not in ("independent", "compound"):
        errors["issue_structure"] = "APP-7: 課題がそれぞれ独立か複合的かを選んでください。"
    if not (data.get("local_situation") or "").strip():
        errors["local_situation"] = "APP-7: 地域の状況と課題の具体的な内容を記載してください。"
    elif len(data["local_situation"]) > 4000:
        errors["local_situation"] = "地域の状況・課題は4,000字以内で記載してください。"
    if data.get("channel") not in ("form", "email", "survey"):
        errors["channel"] = "受付方法を選んでください。"
    if not isinstance(data.get("received_at"), datetime):
        errors["received_at"] = "受付日時を入力してください。"
    return errors


def ministry_mentions(application_or_text) -> list[str]:
    """APP-9: ministry names in the free text; a municipality may not ask for a ministry or person."""
    text = application_or_text if isinstance(application_or_text, str) else application_or_text.local_situation
    return [name for name in MINISTRY_NAMES if name in (text or "")]


def _previously_supported_ids(phase: Phase):
    """APP-4: the municipalities supported (matched) in the phase before ``phase``."""
    return select(Application.municipality_id).where(
        Application.status == S.MATCHED,
        Application.phase_id == select(Phase.id).where(Phase.number == phase.number - 1).scalar_subquery())


def previously_supported(municipality_id: int, phase: Phase) -> bool:
    return bool(db.session.scalar(select(exists(
        _previously_supported_ids(phase).where(Application.municipality_id == municipality_id).subquery()))))


def previously_supported_set(phase: Phase) -> set[int]:
    """The same, for checking a whole spreadsheet with one query."""
    return set(db.session.scalars(_previously_supported_ids(phase)))


def _raise_first(errors: dict[str, str]) -> None:
    if errors:
        field, message = next(iter(errors.items()))
        raise RuleViolation(message.split(":")[0] if message.startswith("APP-") else "APP-7", message, field)


def _apply(application: Application, data: dict) -> None:
    fields = [f for f in data["priority_fields"] if f is not None] + [None, None]
    application.priority_field_1, application.priority_field_2, application.priority_field_3 = fields[:3]
    for name in EDITABLE:
        if not name.startswith("priority_field"):
            value = data.get(name)
            setattr(application, name, value.strip() if isinstance(value, str) else bool(value) if name.startswith(("seconded", "requested")) else value)


# --- submitting ---------------------------------------------------------------

def submit_application(phase: Phase, municipality: Municipality, data: dict, *, actor: User | None,
                       continuing: bool = False) -> Application:
    """Take in one answer. Enforces APP-4, APP-5, APP-6, APP-7, APP-8; records APP-3; notifies on 受付.

    APP-1 and APP-2 are shown by ``assess`` and decided by staff; the answer is kept either way.
    """
    _raise_first(field_errors(data))
    if not continuing and previously_supported(municipality.id, phase):
        raise RuleViolation("APP-4", f"{municipality.full_name}は前期の支援先のため、活用希望調査ではなく継続意向調査で回答を受け付けます。", "municipality")
    if db.session.scalar(select(Application.id).where(Application.phase_id == phase.id,
                                                       Application.municipality_id == municipality.id)):
        raise RuleViolation("APP-5", f"{municipality.full_name}の回答は{phase.name}で既に受け付けています（1市町村につき1件）。", "municipality")
    application = _new_application(phase, municipality, data, continuing)
    try:
        with db.session.begin_nested():
            db.session.add(application)
            db.session.flush()
    except IntegrityError as exc:  # a simultaneous submission for the same municipality won
        raise RuleViolation("APP-5", f"{municipality.full_name}の回答は{phase.name}で既に受け付けています（1市町村につき1件）。", "municipality") from exc
    audit.record("create", application, actor=actor, summary=_received_summary(application), after=audit.snapshot(application, AUDITED))
    if application.requested_national_staff:
        _record_jinzai_withdrawal(application, actor)
    if application.status == S.RECEIVED:
        notifications.notify(**_receipt_notice(application))
    return application


def submit_many(phase: Phase, answers: list[tuple[int, Municipality, dict]], *, actor: User | None) -> list[Application]:
    """Many answers at once (a spreadsheet's rows: (row number, municipality, data)), by the same rules as
    ``submit_application``: APP-4 and APP-5 checked once for the lot under the phase's lock, then the answers, their
    audit rows and their notices written in bulk. A refusal names the row; nothing is kept (the caller rolls back)."""
    for number, _municipality, data in answers:
        errors = field_errors(data)
        if errors:
            field, message = next(iter(errors.items()))
            raise RuleViolation(message.split(":")[0] if message.startswith("APP-") else "APP-7", f"{number}行目: {message}", field)
    db.session.execute(select(Phase.id).where(Phase.id == phase.id).with_for_update())  # one bulk intake per phase at a time
    answered = set(db.session.scalars(select(Application.municipality_id).where(Application.phase_id == phase.id)))
    supported = previously_supported_set(phase)
    for number, municipality, _data in answers:
        if municipality.id in supported:
            raise RuleViolation("APP-4", f"{number}行目: {municipality.full_name}は前期の支援先のため、継続意向調査で回答を受け付けます。", "municipality")
        if municipality.id in answered:
            raise RuleViolation("APP-5", f"{number}行目: {municipality.full_name}の回答は{phase.name}で既に受け付けています（1市町村につき1件）。", "municipality")
        answered.add(municipality.id)
    created = [_new_application(phase, municipality, data, False) for _number, municipality, data in answers]
    try:
        with db.session.begin_nested():
            db.session.add_all(created)
            db.session.flush()
    except IntegrityError as exc:  # a submission for one of them arrived meanwhile by another way
        raise RuleViolation("APP-5", f"取り込む市町村のいずれかの回答が{phase.name}で既に受け付けられました。一覧を確認してから取り込み直してください。",
                            "municipality") from exc
    for application in created:
        audit.record("create", application, actor=actor, summary=_received_summary(application), after=audit.snapshot(application, AUDITED))
    notices = []
    for application in created:
        if application.requested_national_staff:
            _note_jinzai_withdrawal(application, actor)
            notices.append(_jinzai_notice(application))
        if application.status == S.RECEIVED:
            notices.append(_receipt_notice(application))
    notifications.notify_many(notices)
    return created


def _new_application(phase: Phase, municipality: Municipality, data: dict, continuing: bool) -> Application:
    application = Application(phase=phase, municipality=municipality, is_continuing=continuing)
    _apply(application, data)
    application.is_late = not continuing and application.received_at > phase.answer_deadline_at  # APP-6
    application.status = S.LATE if application.is_late else S.RECEIVED
    return application


def _received_summary(application: Application) -> str:
    return f"{application.municipality.full_name}の回答を{'期限後として' if application.is_late else ''}受付（{application.channel_label}）"


def update_application(application: Application, data: dict, *, actor: User, expected_version=None) -> Application:
    check_version(application, expected_version, {"contact_department": "担当部署", "contact_person": "担当者",
                                                  "contact_email": "メールアドレス", "local_situation": "地域の状況"})
    if application.status in (S.MATCHED, S.UNMATCHED, S.WITHDRAWN):
        raise WrongState(f"「{application.status_label}」の回答は編集できません。")
    _raise_first(field_errors(data))
    before = audit.snapshot(application, AUDITED)
    requested_before = application.requested_national_staff
    _apply(application, data)
    if not application.is_continuing:
        application.is_late = application.received_at > application.phase.answer_deadline_at
        if application.is_late and application.status == S.RECEIVED and not application.late_acceptance_reason:
            application.status = S.LATE
    after = audit.snapshot(application, AUDITED)
    if before != after:
        audit.record("update", application, actor=actor, summary=f"{application.municipality.full_name}の回答を修正",
                     before=before, after=after)
    if application.requested_national_staff and not requested_before:
        _record_jinzai_withdrawal(application, actor)
    return application


def _record_jinzai_withdrawal(application: Application, actor: User | None) -> None:
    """APP-3: the 地方創生人材支援制度 request for a national civil servant is deemed withdrawn."""
    _note_jinzai_withdrawal(application, actor)
    notifications.notify(**_jinzai_notice(application))


def _note_jinzai_withdrawal(application: Application, actor: User | None) -> None:
    application.jinzai_request_withdrawn_at = now()
    audit.record("jinzai_withdrawn", application, actor=actor,
                 summary=f"APP-3: {application.municipality.full_name}の地方創生人材支援制度による国家公務員の派遣希望を取り下げたものとして記録")


def _jinzai_notice(application: Application) -> dict:
    m = application.municipality
    return dict(
        key=f"app3-{application.id}", kind="jinzai_withdrawn", obj=application,
        recipient_email=application.contact_email, recipient_name=application.contact_person,
        subject="【地方創生伴走支援制度】地方創生人材支援制度の派遣希望の取扱いについて",
        body=(
            f"{m.full_name} {application.contact_department}\n{application.contact_person} 様\n\n"
            f"{application.phase.name}の地方創生伴走支援制度へのご回答をいただきました。\n"
            "ご案内のとおり、本制度の希望調査に回答された市町村については、地方創生人材支援制度における"
            "国家公務員の派遣希望を取り下げたものとみなします。あらかじめご了承ください。\n"
            "なお、同制度における民間専門人材の派遣希望には影響しません。\n\n" + SIGNATURE
        ),
    )


def _receipt_notice(application: Application) -> dict:
    m = application.municipality
    fields = "、".join(field_label(f) for f in application.priority_fields)
    return dict(
        key=f"receipt-{application.id}", kind="application_receipt", obj=application,
        recipient_email=application.contact_email, recipient_name=application.contact_person,
        subject=f"【地方創生伴走支援制度】{application.phase.name} 活用希望調査の回答を受け付けました（{m.full_name}）",
        body=(
            f"{m.full_name} {application.contact_department}\n{application.contact_person} 様\n\n"
            f"{application.phase.name}の市町村活用希望調査へのご回答を受け付けました。\n\n"
            f"受付番号: 申-{application.phase.fiscal_year}-{application.id:04d}\n"
            f"受付日時: {jst_datetime(application.received_at)}（{application.channel_label}）\n"
            f"優先する課題分野: {fields}\n\n"
            "マッチングの結果は、所要の確認を経てお知らせします。必ずしもマッチングが成立するわけではないことを"
            "あらかじめご了承ください。\n\n" + SIGNATURE
        ),
    )


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


def accept_late(application: Application, *, reason: str, actor: User) -> Application:
    """APP-6: only an admin may accept a late answer, and only with a recorded reason."""
    if not policy.may_accept_late(actor):
        raise NotPermitted("期限後の回答を受け付けられるのは事務局管理者だけです。")
    if application.status != S.LATE:
        raise WrongState("期限後（保留）の回答ではありません。")
    if not (reason or "").strip():
        raise InputError("期限後に受け付ける理由を入力してください。", "reason")
    application.late_acceptance_reason = reason.strip()
    application.late_accepted_by_id = actor.id
    application.status = S.RECEIVED
    audit.record("accept_late", application, actor=actor,
                 summary=f"APP-6: {application.municipality.full_name}の期限後の回答を受付", before={"status": S.LATE},
                 after={"status": S.RECEIVED, "late_acceptance_reason": application.late_acceptance_reason})
    notifications.notify(**_receipt_notice(application))
    return application


# --- the list -----------------------------------------------------------------------

def list_query(phase: Phase, *, q=None, prefecture=None, block=None, band=None, field=None, status=None,
               kind=None, late=None):
    population, join = municipalities.population_column(phase)
    stmt = (select(Application, population.label("population"))
            .join(Application.municipality)
            .options(joinedload(Application.municipality))
            .where(Application.phase_id == phase.id))
    if join is not None:
        stmt = stmt.outerjoin(*join)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Municipality.name.like(like), Municipality.name_kana.like(like),
                              Application.local_situation.like(like), Application.contact_department.like(like)))
    if prefecture:
        stmt = stmt.where(Municipality.prefecture == prefecture)
    if block:
        stmt = stmt.where(Municipality.region_block == block)
    if band in POPULATION_BANDS:
        low, high = POPULATION_BANDS[band]
        stmt = stmt.where(population >= low, *( [population < high] if high else []))
    if parse_id(field):
        f = int(field)
        stmt = stmt.where(or_(Application.priority_field_1 == f, Application.priority_field_2 == f,
                              Application.priority_field_3 == f))
    if status in {s.value for s in S}:
        stmt = stmt.where(Application.status == status)
    if kind in ("new", "continuing"):
        stmt = stmt.where(Application.is_continuing.is_(kind == "continuing"))
    if late == "1":
        stmt = stmt.where(Application.is_late.is_(True))
    return stmt, population


def counts(stmt, population) -> dict[str, dict[str, int]]:
    """Counts of the filtered list by region block and population band (seed 000 ⑤⑥), in SQL."""
    sub = stmt.order_by(None).with_only_columns(Municipality.region_block.label("block"), population.label("pop")).subquery()
    by_block = dict(db.session.execute(select(sub.c.block, func.count()).group_by(sub.c.block)).all())
    band_cases = [func.sum(_between(sub.c.pop, low, high)).label(label) for label, (low, high) in POPULATION_BANDS.items()]
    row = db.session.execute(select(*band_cases)).one()
    return {"block": by_block, "band": {label: int(value or 0) for label, value in zip(POPULATION_BANDS, row)}}


def _between(column, low, high):
    from sqlalchemy import case

    condition = column >= low if high is None else (column >= low) & (column < high)
    return case((condition, 1), else_=0)


# --- the continuation survey (APP-4) ---------------------------------------------------

def previous_phase(phase: Phase) -> Phase | None:
    return db.session.scalar(select(Phase).where(Phase.number == phase.number - 1))


def continuation_rows(phase: Phase, *, unanswered_only: bool = False):
    """Each previous-phase supported municipality with its answer (None when no row yet)."""
    stmt = continuation_query(phase, unanswered_only=unanswered_only)
    return [] if stmt is None else list(db.session.execute(stmt))


def continuation_counts(phase: Phase) -> tuple[int, int]:
    """(answered, all) of the survey, counted in SQL."""
    stmt = continuation_query(phase)
    if stmt is None:
        return 0, 0
    rows = stmt.order_by(None).subquery()
    answered, total = db.session.execute(select(func.count(rows.c.answered_at), func.count())).one()
    return answered, total


def continuation_query(phase: Phase, *, unanswered_only: bool = False):
    """SQL for each previous-phase supported municipality with its answer, in code order (None: no previous phase)."""
    previous = previous_phase(phase)
    if previous is None:
        return None
    stmt = (select(Application, ContinuationResponse)
            .join(Application.municipality)
            .options(joinedload(Application.municipality))
            .outerjoin(ContinuationResponse, (ContinuationResponse.municipality_id == Application.municipality_id)
                       & (ContinuationResponse.phase_id == phase.id))
            .where(Application.phase_id == previous.id, Application.status == S.MATCHED)
            .order_by(Municipality.code))
    if unanswered_only:
        stmt = stmt.where(or_(ContinuationResponse.id.is_(None), ContinuationResponse.answered_at.is_(None)))
    return stmt


def record_continuation(phase: Phase, previous_application: Application, *, wishes_to_continue: bool,
                        issue_changes: str, actor: User) -> ContinuationResponse:
    """Record an answer; a wish to continue becomes this phase's 継続 application (one checked list)."""
    previous = previous_phase(phase)
    if previous is None or previous_application.phase_id != previous.id or previous_application.status != S.MATCHED:
        raise RuleViolation("APP-4", "継続意向調査の対象は前期の支援先市町村だけです。")
    m = previous_application.municipality
    response = db.session.scalar(select(ContinuationResponse).where(
        ContinuationResponse.phase_id == phase.id, ContinuationResponse.municipality_id == m.id))
    if response is None:
        response = ContinuationResponse(phase=phase, municipality=m)
        db.session.add(response)
    if response.answered_at is not None:
        raise WrongState(f"{m.full_name}の継続意向は回答済みです。")
    response.wishes_to_continue = wishes_to_continue
    response.issue_changes = (issue_changes or "").strip()
    response.answered_at = now()
    audit.record("answer_continuation", response, actor=actor,
                 summary=f"{m.full_name}の継続意向: {'継続を希望' if wishes_to_continue else '継続を希望しない'}",
                 after={"wishes_to_continue": wishes_to_continue, "issue_changes": response.issue_changes})
    if wishes_to_continue:
        data = {name: getattr(previous_application, name) for name in EDITABLE if not name.startswith("priority")}
        data.update(priority_fields=previous_application.priority_fields, received_at=now(), channel="survey")
        if response.issue_changes:
            data["local_situation"] = f"{previous_application.local_situation}\n\n【{phase.name}に向けた課題の変更】\n{response.issue_changes}"
        submit_application(phase, m, data, actor=actor, continuing=True)
    return response
