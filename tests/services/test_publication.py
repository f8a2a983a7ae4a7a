"""PUB-1 … PUB-4: the matching is frozen once confirmed, confidential until release, noticed in advance
once, released once (by the scheduled job, the catch-up, or admins), then shared with prefectures."""
from datetime import date

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from banso import queue
from banso.extensions import db
from banso.policies import hold
from banso.models import AuditEntry, Notification, Officer, Phase, Publication, Role, Team
from banso.services import RuleViolation, applications, approvals, publication, teams
from tests.conftest import run_worker
from tests.factories import (MINISTRY_CYCLE, make_eligible_application, make_ready_officer, make_team, make_user)


@pytest.fixture
def world(ctx, clock):
    """A confirmed-ready phase: one team, one unmatched applicant, an officer user on the team."""
    team = make_team(contact_email="kikaku@example.lg.jp")
    applicant = make_eligible_application(team.phase, contact_email="miharai@example.lg.jp")
    applications.change_status(applicant, "unmatched", reason="", actor=None)
    officer_user = make_user(Role.OFFICER)
    team.current_members[0].officer.user = officer_user
    db.session.flush()
    return {"team": team, "phase": team.phase, "phase_id": team.phase_id, "officer": officer_user, "staff": make_user(Role.SECRETARIAT),
            "admin": make_user(Role.ADMIN), "admin2": make_user(Role.ADMIN), "finance": make_user(Role.FINANCE)}


def _visible(user):
    return set(db.session.scalars(select(Team.id).where(hold.viewer_scope(user).team_condition())))


def test_pub_2_until_release_only_the_secretariat_sees_the_matching(world):
    team, staff, finance, officer = world["team"], world["staff"], world["finance"], world["officer"]
    assert _visible(staff) == {team.id} and _visible(finance) == set() and _visible(officer) == set()
    assert _visible(None) == set()
    publication.confirm(world["phase"], actor=staff)
    publication.send_advance_notices(world["phase"], actor=staff)
    assert _visible(officer) == {team.id} and _visible(finance) == set()  # the officer, for their own team, after the notice
    publication.release(world["phase"], actor=world["admin"])
    assert _visible(finance) == {team.id} and _visible(None) == {team.id}


def test_pub_1_a_confirmed_matching_changes_only_with_an_admins_unlock(world):
    phase, staff, admin = world["phase"], world["staff"], world["admin"]
    publication.confirm(phase, actor=staff)
    application = make_eligible_application(phase)
    members = [make_ready_officer(phase, MINISTRY_CYCLE[i]) for i in range(2)]
    with pytest.raises(RuleViolation, match="確定済みです") as frozen:
        teams.form_team(application, members, actor=staff)
    assert frozen.value.rule_id == "PUB-1"
    with pytest.raises(RuleViolation, match="事務局管理者のみ"):
        publication.unlock(phase, "追加の編成", actor=staff)
    publication.unlock(phase, "辞退による再編成", actor=admin)
    teams.form_team(application, members, actor=staff)
    publication.confirm(phase, actor=staff)
    assert publication.publication_of(phase).unlocked is False


def test_pub_2_advance_notices_reach_the_sink_once_marked_confidential(world, app, smtp):
    phase, staff = world["phase"], world["staff"]
    with pytest.raises(RuleViolation, match="確定してから"):
        publication.send_advance_notices(phase, actor=staff)
    publication.confirm(phase, actor=staff)
    first = publication.send_advance_notices(phase, actor=staff)
    assert first == 3 + 1 + 1  # three officers, the municipality's contact, the unmatched applicant (PUB-1)
    assert publication.send_advance_notices(phase, actor=staff) == 0  # re-running sends nothing twice
    db.session.commit()
    run_worker(app)
    run_worker(app)
    notices = [m for m in smtp.messages if "マッチング結果" in m["Subject"]]  # (the answers' receipts went too)
    assert len(notices) == 5 and all(m["Subject"].startswith("【取扱注意・公表前】") for m in notices)
    to = sorted(m["To"].addresses[0].addr_spec for m in notices)
    assert "kikaku@example.lg.jp" in to and "miharai@example.lg.jp" in to and len(set(to)) == 5
    unmatched = next(m for m in notices if m["To"].addresses[0].addr_spec == "miharai@example.lg.jp")
    assert "マッチングに至りませんでした" in unmatched.get_content()


