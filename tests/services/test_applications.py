"""市町村活用希望調査: every APP rule by ID."""
import os
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from banso.clock import jst
from banso.extensions import db
from banso.models import Application, AuditEntry, Notification, Role
from banso.services import RuleViolation, applications, imports, municipalities, population_import, survey
from tests.conftest import race, racing_barrier
from tests.factories import answer, make_application, make_municipality, make_phase, make_user


def _verdict(application, rule_id):
    return next(c for c in applications.assess(application) if c.rule_id == rule_id)


def _walk(application, actor, *actions):
    for action in actions:
        applications.change_status(application, action, reason="理由", actor=actor)


# --- APP-1 population ---------------------------------------------------------

def test_app_1_population_under_100000_is_eligible(ctx):
    a = make_application(municipality=make_municipality(default_population=31_294))
    assert _verdict(a, "APP-1").verdict == "ok"


def test_app_1_default_figure_near_the_limit_needs_a_check(ctx):
    a = make_application(municipality=make_municipality(default_population=96_000))
    check = _verdict(a, "APP-1")
    assert check.verdict == "check" and "確認要" in check.reason


def test_app_1_official_figure_decides_for_the_phase(ctx):
    admin = make_user(Role.ADMIN)
    phase = make_phase()
    near, over = make_municipality(default_population=98_000), make_municipality(default_population=97_500)
    a_near, a_over = make_application(phase, near), make_application(phase, over)
    csv_file = f"団体コード,人口\n{near.code},99999\n{over.code},100000\n".encode()
    batch = imports.start(population_import.KIND, phase, "official.csv", csv_file, actor=admin, inline=True)
    assert imports.commit(batch, actor=admin) == 2
    assert _verdict(a_near, "APP-1").verdict == "ok"
    over_check = _verdict(a_over, "APP-1")
    assert over_check.verdict == "ng" and "100,000人" in over_check.reason
    with pytest.raises(RuleViolation) as refused:
        _walk(a_over, admin, "confirm", "eligible")
    assert refused.value.rule_id == "APP-1"


def test_app_1_official_population_file_with_one_bad_row_stores_nothing(ctx):
    admin = make_user(Role.ADMIN)
    phase = make_phase()
    good = make_municipality()
    bad_file = f"団体コード,人口\n{good.code},5000\n123456,７０００\n{good.code},abc\n".encode()
    batch = imports.start(population_import.KIND, phase, "official.csv", bad_file, actor=admin, inline=True)
    errors = {row["row"]: row["errors"] for row in batch.rows}
    assert "団体コード" in errors[3] and "123456" in errors[3]["団体コード"] and "人口" in errors[4]
    with pytest.raises(RuleViolation) as refused:
        imports.commit(batch, actor=admin)
    assert "3、4行目" in refused.value.message
    from banso.models import OfficialPopulation

    assert db.session.scalar(select(func.count()).select_from(OfficialPopulation)) == 0


def test_app_1_master_file_loads_all_municipalities_with_valid_codes(ctx):
    assert municipalities.import_master() == 1741
    from banso.models import Municipality

    ofunato = db.session.scalar(select(Municipality).where(Municipality.code == "032034"))
    assert ofunato.full_name == "岩手県大船渡市" and ofunato.region_block == "東北"
    assert municipalities.import_master() == 1741  # refreshing does not duplicate
    assert db.session.scalar(select(func.count()).select_from(Municipality)) == 1741


# --- APP-2 seconded national staff ------------------------------------------------

def test_app_2_seconded_national_staff_makes_it_ineligible(ctx):
    staff = make_user()
    a = make_application(seconded_national_staff=True)
    assert _verdict(a, "APP-2").verdict == "ng"
    with pytest.raises(RuleViolation) as refused:
        _walk(a, staff, "confirm", "eligible")
    assert refused.value.rule_id == "APP-2"
    applications.change_status(a, "ineligible", reason="APP-2 出向予定あり", actor=staff)
    assert a.status == "ineligible"


# --- APP-3 deemed withdrawal ---------------------------------------------------------

def test_app_3_national_staff_request_is_recorded_as_withdrawn_and_the_municipality_told(ctx):
    a = make_application(requested_national_staff=True)
    assert a.jinzai_request_withdrawn_at is not None
    assert _verdict(a, "APP-3").verdict == "note"
    notice = db.session.scalar(select(Notification).where(Notification.kind == "jinzai_withdrawn"))
    assert notice.recipient_email == a.contact_email and "取り下げたものとみなします" in notice.body
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "jinzai_withdrawn")) is not None


