"""A year in one test, on the settable clock (both databases: CI runs the suite on SQLite and on PostgreSQL).

From 12/01 with 第2期 running, 第3期 is created from 第2期; through December to March every role's home names the right
work of each live phase at each month's end while 第2期's officers travel, claim, record and report, a member is
replaced effective in January (the line-up changes on that day, not before), and 第3期 goes through its survey, the
continuation answers by spreadsheet, selection, 併任, matching (confirming refused while the intake is open), notice
and release on its date. On 3/31 第2期's 併任 end and its teams end except the extended one; in April 第3期's team
travels, finance still sees 第2期's open trip with its closing day, and 第2期's records close after it."""
import io
from datetime import date

from flask_login import login_user
from openpyxl import Workbook
from sqlalchemy import select

from banso.clock import jst
from banso.extensions import db
from banso.models import Application, ConcurrentAppointment, Phase, Team, TripRequest, User
from banso.policies import hold
from banso.services import (RuleViolation, WrongState, closing, continuation_import, dashboard, imports, officers, phases,
                            publication, survey, teams, travel)
from tests.factories import (MINISTRY_CYCLE, make_eligible_application, make_municipality, make_officer, make_phase, make_publication, make_rates,
                             make_ready_officer, make_team, make_user, trip_data)

REPORT = {"issues": "人口減少と担い手不足", "support_given": "関係府省の支援策の整理と助言", "results": "事業計画の素案",
          "outlook": "次年度の事業化に向けた調整"}


def _home(app, email: str) -> dict:
    """What the home page is about for this user now: each panel's phase and the work it names."""
    with app.test_request_context("/"):
        user = db.session.scalar(select(User).where(User.email == email))
        login_user(user)
        hold.forget()
        data = dashboard.overview()
        seen = {"support": data["support_phase"].name if data.get("support_phase") else None,
                "newest": data["phase"].name if data.get("phase") else None,
                "earlier": data["earlier_phase"].name if data.get("earlier_phase") else None,
                "awaiting": {p.name: count for p, count, _claims in data.get("awaiting_by_phase", [])},
                "own_team": data["own_team"].name + "/" + data["own_team"].phase.name if data.get("own_team") else None,
                "closing_open": data.get("closing_open"),
                "trips_list": phases.selected_phase(None, phases.SUPPORT).name,
                "intake_list": phases.selected_phase(None, phases.INTAKE).name}
        if "flagged_count" in data:
            seen["flagged"] = data["flagged_count"]
        db.session.rollback()
        return seen


def _at(clock, *when):
    clock.set(jst(*when))


