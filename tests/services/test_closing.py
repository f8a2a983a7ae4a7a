"""The end of a team's support (TEAM-3, OFF-3): teams and 併任 end on the last day unless extended, finance sees what
is still open with its day, and a closed team's records refuse changes from any request until an admin reopens them."""
from datetime import date

import pytest
from flask_login import login_user
from sqlalchemy import func, select

from banso.clock import jst
from banso.extensions import db
from banso.models import Activity, AuditEntry, ConcurrentAppointment, Team, TripRequest, TripStatus, User
from banso.services import InputError, NotPermitted, WrongState, closing, teams, travel
from tests.factories import make_publication, make_rates, make_team, make_trip, make_user

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


@pytest.fixture
def world(app, clock):
    """第2期 (support 2026-04-01 … 2027-03-31): one team, another extended to 2027-06-30, an approved trip of each."""
    clock.set(jst(2027, 3, 1, 10))
    with app.app_context():
        make_rates(2026)
        make_rates(2027)
        ending, extended = make_team(), make_team()
        make_publication(ending.phase)
        staff, finance = make_user("secretariat"), make_user("finance")
        for team in (ending, extended):
            trip = make_trip(team, actor=staff, depart_on=date(2027, 3, 10), return_on=date(2027, 3, 11))
            travel.review_request(trip, "approve", actor=finance)
        teams.extend_team(extended, new_end=date(2027, 6, 30), reason="事業化の途中のため3か月延長", actor=staff)
        officer_user = make_user("officer")
        ending.current_members[0].officer.user = officer_user
        db.session.commit()
        return {"ending": ending.id, "extended": extended.id, "staff": staff.id, "finance": finance.id,
                "officer": officer_user.id,
                "trips": {t.team_id: t.id for t in db.session.scalars(select(TripRequest))}}


def _appointment_states(team_id: int) -> dict[str, tuple]:
    team = db.session.get(Team, team_id)
    officer_ids = [m.officer_id for m in team.current_members]
    return {a.officer.name: (a.state, a.ended_on) for a in db.session.scalars(
        select(ConcurrentAppointment).where(ConcurrentAppointment.officer_id.in_(officer_ids)))}


def test_team_3_off_3_on_the_last_day_nothing_ends_the_day_after_the_team_and_its_members_appointments_end(app, clock, world):
    from worker import jobs

    clock.set(jst(2027, 3, 31, 18))  # the last day itself
    with app.app_context():
        assert jobs.close_finished_teams() == 0
        assert db.session.get(Team, world["ending"]).status != "ended"
        assert {s for s, _ in _appointment_states(world["ending"]).values()} == {"issued"}
    clock.set(jst(2027, 4, 1, 6))
    with app.app_context():
        assert jobs.close_finished_teams() == 1  # the extended team goes on
        assert db.session.get(Team, world["ending"]).status == "ended"
        assert set(_appointment_states(world["ending"]).values()) == {("ended", date(2027, 3, 31))}
        assert db.session.get(Team, world["extended"]).status != "ended"
        assert {s for s, _ in _appointment_states(world["extended"]).values()} == {"issued"}  # extended with the team
        assert jobs.close_finished_teams() == 0  # running it again ends nothing
        assert db.session.scalar(select(AuditEntry.summary).where(AuditEntry.action == "end_appointment")).endswith("で満了")
    clock.set(jst(2027, 7, 1, 6))
    with app.app_context():
        assert jobs.close_finished_teams() == 1
        assert set(_appointment_states(world["extended"]).values()) == {("ended", date(2027, 6, 30))}


def test_team_3_finance_sees_each_open_trip_with_its_closing_day_as_teams_end_whatever_phase_is_newest(app, clock, world):
    clock.set(jst(2027, 2, 20, 10))  # more than a month before the end: nothing is listed yet
    with app.app_context():
        assert closing.open_summary() == (0, None)
    clock.set(jst(2027, 3, 15, 10))
    with app.app_context():
        listed = [closing.describe(t) for t in db.session.scalars(closing.open_trips_query())]
        assert [(o.trip.team_id, o.closing_day, o.who_acts) for o in listed] == [
            (world["ending"], date(2027, 4, 14), "支援官（精算の申請）")]  # ten business days after 3/31
        assert closing.open_summary() == (1, date(2027, 4, 14))
        assert [o.trip.id for o in map(closing.describe, db.session.scalars(closing.open_trips_query(acts="finance")))] == []
    clock.set(jst(2027, 6, 10, 10))  # the extended team's end comes within the month
    with app.app_context():
        days = {closing.describe(t).closing_day for t in db.session.scalars(closing.open_trips_query())}
        assert days == {date(2027, 4, 14), date(2027, 7, 14)}


def _as(app, user_id: int):
    context = app.test_request_context("/")
    context.push()
    login_user(db.session.get(User, user_id))
    return context