def test_app_3_private_expert_request_does_not_matter(ctx):
    a = make_application(requested_private_expert=True)
    assert a.jinzai_request_withdrawn_at is None
    assert _verdict(a, "APP-3").verdict == "ok"
    assert db.session.scalar(select(Notification).where(Notification.kind == "jinzai_withdrawn")) is None


# --- APP-4 previous phase's municipalities ---------------------------------------------

def _two_phases():
    first = make_phase(number=1, name="第1期", fiscal_year=2025, survey_opens_at=jst(2024, 12, 2), answer_deadline_at=jst(2024, 12, 25, 17),
                       support_start=date(2025, 4, 15), support_end=date(2026, 3, 31))
    return first, make_phase()


def test_app_4_a_municipality_supported_last_phase_is_sent_to_the_continuation_survey(ctx):
    staff = make_user()
    first, second = _two_phases()
    m = make_municipality(name="大船渡市")
    old = make_application(first, m, received_at=jst(2024, 12, 20))
    _walk(old, staff, "confirm", "eligible", "matched")
    with pytest.raises(RuleViolation) as refused:
        make_application(second, m)
    assert refused.value.rule_id == "APP-4" and "継続意向調査" in refused.value.message
    applications.record_continuation(second, old, wishes_to_continue=True, issue_changes="子育て支援を追加", actor=staff)
    continuing = db.session.scalar(select(Application).where(Application.phase_id == second.id))
    assert continuing.is_continuing and continuing.channel == "survey" and continuing.status == "received"
    assert "子育て支援を追加" in continuing.local_situation
    assert _verdict(continuing, "APP-4").verdict == "ok"
    with pytest.raises(RuleViolation):  # answered once
        applications.record_continuation(second, old, wishes_to_continue=False, issue_changes="", actor=staff)


def test_app_4_an_unmatched_municipality_may_apply_again(ctx):
    staff = make_user()
    first, second = _two_phases()
    m = make_municipality()
    old = make_application(first, m, received_at=jst(2024, 12, 20))
    _walk(old, staff, "confirm", "eligible", "unmatched")
    assert make_application(second, m).status == "received"
    with pytest.raises(RuleViolation):
        applications.record_continuation(second, old, wishes_to_continue=True, issue_changes="", actor=staff)


def test_the_survey_starts_with_a_request_to_every_prefecture_and_last_phases_supported_municipalities(ctx, clock):
    """Found: only reminders existed; the first 「調査の依頼」 was written outside Banso."""
    from banso.models import PrefectureContact

    staff = make_user()
    first, second = _two_phases()
    old = make_application(first, make_municipality(name="大船渡市"), received_at=jst(2024, 12, 20), contact_email="ofunato@example.lg.jp")
    _walk(old, staff, "confirm", "eligible", "matched")
    make_application(first, make_municipality(name="遠野市"), received_at=jst(2024, 12, 21), contact_email="tono@example.lg.jp")
    db.session.add_all([PrefectureContact(prefecture="岩手県", department="政策企画部", email="iwate@example.lg.jp"),
                        PrefectureContact(prefecture="島根県", department="地域振興部", email="shimane@example.lg.jp")])
    clock.set(jst(2025, 12, 1, 10))
    assert survey.request_survey(second, actor=staff) == 4
    assert survey.request_survey(second, actor=staff) == 0  # pressed again: nothing twice
    sent = {n.recipient_email: n for n in db.session.scalars(select(Notification).where(Notification.kind.in_(
        ("survey_request", "continuation_request"))))}
    assert set(sent) == {"iwate@example.lg.jp", "shimane@example.lg.jp", "ofunato@example.lg.jp", "tono@example.lg.jp"}
    assert "活用希望調査のご案内（岩手県遠野市）" in sent["tono@example.lg.jp"].subject  # known from an earlier answer
    assert "令和7年12月24日 17:00" in sent["iwate@example.lg.jp"].body and "周知" in sent["iwate@example.lg.jp"].subject
    assert "継続意向調査" in sent["ofunato@example.lg.jp"].subject