def test_pub_2_a_notice_revealing_the_matching_waits_for_the_release(world, app, smtp):
    team, phase, staff = world["team"], world["phase"], world["staff"]
    joining = make_ready_officer(phase, "防衛省")
    teams.replace_member(team, team.current_members[0].officer, joining, effective=date(2026, 10, 1), reason="人事異動",
                         actor=staff)
    db.session.commit()
    run_worker(app)
    assert [m for m in smtp.messages if "メンバー交代" in m["Subject"]] == []  # held in the outbox
    publication.confirm(phase, actor=staff)
    publication.send_advance_notices(phase, actor=staff)
    publication.release(phase, actor=world["admin"])
    db.session.commit()
    run_worker(app)
    replacements = [m for m in smtp.messages if "メンバー交代" in m["Subject"]]
    assert len(replacements) == 5


def _early_case(phase):
    return approvals.open_case("early_release", phase.id)


def _refused_decision(case, user, match):
    """A decision refused at its execution leaves nothing behind (a request rolls back; here a savepoint)."""
    with pytest.raises(RuleViolation, match=match) as refused:
        with db.session.begin_nested():
            approvals.approve(case, user)
    assert refused.value.rule_id == "PUB-3"


def test_pub_3_an_early_release_is_a_decision_on_its_route_by_a_second_admin(world, clock):
    """Issue 34: the early release is a 決裁 (公表の前倒し) — drafted by one admin with a reason, released when its
    route decides; the route's step is another admin, and the 起案者 can neither decide it nor release by hand."""
    from banso.services import NotPermitted

    phase, staff, admin, admin2 = world["phase"], world["staff"], world["admin"], world["admin2"]
    phase.publication_at = clock.at.replace(year=2027)  # planned next year
    publication.confirm(phase, actor=staff)
    publication.send_advance_notices(phase, actor=staff)
    with pytest.raises(RuleViolation, match="前倒しの理由を申請"):
        publication.release(phase, actor=admin)
    with pytest.raises(RuleViolation, match="理由"):
        publication.request_early_release(phase, "", actor=admin)
    publication.request_early_release(phase, "国会答弁に合わせて前倒し", actor=admin)
    case = _early_case(phase)
    assert case.status == "in_progress" and not publication.is_released(phase)
    with pytest.raises(RuleViolation, match="前倒しの理由を申請"):
        publication.release(phase, actor=admin2)  # not by hand: only the decision releases early
    assert publication.release(phase, actor=None) is False  # the job does not release early
    with pytest.raises(NotPermitted):
        approvals.approve(case, admin)  # the 起案者 never decides their own
    approvals.approve(case, admin2)
    record = publication.publication_of(phase)
    assert case.status == "approved" and record.is_released and record.released_by_id == admin2.id
    assert "前倒し" in record.early_reason and approvals.decider(case) == admin2.name
    assert publication.release(phase, actor=admin2) is False  # releasing twice changes nothing more


def test_pub_3_no_route_lets_the_requester_release_early_alone(world, clock):
    """An organisation's route without a step (専決) would let the 起案者 decide alone: PUB-3 is checked at the
    decision whatever the route, so the request itself is refused and nothing is released."""
    from datetime import timedelta

    phase, staff, admin = world["phase"], world["staff"], world["admin"]
    phase.publication_at = clock.at + timedelta(days=30)
    publication.confirm(phase, actor=staff)
    publication.send_advance_notices(phase, actor=staff)
    approvals.set_route("early_release", [], actor=admin)
    with pytest.raises(RuleViolation, match="別の事務局管理者") as refused:
        with db.session.begin_nested():
            publication.request_early_release(phase, "国会答弁に合わせて前倒し", actor=admin)
    assert refused.value.rule_id == "PUB-3" and not publication.is_released(phase)


