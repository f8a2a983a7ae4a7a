"""The help desk that chases itself (INQ-1): on the worker's timer, nothing waits for a person to remember it.

- a morning digest (INQUIRY_DIGEST_AT, JST, business days) to each assignee of the open inquiries due by the end of
  the next business day, and to each admin of the unassigned ones;
- each overdue inquiry escalated to the admins once per due time;
- 回答待ち(先方): a reminder to the inquirer after INQUIRY_WAITING_REMIND_DAYS business days, and closing with a
  notice after INQUIRY_WAITING_CLOSE_DAYS more (their answer reopens it, as any of their messages does);

Every notice goes through the outbox under a key naming what it reports, so however often the timer runs (and on
however many workers) each is sent once."""
from __future__ import annotations

import logging
from datetime import date, datetime, time

from flask import current_app
from sqlalchemy import select, update

from banso.business_days import add_business_days, is_business_day
from banso.clock import JST, now
from banso.extensions import db
from banso.formatting import wareki
from banso.models import Inquiry, Role, User
from banso.models.inquiry import OPEN_STATUSES, InquiryStatus
from banso.services import audit, inquiries, notifications

log = logging.getLogger(__name__)


def chase(at: datetime | None = None) -> int:
    """Everything due at ``at``; returns how many notices were written."""
    at = at or now()
    return digest(at) + escalate(at) + chase_waiting(at)


# --- the morning digest -------------------------------------------------------------------------------

def digest(at: datetime) -> int:
    today = at.astimezone(JST).date()
    if not is_business_day(today) or not _morning_reached(at):
        return 0
    until = datetime.combine(add_business_days(today, 1), time(23, 59), JST)
    due = db.session.execute(select(Inquiry, User).join(User, Inquiry.assignee_id == User.id)
                             .where(Inquiry.status.in_(OPEN_STATUSES), Inquiry.merged_into_id.is_(None),
                                    Inquiry.due_at <= until, User.active.is_(True))
                             .order_by(User.id, Inquiry.due_at)).all()
    by_user: dict[int, tuple[User, list[Inquiry]]] = {}
    for inquiry, user in due:
        by_user.setdefault(user.id, (user, []))[1].append(inquiry)
    notices = [_digest_notice(user, rows, today, "担当のお問い合わせのうち、回答期限が翌営業日までのもの", "due")
               for user, rows in by_user.values()]
    unassigned = db.session.scalars(select(Inquiry).where(Inquiry.status.in_(OPEN_STATUSES), Inquiry.merged_into_id.is_(None),
                                                          Inquiry.assignee_id.is_(None)).order_by(Inquiry.due_at).limit(200)).all()
    if unassigned:
        notices += [_digest_notice(admin, unassigned, today, "担当者が決まっていないお問い合わせ", "unassigned") for admin in _admins()]
    return len(notifications.notify_many(notices))  # each goes once a day: today's already written are skipped by key


def _digest_notice(user: User, rows: list[Inquiry], today: date, what: str, kind: str) -> dict:
    lines = "\n".join(f"・{i.receipt_number} {i.subject}（期限 {_when(i.due_at)}{'・超過' if i.due_at < now() else ''}）" for i in rows)
    return dict(key=f"inquiry-digest-{kind}-{user.id}-{today.isoformat()}", kind="inquiry_digest", recipient_email=user.email,
                recipient_name=user.name, recipient_user=user,
                subject=f"【伴走支援】お問い合わせの確認（{wareki(today)}・{len(rows)}件）",
                body=f"{user.name} 様\n\n{what}は次の{len(rows)}件です。\n\n{lines}\n\n"
                     f"一覧: {current_app.config['BASE_URL']}/inquiries/\n\n（地方創生伴走支援制度 業務システム Banso からの自動送信）")


# --- escalation ----------------------------------------------------------------------------------------

