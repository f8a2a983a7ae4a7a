"""Issue 34, the rest of the flow: 引上げ past an absent lower step, due dates in business days with reminders and
escalation through the outbox, routine 精算 decided in bulk, and the 旅行命令 after its issue — a change as a 変更 case
(旅費法第4条, the cap taken at its decision) and a departure from the order recorded (第5条) — in the 旅行命令簿."""
from datetime import date, datetime

import pytest
from sqlalchemy import select

from banso.clock import JST
from banso.extensions import db
from banso.models import Notification, Role, TripStatus
from banso.services import InputError, NotPermitted, RuleViolation, WrongState, approvals, travel
from tests.factories import make_rates, make_team, make_trip, make_user, trip_data

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


def test_a_higher_approver_pulls_up_past_a_lower_step_whose_people_are_all_away(ctx, clock):
    """引上げ: 係 (C or D, both away, no 代決者) → 課長 A. A decides past them; both find it in 後閲. Nobody else may,
    and with one of them back it waits for them as ever."""
    clock.at = datetime(2026, 8, 11, 10, tzinfo=JST)
    c, d, a, e = (make_user(Role.SECRETARIAT, name=n) for n in ("係員 C", "係員 D", "課長 A", "職員 E"))
    drafter, admin = make_user(Role.OFFICER), make_user(Role.ADMIN)
    approvals.set_route("claim", [{"label": "係", "who": [{"user": c.id}, {"user": d.id}], "need": "one"},
                                      {"label": "課長", "who": [{"user": a.id}], "need": "one"}], actor=admin)
    for person in (c, d):
        approvals.record_absence(person, date(2026, 8, 10), date(2026, 8, 14), None, actor=person)
    case = approvals.start("claim", "引上げの試し", drafter=drafter)
    assert case.step == 0  # two people on the step: not passed by itself
    assert approvals.may_act(case, a)[0] is False and approvals.pull_up_to(case, a) == 1
    assert approvals.pull_up_to(case, e) is None  # not on a later step
    assert [w.pull_up for w in approvals.waiting_for(a) if w.case.id == case.id] == [True]
    approvals.approve(case, a)
    assert case.status == "approved"
    assert [(x.verb, x.actor_id, x.on_behalf_of_id) for x in case.actions if x.verb != "submit"] == [
        ("pull_up", a.id, c.id), ("pull_up", a.id, d.id), ("approve", a.id, None)]
    assert [x.case_id for x in approvals.to_read(c)] == [case.id] == [x.case_id for x in approvals.to_read(d)]

    clock.at = datetime(2026, 8, 12, 10, tzinfo=JST)
    approvals.record_absence(d, date(2026, 8, 12), date(2026, 8, 12), None, actor=admin)  # d away, c back
    from banso.models import Absence

    db.session.execute(Absence.__table__.delete().where(Absence.user_id == c.id))
    later = approvals.start("claim", "一人が在席", drafter=drafter)
    assert approvals.pull_up_to(later, a) is None
    with pytest.raises(NotPermitted):
        approvals.approve(later, a)


def test_a_step_past_its_due_date_reminds_then_escalates_once_each(ctx, clock, app):
    """期限2日 (business days): submitted Friday 12/4, due Tuesday 12/8; on Wednesday its people are reminded (the
    absent one's 代決者 in their place), on Friday 12/11 the next step hears of it; each goes once."""
    clock.at = datetime(2026, 12, 4, 10, tzinfo=JST)
    first, second, deputy = (make_user(Role.SECRETARIAT, name=n) for n in ("第一 担当", "第二 担当", "代決 者"))
    admin = make_user(Role.ADMIN)
    away = make_user(Role.FINANCE, name="不在 者")
    approvals.set_route("travel_order", [
        {"label": "審査", "who": [{"user": first.id}, {"user": away.id}], "need": "all", "days": 2},
        {"label": "決裁", "who": [{"user": second.id}], "need": "one"}], actor=admin)
    approvals.record_absence(away, date(2026, 12, 7), date(2026, 12, 31), deputy, actor=away)
    case = approvals.start("travel_order", "期限の試し", drafter=make_user(Role.OFFICER))
    assert approvals.due_on(case) == date(2026, 12, 8)

    def sent(kind):
        return sorted(db.session.scalars(select(Notification.recipient_email).where(Notification.kind == kind)))

    assert approvals.chase(date(2026, 12, 8)) == 0  # on the due date: nothing yet
    assert approvals.chase(date(2026, 12, 9)) == 2
    assert sent("approval_remind") == sorted([first.email, deputy.email])
    assert approvals.chase(date(2026, 12, 10)) == 0  # reminded once
    assert approvals.chase(date(2026, 12, 11)) == 1  # two business days past the due date
    assert sent("approval_escalate") == [second.email]
    assert approvals.chase(date(2026, 12, 18)) == 0
    clock.at = datetime(2026, 12, 9, 10, tzinfo=JST)
    assert approvals.counts(first) == {"waiting": 1, "overdue": 1, "to_read": 0}


