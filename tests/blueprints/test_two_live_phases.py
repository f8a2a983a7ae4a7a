"""December to March: 第3期's survey is open while 第2期's teams still work and travel. Every page is about the phase
its work is in (services/phases.py: SUPPORT and INTAKE), never about the phase created last; a phase a user picks
sticks for them (kept on the user: through a sign-out, on another terminal), visibly, until they pick another."""
from datetime import date

import pytest

from banso.clock import jst
from banso.extensions import db
from banso.models import Role
from tests.conftest import login
from tests.factories import make_phase, make_publication, make_rates, make_team, make_trip, make_user


@pytest.fixture
def december(app, clock):
    """12/06: 第2期 in support (a released team, an officer of it, a trip waiting for finance), 第3期 created on 12/01."""
    clock.set(jst(2026, 12, 6, 10))
    with app.app_context():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        officer = make_user(Role.OFFICER, email="officer@banso.example")
        team.current_members[0].officer.user = officer
        make_trip(team, depart_on=date(2026, 12, 14), return_on=date(2026, 12, 15))
        make_phase(number=3, name="第3期", fiscal_year=2027, survey_opens_at=jst(2026, 12, 1, 10),
                   answer_deadline_at=jst(2026, 12, 24, 17), recruitment_opens_at=None, recruitment_closes_at=None,
                   matching_deadline_at=None, publication_at=None, support_start=date(2027, 4, 1), support_end=date(2028, 3, 31))
        for role in ("secretariat", "finance"):
            make_user(role, email=f"{role}@banso.example")
        db.session.commit()
        return {"team_id": team.id, "municipality": team.municipality.name}


def _heading(page: str) -> str:
    return page.split("<h1", 1)[1].split("</h1>", 1)[0]


def test_an_officer_of_the_running_phase_files_a_trip_from_the_menu_and_its_estimate_answers(client, december):
    """Found: with 第3期 created the 旅費 menu refused (「第3期に所属するチームがないため…」) and the live estimate answered
    403 on every keystroke (/travel/estimate carried no phase and assumed the newest)."""
    login(client, "officer@banso.example")
    form = client.get("/travel/new")
    assert form.status_code == 200 and "所属するチームがない" not in form.get_data(as_text=True)
    assert f'name="team_id" value="{december["team_id"]}"' in form.get_data(as_text=True)
    estimate = client.post(f"/travel/estimate?team_id={december['team_id']}",
                           data={"depart_on": "2026-12-21", "return_on": "2026-12-22", "purpose": "site_visit",
                                 "rail_yen": "30000", "room_rate_yen": "9000", "meals": "0"})
    assert estimate.status_code == 200
    assert "第2期" in _heading(client.get("/travel/").get_data(as_text=True))


def test_lists_open_on_the_phase_their_work_is_in(client, december):
    login(client, "finance@banso.example")
    assert "第2期" in client.get("/travel/budget").get_data(as_text=True).split("<h1", 1)[1][:200]
    assert "第2期" in _heading(client.get("/travel/").get_data(as_text=True))
    client.post("/logout")
    login(client, "secretariat@banso.example")
    teams_page = client.get("/teams/").get_data(as_text=True)
    assert december["municipality"] in teams_page  # the running phase's teams, not 第3期's empty list
    assert 'aria-current="page">第3期' in client.get("/applications/").get_data(as_text=True)  # the intake


def test_the_staff_home_follows_the_running_phase_beside_the_new_ones_intake(client, december):
    """Found: 「TEAM-5: 0チーム」 and no overdue report once 第3期 existed, an hour after it listed 第2期's quiet teams."""
    login(client, "secretariat@banso.example")
    home = client.get("/").get_data(as_text=True)
    assert "第2期 活動の確認が必要なチーム（TEAM-5）: 1チーム" in home and december["municipality"] in home
    assert "第3期（令和9年度）の日程" in home and "第2期（支援期間中）の日程" in home


def test_a_chosen_phase_sticks_for_the_user_visibly_until_another_is_chosen(app, client, december):
    """Found: the choice was kept in the session, and lost at a sign-out."""
    login(client, "secretariat@banso.example")
    assert 'aria-current="page">第3期' in client.get("/teams/?phase=3").get_data(as_text=True)
    client.post("/logout")
    other_terminal = app.test_client()
    login(other_terminal, "secretariat@banso.example")
    assert "前回選んだ第3期を表示しています" in other_terminal.get("/teams/").get_data(as_text=True)
    login(client, "secretariat@banso.example")
    again = client.get("/teams/").get_data(as_text=True)
    assert 'aria-current="page">第3期' in again and "前回選んだ第3期を表示しています" in again
    assert 'href="/teams/?phase=2">現在の第2期に戻す' in again
    assert "前回選んだ" not in client.get("/applications/").get_data(as_text=True)  # another work's default is its own
    client.get("/teams/?phase=2")  # choosing the default forgets the choice
    back = client.get("/teams/").get_data(as_text=True)
    assert 'aria-current="page">第2期' in back and "前回選んだ" not in back


def test_in_april_the_new_phase_is_the_one_in_support(client, clock, december):
    clock.set(jst(2027, 4, 2, 10))
    login(client, "finance@banso.example")
    assert "第3期" in _heading(client.get("/travel/").get_data(as_text=True))
    home = client.get("/").get_data(as_text=True)
    assert "第3期 旅費予算" in home and "第2期: 審査待ちの申請・精算 1件" in home  # 第2期's claim still waits, and shows


def test_in_december_the_rate_table_opens_on_this_fiscal_years_rates_though_next_years_exist(app, client, december):
    """Found with 第3期 carrying its rates: the table opened on next year's, while every trip until March uses this year's."""
    with app.app_context():
        make_rates(2027)
        db.session.commit()
    login(client, "finance@banso.example")
    assert "旅費単価表（令和8年度）" in client.get("/travel/rates").get_data(as_text=True)
    assert "旅費単価表（令和9年度）" in client.get("/travel/rates?year=2027").get_data(as_text=True)
