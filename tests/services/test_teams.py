"""Teams: every TEAM rule by ID, OFF-3 at formation and replacement, PUB-1 in matching."""
from datetime import date

import pytest
from sqlalchemy import func, select

from banso.clock import jst
from banso.extensions import db
from banso.models import (ConcurrentAppointment, Notification, Officer,
                          Role, Team, TeamMembership)
from banso.services import RuleViolation, officers, teams
from tests.conftest import race, racing_barrier
from tests.factories import (MINISTRY_CYCLE, make_eligible_application, make_officer, make_ready_officer,
                             make_team, make_user)


# --- TEAM-1 size and mix ----------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 4])
def test_team_1_a_team_has_two_or_three_officers(ctx, size):
    application = make_eligible_application()
    members = [make_ready_officer(application.phase, MINISTRY_CYCLE[i]) for i in range(size)]
    with pytest.raises(RuleViolation) as refused:
        teams.form_team(application, members, actor=None)
    assert refused.value.rule_id == "TEAM-1" and f"{size}名" in refused.value.message


def test_team_1_members_come_from_different_ministries_an_agency_counting_with_its_ministry(ctx):
    application = make_eligible_application()
    phase = application.phase
    same = [make_ready_officer(phase, "国土交通省"), make_ready_officer(phase, "観光庁"), make_ready_officer(phase, "総務省")]
    with pytest.raises(RuleViolation) as refused:
        teams.form_team(application, same, actor=None)
    assert refused.value.rule_id == "TEAM-1" and "国土交通省" in refused.value.message
    team = teams.form_team(application, [same[1], same[2]], actor=None)
    assert len(team.current_members) == 2


def test_forming_a_team_assigns_the_officers_and_matches_the_application(ctx):
    team = make_team()
    assert team.application.status == "matched" and team.status == "active"
    assert {c.status for m in team.current_members for c in m.officer.candidacies} == {"assigned"}
    assert team.themes == [4, 14, 8]


# --- TEAM-2 one team, one municipality -----------------------------------------------------

def test_team_2_a_municipality_has_at_most_one_team_per_phase(ctx):
    from sqlalchemy.exc import IntegrityError

    team = make_team()
    with pytest.raises(RuleViolation) as refused:
        teams.form_team(team.application, [make_ready_officer(team.phase, "法務省"), make_ready_officer(team.phase, "防衛省")], actor=None)
    assert refused.value.rule_id == "TEAM-2"
    # The database refuses a second team for the municipality even if a service were bypassed.
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Team(phase_id=team.phase_id, municipality_id=team.municipality_id, start_date=team.start_date,
                            end_date=team.end_date, themes=[1], status="active"))
        db.session.flush()


def test_team_2_an_officer_serves_on_one_team_only(ctx):
    team = make_team()
    busy = team.current_members[0].officer
    other = make_eligible_application(team.phase)
    with pytest.raises(RuleViolation) as refused:
        teams.form_team(other, [busy, make_ready_officer(team.phase, "法務省")], actor=None)
    assert refused.value.rule_id == "TEAM-2" and busy.name in refused.value.message


def test_team_2_only_an_eligible_application_gets_a_team(ctx):
    from tests.factories import make_application

    application = make_application()
    phase = application.phase
    with pytest.raises(RuleViolation) as refused:
        teams.form_team(application, [make_ready_officer(phase, "総務省"), make_ready_officer(phase, "財務省")], actor=None)
    assert refused.value.rule_id == "TEAM-2"


# --- OFF-3 at formation --------------------------------------------------------------------

def test_off_3_an_officer_without_a_covering_appointment_cannot_join_a_team(ctx):
    application = make_eligible_application()
    phase = application.phase
    without = make_officer(phase, status="selected", ministry="総務省")
    with pytest.raises(RuleViolation) as refused:
        teams.form_team(application, [make_ready_officer(phase, "財務省"), without], actor=None)
    assert refused.value.rule_id == "OFF-3"


# --- TEAM-3 one year, extension recorded -----------------------------------------------------

