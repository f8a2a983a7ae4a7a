"""Officers: every OFF rule by ID."""
import io
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from banso.clock import jst
from banso.extensions import db
from banso.models import (AppointmentState, AuditEntry, ConcurrentAppointment, Notification, Officer, OfficerCandidacy,
                          Role)
from banso.services import RuleViolation, imports, officer_import, officers, statistics
from tests.conftest import run_worker
from tests.factories import make_officer, make_phase, make_user


def _data(**overrides):
    ministry = officers.find_ministry("国土交通省") or (officers.ensure_ministries() and officers.find_ministry("国土交通省"))
    data = {"name": "山田 花子", "name_kana": "ヤマダ ハナコ", "ministry_id": ministry.id, "bureau": "港湾局", "division": "計画課",
            "post_title": "課長補佐", "grade_band": "課長補佐級", "job_type": "技官", "sex": "女性", "birth_date": date(1986, 5, 1),
            "workplace_type": "本省", "officer_type": "officer", "email": "Yamada@example.go.jp", "phone": "03-5253-8111",
            "expertise_fields": [4, 9]}
    data.update(overrides)
    return data


# --- OFF-1 / OFF-2 eligibility ------------------------------------------------------

@pytest.mark.parametrize("grade", ["指定職", "課長級", "室長級", "課長補佐級", "係長級"])
def test_off_1_grades_from_shiteishoku_down_to_kakaricho_are_eligible(ctx, grade):
    assert officers.eligibility(_data(grade_band=grade)) == (True, None)


def test_off_1_a_grade_below_kakaricho_is_ineligible_with_the_reason(ctx):
    eligible, reason = officers.eligibility(_data(grade_band="係員"))
    assert not eligible and reason.startswith("OFF-1") and "係長級" in reason


def test_off_1_an_agency_of_a_ministry_counts_as_headquarters(ctx):
    officers.ensure_ministries()
    kanko = officers.find_ministry("観光庁")
    assert kanko.parent.name == "国土交通省" and kanko.label == "観光庁（国土交通省）"
    assert officers.eligibility(_data(ministry_id=kanko.id, workplace_type="外局"))[0]


@pytest.mark.parametrize("workplace", ["地方支分部局", "地方公共団体（出向中）"])
def test_off_2_staff_in_regional_branches_or_local_governments_are_ineligible(ctx, workplace):
    eligible, reason = officers.eligibility(_data(workplace_type=workplace))
    assert not eligible and reason.startswith("OFF-2")


def test_off_2_an_ineligible_applicant_is_kept_and_cannot_be_selected(ctx):
    staff = make_user()
    phase = make_phase()
    officer = officers.create_officer(_data(workplace_type="地方支分部局"), actor=staff)
    candidacy = officers.apply_to_phase(officer, phase, actor=staff)
    assert not candidacy.eligible and "OFF-2" in candidacy.ineligibility_reason
    with pytest.raises(RuleViolation) as refused:
        officers.set_candidacy_status(candidacy, "selected", actor=staff)
    assert refused.value.rule_id == "OFF-2"
    officers.set_candidacy_status(candidacy, "not_selected", actor=staff)
    assert db.session.scalar(select(func.count()).select_from(OfficerCandidacy)) == 1


def test_records_are_normalised_and_duplicates_refused(ctx):
    staff = make_user()
    officer = officers.create_officer(_data(), actor=staff)
    assert officer.name_kana == "やまだ はなこ" and officer.email == "yamada@example.go.jp"
    with pytest.raises(RuleViolation):  # same e-mail
        officers.create_officer(_data(name="別人"), actor=staff)
    with pytest.raises(RuleViolation):  # same name + ministry + date of birth
        officers.create_officer(_data(email="other@example.go.jp"), actor=staff)
    with pytest.raises(RuleViolation) as bad_kana:
        officers.create_officer(_data(email="x@example.go.jp", name="別 人", name_kana="Yamada"), actor=staff)
    assert bad_kana.value.field == "name_kana"