def test_pub_3_moving_the_release_time_earlier_after_confirmation_is_an_early_release(world, clock):
    """Found: an admin set publication_at to the past on the phase form, pressed 公表 and it was released
    "予定どおり", alone and without a reason; the worker's catch-up would have released it too."""
    from datetime import timedelta

    from banso.services import phases

    phase, staff, admin = world["phase"], world["staff"], world["admin"]
    phase.publication_at = clock.at + timedelta(days=30)
    publication.confirm(phase, actor=staff)
    publication.send_advance_notices(phase, actor=staff)
    data = {name: getattr(phase, name) for name in phases.FIELDS} | {"publication_at": clock.at - timedelta(hours=1)}
    with pytest.raises(RuleViolation, match="早めることはできません") as refused:
        phases.update_phase(phase, data, actor=admin)
    assert refused.value.rule_id == "PUB-3"
    phase.publication_at = clock.at - timedelta(hours=1)  # even written past the service
    assert publication.release_due() == 0
    with pytest.raises(RuleViolation, match="前倒しの理由を申請"):
        publication.release(phase, actor=admin)
    assert not publication.is_released(phase)
    later = clock.at + timedelta(days=31)
    phases.update_phase(phase, data | {"publication_at": later}, actor=admin)  # a delay moves the fixed time
    assert publication.publication_of(phase).release_planned_at == later


def test_pub_3_a_release_at_the_planned_time_ends_an_early_release_still_waiting(world, clock):
    from datetime import timedelta

    phase, staff, admin = world["phase"], world["staff"], world["admin"]
    phase.publication_at = clock.at + timedelta(days=3)
    publication.confirm(phase, actor=staff)
    publication.send_advance_notices(phase, actor=staff)
    publication.request_early_release(phase, "前倒しの検討", actor=admin)
    case = _early_case(phase)
    clock.at += timedelta(days=4)
    assert publication.release_due() == 1
    assert case.status == "withdrawn" and _early_case(phase) is None


def test_pub_3_an_admin_created_after_the_request_cannot_confirm_an_early_release(world, clock):
    from datetime import timedelta

    phase, staff, admin, admin2 = world["phase"], world["staff"], world["admin"], world["admin2"]
    phase.publication_at = clock.at + timedelta(days=30)
    publication.confirm(phase, actor=staff)
    publication.send_advance_notices(phase, actor=staff)
    publication.request_early_release(phase, "国会答弁に合わせて前倒し", actor=admin)
    clock.at += timedelta(minutes=5)
    accomplice = make_user(Role.ADMIN)
    _refused_decision(_early_case(phase), accomplice, "申請より後に登録されたアカウント")
    assert not publication.is_released(phase)
    approvals.approve(_early_case(phase), admin2)
    assert publication.is_released(phase)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "release"))
    assert "前倒し" in entry.summary and admin.name in entry.summary and admin2.name in entry.summary
    assert entry.after["early"] is True and entry.after["requested_by"] == admin.id