def test_team_3_support_lasts_one_year_and_an_extension_is_a_recorded_decision(ctx):
    team = make_team()
    assert (team.start_date, team.end_date) == (date(2026, 4, 1), date(2027, 3, 31))
    staff = make_user()
    with pytest.raises(RuleViolation):
        teams.extend_team(team, new_end=date(2027, 9, 30), reason=" ", actor=staff)
    with pytest.raises(RuleViolation):
        teams.extend_team(team, new_end=date(2027, 3, 1), reason="継続審査", actor=staff)
    extension = teams.extend_team(team, new_end=date(2027, 9, 30), reason="企業誘致が最終段階のため半年延長", actor=staff)
    assert team.status == "extended" and team.end_date == date(2027, 9, 30)
    assert extension.previous_end == date(2027, 3, 31) and extension.decided_by_id == staff.id
    assert all(officers.has_covering_appointment(m.officer, date(2027, 4, 1), date(2027, 9, 30)) for m in team.current_members)


# --- TEAM-4 member replacement ------------------------------------------------------------------

def test_team_4_replacement_keeps_the_mix_and_appointments_and_tells_the_municipality(ctx):
    staff = make_user()
    team = make_team()
    leaving = team.current_members[0].officer
    joining = make_ready_officer(team.phase, "防衛省")
    replacement = teams.replace_member(team, leaving, joining, effective=date(2026, 10, 1), reason="人事異動", actor=staff)
    db.session.refresh(team)
    assert {m.officer for m in team.current_members} == {joining, *[m.officer for m in team.memberships if m.officer not in (leaving, joining)]}
    history = {(m.officer.name, m.joined_on, m.left_on) for m in team.memberships}
    assert (leaving.name, date(2026, 4, 1), date(2026, 9, 30)) in history and (joining.name, date(2026, 10, 1), None) in history
    ended = db.session.scalar(select(ConcurrentAppointment).where(ConcurrentAppointment.officer_id == leaving.id))
    assert ended.state == "ended" and ended.ended_on == date(2026, 9, 30)  # OFF-3: leaving officer's order ends
    assert officers.has_covering_appointment(joining, date(2026, 10, 1), team.end_date)
    recipients = {n.recipient_email for n in db.session.scalars(select(Notification).where(Notification.kind == "member_replacement"))}
    assert team.application.contact_email in recipients and joining.email in recipients and leaving.email in recipients
    assert replacement.reason == "人事異動"


def test_team_4_a_replacement_that_breaks_the_mix_is_refused(ctx):
    team = make_team()
    leaving, staying = team.current_members[0].officer, team.current_members[1].officer
    clash = make_ready_officer(team.phase, staying.ministry.name)
    with pytest.raises(RuleViolation) as refused:
        teams.replace_member(team, leaving, clash, effective=date(2026, 10, 1), reason="人事異動", actor=None)
    assert refused.value.rule_id == "TEAM-1"


def test_team_4_an_officer_already_on_another_team_cannot_join(ctx):
    team, other = make_team(), make_team()
    busy = next(m.officer for m in other.current_members if m.officer.ministry.name not in {x.officer.ministry.name for x in team.current_members[1:]})
    with pytest.raises(RuleViolation) as refused:
        teams.replace_member(team, team.current_members[0].officer, busy, effective=date(2026, 10, 1), reason="退職", actor=None)
    assert refused.value.rule_id in ("TEAM-2", "TEAM-1")


def test_team_4_off_3_the_joining_officer_needs_an_appointment_for_the_rest_of_the_term(ctx):
    team = make_team()
    joining = make_officer(team.phase, status="selected", ministry="防衛省")
    with pytest.raises(RuleViolation) as refused:
        teams.replace_member(team, team.current_members[0].officer, joining, effective=date(2026, 10, 1), reason="人事異動", actor=None)
    assert refused.value.rule_id == "OFF-3"
    assert len(team.current_members) == 3


