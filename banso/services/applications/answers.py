"""A municipality's answer to 市町村活用希望調査: the fields checked (APP-7, APP-8, APP-9), submitted by the form or the
spreadsheet (APP-5, APP-6), corrected, and the notices it sends (APP-3)."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from banso.clock import now
from banso.extensions import db
from banso.formatting import jst_datetime
from banso.models import (Application, ApplicationStatus, Municipality, Phase,
                          User)
from banso.policies import applications as policy
from banso.reference import FIELDS, MINISTRY_NAMES, field_label
from banso.services import RuleViolation, WrongState, audit, check_version, notifications


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
        notifications.notify(**receipt_notice(application))
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
            notices.append(receipt_notice(application))
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
    if application.status in policy.DECIDED:
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


def receipt_notice(application: Application) -> dict:
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