def escalate(at: datetime) -> int:
    """Open inquiries past their due time that no admin has been told of at this due time: one notice per admin
    listing them, and each marked (a plain UPDATE: the inquiry's version, which staff forms carry, stays)."""
    if not current_app.config["INQUIRY_ESCALATE_OVERDUE"]:
        return 0
    late = db.session.scalars(select(Inquiry).where(Inquiry.status.in_(OPEN_STATUSES), Inquiry.merged_into_id.is_(None),
                                                    Inquiry.due_at < at,
                                                    (Inquiry.escalated_due_at.is_(None)) | (Inquiry.escalated_due_at != Inquiry.due_at))
                              .order_by(Inquiry.due_at).limit(200)).all()
    if not late:
        return 0
    stamp = at.astimezone(JST).strftime("%Y%m%d%H%M")
    lines = "\n".join(f"・{i.receipt_number} {i.subject}（期限 {_when(i.due_at)}・担当 {i.assignee_name}）" for i in late)
    admins = _admins()
    for admin in admins:
        notifications.notify(key=f"inquiry-escalation-{admin.id}-{late[0].id}-{stamp}", kind="inquiry_escalation",
                             recipient_email=admin.email, recipient_name=admin.name, recipient_user=admin,
                             subject=f"【伴走支援】回答期限を過ぎたお問い合わせ（{len(late)}件）",
                             body=f"{admin.name} 様\n\n次のお問い合わせが回答期限を過ぎています。担当者の状況を確認してください。\n\n{lines}\n\n"
                                  f"一覧: {current_app.config['BASE_URL']}/inquiries/?overdue=1\n\n（Banso からの自動送信）")
    db.session.execute(update(Inquiry).where(Inquiry.id.in_([i.id for i in late])).values(escalated_due_at=Inquiry.due_at)
                       .execution_options(synchronize_session=False))
    for inquiry in late:
        audit.record("escalate", inquiry, actor=None, summary=f"{inquiry.receipt_number} の回答期限超過を管理者に通知")
    return len(admins)


# --- 回答待ち(先方): remind, then close -----------------------------------------------------------------

def chase_waiting(at: datetime) -> int:
    """From the morning's hour on (as the digest): the reminder on the N-th business day of waiting, the closing on
    the M-th business day after the reminder went (never without one)."""
    config = current_app.config
    if not _morning_reached(at):
        return 0
    remind_after, close_after = config["INQUIRY_WAITING_REMIND_DAYS"], config["INQUIRY_WAITING_CLOSE_DAYS"]
    today = at.astimezone(JST).date()
    written = 0
    waiting = db.session.scalars(select(Inquiry).where(Inquiry.status == InquiryStatus.WAITING, Inquiry.waiting_since.is_not(None),
                                                       Inquiry.merged_into_id.is_(None), Inquiry.email != "")
                                 .order_by(Inquiry.waiting_since).limit(500)).all()
    stamps = {i.id: i.waiting_since.astimezone(JST).strftime("%Y%m%d%H%M%S") for i in waiting}
    reminders = notifications.find_many([f"inquiry-{i.id}-waiting-{stamps[i.id]}-reminder" for i in waiting])
    for inquiry in waiting:
        stamp = stamps[inquiry.id]
        reminder = reminders.get(f"inquiry-{inquiry.id}-waiting-{stamp}-reminder")
        if reminder is None:
            if today >= add_business_days(inquiry.waiting_since.astimezone(JST).date(), remind_after):
                close_on = add_business_days(today, close_after)
                notifications.notify(key=f"inquiry-{inquiry.id}-waiting-{stamp}-reminder", kind="inquiry_reminder", obj=inquiry,
                                     recipient_email=inquiry.email, recipient_user=inquiry.submitted_by,
                                     subject=f"【地方創生伴走支援】ご返信のお願い（{inquiry.receipt_number}）",
                                     body=(f"お問い合わせいただいた方へ\n\n受付番号 {inquiry.receipt_number} のお問い合わせについて、"
                                           "事務局からお送りしたメールへのご返信をお待ちしています。\n"
                                           f"{wareki(close_on)}までにご返信がない場合は、いったん完了とさせていただきます。\n"
                                           "このメールに返信いただくと、同じお問い合わせとして記録されます。\n\n"
                                           f"{inquiries.SIGNATURE}"))
                written += 1
            continue
        if today >= add_business_days(reminder.created_at.astimezone(JST).date(), close_after):
            inquiries.close_unanswered(inquiry, at)
            notifications.notify(key=f"inquiry-{inquiry.id}-waiting-{stamp}-closed", kind="inquiry_closed", obj=inquiry,
                                 recipient_email=inquiry.email, recipient_user=inquiry.submitted_by,
                                 subject=f"【地方創生伴走支援】お問い合わせを完了としました（{inquiry.receipt_number}）",
                                 body=(f"お問い合わせいただいた方へ\n\n受付番号 {inquiry.receipt_number} のお問い合わせは、"
                                       f"ご返信をお待ちしておりましたが、{wareki(today)}をもって完了としました。\n"
                                       "引き続きご不明な点があれば、このメールに返信してください。同じお問い合わせとして再開します。\n\n"
                                       f"{inquiries.SIGNATURE}"))
            written += 1
    return written


def _morning_reached(at: datetime) -> bool:
    hour, minute = (int(part) for part in current_app.config["INQUIRY_DIGEST_AT"].split(":"))
    return at.astimezone(JST).time() >= time(hour, minute)


def _admins() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)))


def _when(moment: datetime) -> str:
    local = moment.astimezone(JST)
    return f"{local.month}/{local.day} {local:%H:%M}"