@pytest.mark.timing
@pytest.mark.commits  # threads on their own connections
def test_team_4_two_concurrent_replacements_of_the_same_member_only_one_wins(app):
    with app.app_context():
        team = make_team()
        team_id, leaving_id = team.id, team.current_members[0].officer_id
        joiners = [make_ready_officer(team.phase, "防衛省").id, make_ready_officer(team.phase, "法務省").id]
        db.session.commit()
    results, barrier = [], racing_barrier(2)

    def replace(joining_id):
        with app.app_context():
            t = db.session.get(Team, team_id)
            leaving, joining = db.session.get(Officer, leaving_id), db.session.get(Officer, joining_id)
            _ = [m.officer for m in t.memberships]
            barrier.wait()
            try:
                teams.replace_member(t, leaving, joining, effective=date(2026, 10, 1), reason="人事異動", actor=None)
                db.session.commit()
                results.append("ok")
            except Exception as exc:  # the loser: a rule, or the database refusing
                db.session.rollback()
                results.append(type(exc).__name__)
            finally:
                db.session.remove()

    race(replace, [(j,) for j in joiners])
    assert results.count("ok") == 1, results
    with app.app_context():
        active = db.session.scalars(select(TeamMembership).where(TeamMembership.team_id == team_id, TeamMembership.left_on.is_(None))).all()
        assert len(active) == 3
        names = [m.officer.home_ministry.name for m in active]
        assert len(set(names)) == 3  # TEAM-1 still holds


# --- TEAM-5 activity ----------------------------------------------------------------------------

def test_team_5_activities_are_counted_like_the_case_page_and_gaps_are_flagged(ctx, clock):
    clock.set(jst(2026, 11, 23, 10))
    team = make_team()
    staff = make_user()
    for day in (date(2026, 4, 30), date(2026, 5, 8), date(2026, 10, 20)):
        teams.record_activity(team, {"kind": "online_meeting", "started_on": day, "summary": "定例会議"}, actor=staff)
    teams.record_activity(team, {"kind": "site_visit", "started_on": date(2026, 5, 29), "ended_on": date(2026, 5, 30),
                                 "summary": "現地視察"}, actor=staff)
    teams.record_activity(team, {"kind": "company_visit", "started_on": date(2026, 7, 15), "company_count": 3,
                                 "summary": "首都圏の企業を訪問"}, actor=staff)
    summary = teams.summarize(team)
    assert summary.counts["online_meeting"] == 3 and summary.counts["site_visit"] == 1 and summary.companies == 3
    assert summary.dates["online_meeting"] == [date(2026, 4, 30), date(2026, 5, 8), date(2026, 10, 20)]
    assert any("3週間" in f for f in summary.flags) and any("四半期" in f for f in summary.flags)
    count, flagged = teams.flagged_teams(team.phase)
    assert count == 1 and [t.id for t, _ in flagged] == [team.id]
    assert (team.last_meeting_on, team.last_visit_on) == (date(2026, 10, 20), date(2026, 5, 29))  # read from the activities
    visit = teams.record_activity(team, {"kind": "site_visit", "started_on": date(2026, 11, 20), "summary": "現地視察"}, actor=staff)
    meeting = teams.record_activity(team, {"kind": "online_meeting", "started_on": date(2026, 11, 19), "summary": "定例"}, actor=staff)
    assert teams.flagged_teams(team.phase) == (0, [])
    teams.delete_activity(meeting, actor=staff)  # a deleted entry moves the summary back
    assert team.last_meeting_on == date(2026, 10, 20) and teams.flagged_teams(team.phase)[0] == 1
    teams.correct_activity(visit, {"kind": "online_meeting", "started_on": date(2026, 11, 20), "summary": "定例"}, actor=staff)
    assert (team.last_meeting_on, team.last_visit_on) == (date(2026, 11, 20), date(2026, 5, 29))


def test_team_5_only_the_team_and_the_secretariat_record_activity(ctx, clock):
    clock.set(jst(2026, 11, 23, 10))
    team = make_team()
    outsider = make_user(Role.OFFICER)
    with pytest.raises(RuleViolation):
        teams.record_activity(team, {"kind": "online_meeting", "started_on": date(2026, 5, 1), "summary": "x"}, actor=outsider)
    member_user = make_user(Role.OFFICER)
    team.current_members[0].officer.user = member_user
    db.session.flush()
    teams.record_activity(team, {"kind": "online_meeting", "started_on": date(2026, 5, 1), "summary": "定例"}, actor=member_user)
    with pytest.raises(RuleViolation):  # outside the support period
        teams.record_activity(team, {"kind": "online_meeting", "started_on": date(2026, 3, 1), "summary": "x"}, actor=member_user)
    with pytest.raises(RuleViolation):  # not yet happened
        teams.record_activity(team, {"kind": "online_meeting", "started_on": date(2026, 12, 1), "summary": "x"}, actor=member_user)