def _workbook(rows: list[list]) -> bytes:
    book = Workbook()
    book.active.append([h for h, _ in continuation_import.COLUMNS])
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_programme_year_from_the_next_phases_creation_to_the_last_phases_end(app, clock):
    # --- 12/01: 第2期 in support (three teams, released), nothing of 第3期 yet ----------------------------------------
    _at(clock, 2026, 12, 1, 9)
    with app.app_context():
        make_rates(2026)
        make_rates(2027)
        second = make_phase()
        a, b, c = make_team(second), make_team(second), make_team(second)
        make_publication(second)
        admin = make_user("admin", email="admin@x.go.jp")
        make_user(email="staff@x.go.jp")
        make_user("finance", email="fin@x.go.jp")
        officer = make_user("officer", email="officer2@x.go.jp")
        a.current_members[0].officer.user = officer
        publication.set_prefecture_contact(a.municipality.prefecture, "kikaku@pref.example.lg.jp", "企画課", actor=admin)
        ids = {"a": a.id, "b": b.id, "c": c.id}
        db.session.commit()

    # --- 12/01 10:00: 第3期 created from 第2期 (dates a year on, on business days), its survey opens at once --------
    _at(clock, 2026, 12, 1, 10, 30)
    with app.app_context():
        second = db.session.scalar(select(Phase).where(Phase.number == 2))
        data, _events = phases.draft_after(second)
        assert (data["name"], data["support_start"], data["support_end"]) == ("第3期", date(2027, 4, 1), date(2028, 3, 31))
        data["survey_opens_at"] = jst(2026, 12, 1, 10)
        third = phases.create_phase(data, actor=db.session.scalar(select(User).where(User.role == "admin")), carried_from=second)
        assert third.answer_deadline_at > jst(2026, 12, 1, 10) and third.publication_at.year == 2027
        assert survey.request_survey(third, actor=db.session.scalar(select(User).where(User.role == "admin"))) >= 2  # the prefecture and 3 continuing towns
        db.session.commit()
    for who in ("staff@x.go.jp", "fin@x.go.jp", "officer2@x.go.jp"):
        home = _home(app, who)
        assert home["support"] == "第2期" and home["trips_list"] == "第2期", (who, home)  # not the new, empty phase
    staff_home = _home(app, "staff@x.go.jp")
    assert staff_home["newest"] == "第3期" and staff_home["earlier"] == "第2期" and staff_home["intake_list"] == "第3期"
    assert _home(app, "officer2@x.go.jp")["own_team"].endswith("/第2期")

    # --- December: 第2期's officer travels and records; 第3期's answers come in (a continuation by spreadsheet) ------
    _at(clock, 2026, 12, 7, 10)
    with app.app_context():
        team_a, me = db.session.get(Team, ids["a"]), db.session.scalar(select(User).where(User.email == "officer2@x.go.jp"))
        trip = travel.file_request(team_a, trip_data(team_a, depart_on=date(2026, 12, 15), return_on=date(2026, 12, 16)), actor=me)
        travel.review_request(trip, "approve", actor=db.session.scalar(select(User).where(User.role == "finance")))
        teams.record_activity(team_a, {"kind": "site_visit", "started_on": date(2026, 12, 4), "summary": "町長との意見交換"}, actor=me)
        third = db.session.scalar(select(Phase).where(Phase.number == 3))
        staff = db.session.scalar(select(User).where(User.email == "staff@x.go.jp"))
        towns = [db.session.get(Team, ids[k]).municipality for k in "abc"]
        filled = _workbook([[towns[0].code, towns[0].prefecture, towns[0].name, "希望する", "観光の課題を追加"],
                            [towns[1].code, towns[1].prefecture, towns[1].name, "希望しない", ""],
                            [towns[2].code, towns[2].prefecture, towns[2].name, "○", ""]])
        batch = imports.start(continuation_import.KIND, third, "継続意向_回答.xlsx", filled, actor=staff, inline=True)
        assert batch.status == "ready" and not batch.blocking_rows
        assert imports.commit(batch, actor=staff) == 3
        continuing = list(db.session.scalars(select(Application).where(Application.phase_id == third.id)))
        assert sorted(app_.municipality.name for app_ in continuing) == sorted([towns[0].name, towns[2].name])
        new_answer = make_eligible_application(third, municipality=make_municipality(default_population_date=date(2026, 1, 1)))
        trip_id, new_answer_id, trip_number = trip.id, new_answer.id, trip.number
        db.session.commit()

    # --- 12/20: a 第3期 team formed early cannot be confirmed while the survey is open; a January replacement -----
    _at(clock, 2026, 12, 20, 10)
    with app.app_context():
        third = db.session.scalar(select(Phase).where(Phase.number == 3))
        early = [make_ready_officer(third, MINISTRY_CYCLE[i]) for i in range(2)]
        team3 = teams.form_team(db.session.get(Application, new_answer_id), early, actor=None)
        staff = db.session.scalar(select(User).where(User.email == "staff@x.go.jp"))
        try:
            publication.confirm(third, actor=staff)
            raise AssertionError("confirmed while the survey was open")
        except RuleViolation as refused:
            assert "活用希望調査の回答を受付中です" in refused.message and "公募がまだ始まっていません" in refused.message
        team_b = db.session.get(Team, ids["b"])
        leaving = team_b.current_members[0].officer
        second = db.session.scalar(select(Phase).where(Phase.number == 2))
        joining = make_ready_officer(second, leaving.ministry.name)
        teams.replace_member(team_b, leaving, joining, effective=date(2027, 1, 15), reason="人事異動", actor=staff)
        names = {"leaving": leaving.name, "joining": joining.name, "team3": team3.id}
        db.session.commit()

    # --- 12/31: the 第2期 trip is claimed after it; homes still on 第2期's work ------------------------------------
    _at(clock, 2026, 12, 31, 18)
    with app.app_context():
        trip = db.session.get(TripRequest, trip_id)
        me = db.session.scalar(select(User).where(User.email == "officer2@x.go.jp"))
        lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
        travel.file_claim(trip, lines, [("receipt.pdf", b"%PDF-1.4\n%%EOF\n")], actor=me)
        db.session.commit()
    assert _home(app, "fin@x.go.jp")["awaiting"] == {"第2期": 1}
    assert _home(app, "staff@x.go.jp")["support"] == "第2期"

    # --- 1/14 and 1/15: the replacement takes effect on its day, not before -----------------------------------------
    from worker import jobs

    for day, on_team in ((14, names["leaving"]), (15, names["joining"])):
        _at(clock, 2027, 1, day, 6)
        with app.app_context():
            jobs.close_finished_teams()
            members = [m.officer.name for m in db.session.get(Team, ids["b"]).current_members]
            assert on_team in members and ({names["leaving"], names["joining"]} - {on_team}).isdisjoint(members), (day, members)

    # --- 1/31: homes -------------------------------------------------------------------------------------------
    _at(clock, 2027, 1, 31, 18)
    assert _home(app, "staff@x.go.jp")["support"] == "第2期" and _home(app, "staff@x.go.jp")["intake_list"] == "第3期"
    assert _home(app, "officer2@x.go.jp")["own_team"].endswith("/第2期")

    # --- February: 第3期's recruitment closes; selection and 併任; the extension of team c; 2nd-half report ----------
    _at(clock, 2027, 2, 20, 10)
    with app.app_context():
        third = db.session.scalar(select(Phase).where(Phase.number == 3))
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        staff = db.session.scalar(select(User).where(User.email == "staff@x.go.jp"))
        officer3 = make_user("officer", email="officer3@x.go.jp")
        selected = [make_officer(third, status="selected", ministry=MINISTRY_CYCLE[i + 3], user=officer3 if i == 0 else None)
                    for i in range(2)]
        assert officers.issue_orders(third, order_date=date(2027, 3, 1), actor=admin) == 2
        continuing = db.session.scalar(select(Application).where(Application.phase_id == third.id, Application.is_continuing.is_(True),
                                                                 Application.municipality_id == db.session.get(Team, ids["a"]).municipality_id))
        from banso.services import applications

        applications.change_status(continuing, "confirm", actor=staff)
        applications.confirm_population(continuing, reason="令和8年1月1日の住民基本台帳人口を確認", actor=admin)  # APP-1
        applications.change_status(continuing, "eligible", actor=staff)
        teams.form_team(continuing, selected, actor=staff)
        other_continuing = db.session.scalar(select(Application).where(Application.phase_id == third.id, Application.is_continuing.is_(True),
                                                                       Application.id != continuing.id))
        applications.change_status(other_continuing, "confirm", actor=staff)
        applications.change_status(other_continuing, "ineligible", reason="支援の継続により得られる効果が限定的と判断", actor=staff)
        teams.extend_team(db.session.get(Team, ids["c"]), new_end=date(2027, 6, 30), reason="事業化の途中のため延長", actor=staff)
        me = db.session.scalar(select(User).where(User.email == "officer2@x.go.jp"))
        teams.file_report(db.session.get(Team, ids["a"]), 2, REPORT, actor=me)
        db.session.commit()
    _at(clock, 2027, 2, 28, 18)
    assert _home(app, "officer3@x.go.jp")["own_team"] is None  # 第3期 not released, nor told: nothing yet
    assert _home(app, "staff@x.go.jp")["support"] == "第2期"

    # --- March: confirmed after the matching deadline, noticed, released on its date -----------------------------
    _at(clock, 2027, 3, 15, 10)
    with app.app_context():
        third = db.session.scalar(select(Phase).where(Phase.number == 3))
        staff = db.session.scalar(select(User).where(User.email == "staff@x.go.jp"))
        publication.confirm(third, actor=staff)
        assert publication.send_advance_notices(third, actor=staff) > 0
        assert publication.release_due() == 0
        release_at = third.publication_at
        db.session.commit()
    assert _home(app, "officer3@x.go.jp")["own_team"].endswith("/第3期")  # told in advance: their own team
    clock.set(release_at)
    with app.app_context():
        assert publication.release_due() == 1
        db.session.commit()

    # --- 3/31 and 4/1: 第2期's teams and 併任 end except the extended team; 第3期 in support -----------------------
    _at(clock, 2027, 3, 31, 18)
    with app.app_context():
        assert jobs.close_finished_teams() == 0
    assert _home(app, "staff@x.go.jp")["support"] == "第2期"
    _at(clock, 2027, 4, 1, 6)
    with app.app_context():
        assert jobs.close_finished_teams() == 2
        statuses = {k: db.session.get(Team, ids[k]).status for k in "abc"}
        assert statuses["a"] == statuses["b"] == "ended" and statuses["c"] != "ended"
        second = db.session.scalar(select(Phase).where(Phase.number == 2))
        ended = {a_.state for a_ in db.session.scalars(select(ConcurrentAppointment).join(ConcurrentAppointment.officer).where(
            ConcurrentAppointment.phase_id == second.id, ConcurrentAppointment.effective_to == date(2027, 3, 31)))}
        assert ended == {"ended"}
        db.session.commit()

    # --- April: 第3期 travels; finance still sees 第2期's open claim with its closing day ---------------------------
    _at(clock, 2027, 4, 2, 10)
    for who in ("staff@x.go.jp", "fin@x.go.jp"):
        assert _home(app, who)["support"] == "第3期" and _home(app, who)["trips_list"] == "第3期"
    finance_home = _home(app, "fin@x.go.jp")
    assert finance_home["awaiting"] == {"第2期": 1} and finance_home["closing_open"] == 1
    assert _home(app, "officer3@x.go.jp")["own_team"].endswith("/第3期")
    with app.app_context():
        team3 = db.session.scalar(select(Team).join(Team.application).where(Application.is_continuing.is_(True)))
        me3 = db.session.scalar(select(User).where(User.email == "officer3@x.go.jp"))
        april = travel.file_request(team3, trip_data(team3, travellers=[str(team3.current_members[0].officer.id)],
                                                     depart_on=date(2027, 4, 20), return_on=date(2027, 4, 21)), actor=me3)
        assert april.phase.name == "第3期"
        listed = [closing.describe(t) for t in db.session.scalars(closing.open_trips_query())]
        assert [(o.trip.number, o.closing_day) for o in listed] == [(trip_number, date(2027, 4, 14))]
        db.session.commit()

    # --- 4/15: 第2期's records are closed to requests; 4/30: every home on 第3期 and the extended team ----------------
    _at(clock, 2027, 4, 15, 10)
    with app.test_request_context("/"):
        me = db.session.scalar(select(User).where(User.email == "officer2@x.go.jp"))
        login_user(me)
        try:
            teams.record_activity(db.session.get(Team, ids["a"]), {"kind": "other", "started_on": date(2027, 3, 30), "summary": "追記"},
                                  actor=me)
            db.session.flush()
            raise AssertionError("a closed team's record was changed")
        except WrongState as refused:
            assert "締め切りました" in refused.message
        db.session.rollback()
    _at(clock, 2027, 4, 30, 18)
    assert _home(app, "officer3@x.go.jp")["own_team"].endswith("/第3期")
    assert _home(app, "staff@x.go.jp")["support"] == "第3期"
