"""INQ-1, the help desk that chases itself: digests, escalation, 回答待ち reminders and closing, on a fake clock —
each notice once however often the timer runs."""
from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from banso.clock import jst
from banso.extensions import db
from banso.models import Notification
from banso.models.inquiry import InquiryStatus
from banso.services import helpdesk, inquiries
from tests.factories import inquiry_data as _form
from tests.factories import make_user


def _sent(kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id)))


@pytest.fixture
def people(ctx, clock):
    clock.set(jst(2026, 11, 24, 10))  # Tuesday
    return make_user("secretariat", name="山田 花子"), make_user("admin", name="管理 太郎")


def test_the_morning_digest_goes_once_to_each_assignee_and_to_admins_for_the_unassigned(people, clock):
    staff, admin = people
    mine = inquiries.receive(_form(), channel="form", actor=None)  # due Friday 11/27 17:00
    inquiries.assign(mine, staff, actor=staff)
    nobody = inquiries.receive(_form(subject="担当未定の件"), channel="form", actor=None)
    clock.set(jst(2026, 11, 26, 8, 0))  # Thursday, before the digest's hour
    assert helpdesk.digest(clock.at) == 0
    clock.set(jst(2026, 11, 26, 8, 31))
    assert helpdesk.digest(clock.at) == 2 and helpdesk.digest(clock.at) == 0  # the timer runs again: nothing twice
    due, unassigned = _sent("inquiry_digest")
    assert due.recipient_email == staff.email and mine.receipt_number in due.body and nobody.receipt_number not in due.body
    assert unassigned.recipient_email == admin.email and nobody.receipt_number in unassigned.body
    clock.set(jst(2026, 11, 28, 9))  # Saturday: no digest
    assert helpdesk.digest(clock.at) == 0


def test_an_overdue_inquiry_is_escalated_to_the_admins_once_per_due_time(people, clock):
    staff, admin = people
    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    inquiries.assign(inquiry, staff, actor=staff)
    db.session.flush()
    version = inquiry.version
    clock.set(jst(2026, 11, 27, 17, 1))
    assert helpdesk.escalate(clock.at) == 1 and helpdesk.escalate(clock.at) == 0
    [notice] = _sent("inquiry_escalation")
    assert notice.recipient_email == admin.email and inquiry.receipt_number in notice.body and "山田 花子" in notice.body
    db.session.refresh(inquiry)
    assert inquiry.version == version  # staff's open forms are not made stale by the escalation
    inquiries.reply(inquiry, "回答します。", actor=staff)
    inquiries.add_incoming(inquiry, "まだ分かりません。", from_email=inquiry.email, actor=None)  # a new due time
    clock.set(jst(2026, 12, 3, 17, 1))
    assert helpdesk.escalate(clock.at) == 1 and len(_sent("inquiry_escalation")) == 2


def test_waiting_for_the_inquirer_reminds_then_closes_over_the_year_end_and_their_answer_reopens(people, clock, app):
    staff, _ = people
    app.config.update(INQUIRY_WAITING_REMIND_DAYS=3, INQUIRY_WAITING_CLOSE_DAYS=2)
    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    clock.set(jst(2026, 12, 24, 15))  # Thursday
    sent = inquiries.reply(inquiry, "様式の版をお知らせください。", actor=staff, wait=True)
    assert inquiry.status == InquiryStatus.WAITING
    # Business days after 12/24: 12/25, 12/28, then 年末年始 (12/29–1/3) closed, 1/4: the reminder on 1/4.
    for day in (jst(2026, 12, 28, 10), jst(2026, 12, 30, 10), jst(2027, 1, 2, 10), jst(2027, 1, 4, 8)):
        clock.set(day)
        assert helpdesk.chase(clock.at) == 0, day
    clock.set(jst(2027, 1, 4, 9))
    assert helpdesk.chase(clock.at) == 1 and helpdesk.chase(clock.at) == 0
    [reminder] = _sent("inquiry_reminder")
    assert reminder.recipient_email == inquiry.email and "令和9年1月6日" in reminder.body  # two business days later
    clock.set(jst(2027, 1, 5, 12))
    helpdesk.chase(clock.at)
    assert inquiry.status == InquiryStatus.WAITING
    clock.set(jst(2027, 1, 6, 9))
    helpdesk.chase(clock.at)
    assert inquiry.status == InquiryStatus.CLOSED and len(_sent("inquiry_closed")) == 1
    answer = EmailMessage()
    answer["From"], answer["Subject"], answer["Message-ID"] = inquiry.email, "Re: 様式", "<late-answer@x>"
    answer["In-Reply-To"] = f"<notification-{sent.notification_id}@banso.local>"
    answer.set_content("遅くなりました。第2版です。")
    clock.set(jst(2027, 1, 7, 10))
    result = inquiries.take_in(answer.as_bytes(), source="imap", actor=None)
    assert result.inquiry is inquiry and inquiry.status == InquiryStatus.IN_PROGRESS
    assert inquiry.due_at == jst(2027, 1, 13, 17)  # three business days: 1/8, (成人の日 1/11), 1/12, 1/13