# --- OFF-3 concurrent appointments ---------------------------------------------------------

def test_off_3_bulk_issue_gives_each_selected_officer_one_order_even_when_repeated(ctx):
    staff = make_user()
    phase = make_phase()
    selected = [make_officer(phase, status="selected") for _ in range(3)]
    make_officer(phase, status="applied")
    assert officers.issue_orders(phase, order_date=date(2026, 4, 1), actor=staff) == 3
    first = {a.officer_id: a.order_number for a in db.session.scalars(select(ConcurrentAppointment))}
    assert officers.issue_orders(phase, order_date=date(2026, 4, 2), actor=staff) == 0
    second = {a.officer_id: a.order_number for a in db.session.scalars(select(ConcurrentAppointment))}
    assert first == second and set(first) == {o.id for o in selected}
    assert all(a.state == "issued" and a.effective_from == phase.support_start for a in db.session.scalars(select(ConcurrentAppointment)))
    later = make_officer(phase, status="selected")
    assert officers.issue_orders(phase, order_date=date(2026, 5, 1), actor=staff) == 1
    assert len({a.order_number for a in db.session.scalars(select(ConcurrentAppointment))}) == 4
    assert officers.has_covering_appointment(later, date(2026, 5, 1), date(2027, 3, 31))


def test_off_3_cover_check_and_ending_an_appointment(ctx):
    staff = make_user()
    phase = make_phase()
    officer = make_officer(phase, status="selected")
    assert not officers.has_covering_appointment(officer, phase.support_start, phase.support_end)  # no order yet
    officers.issue_orders(phase, order_date=date(2026, 4, 1), actor=staff)
    appointment = officer.appointments[0]
    assert officers.has_covering_appointment(officer, phase.support_start, phase.support_end)
    with pytest.raises(RuleViolation):
        officers.end_appointment(appointment, on=date(2026, 10, 1), reason=" ", actor=staff)
    officers.end_appointment(appointment, on=date(2026, 10, 1), reason="人事異動（併任解除）", actor=staff)
    assert appointment.state == AppointmentState.ENDED
    assert officers.has_covering_appointment(officer, date(2026, 4, 1), date(2026, 9, 30))
    assert not officers.has_covering_appointment(officer, date(2026, 4, 1), date(2026, 10, 2))


def test_off_3_bulk_issue_runs_on_the_worker_with_progress(app, client):
    from tests.conftest import login

    with app.app_context():
        phase = make_phase()
        for _ in range(12):
            make_officer(phase, status="selected")
        staff = make_user().email
        db.session.commit()
    login(client, staff)
    response = client.post("/appointments/issue?phase=2", data={"order_date": "2026-04-01", "post": "内閣府地方創生推進室"})
    assert response.status_code == 302
    task_url = response.location
    waiting = client.get(task_url, headers={"HX-Request": "true"})
    assert waiting.status_code == 200 and "<progress" in waiting.get_data(as_text=True)
    run_worker(app)
    done = client.get(task_url, headers={"HX-Request": "true"})
    assert done.status_code == 286 and "新たに12件" in done.get_data(as_text=True)
    client.post("/appointments/issue?phase=2", data={"order_date": "2026-04-01", "post": "内閣府地方創生推進室"})
    run_worker(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ConcurrentAppointment)) == 12


# --- OFF-4 share of working time -------------------------------------------------------------

def test_off_4_a_share_outside_ten_to_twenty_percent_is_flagged(ctx):
    assert officers.effort_warning(make_officer(effort_percent=15)) is None
    assert officers.effort_warning(make_officer(effort_percent=None)) is None
    warning = officers.effort_warning(make_officer(effort_percent=40))
    assert warning.startswith("OFF-4") and "1割〜2割" in warning


# --- OFF-5 self-service and official fields ---------------------------------------------------