@pytest.fixture
def ordered(ctx, clock):
    make_rates(2026)
    team = make_team()
    staff, finance = make_user(Role.SECRETARIAT), make_user(Role.FINANCE, name="会計 担当")
    trip = make_trip(team, actor=staff)
    travel.review_request(trip, "approve", actor=finance)
    return {"team": team, "trip": trip, "staff": staff, "finance": finance}


def test_a_change_of_an_issued_order_is_its_own_case_and_takes_the_cap_at_its_decision(ordered):
    """旅費法第4条: the trip stays as ordered until the change is decided; the decision rewrites it and takes the new
    estimate against the cap (TRV-2), as the order did; a change over the cap is refused then and changes nothing."""
    trip, staff, finance, team = ordered["trip"], ordered["staff"], ordered["finance"], ordered["team"]
    before = trip.estimated_yen
    with pytest.raises(InputError, match="理由"):
        travel.request_change(trip, trip_data(team, depart_on=date(2026, 6, 12), return_on=date(2026, 6, 13)), "", actor=staff)
    with pytest.raises(InputError, match="変更する内容"):
        travel.request_change(trip, trip_data(team), "同じ内容", actor=staff)
    case = travel.request_change(trip, trip_data(team, depart_on=date(2026, 6, 12), return_on=date(2026, 6, 13), rail_yen=40_000),
                                 "先方の日程変更のため", actor=staff)
    assert case.status == "in_progress" and trip.depart_on == date(2026, 6, 10)  # as ordered until decided
    assert any(c.startswith("日程：6月10日〜6月11日 → 6月12日〜6月13日") for c in case.payload["changes"])
    with pytest.raises(WrongState, match="決裁中の変更"):
        travel.request_change(trip, trip_data(team, rail_yen=50_000), "もう一度", actor=staff)
    approvals.approve(case, finance)
    db.session.refresh(trip)
    assert (trip.depart_on, trip.return_on) == (date(2026, 6, 12), date(2026, 6, 13)) and trip.estimated_yen > before
    assert travel.fresh_figures(trip.phase)[0] == travel.figures(trip.phase).committed == trip.estimated_yen

    phase = trip.phase
    phase.travel_budget_cap_yen = trip.estimated_yen + 1_000  # almost all of it taken
    db.session.flush()
    dearer = travel.request_change(trip, trip_data(team, depart_on=date(2026, 6, 12), return_on=date(2026, 6, 13), rail_yen=90_000),
                                   "経路の変更", actor=staff)
    with pytest.raises(RuleViolation) as refused:
        with db.session.begin_nested():
            approvals.approve(dearer, finance)
    assert refused.value.rule_id == "TRV-2"
    db.session.refresh(trip)
    assert trip.itinerary == "東京→盛岡→町役場" and travel.figures(phase).committed == trip.estimated_yen


def test_a_departure_from_the_order_is_recorded_and_the_book_shows_changes_and_departures(ordered, clock):
    trip, staff, finance, team = ordered["trip"], ordered["staff"], ordered["finance"], ordered["team"]
    clock.at = datetime(2026, 6, 1, 10, tzinfo=JST)
    with pytest.raises(NotPermitted):
        travel.record_departure(trip, "帰路の便を変更", actor=staff)  # before departure
    change = travel.request_change(trip, trip_data(team, destination="盛岡市役所"), "用務先の変更", actor=staff)
    approvals.approve(change, finance)
    clock.at = datetime(2026, 6, 11, 20, tzinfo=JST)
    with pytest.raises(InputError):
        travel.record_departure(trip, " ", actor=staff)
    travel.record_departure(trip, "大雨で帰路の新幹線が運休し、翌日に帰着", actor=staff)
    book = db.session.scalars(travel.orders_query(trip.phase)).all()
    assert book == [trip] and trip.departure_note.startswith("大雨")
    assert travel.changes_of([trip.id])[trip.id] == [change]
    assert travel.deciders([trip])[trip.id] == finance.name