def test_team_3_after_the_closing_day_a_request_cannot_change_the_teams_records_until_an_admin_reopens_them(app, clock, world):
    clock.set(jst(2027, 4, 14, 17))  # the closing day: still open
    context = _as(app, world["officer"])
    try:
        team = db.session.get(Team, world["ending"])
        teams.record_activity(team, {"kind": "online_meeting", "started_on": date(2027, 3, 30), "summary": "最終回の振り返り"},
                              actor=db.session.get(User, world["officer"]))
        db.session.commit()
    finally:
        context.pop()
    clock.set(jst(2027, 4, 15, 9))
    context = _as(app, world["officer"])
    try:
        team = db.session.get(Team, world["ending"])
        with pytest.raises(WrongState, match="令和9年4月14日.*締め切りました"):
            teams.record_activity(team, {"kind": "online_meeting", "started_on": date(2027, 3, 31), "summary": "追記"},
                                  actor=db.session.get(User, world["officer"]))
            db.session.flush()
        db.session.rollback()
        trip = db.session.get(TripRequest, world["trips"][world["ending"]])
        lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
        with pytest.raises(WrongState):
            travel.file_claim(trip, lines, [("receipt.pdf", PDF)], actor=db.session.get(User, world["officer"]))
            db.session.flush()
        db.session.rollback()
        with pytest.raises(WrongState):  # a status moved by a conditional UPDATE joins the flush, and is refused there
            travel.cancel_request(db.session.get(TripRequest, world["trips"][world["ending"]]),
                                  actor=db.session.get(User, world["officer"]))
            db.session.flush()
        db.session.rollback()
    finally:
        context.pop()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Activity)) == 1  # only the one made in time
        with pytest.raises(NotPermitted):
            closing.reopen(db.session.get(Team, world["ending"]), "訂正", actor=db.session.get(User, world["staff"]))
        admin = make_user("admin")
        with pytest.raises(InputError):
            closing.reopen(db.session.get(Team, world["ending"]), "  ", actor=admin)
        until = closing.reopen(db.session.get(Team, world["ending"]), "活動記録の日付の誤りを訂正するため", actor=admin)
        assert until == date(2027, 4, 22)  # five business days
        db.session.commit()
        assert "再開（活動記録の日付の誤りを訂正するため）" in db.session.scalar(
            select(AuditEntry.summary).where(AuditEntry.action == "reopen_records"))
    context = _as(app, world["officer"])
    try:
        team = db.session.get(Team, world["ending"])
        teams.record_activity(team, {"kind": "online_meeting", "started_on": date(2027, 3, 31), "summary": "追記"},
                              actor=db.session.get(User, world["officer"]))
        db.session.commit()
    finally:
        context.pop()
    clock.set(jst(2027, 4, 23, 9))  # the reopening has lapsed: closed again
    with app.app_context():
        assert closing.is_closed(db.session.get(Team, world["ending"]))


def test_team_3_finance_finishes_reviewing_a_claim_filed_in_time_after_the_closing_day(app, clock, world):
    clock.set(jst(2027, 4, 12, 10))
    context = _as(app, world["officer"])
    try:
        trip = db.session.get(TripRequest, world["trips"][world["ending"]])
        lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
        travel.file_claim(trip, lines, [("receipt.pdf", PDF)], actor=db.session.get(User, world["officer"]))
        db.session.commit()
    finally:
        context.pop()
    clock.set(jst(2027, 4, 20, 10))
    context = _as(app, world["finance"])
    try:
        trip = db.session.get(TripRequest, world["trips"][world["ending"]])
        approvals = {line.id: (line.claimed_yen, "") for line in trip.claim.lines}
        travel.review_claim(trip, "settle", approvals, actor=db.session.get(User, world["finance"]))
        db.session.commit()
        assert db.session.get(TripRequest, trip.id).status == TripStatus.SETTLED
    finally:
        context.pop()


def test_team_6_an_extended_team_of_the_earlier_phase_is_reminded_of_its_report_after_the_next_phase_begins(app, clock, world):
    from banso.models import Notification
    from tests.factories import make_phase
    from worker import jobs

    with app.app_context():
        make_phase(number=3, name="第3期", fiscal_year=2027, support_start=date(2027, 4, 1), support_end=date(2028, 3, 31),
                   survey_opens_at=jst(2026, 12, 1, 10), answer_deadline_at=jst(2026, 12, 24, 17),
                   recruitment_opens_at=jst(2027, 1, 13, 10), recruitment_closes_at=jst(2027, 2, 13, 17),
                   matching_deadline_at=jst(2027, 3, 12, 17), publication_at=jst(2027, 3, 24, 10))
        db.session.commit()
    clock.set(jst(2027, 6, 20, 9))  # 第3期 in support; the extended team's second report is due on 6/30
    with app.app_context():
        jobs.close_finished_teams()
        keys = set(db.session.scalars(select(Notification.idempotency_key).where(Notification.kind == "report_reminder")))
        extended = db.session.get(Team, world["extended"])
        assert {f"report-reminder-{extended.id}-2-{m.officer_id}" for m in extended.current_members} <= keys