def test_off_5_an_officer_edits_own_profile_but_not_official_fields(ctx):
    user = make_user(Role.OFFICER)
    officer = make_officer(user=user)
    officers.update_own_profile(officer, {"introduction": "港湾行政が専門です。", "effort_percent": 15}, actor=user)
    assert officer.introduction == "港湾行政が専門です。"
    with pytest.raises(RuleViolation) as refused:
        officers.update_own_profile(officer, {"post_title": "課長"}, actor=user)
    assert refused.value.rule_id == "OFF-5"
    other = make_user(Role.OFFICER)
    with pytest.raises(RuleViolation):
        officers.update_own_profile(officer, {"introduction": "x"}, actor=other)


def test_off_5_a_change_request_is_applied_only_when_the_secretariat_approves(ctx):
    user, staff = make_user(Role.OFFICER), make_user(Role.SECRETARIAT)
    phase = make_phase()
    officer = make_officer(phase, status="assigned", user=user)
    request = officers.request_change(officer, {"workplace_type": "地方支分部局", "post_title": "事務所長"},
                                      reason="10月1日付 人事異動", effective_on=date(2026, 10, 1), actor=user)
    assert officer.workplace_type == "本省"  # not yet
    decision = officers.decide_change(request, approve=True, note="", actor=staff)
    assert officer.workplace_type == "地方支分部局" and officer.post_title == "事務所長"
    assert decision.needs_replacement  # on a team and now ineligible (OFF-2)
    notice = db.session.scalar(select(Notification).where(Notification.kind == "profile_change_decision"))
    assert notice.recipient_email == officer.email and "承認" in notice.subject
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "approve_change")).before["workplace_type"] == "本省"


def test_off_5_a_rejection_needs_a_reason_and_changes_nothing(ctx):
    user, staff = make_user(Role.OFFICER), make_user()
    officer = make_officer(user=user)
    request = officers.request_change(officer, {"post_title": "課長"}, reason="昇任", effective_on=None, actor=user)
    with pytest.raises(RuleViolation):
        officers.decide_change(request, approve=False, note="", actor=staff)
    officers.decide_change(request, approve=False, note="発令を確認できないため", actor=staff)
    assert officer.post_title == "課長補佐" and request.status == "rejected"


# --- the applicants spreadsheet --------------------------------------------------------------

HEADER = [h for h, _ in officer_import.COLUMNS]