def test_routine_claims_are_decided_in_bulk_each_on_its_own(ordered, clock, app):
    """精算 up to APPROVAL_BULK_CLAIM_LIMIT_YEN are routine: chosen together, each is settled as on its page; one over
    the limit is not taken, and one refused (the cap) leaves the others settled and says why."""
    team, staff, finance = ordered["team"], ordered["staff"], ordered["finance"]
    trips = [ordered["trip"]] + [make_trip(team, actor=staff, depart_on=date(2026, 7, d), return_on=date(2026, 7, d + 1))
                                 for d in (1, 8)]
    for trip in trips[1:]:
        travel.review_request(trip, "approve", actor=finance)
    clock.at = datetime(2026, 7, 20, 10, tzinfo=JST)
    for number, trip in enumerate(trips):
        more = 5_000 if number == 2 else 0  # the last one's fares cost more than estimated
        lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen + (more if line.category == "rail" else 0))
                 for line in trip.estimate_lines]
        travel.file_claim(trip, lines, [("receipt.pdf", PDF)], actor=staff)
    app.config["APPROVAL_BULK_CLAIM_LIMIT_YEN"] = trips[0].claim.claimed_yen
    waiting = {w.case.subject_id: w for w in approvals.waiting_for(finance)}
    assert [waiting[t.id].routine for t in trips] == [True, True, False]  # the dearer one is not routine
    with pytest.raises(InputError):
        approvals.decide_many([waiting[trips[2].id].case.id], finance)  # not taken in bulk
    app.config["APPROVAL_BULK_CLAIM_LIMIT_YEN"] = 10**7
    phase = trips[0].phase
    phase.travel_budget_cap_yen = travel.figures(phase).committed  # settling at the estimate fits; more does not
    db.session.flush()
    done, refused = approvals.decide_many([w.case.id for w in approvals.waiting_for(finance)], finance)
    assert sorted(c.subject_id for c in done) == sorted(t.id for t in trips[:2])
    assert [(c.subject_id, "予算上限" in message) for c, message in refused] == [(trips[2].id, True)]
    statuses = {t.id: db.session.get(type(t), t.id).status for t in trips}
    assert statuses == {trips[0].id: TripStatus.SETTLED, trips[1].id: TripStatus.SETTLED, trips[2].id: TripStatus.CLAIM_SUBMITTED}
    assert travel.check_kept(phase) == []
    with pytest.raises(InputError):
        approvals.decide_many([], finance)


def test_an_admin_changes_the_steps_ahead_of_one_running_case_in_the_open(ctx, clock):
    """振替 made visible: the steps behind stay, the change is on the case's timeline and in the audit with both
    routes, new cases keep the kind's route, and nobody but an admin may do it."""
    from banso.models import AuditEntry

    leaving, taking_over, finance = make_user(Role.SECRETARIAT, name="異動 者"), make_user(Role.SECRETARIAT, name="後任 者"), make_user(Role.FINANCE)
    admin = make_user(Role.ADMIN)
    approvals.set_route("claim", [{"label": "会計", "who": [{"role": "finance"}], "need": "one"},
                                  {"label": "課長", "who": [{"user": leaving.id}], "need": "one"}], actor=admin)
    case = approvals.start("claim", "振替の試し", drafter=make_user(Role.OFFICER))
    approvals.approve(case, finance)
    steps = approvals.parse_route(f"課長（後任） | user:{taking_over.email} | 1人")
    with pytest.raises(NotPermitted):
        approvals.reroute(case, steps, "異動のため", actor=finance)
    with pytest.raises(InputError):
        approvals.reroute(case, steps, "", actor=admin)
    approvals.reroute(case, steps, "課長の異動のため", actor=admin)
    assert [s["label"] for s in case.steps] == ["会計", "課長（後任）"] and case.step == 1
    assert approvals.may_act(case, leaving)[0] is False and approvals.may_act(case, taking_over)[0] is True
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reroute"))
    assert entry.before["steps"][1]["who"] == [{"user": leaving.id}] and "異動" in entry.summary
    assert [a.verb for a in case.actions][-1] == "reroute"
    approvals.approve(case, taking_over)
    assert case.status == "approved"
    assert approvals.start("claim", "次の案件", drafter=make_user(Role.OFFICER)).steps[1]["label"] == "課長"


def test_a_step_naming_a_post_is_decided_by_whoever_holds_it_when_the_case_reaches_it(ctx, clock):
    """A route names a 役職 (post:会計課長), not a person: after a 人事異動 the new holder decides the running case."""
    from banso.services import users

    admin = make_user(Role.ADMIN)
    before, after = make_user(Role.FINANCE, name="前任 課長"), make_user(Role.FINANCE, name="後任 課長")
    users.update_user(before, name=before.name, role=before.role, active=True, actor=admin, post="会計課長")
    steps = approvals.parse_route("会計課長 | post:会計課長 | 1人")
    assert steps[0]["who"] == [{"post": "会計課長"}] and approvals.parse_route(approvals.route_text(steps)) == steps
    approvals.set_route("claim", steps, actor=admin)
    case = approvals.start("claim", "役職の試し", drafter=make_user(Role.OFFICER))
    assert approvals.may_act(case, before)[0] is True and approvals.may_act(case, after)[0] is False
    users.update_user(before, name=before.name, role=before.role, active=True, actor=admin, post="")
    users.update_user(after, name=after.name, role=after.role, active=True, actor=admin, post="会計課長")
    assert approvals.may_act(case, before)[0] is False and approvals.may_act(case, after)[0] is True
    approvals.approve(case, after)
    assert case.status == "approved"
