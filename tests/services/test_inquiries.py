"""INQ-1: every inquiry, by any channel, is recorded with a receipt number, an owner, a due date in
business days and its thread, and answered through the outbox exactly once."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from banso.clock import jst
from banso.extensions import db
from banso.models import Inquiry, Notification
from banso.models.inquiry import InquiryStatus
from banso.services import RuleViolation, inquiries
from tests.conftest import run_worker
from tests.factories import inquiry_data as _form
from tests.factories import mail as _eml
from tests.factories import make_municipality, make_user


@pytest.fixture
def staff(ctx, clock):
    clock.set(jst(2026, 11, 24, 10))  # a Tuesday
    return make_user("secretariat")


def test_inq_1_every_inquiry_gets_a_receipt_number_a_due_date_and_an_acknowledgement(staff):
    first = inquiries.receive(_form(), channel="form", actor=None)
    second = inquiries.receive(_form(email="", phone="0192-27-3111"), channel="phone", actor=staff, acknowledge=False)
    assert (first.receipt_number, second.receipt_number) == ("問-2026-0001", "問-2026-0002")
    assert first.due_at == jst(2026, 11, 27, 17)  # three business days after Tuesday 11/24
    assert first.status == InquiryStatus.NEW and first.messages[0].kind == "incoming"
    receipts = list(db.session.scalars(select(Notification).where(Notification.kind == "inquiry_receipt")))
    assert [n.recipient_email for n in receipts] == ["sato@example.lg.jp"] and "問-2026-0001" in receipts[0].subject


@pytest.mark.parametrize("received,due", [
    (jst(2026, 12, 25, 10), jst(2027, 1, 5, 17)),   # 年末年始 12/29–1/3 closed: 12/28, 1/4, 1/5
    (jst(2027, 1, 8, 10), jst(2027, 1, 14, 17)),    # 成人の日 (Monday 1/11) skipped
    (jst(2026, 9, 18, 10), jst(2026, 9, 28, 17)),   # 敬老の日, 国民の休日 and 秋分の日 (9/21–23) skipped
])
def test_inq_1_due_dates_count_business_days_only(app, ctx, received, due):
    assert inquiries.due_date(received) == due


def test_inq_1_bad_input_is_refused_with_a_clear_message(staff):
    with pytest.raises(RuleViolation, match="メールアドレスの形式が正しくありません"):
        inquiries.receive(_form(email="sato@@example"), channel="form", actor=None)
    with pytest.raises(RuleViolation, match="10,000文字まで"):
        inquiries.receive(_form(body="あ" * 10_001), channel="form", actor=None)
    with pytest.raises(RuleViolation, match="件名を入力"):
        inquiries.receive(_form(subject="  "), channel="form", actor=None)
    assert db.session.scalar(select(func.count()).select_from(Inquiry)) == 0


def test_inq_1_the_public_form_is_rate_limited_per_address(staff):
    for _ in range(5):
        inquiries.check_rate("sato@example.lg.jp", "192.0.2.1")
    with pytest.raises(RuleViolation, match="受付を一時停止"):
        inquiries.check_rate("SATO@example.lg.jp", "192.0.2.1")
    inquiries.check_rate("other@example.lg.jp", "192.0.2.1")  # another address is not held back


def test_inq_1_a_reply_reaches_the_smtp_sink_exactly_once(app, staff, smtp):
    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    message = inquiries.reply(inquiry, "佐藤 様\n\n① を選んでください。<b>太字</b>", actor=staff)
    assert inquiry.status == InquiryStatus.ANSWERED and inquiry.first_response_at is not None
    db.session.commit()
    run_worker(app)
    run_worker(app)  # a second run (or a sweep) sends nothing again
    replies = [m for m in smtp.messages if "回答フォームの記入方法" in m["Subject"] and "受け付けました" not in m["Subject"]]
    assert len(replies) == 1 and replies[0]["Message-ID"] == f"<notification-{message.notification_id}@banso.local>"
    assert "<b>太字</b>" in replies[0].get_content() and replies[0].get_content_type() == "text/plain"


def test_inq_1_a_note_is_never_sent(app, staff, smtp):
    inquiry = inquiries.receive(_form(email=""), channel="phone", actor=staff)
    inquiries.add_note(inquiry, "関係課に照会中", actor=staff)
    db.session.commit()
    run_worker(app)
    assert smtp.messages == [] and [m.kind for m in inquiry.messages] == ["incoming", "note"]


def test_inq_1_an_eml_reply_joins_its_thread_and_reopens_it(staff):
    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    message = inquiries.reply(inquiry, "回答します。", actor=staff)
    data = _eml(f"Re: 【地方創生伴走支援】回答フォームの記入方法（{inquiry.receipt_number}）", "追加で質問があります。締切はいつですか。",
                in_reply_to=f"<notification-{message.notification_id}@banso.local>")
    assert b"ISO-2022-JP" in data.upper()
    result = inquiries.import_eml(data, actor=staff)
    assert result.inquiry is inquiry and not result.created and "メッセージID" in result.reason
    assert inquiry.status == InquiryStatus.IN_PROGRESS and inquiry.messages[-1].body == "追加で質問があります。締切はいつですか。"
    with pytest.raises(RuleViolation, match="既に取り込まれています"):
        inquiries.import_eml(data, actor=staff)


def test_inq_1_an_eml_finds_its_thread_by_the_receipt_number_and_follows_a_merge(staff):
    original = inquiries.receive(_form(), channel="form", actor=None)
    duplicate = inquiries.receive(_form(subject="同じ質問（再送）"), channel="form", actor=None)
    inquiries.merge(duplicate, original, actor=staff)
    result = inquiries.import_eml(_eml(f"Re: {duplicate.receipt_number} について", "補足です。"), actor=staff)
    assert result.inquiry is original and "統合先" in result.reason
    assert [m.body for m in inquiries.thread(original, staff)][-1] == "補足です。"


def test_inq_1_a_reply_to_a_thread_closed_over_14_days_ago_opens_a_linked_inquiry(staff, clock):
    old = inquiries.receive(_form(), channel="form", actor=None)
    inquiries.reply(old, "回答します。", actor=staff, close=True)
    clock.advance(days=15)
    result = inquiries.import_eml(_eml(f"Re: {old.receipt_number}", "別件ですが質問です。"), actor=staff)
    assert result.created and result.inquiry.follows is old and result.inquiry.channel == "email"
    assert old.status == InquiryStatus.CLOSED


def test_inq_1_an_unknown_sender_becomes_a_new_inquiry_and_a_broken_file_is_refused(staff):
    result = inquiries.import_eml(_eml("はじめて問い合わせます", "制度について教えてください。", charset="utf-8"), actor=staff)
    assert result.created and result.inquiry.email == "sato@example.lg.jp"
    for broken in (b"", b"\x00\x01garbage without headers", b"From: \r\nSubject: x\r\n\r\n"):
        with pytest.raises(RuleViolation, match="メールファイル"):
            inquiries.import_eml(broken, actor=staff)


def test_inq_1_waiting_for_the_inquirer_pauses_the_clock(staff, clock):
    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    due = inquiry.due_at
    inquiries.set_status(inquiry, InquiryStatus.WAITING, actor=staff)
    clock.advance(days=2)
    assert not inquiry.is_overdue
    inquiries.set_status(inquiry, InquiryStatus.IN_PROGRESS, actor=staff)
    assert inquiry.due_at == due + timedelta(days=2)


def test_inq_1_overdue_inquiries_are_counted(staff, clock):
    inquiries.receive(_form(), channel="form", actor=None)
    clock.set(jst(2026, 11, 30, 9))
    assert inquiries.status_counts(staff)["overdue"] == 1


def test_inq_1_finance_sees_travel_questions_and_officers_their_own(staff):
    officer_user = make_user("officer")
    travel = inquiries.receive(_form(category="travel", org_type="officer"), channel="form", actor=officer_user)
    general = inquiries.receive(_form(), channel="form", actor=None)
    finance = make_user("finance")
    visible = lambda user: set(db.session.scalars(inquiries.list_query(user)))  # noqa: E731
    assert visible(finance) == {travel} and visible(officer_user) == {travel} and visible(staff) == {travel, general}
    with pytest.raises(RuleViolation, match="権限がありません"):
        inquiries.reply(general, "回答", actor=finance)


def test_inq_1_templates_fill_placeholders_and_faq_comes_from_answered_inquiries(staff):
    inquiry = inquiries.receive(_form(municipality_code=make_municipality(name="遠野市").code), channel="form", actor=None)
    template = inquiries.save_template("受付のお礼", "{氏名} 様 受付番号 {受付番号}", actor=staff)
    assert inquiries.fill_template(template, inquiry) == f"佐藤 由美 様 受付番号 {inquiry.receipt_number}"
    with pytest.raises(RuleViolation, match="回答済または完了"):
        inquiries.promote_to_faq(inquiry, "Q", "A", actor=staff)
    inquiries.reply(inquiry, "回答", actor=staff)
    inquiries.promote_to_faq(inquiry, "記入方法は？", "様式の注記をご覧ください。", actor=staff)
    assert [e.question for e in inquiries.faq_by_category()["application"]] == ["記入方法は？"]
    assert inquiry.municipality.name == "遠野市"


def test_receipt_numbers_restart_each_year(staff, clock):
    clock.set(datetime(2026, 12, 31, 14, 59, tzinfo=timezone.utc))  # 23:59 JST on New Year's Eve
    assert inquiries.receive(_form(), channel="form", actor=None).receipt_number == "問-2026-0001"
    clock.set(datetime(2026, 12, 31, 15, 0, tzinfo=timezone.utc))  # 0:00 JST on 1 January
    assert inquiries.receive(_form(), channel="form", actor=None).receipt_number == "問-2027-0001"


def test_single_line_fields_fold_line_breaks_and_control_characters_are_dropped(staff):
    """Found: CR/LF in a name or subject broke every later e-mail of the inquiry for good; a NUL in an .eml failed."""
    inquiry = inquiries.receive(_form(name="佐藤\r\n由美", subject="件名\nBcc: victim@example.jp", body="本文\x00です。\n二行目"),
                                channel="form", actor=None)
    assert inquiry.name == "佐藤 由美" and inquiry.subject == "件名 Bcc: victim@example.jp"
    assert inquiry.messages[0].body == "本文です。\n二行目"  # the body keeps its lines
    imported = inquiries.import_eml(_eml("件名\x00です", "本文に\x00NUL"), actor=staff)
    assert imported.inquiry.subject == "件名です" and imported.inquiry.messages[0].body.startswith("本文にNUL")


def test_the_acknowledgement_repeats_nothing_the_sender_typed(staff):
    """Found: the acknowledgement repeated the subject and name to any address, from the official sender."""
    inquiries.receive(_form(name="無料プレゼント当選", subject="http://phish.example/ をクリック"), channel="form", actor=None)
    notice = db.session.scalar(select(Notification).where(Notification.kind == "inquiry_receipt"))
    assert "phish" not in notice.body + notice.subject and "当選" not in notice.body + notice.subject + notice.recipient_name


def test_mail_from_another_sender_is_flagged_on_the_thread_and_reopens_nothing_until_staff_confirm_it(staff):
    """Found: any sender quoting a (guessable) receipt number was appended to, and reopened, that inquiry."""
    inquiry = inquiries.receive(_form(), channel="form", actor=None)
    inquiries.reply(inquiry, "回答します。", actor=staff)
    before = (inquiry.status, inquiry.due_at)
    result = inquiries.import_eml(_eml(f"Re: {inquiry.receipt_number}", "私の個人情報を教えて", sender="stranger@example.com"),
                                  actor=staff)
    flagged = inquiry.messages[-1]
    assert result.inquiry is inquiry and result.outcome == "unconfirmed" and "確認待ち" in result.reason
    assert flagged.sender_unconfirmed and flagged.from_email == "stranger@example.com"
    assert (inquiry.status, inquiry.due_at) == before  # nothing reopened, no clock restarted
    officer_view = [m for m in inquiries.thread(inquiry, staff) if inquiries.shown_to_inquirer(m)]
    assert flagged not in officer_view
    inquiries.confirm_sender(flagged, actor=staff)
    assert not flagged.sender_unconfirmed and inquiry.status == InquiryStatus.IN_PROGRESS
    with pytest.raises(RuleViolation, match="確認済み"):
        inquiries.confirm_sender(flagged, actor=staff)
    same = inquiries.import_eml(_eml(f"Re: {inquiry.receipt_number}", "補足です。"), actor=staff)  # the inquirer: joins
    assert same.inquiry is inquiry and not same.created and same.outcome == "thread"


def test_an_inquiry_is_of_the_phase_of_the_senders_work_not_the_phase_created_last(app, ctx, clock):
    """Found: in December every inquiry was tagged with 第3期, the phase created last, even a 第2期 team's town's."""
    from tests.factories import make_application, make_phase, make_team

    clock.set(jst(2026, 12, 7, 10))
    team = make_team()  # 第2期, in support until 3/31
    third = make_phase(number=3, name="第3期", fiscal_year=2027, survey_opens_at=jst(2026, 12, 1, 10),
                       answer_deadline_at=jst(2026, 12, 24, 17), support_start=jst(2027, 4, 1).date(),
                       support_end=jst(2028, 3, 31).date())
    answering = make_application(third).municipality
    with_team = inquiries.receive(_form(municipality_code=team.municipality.code), channel="form", actor=None)
    with_answer = inquiries.receive(_form(municipality_code=answering.code, email="b@example.lg.jp"), channel="form", actor=None)
    general = inquiries.receive(_form(org_type="other", email="c@example.jp"), channel="form", actor=None)
    assert (with_team.phase.name, with_team.team) == ("第2期", team)
    assert with_answer.phase.name == "第3期" and with_answer.application is not None
    assert general.phase is None
