"""The survey as it travels (APP-4, APP-6): the first request (調査の依頼) to every prefecture, for its municipalities
(the rulebook asks prefectures to pass it on: seed 002 (7)); to each municipality supported in the previous phase, for
its continuation answer; and directly to every other municipality whose contact Banso knows from an earlier answer;
then reminders to those who have not answered. Each notice goes through the outbox once, however often the button is pressed."""
from __future__ import annotations

from sqlalchemy import select

from banso.clock import JST, now, today_jst
from banso.extensions import db
from banso.formatting import jst_datetime
from banso.models import Application, ContinuationResponse, Notification, Phase, PrefectureContact, User
from banso.services import audit, notifications
from banso.services.applications import SIGNATURE, continuation_rows, previous_phase


def request_survey(phase: Phase, *, actor: User) -> int:
    """調査の依頼: every prefecture's contact (to pass on to its municipalities, with the deadline), and each
    municipality supported in the previous phase (the continuation survey, APP-4). Returns how many were written now;
    those already sent are not sent again."""
    deadline = jst_datetime(phase.answer_deadline_at)
    sent = 0
    for contact in db.session.scalars(select(PrefectureContact).order_by(PrefectureContact.prefecture)):
        sent += _once(f"survey-request-{phase.id}-pref-{contact.prefecture}", contact.email, f"{contact.prefecture} {contact.department}",
                      f"【地方創生伴走支援制度】{phase.name}の活用希望調査のお願い（管内市町村への周知）",
                      f"{contact.prefecture} {contact.department} ご担当者様\n\n{phase.name}の地方創生伴走支援制度について、"
                      f"市町村の活用希望調査を開始しました。管内の市町村へ周知をお願いいたします。\n"
                      f"回答の締切: {deadline}\n回答は「回答フォーム記載事項リスト」により、事務局あてにメールでご提出ください。\n\n"
                      + SIGNATURE, kind="survey_request")
    previous = previous_phase(phase)
    for application, response in continuation_rows(phase):
        m = application.municipality
        sent += _once(f"survey-request-{phase.id}-continuation-{m.id}", application.contact_email,
                      f"{m.full_name} {application.contact_person}",
                      f"【地方創生伴走支援制度】{phase.name}の継続意向調査のお願い（{m.full_name}）",
                      f"{m.full_name} {application.contact_department}\n{application.contact_person} 様\n\n"
                      f"{previous.name}に伴走支援を受けている市町村として、{phase.name}における支援の継続についてご意向をお聞きします。\n"
                      f"継続を希望されるかどうかと、課題の変更点を、{deadline}までにお知らせください"
                      "（事務局からお送りする記入用ファイルに記入して返送いただくか、このメールへの返信でも結構です）。\n\n" + SIGNATURE,
                      kind="continuation_request", obj=response or application)
    continuing = {application.municipality_id for application, _ in continuation_rows(phase)}
    for application in _earlier_contacts(phase, continuing):
        m = application.municipality
        sent += _once(f"survey-request-{phase.id}-municipality-{m.id}", application.contact_email,
                      f"{m.full_name} {application.contact_person}",
                      f"【地方創生伴走支援制度】{phase.name}の市町村活用希望調査のご案内（{m.full_name}）",
                      f"{m.full_name} {application.contact_department}\n{application.contact_person} 様\n\n"
                      f"以前に活用希望調査へご回答いただいた市町村として、{phase.name}の活用希望調査をご案内します。\n"
                      f"活用を希望される場合は、{deadline}までにご回答ください"
                      "（回答の様式は都道府県経由でお送りする依頼文書のとおりです。このメールへの返信でのご質問も承ります）。\n\n"
                      + SIGNATURE, kind="survey_request", obj=application)
    audit.record("request_survey", phase, actor=actor, summary=f"{phase.name}の活用希望調査・継続意向調査の依頼を{sent}件送信")
    return sent


def _earlier_contacts(phase: Phase, skip: set[int]) -> list[Application]:
    """Each municipality's latest answer in an earlier phase (its contact as last given), except those in ``skip``."""
    latest: dict[int, Application] = {}
    for application in db.session.scalars(select(Application).join(Phase, Phase.id == Application.phase_id)
                                          .where(Phase.number < phase.number).order_by(Phase.number.desc(), Application.id)):
        if application.municipality_id not in skip and application.contact_email:
            latest.setdefault(application.municipality_id, application)
    return list(latest.values())


def _once(key: str, email: str, name: str, subject: str, body: str, *, kind: str, obj=None) -> int:
    if not email or db.session.scalar(select(Notification.id).where(Notification.idempotency_key == key)):
        return 0
    notifications.notify(key=key, kind=kind, obj=obj, recipient_email=email, recipient_name=name, subject=subject, body=body)
    return 1


def remind_unanswered(phase: Phase, *, actor: User) -> int:
    """A reminder to each municipality that has not answered the survey, at most once a day each."""
    today = today_jst()
    sent = 0
    for application, response in continuation_rows(phase, unanswered_only=True):
        m = application.municipality
        if response is None:
            response = ContinuationResponse(phase=phase, municipality=m)
            db.session.add(response)
            db.session.flush()
        if response.reminded_at is not None and response.reminded_at.astimezone(JST).date() == today:
            continue
        notifications.notify(
            key=f"continuation-reminder-{phase.id}-{m.id}-{today.isoformat()}", kind="continuation_reminder",
            obj=response, recipient_email=application.contact_email, recipient_name=application.contact_person,
            subject=f"【地方創生伴走支援制度】{phase.name}の継続意向調査へのご回答のお願い（{m.full_name}）",
            body=(
                f"{m.full_name} {application.contact_department}\n{application.contact_person} 様\n\n"
                f"{previous_phase(phase).name}に伴走支援を受けている市町村として、{phase.name}における支援の継続について"
                "ご意向をお聞きしています。まだご回答をいただいていないため、ご回答をお願いいたします。\n"
                "継続を希望される場合は、課題の変更点もあわせてお知らせください。\n\n" + SIGNATURE
            ),
        )
        response.reminded_at = now()
        response.reminder_count += 1
        sent += 1
    audit.record("remind_continuation", phase, actor=actor, summary=f"{phase.name}の継続意向調査の督促を{sent}件送信")
    return sent