def test_pub_3_an_admin_the_requester_made_a_minute_before_the_request_cannot_confirm_it(world, clock):
    """Issue 31: an admin created another admin account a minute *before* requesting the early release and confirmed
    with it. The confirming admin must be independent of the requester, and every admin hears of a new admin."""
    from datetime import timedelta

    from banso.services import users

    phase, staff, admin, admin2 = world["phase"], world["staff"], world["admin"], world["admin2"]
    phase.publication_at = clock.at + timedelta(days=60)
    publication.confirm(phase, actor=staff)
    publication.send_advance_notices(phase, actor=staff)
    accomplice = users.create_user(email="accomplice@banso.example", name="共犯 太郎", role=Role.ADMIN, actor=admin)
    told = db.session.scalars(select(Notification.recipient_email).where(Notification.kind == "admin_added")).all()
    assert admin2.email in told and admin.email in told and accomplice.email not in told
    promoted = make_user(Role.SECRETARIAT)
    users.update_user(promoted, name=promoted.name, role=Role.ADMIN, active=True, actor=admin)  # given the role
    clock.at += timedelta(minutes=1)
    publication.request_early_release(phase, "国会答弁に合わせて前倒し", actor=admin)
    for dependent in (accomplice, promoted):
        _refused_decision(_early_case(phase), dependent, "独立した事務局管理者")
    assert not publication.is_released(phase)
    clock.at += timedelta(days=31)  # a month on, the requester's hand on those accounts no longer counts
    publication.request_early_release(phase, "国会答弁に合わせて前倒し（再申請）", actor=admin)
    assert approvals.cases_about("early_release", phase.id)[0].status == "withdrawn"  # the first request, replaced
    approvals.approve(_early_case(phase), accomplice)
    assert publication.is_released(phase)
    assert publication.publication_of(phase).released_at < publication.planned_release(publication.publication_of(phase))


def test_pub_3_the_scheduled_release_fires_once(world, app, clock):
    phase, staff = world["phase"], world["staff"]
    phase.publication_at = clock.at  # due now (the scheduler runs on real time, the app on the test clock)
    publication.confirm(phase, actor=staff)  # schedules the release on RQ
    publication.send_advance_notices(phase, actor=staff)
    db.session.commit()
    connection = queue.connection()
    queues = [Queue(name, connection=connection) for name in queue.QUEUES]
    SimpleWorker(queues, connection=connection).work(burst=True, with_scheduler=True)
    db.session.remove()
    phase = db.session.get(Phase, world["phase_id"])
    assert publication.is_released(phase)
    releases = db.session.scalar(select(func.count()).where(AuditEntry.action == "release"))
    assert releases == 1
    publication.schedule_release(phase)  # even if it ran again
    db.session.commit()
    SimpleWorker(queues, connection=connection).work(burst=True, with_scheduler=True)
    assert publication.release_due() == 0


def test_pub_3_the_catch_up_releases_what_was_missed_while_the_worker_was_down(world, clock):
    phase, staff = world["phase"], world["staff"]
    phase.publication_at = clock.at
    publication.confirm(phase, actor=staff)
    publication.send_advance_notices(phase, actor=staff)
    assert publication.release_due() == 1 and publication.release_due() == 0
    assert db.session.scalar(select(Publication.status)) == "released"


def test_pub_4_prefectures_receive_their_packet_after_release_unless_allowed_before(world, app, smtp):
    phase, staff = world["phase"], world["staff"]
    publication.set_prefecture_contact("岩手県", "chiiki@pref.iwate.example.jp", "地域振興室", actor=staff)
    with pytest.raises(RuleViolation, match="公表前のため"):
        publication.send_prefecture_packets(phase, actor=staff)
    with pytest.raises(RuleViolation, match="事務局管理者のみ"):
        publication.set_share_before_release(phase, True, actor=staff)
    publication.set_share_before_release(phase, True, actor=world["admin"])
    assert publication.send_prefecture_packets(phase, actor=staff) == 1
    assert publication.send_prefecture_packets(phase, actor=staff) == 0
    notice = db.session.scalar(select(Notification).where(Notification.kind == "advance_notice",
                                                          Notification.recipient_email == "chiiki@pref.iwate.example.jp"))
    member = db.session.scalar(select(Officer.name).where(Officer.id == world["team"].current_members[0].officer_id))
    assert notice.subject.startswith("【取扱注意・公表前】") and world["team"].municipality.name in notice.body and member in notice.body
    with pytest.raises(RuleViolation, match="メールアドレス"):
        publication.set_prefecture_contact("岩手県", "not-an-address", actor=staff)


