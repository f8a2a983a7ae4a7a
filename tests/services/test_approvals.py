"""Issue 34, the engine: the scenario of the issue on a settable clock — 課長 A (決裁者) away 8/10–8/14 with 代決者 B,
係長 C (中間者) away the same days; an officer's 旅行命令 on 起案 → C → 合議 [会計・事務局] → A."""
import threading
from datetime import date, datetime

import pytest
from sqlalchemy import select

from banso.clock import JST, clock_at
from banso.extensions import db
from banso.models import ApprovalCase, ApprovalRoute, Role
from banso.services import InputError, NotPermitted, approvals
from tests.factories import make_user


def _at(day: int):
    return clock_at(datetime(2026, 8, day, 10, tzinfo=JST))


def _world():
    people = {"A": make_user(Role.SECRETARIAT, name="課長 A"), "B": make_user(Role.SECRETARIAT, name="課長補佐 B"),
              "C": make_user(Role.SECRETARIAT, name="係長 C"), "F": make_user(Role.FINANCE, name="会計 F"),
              "S": make_user(Role.SECRETARIAT, name="事務局 S"), "O": make_user(Role.OFFICER, name="支援官 O"),
              "admin": make_user(Role.ADMIN, name="管理者")}
    approvals.set_route("travel_order", [
        {"label": "係長", "who": [{"user": people["C"].id}], "need": "one"},
        {"label": "合議", "who": [{"role": "finance"}, {"user": people["S"].id}], "need": "each"},
        {"label": "課長", "who": [{"user": people["A"].id}], "need": "one"},
    ], actor=people["admin"])
    approvals.record_absence(people["A"], date(2026, 8, 10), date(2026, 8, 14), people["B"], actor=people["A"])
    approvals.record_absence(people["C"], date(2026, 8, 10), date(2026, 8, 14), None, actor=people["admin"])
    return people


def test_the_scenario_absence_deputy_read_after_recall_and_send_back(ctx, app):
    p = _world()
    with _at(11):
        case = approvals.start("travel_order", "8/20 遠野市 現地訪問", drafter=p["O"])
        assert case.step == 1 and [a.verb for a in case.actions] == ["submit", "skip"]  # C passed as 後閲
        approvals.recall(case, p["O"])  # nobody has acted: the 起案者 takes it back
        approvals.resubmit(case, p["O"])
        assert case.revision == 2 and case.step == 1
        with pytest.raises(InputError):
            approvals.send_back(case, p["F"], "")  # a reason is required
        approvals.approve(case, p["F"])  # 合議: 会計 …
        with pytest.raises(approvals.TooLate):
            approvals.recall(case, p["O"])  # … after which the 起案者 can no longer recall it
        assert case.step == 1  # 合議 waits for 事務局 too
        approvals.approve(case, p["S"])
        assert case.step == 2  # A's step: away, so B decides as 代決 (the last step is never passed)
        assert approvals.may_act(case, p["A"])[0] is True  # A could still decide themselves
        allowed, whom, _ = approvals.may_act(case, p["B"])
        assert allowed and whom == p["A"].id
        assert case in [w.case for w in approvals.waiting_for(p["B"])]
        approvals.approve(case, p["B"])
        assert case.status == "approved"
        decided = [a for a in case.actions if a.verb == "approve"][-1]
        assert decided.label == "承認 課長補佐 B（代決: 課長 A）"
        with pytest.raises(approvals.TooLate):
            approvals.approve(case, p["F"])  # decided: nobody acts again
    with _at(15):
        read_a, read_c = approvals.to_read(p["A"]), approvals.to_read(p["C"])
        assert [a.verb for a in read_a] == ["approve"] and [a.verb for a in read_c] == ["skip", "skip"]  # v1 and v2
        for action in read_a + read_c:
            approvals.mark_read(action, p["A"] if action in read_a else p["C"])
        assert approvals.to_read(p["A"]) == [] and case.status == "approved"  # 後閲 changes nothing decided
    with _at(16):
        later = approvals.start("travel_order", "9/1 釜石市 現地訪問", drafter=p["O"])
        assert later.step == 0  # C is back: nobody passes them now
        approvals.approve(later, p["C"])
        approvals.approve(later, p["F"])
        approvals.approve(later, p["S"])
        assert approvals.may_act(later, p["B"])[0] is False  # A is back: B no longer decides A's cases
        approvals.send_back(later, p["A"], "行程の再確認をお願いします。")
        assert later.status == "returned"
        approvals.resubmit(later, p["O"])
        assert later.revision == 2 and {a.revision for a in later.actions} == {1, 2}  # v1 kept beside v2