# --- TEAM-6 half-year reports --------------------------------------------------------------------

def test_team_6_reports_are_due_each_half_year_and_reminders_go_once(ctx, clock):
    clock.set(jst(2026, 9, 20, 10))
    team, filed = make_team(), make_team()
    staff = make_user()
    assert teams.report_due(team, 1) == date(2026, 9, 30) and teams.report_due(team, 2) == date(2027, 3, 31)
    with pytest.raises(RuleViolation):
        teams.file_report(filed, 1, {"issues": "x", "support_given": "", "results": "x", "outlook": "x"}, actor=staff)
    teams.file_report(filed, 1, {"issues": "課題", "support_given": "支援", "results": "成果", "outlook": "展望"}, actor=staff)
    assert teams.missing_reports(team.phase) == []  # not due yet
    assert teams.remind_reports(team.phase, actor=staff) == 3  # the three members of the team that has not filed
    assert teams.remind_reports(team.phase, actor=staff) == 0  # each reminder goes once
    assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "report_reminder")) == 3
    clock.set(jst(2026, 10, 1, 10))
    assert [(t.id, p) for t, p, _ in teams.missing_reports(team.phase)] == [(team.id, 1)]


# --- TEAM-7 scope ---------------------------------------------------------------------------------

def test_team_7_drafting_the_municipalitys_own_documents_is_flagged_as_out_of_scope(ctx):
    assert teams.scope_warnings("補助金の申請書類の作成を代わりに行う")[0].startswith("TEAM-7")
    assert teams.scope_warnings("申請に向けた論点の整理を助言") == []


def test_team_3_teams_past_their_end_date_are_closed_by_the_worker_job(app, clock):
    from worker import jobs

    with app.app_context():
        team_id = make_team().id
        db.session.commit()
    clock.set(jst(2027, 4, 1, 9))
    with app.app_context():
        assert jobs.close_finished_teams() == 1
        assert db.session.get(Team, team_id).status == "ended"
        assert jobs.close_finished_teams() == 0


def test_team_4_a_replacement_dated_ahead_is_planned_until_its_date_then_takes_effect_everywhere(app, clock):
    """Found: a replacement dated in the future took effect the day it was entered (members, public results and
    the 発令一覧 all changed at once)."""
    from banso.clock import jst
    from banso.models import OfficerCandidacy, Team

    with app.app_context():
        clock.set(jst(2026, 9, 1, 10))
        staff = make_user()
        team = make_team()
        leaving = team.current_members[0].officer
        joining = make_ready_officer(team.phase, "防衛省")
        replacement = teams.replace_member(team, leaving, joining, effective=date(2026, 10, 1), reason="人事異動", actor=staff)
        db.session.refresh(team)
        assert replacement.applied_at is None and teams.planned_replacements(team) == [replacement]
        assert leaving in [m.officer for m in team.current_members] and joining not in [m.officer for m in team.current_members]
        order = db.session.scalar(select(ConcurrentAppointment).where(ConcurrentAppointment.officer_id == leaving.id))
        assert order.state == "issued" and order.ended_on is None  # the 発令一覧 does not change yet
        with pytest.raises(RuleViolation):  # one planned change per member at a time
            teams.replace_member(team, leaving, make_ready_officer(team.phase, "環境省"), effective=date(2026, 11, 1),
                                 reason="人事異動", actor=staff)
        assert teams.apply_due_replacements(date(2026, 9, 30)) == 0
        assert teams.apply_due_replacements(date(2026, 10, 1)) == 1  # the worker's timer on the day
        db.session.refresh(team)
        assert joining in [m.officer for m in team.current_members] and leaving not in [m.officer for m in team.current_members]
        db.session.refresh(order)
        assert order.state == "ended" and order.ended_on == date(2026, 9, 30)
        statuses = dict(db.session.execute(select(OfficerCandidacy.officer_id, OfficerCandidacy.status)
                                           .where(OfficerCandidacy.officer_id.in_([leaving.id, joining.id]))).all())
        assert statuses == {leaving.id: "ended", joining.id: "assigned"}
        assert db.session.get(Team, team.id) is not None and teams.planned_replacements(team) == []
        db.session.rollback()