def _sheet(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append([row.get(h, "") for h in HEADER])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _row(**values):
    row = {"氏名": "高橋 直樹", "ふりがな": "タカハシ ナオキ", "府省庁": "国土交通省", "局・部": "港湾局", "課・室": "計画課",
           "役職": "課長補佐", "職階": "課長補佐級", "事務官・技官": "技官", "性別": "男性", "生年月日": "1984-07-01",
           "勤務先区分": "本省", "メールアドレス": "takahashi@example.go.jp", "電話番号": "03-5253-8111",
           "専門分野": "産業振興、デジタル・未来技術", "出身地": "岩手県", "区分": "地方創生支援官"}
    row.update(values)
    return row


def test_off_1_off_2_a_messy_applicant_list_reports_every_row_and_imports_nothing(ctx):
    phase = make_phase()
    existing = make_officer(phase, name="既存 一郎", email="kizon@example.go.jp")
    rows = [
        _row(),                                                                   # 2 clean
        _row(氏名="不明 省", メールアドレス="a@example.go.jp", 府省庁="未来省"),       # 3 unknown ministry
        _row(氏名="全角 数", メールアドレス="b@example.go.jp", 生年月日="１９８４－０７－０１"),  # 4 full-width: read as typed
        _row(氏名="メール 無", メールアドレス=""),                                    # 5 missing e-mail
        _row(氏名="高橋 直樹"),                                                     # 6 same person as row 2
        _row(氏名="既存 一郎", メールアドレス="kizon@example.go.jp"),                  # 7 already an applicant this phase
        _row(氏名="地方 勤務", メールアドレス="c@example.go.jp", 勤務先区分="地方支分部局"),  # 8 ineligible: kept, warned
    ]
    batch = imports.start(officer_import.KIND, phase, "応募者.xlsx", _sheet(rows), actor=None)
    errors = {r["row"]: r["errors"] for r in batch.rows}
    assert errors[2] == {} and errors[8] == {}
    assert "府省庁等の一覧にありません" in errors[3]["府省庁"]
    assert "生年月日" not in errors[4] and batch.rows[2]["data"]["birth_date"] == "1984-07-01"
    assert "メールアドレスを入力" in errors[5]["メールアドレス"]
    assert "2行目と同じ方" in errors[6]["メールアドレス"]
    assert "既に登録されています" in errors[7]["メールアドレス"]
    assert any("OFF-2" in w for w in batch.rows[6]["warnings"])
    before = db.session.scalar(select(func.count()).select_from(Officer))
    with pytest.raises(RuleViolation):
        imports.commit(batch, actor=None)
    assert db.session.scalar(select(func.count()).select_from(Officer)) == before
    assert existing.candidacies[0].phase_id == phase.id


def test_off_2_a_clean_list_imports_all_and_merges_a_known_person(ctx):
    first = make_phase(number=1, name="第1期", fiscal_year=2025, survey_opens_at=jst(2024, 12, 2), answer_deadline_at=jst(2024, 12, 25, 17),
                       support_start=date(2025, 4, 15), support_end=date(2026, 3, 31))
    phase = make_phase()
    known = make_officer(first, name="継続 花子", email="keizoku@example.go.jp", status="selected")
    rows = [_row(), _row(氏名="継続 花子", メールアドレス="KEIZOKU@example.go.jp", ふりがな="けいぞく はなこ"),
            _row(氏名="地方 勤務", メールアドレス="c@example.go.jp", 勤務先区分="地方支分部局", ふりがな="ちほう きんむ")]
    batch = imports.start(officer_import.KIND, phase, "応募者.xlsx", _sheet(rows), actor=None)
    assert [r["errors"] for r in batch.rows] == [{}, {}, {}]
    assert "統合" in batch.rows[1]["warnings"][0]
    assert imports.commit(batch, actor=None) == 3
    assert db.session.scalar(select(func.count()).select_from(Officer)) == 3  # the known person was not duplicated
    assert {c.phase_id for c in known.candidacies} == {first.id, phase.id}
    ineligible = db.session.scalar(select(Officer).where(Officer.email == "c@example.go.jp"))
    assert not ineligible.candidacies[0].eligible and "OFF-2" in ineligible.candidacies[0].ineligibility_reason
    imported = db.session.scalar(select(Officer).where(Officer.email == "takahashi@example.go.jp"))
    assert imported.name_kana == "たかはし なおき" and imported.expertise_fields == [4, 9]


# --- the breakdown ------------------------------------------------------------------------------

def test_breakdown_counts_applicants_and_selected_by_category(ctx):
    phase = make_phase()
    make_officer(phase, status="selected", sex="女性", job_type="技官", grade_band="係長級", birth_date=date(1994, 1, 1))
    make_officer(phase, status="selected", sex="男性", ministry="観光庁", workplace_type="外局")
    make_officer(phase, status="not_selected", sex="男性")
    data = statistics.officer_breakdown(phase)
    assert ("女性", 1, 1) in data["① 性別"] and ("男性", 2, 1) in data["① 性別"]
    assert ("技官", 1, 1) in data["② 事務官・技官"]
    assert ("30代", 1, 1) in data["④ 年齢"]  # 32 on 2026-04-01
    assert data["府省庁（本府省単位）"][0] == ("国土交通省", 3, 2)  # 観光庁 counts under its ministry
    make_officer(phase, status="applied", birth_date=date(1996, 4, 1))  # 30 on the first day of support
    make_officer(phase, status="applied", birth_date=date(1996, 4, 2))  # still 29 that day
    ages = dict((label, applied) for label, applied, _ in statistics.officer_breakdown(phase)["④ 年齢"])
    assert ages["30代"] == 2 and ages["20代"] == 1  # banded in SQL by birth date, to the day