def test_pub_2_the_advance_notice_gives_the_start_date_and_the_teams_contacts(world):
    """Found: the municipality's advance notice listed names only."""
    phase, staff, team = world["phase"], world["staff"], world["team"]
    publication.confirm(phase, actor=staff)
    publication.send_advance_notices(phase, actor=staff)
    letter = db.session.scalar(select(Notification.body).where(Notification.kind == "advance_notice",
                                                               Notification.recipient_email == team.application.contact_email))
    first = team.current_members[0].officer
    assert "支援の開始日" in letter and first.email in letter and "チームの連絡窓口" in letter


def test_pub_1_confirming_waits_for_the_intake_the_continuing_answers_and_each_members_appointment(world, clock):
    """Found: 第3期's matching could be confirmed, noticed and released on 12/07 with its survey open until 12/24 and no
    recruitment, and a continuing municipality's unprocessed answer was silently left out of the notices."""
    from banso.clock import jst
    from banso.models import ContinuationResponse
    from banso.services import phase_steps
    from tests.factories import make_municipality

    phase, staff, admin = world["phase"], world["staff"], world["admin"]
    clock.set(jst(2025, 12, 10, 10))  # the survey runs until 12/24, the recruitment opens in January
    continuing = make_municipality(name="継続町")
    db.session.add(ContinuationResponse(phase=phase, municipality=continuing, wishes_to_continue=True, answered_at=clock.at))
    unappointed = world["team"].current_members[1].officer
    unappointed.appointments[0].state = "planned"
    db.session.flush()
    with pytest.raises(RuleViolation) as refused:
        publication.confirm(phase, actor=staff)
    message = refused.value.message
    assert refused.value.rule_id == "PUB-1" and "活用希望調査の回答を受付中" in message and "公募がまだ始まっていません" in message
    assert "継続町" in message and unappointed.name in message and "事務局管理者が理由を記録" in message
    with pytest.raises(RuleViolation, match="理由を記録してください"):
        publication.confirm(phase, actor=admin)
    assert publication.publication_of(phase).status == "preparing"
    assert phase_steps.left_out_of_notices(phase) == ["継続町"]  # named before any notice is sent

    publication.confirm(phase, actor=admin, reason="知事の交代に伴い早期に体制を固めるため")
    assert publication.publication_of(phase).status == "confirmed"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "confirm_with_open_steps"))
    assert "知事の交代" in entry.summary and "継続町" in entry.summary


def test_the_steps_of_a_phase_say_what_is_done_and_what_waits(world, clock):
    from banso.clock import jst
    from banso.services import phase_steps

    clock.set(jst(2026, 3, 16, 10))
    steps = {step.label: step for step in phase_steps.steps(world["phase"])}
    assert steps["回答の受付"].done and steps["マッチング（チーム編成）"].done and steps["併任発令（OFF-3）"].done
    assert not steps["マッチング結果の確定（PUB-1）"].done and steps["マッチング結果の確定（PUB-1）"].waiting_on == []
    publication.confirm(world["phase"], actor=world["staff"])
    steps = {step.label: step for step in phase_steps.steps(world["phase"])}
    assert steps["マッチング結果の確定（PUB-1）"].done and not steps["事前通知（PUB-2）"].done


def test_pub_2_the_scope_is_a_pure_answer_from_its_inputs():
    """hold.scope_for decides from what it is given (the released phases, the officer's noticed teams): the
    secretariat everything, finance the released phases only, an officer also their own teams."""
    from types import SimpleNamespace

    from banso.models import Role

    def user(role):
        return SimpleNamespace(is_authenticated=True, has_role=lambda *roles: role in roles)

    assert hold.scope_for(user(Role.SECRETARIAT), frozenset({1})).everything
    finance = hold.scope_for(user(Role.FINANCE), frozenset({2, 1}), (7,))
    assert (finance.everything, finance.released_phases, finance.own_teams) == (False, (1, 2), ())
    officer = hold.scope_for(user(Role.OFFICER), frozenset({1}), (7,))
    assert (officer.released_phases, officer.own_teams) == ((1,), (7,))
    assert hold.scope_for(None, frozenset()).own_teams == ()