def test_nobody_decides_twice_nor_their_own_and_no_proxy_steps_wait(ctx):
    p = _world()
    with _at(11):
        own = approvals.start("travel_order", "自分の起案", drafter=p["S"])
        approvals.approve(own, p["F"])
        assert approvals.may_act(own, p["S"]) == (False, None, "自分が起案したものは決裁できません。")
        admin2 = make_user(Role.ADMIN, name="管理者2")
        approvals.record_absence(admin2, date(2026, 8, 10), date(2026, 8, 14), p["B"], actor=admin2)
        approvals.set_route("claim", [{"label": "管理者", "who": [{"role": "admin"}], "need": "one", "no_proxy": True},
                                      {"label": "別の管理者", "who": [{"role": "admin"}], "need": "one", "no_proxy": True}],
                            actor=p["admin"])
        guarded = approvals.start("claim", "代決不可の二段階", drafter=p["S"])
        assert guarded.status == "in_progress"
        approvals.approve(guarded, p["admin"])
        assert approvals.may_act(guarded, p["admin"])[0] is False  # the second step needs another admin
        assert approvals.may_act(guarded, p["B"])[0] is False  # 代決不可: admin2's deputy does not decide it
        with pytest.raises(NotPermitted):
            approvals.approve(guarded, p["B"])
        approvals.approve(guarded, admin2)
        assert guarded.status == "approved"


def test_a_route_change_is_a_new_version_and_a_running_case_keeps_its_own(ctx):
    p = _world()
    with _at(20):
        running = approvals.start("travel_order", "進行中", drafter=p["O"])
        approvals.set_route("travel_order", [{"label": "事務局", "who": [{"role": "secretariat"}], "need": "one"}],
                            actor=p["admin"])
        assert running.route.version == 2 and approvals.route_for("travel_order").version == 3
        assert len(running.route.steps) == 3
        with pytest.raises(NotPermitted):
            approvals.set_route("travel_order", [], actor=p["S"])
        assert db.session.scalar(select(ApprovalRoute.version).where(ApprovalRoute.kind == "claim")) is None  # made when asked


@pytest.mark.timing
@pytest.mark.commits  # a recall and an approval on their own connections, at once
def test_a_recall_racing_an_approval_one_wins_and_the_other_is_refused(app):
    with app.app_context():
        p = _world()
        with _at(20):
            case = approvals.start("travel_order", "競合", drafter=p["O"])
            approvals.approve(case, p["C"])
        ids = {"case": case.id, "O": p["O"].id, "F": p["F"].id}
        db.session.commit()
        db.session.remove()
    barrier, outcomes = threading.Barrier(2), []

    def act(verb):
        from banso.models import User

        with app.app_context(), _at(20):
            try:
                case = db.session.get(ApprovalCase, ids["case"])
                user = db.session.get(User, ids["O" if verb == "recall" else "F"])
                barrier.wait()
                (approvals.recall if verb == "recall" else approvals.approve)(case, user)
                db.session.commit()
                outcomes.append(verb)
            except (approvals.TooLate, NotPermitted):
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=act, args=(verb,)) for verb in ("recall", "approve")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) in (["approve", "refused"], ["recall", "refused"])


def test_the_programmes_decisions_run_on_their_routes_and_take_effect_at_the_decision(ctx):
    """支援延長, 予算上限の改定, 期限後受付: with no step (the default) taken at once on the 起案者's authority, as
    before; with a route, taken when its last step approves — the area's rules checked then, as the decider."""
    from datetime import timedelta

    from banso.services import teams, travel
    from tests.factories import make_team

    team = make_team()
    staff, admin = make_user(Role.SECRETARIAT), make_user(Role.ADMIN)
    end = team.end_date
    now_taken = teams.request_extension(team, new_end=end + timedelta(days=30), reason="議会日程のため", actor=staff)
    assert now_taken.status == "approved" and team.end_date == end + timedelta(days=30)  # 専決, as today
    approvals.set_route("extension", [{"label": "管理者", "who": [{"role": "admin"}], "need": "one"}], actor=admin)
    waiting = teams.request_extension(team, new_end=end + timedelta(days=60), reason="追加の支援", actor=staff)
    assert waiting.status == "in_progress" and team.end_date == end + timedelta(days=30)  # not yet
    approvals.approve(waiting, admin)
    assert waiting.status == "approved" and team.end_date == end + timedelta(days=60)
    with pytest.raises(InputError):
        teams.request_extension(team, new_end=end, reason="", actor=staff)  # refused before anything is drafted

    approvals.set_route("cap_revision", [{"label": "別の管理者", "who": [{"role": "admin"}], "need": "one"}], actor=admin)
    proposed = travel.request_cap_revision(team.phase, 120_000_000, "補正予算", actor=admin)
    assert proposed.status == "in_progress" and team.phase.travel_budget_cap_yen != 120_000_000
    other = make_user(Role.ADMIN)
    approvals.approve(proposed, other)
    db.session.refresh(team.phase)
    assert team.phase.travel_budget_cap_yen == 120_000_000


def test_the_matching_is_confirmed_when_its_route_decides(ctx):
    """マッチング確定 on a route (事務局 drafts, 管理者 decides): the publication is confirmed at the decision, PUB-1's
    checks run then."""
    from banso.models import PublicationStatus
    from banso.services import publication
    from tests.factories import make_team

    team = make_team()
    staff, admin = make_user(Role.SECRETARIAT), make_user(Role.ADMIN)
    approvals.set_route("matching_confirm", [{"label": "管理者", "who": [{"role": "admin"}], "need": "one"}], actor=admin)
    case = publication.request_confirmation(team.phase, actor=staff)
    assert case.status == "in_progress" and publication.publication_of(team.phase).status == PublicationStatus.PREPARING
    approvals.approve(case, admin)
    assert publication.publication_of(team.phase).status == PublicationStatus.CONFIRMED