def test_team_4_the_replacement_notice_is_complete_in_plain_text(ctx):
    """Found: the municipality's replacement mail listed names only; LGWAN mail may strip links, so the letter
    itself carries the team's contact point, the dates, the secretariat's contact and the newcomer's introduction."""
    staff = make_user()
    team = make_team()
    leaving = team.current_members[0].officer
    joining = make_ready_officer(team.phase, "防衛省")
    joining.introduction, joining.phone = "防衛省で施設整備を担当してきました。", "03-5366-3111"
    teams.replace_member(team, leaving, joining, effective=date(2026, 10, 1), reason="人事異動", actor=staff)
    letter = db.session.scalar(select(Notification.body).where(Notification.kind == "member_replacement",
                                                               Notification.recipient_email == team.application.contact_email))
    assert "令和8年10月1日付" in letter and "防衛省で施設整備を担当してきました。" in letter
    assert joining.email in letter and "03-5366-3111" in letter and "チームの連絡窓口" in letter
    assert leaving.email not in letter.split("からのメンバー:")[1]  # the line-up after the change
    assert "本件についてのお問い合わせ" in letter and "http" not in letter


def test_team_5_an_activity_entry_is_corrected_or_deleted_audited_and_every_entry_can_be_seen(app, client):
    """Found: an entry could not be corrected or deleted, and the team page showed only the latest 50."""
    from datetime import timedelta

    from banso.models import Activity, AuditEntry, Role
    from tests.conftest import login

    with app.app_context():
        team = make_team()
        recorder, other = make_user(Role.OFFICER), make_user(Role.OFFICER)
        team.current_members[0].officer.user = recorder
        team.current_members[1].officer.user = other
        db.session.flush()
        entries = [teams.record_activity(team, {"kind": "online_meeting", "started_on": team.start_date + timedelta(days=i),
                                                "summary": f"定例会議 {i}"}, actor=recorder) for i in range(60)]
        db.session.flush()  # recorded (each in its own request)
        wrong = entries[-1]
        with pytest.raises(RuleViolation):
            teams.correct_activity(wrong, {"kind": "site_visit", "started_on": wrong.started_on, "summary": "x"}, actor=other)
        teams.correct_activity(wrong, {"kind": "site_visit", "started_on": wrong.started_on, "summary": "現地で意見交換"},
                               actor=recorder, expected_version=str(wrong.version))
        db.session.flush()  # the correction saved (its request ended)
        with pytest.raises(RuleViolation):  # a page opened before the correction
            teams.delete_activity(wrong, actor=recorder, expected_version="1")
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "correct_activity"))
        assert entry.before["summary"] == "定例会議 59" and entry.after["kind"] == "site_visit"
        gone = entries[0].id
        teams.delete_activity(entries[0], actor=recorder)
        db.session.flush()
        assert db.session.get(Activity, gone) is None
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "delete_activity")).before["summary"] == "定例会議 0"
        team_id, email = team.id, make_user(Role.SECRETARIAT).email
        db.session.commit()
    login(client, email)
    page = client.get(f"/teams/{team_id}/activities").get_data(as_text=True)
    assert "全59件" in page and "現地で意見交換" in page
    assert "定例会議 1<" in client.get(f"/teams/{team_id}/activities?page=3").get_data(as_text=True)
    assert "すべての記録を見る（全59件" in client.get(f"/teams/{team_id}").get_data(as_text=True)


def test_team_4_replacement_candidates_can_be_searched_as_typed(ctx):
    team = make_team()
    leaving = team.current_members[0].officer
    found = make_ready_officer(team.phase, "防衛省")
    found.home_town = "岩手県大船渡市"
    assert [o for o, _, _ in teams.replacement_candidates(team, leaving, q="大船渡")] == [found]
    assert teams.replacement_candidates(team, leaving, q="どこにもない") == []