def test_app_4_reminders_go_to_unanswered_municipalities_once_a_day(ctx, clock):
    staff = make_user()
    first, second = _two_phases()
    olds = []
    for _ in range(3):
        old = make_application(first, make_municipality(), received_at=jst(2024, 12, 20))
        _walk(old, staff, "confirm", "eligible", "matched")
        olds.append(old)
    applications.record_continuation(second, olds[0], wishes_to_continue=False, issue_changes="", actor=staff)
    clock.set(jst(2026, 1, 10, 9))
    assert survey.remind_unanswered(second, actor=staff) == 2
    assert survey.remind_unanswered(second, actor=staff) == 0
    clock.set(jst(2026, 1, 11, 9))
    assert survey.remind_unanswered(second, actor=staff) == 2
    reminders = db.session.scalars(select(Notification).where(Notification.kind == "continuation_reminder")).all()
    assert len(reminders) == 4 and {n.recipient_email for n in reminders} == {olds[1].contact_email, olds[2].contact_email}


# --- APP-5 one per municipality per phase ------------------------------------------------

def test_app_5_a_second_answer_for_the_same_municipality_is_refused(ctx):
    phase, m = make_phase(), make_municipality()
    make_application(phase, m)
    with pytest.raises(RuleViolation) as refused:
        make_application(phase, m)
    assert refused.value.rule_id == "APP-5"


@pytest.mark.timing
@pytest.mark.commits  # threads on their own connections
def test_app_5_two_simultaneous_submissions_leave_one(app):
    with app.app_context():
        phase_id, municipality_id = make_phase().id, make_municipality().id
        db.session.commit()
    results, barrier = [], racing_barrier(2)

    def submit():
        from banso.models import Municipality, Phase

        with app.app_context():
            phase, m = db.session.get(Phase, phase_id), db.session.get(Municipality, municipality_id)
            barrier.wait()
            try:
                applications.submit_application(phase, m, answer(), actor=None)
                db.session.commit()
                results.append("stored")
            except RuleViolation as violation:
                db.session.rollback()
                results.append(violation.rule_id)
            except Exception as exc:  # the database refused the second (the unique constraint)
                db.session.rollback()
                results.append(type(exc).__name__)
            finally:
                db.session.remove()

    race(submit, [(), ()])
    assert results.count("stored") == 1, results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == 1


# --- APP-6 the deadline -------------------------------------------------------------

@pytest.fixture
def server_in_utc():
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_app_6_an_answer_at_17_00_00_jst_is_on_time(ctx, server_in_utc):
    a = make_application(received_at=jst(2025, 12, 24, 17, 0, 0))
    assert not a.is_late and a.status == "received"
    assert _verdict(a, "APP-6").verdict == "ok"


def test_app_6_an_answer_at_17_00_01_jst_is_late_and_not_accepted(ctx, server_in_utc):
    a = make_application(received_at=jst(2025, 12, 24, 17, 0, 1))
    assert a.is_late and a.status == "late"
    assert _verdict(a, "APP-6").verdict == "ng"
    assert db.session.scalar(select(Notification).where(Notification.kind == "application_receipt")) is None
    with pytest.raises(RuleViolation):
        applications.change_status(a, "confirm", actor=make_user())


def test_app_6_only_an_admin_with_a_reason_accepts_a_late_answer(ctx):
    staff, admin = make_user(Role.SECRETARIAT), make_user(Role.ADMIN)
    a = make_application(received_at=jst(2025, 12, 25, 9))
    with pytest.raises(RuleViolation):
        applications.accept_late(a, reason="電話で事前連絡あり", actor=staff)
    with pytest.raises(RuleViolation):
        applications.accept_late(a, reason="  ", actor=admin)
    applications.accept_late(a, reason="フォーム障害の連絡が締切前にあったため", actor=admin)
    assert a.status == "received" and a.late_accepted_by_id == admin.id
    check = _verdict(a, "APP-6")
    assert check.verdict == "note" and "フォーム障害" in check.reason
    assert db.session.scalar(select(Notification).where(Notification.kind == "application_receipt")) is not None


# --- APP-7 fields and APP-8 contact -----------------------------------------------------

@pytest.mark.parametrize("fields,message", [
    ([], "1つ以上"), ([1, 2, 3, 4], "3つまで"), ([3, 3], "重複"), ([27], "①〜㉖"),
])
def test_app_7_one_to_three_distinct_fields_of_the_26(ctx, fields, message):
    with pytest.raises(RuleViolation) as refused:
        make_application(priority_fields=fields)
    assert refused.value.rule_id == "APP-7" and message in refused.value.message


def test_app_7_issue_structure_and_description_are_required(ctx):
    with pytest.raises(RuleViolation) as structure:
        make_application(issue_structure=None)
    assert structure.value.field == "issue_structure"
    with pytest.raises(RuleViolation) as text:
        make_application(local_situation="  ")
    assert text.value.field == "local_situation"


def test_app_7_fields_are_kept_in_priority_order(ctx):
    a = make_application(priority_fields=[14, 4])
    assert a.priority_fields == [14, 4]


@pytest.mark.parametrize("field", ["contact_department", "contact_person", "contact_email", "contact_phone"])
def test_app_8_contact_department_and_person_are_required(ctx, field):
    with pytest.raises(RuleViolation) as refused:
        make_application(**{field: ""})
    assert refused.value.rule_id == "APP-8" and refused.value.field == field


# --- APP-9 no ministry or person may be asked for ----------------------------------------

def test_app_9_ministry_names_in_the_text_are_flagged_for_staff(ctx):
    a = make_application(local_situation="国土交通省の方に来てほしい。港湾の整備が課題。")
    check = _verdict(a, "APP-9")
    assert check.verdict == "check" and "国土交通省" in check.reason
    clean = make_application(local_situation="港湾の整備が課題。")
    assert _verdict(clean, "APP-9").verdict == "ok"


# --- workflow -------------------------------------------------------------------------

def test_received_answer_sends_a_receipt_through_the_outbox(ctx):
    a = make_application()
    notice = db.session.scalar(select(Notification).where(Notification.kind == "application_receipt"))
    assert notice.recipient_email == a.contact_email and notice.status == "pending"
    assert a.municipality.name in notice.subject and "④産業振興" in notice.body


def test_status_workflow_with_reasons_and_audit(ctx):
    staff = make_user()
    a = make_application()
    with pytest.raises(RuleViolation):
        applications.change_status(a, "matched", actor=staff)  # not yet eligible
    with pytest.raises(RuleViolation) as no_reason:
        applications.change_status(a, "withdraw", reason="", actor=staff)
    assert no_reason.value.field == "reason"
    _walk(a, staff, "confirm", "eligible")
    applications.change_status(a, "withdraw", reason="先方から取下げの連絡", actor=staff)
    assert a.status == "withdrawn" and a.status_reason == "先方から取下げの連絡"
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "Application").order_by(AuditEntry.id))]
    assert actions == ["create", "confirm", "eligible", "withdraw"]
    with pytest.raises(RuleViolation):
        applications.update_application(a, answer(), actor=staff)


def test_app_1_a_new_phase_without_its_reference_date_population_is_unconfirmed_not_eligible(ctx):
    """Found: for a new phase whose reference-date population was not loaded, APP-1 used last year's figure and
    said 適合."""
    from datetime import date

    phase = make_phase(number=3, name="第3期", fiscal_year=2027, population_reference_date=date(2026, 1, 1))
    a = make_application(phase, make_municipality(default_population=31_294, default_population_date=date(2025, 1, 1)))
    check = _verdict(a, "APP-1")
    assert check.verdict == "unconfirmed" and check.label == "未確認"
    assert "令和8年1月1日" in check.reason and "公式人口の取込" in check.reason


def test_app_1_a_japanese_only_figure_of_100000_or_more_is_ineligible_not_a_check(ctx):
    a = make_application(municipality=make_municipality(default_population=100_200))
    check = _verdict(a, "APP-1")
    assert check.verdict == "ng" and "総計はこれより多く" in check.reason


def test_app_1_staff_cannot_mark_eligible_until_an_admin_records_the_population(ctx):
    staff, admin = make_user(Role.SECRETARIAT), make_user(Role.ADMIN)
    a = make_application(municipality=make_municipality(default_population=97_000))
    applications.change_status(a, "confirm", actor=staff)
    with pytest.raises(RuleViolation) as refused:
        applications.change_status(a, "eligible", actor=staff)
    assert refused.value.rule_id == "APP-1" and "確認要" in refused.value.message
    with pytest.raises(RuleViolation):
        applications.confirm_population(a, reason="電話で確認", actor=staff)  # an admin's decision
    with pytest.raises(RuleViolation):
        applications.confirm_population(a, reason="  ", actor=admin)  # with how it was confirmed
    applications.confirm_population(a, reason="市の住民基本台帳人口（総計）98,500人を電話で確認", actor=admin)
    applications.change_status(a, "eligible", actor=staff)
    check = _verdict(a, "APP-1")
    assert a.status == "eligible" and check.verdict == "ok" and "98,500人を電話で確認" in check.reason
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "confirm_population"))
    assert entry.actor_id == admin.id
    over = make_application(municipality=make_municipality(default_population=120_000))
    with pytest.raises(RuleViolation):
        applications.confirm_population(over, reason="確認", actor=admin)  # 不適合 is never overridden
