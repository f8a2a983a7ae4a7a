import re

from sqlalchemy import select

from banso.extensions import db
from banso.models import Activity, Role, TeamMembership
from tests.conftest import login
from tests.factories import make_publication, make_ready_officer, make_team, make_user


def test_an_officer_sees_and_records_only_for_their_own_team(app, client, clock):
    from banso.clock import jst

    clock.set(jst(2026, 11, 23, 10))
    with app.app_context():
        mine, other = make_team(), make_team()
        make_publication(mine.phase)
        user = make_user(Role.OFFICER)
        mine.current_members[0].officer.user = user
        ids, email = (mine.id, other.id), user.email
        db.session.commit()
    login(client, email)
    listing = client.get("/teams/").get_data(as_text=True)
    assert f'id="team-{ids[0]}"' in listing and f'id="team-{ids[1]}"' not in listing
    assert client.get(f"/teams/{ids[1]}").status_code == 403
    assert client.post(f"/teams/{ids[1]}/activities", data={"kind": "online_meeting", "started_on": "2026-11-20", "summary": "x"}).status_code == 403
    response = client.post(f"/teams/{ids[0]}/activities", data={"kind": "online_meeting", "started_on": "2026-11-20", "summary": "定例会議"})
    assert response.status_code == 302
    page = client.get(f"/teams/{ids[0]}").get_data(as_text=True)
    assert "オンライン会議" in page and "1回" in page and "公表前" not in page  # 第2期 was published on 2026-03-24
    with app.app_context():
        assert db.session.scalar(select(Activity)).recorded_by.email == email


def test_finance_sees_team_names_and_members_only(app, client):
    with app.app_context():
        team = make_team()
        make_publication(team.phase)
        member, team_id = team.current_members[0].officer.name, team.id
        finance = make_user(Role.FINANCE).email
        db.session.commit()
    login(client, finance)
    body = client.get("/teams/").get_data(as_text=True)
    assert member in body and "支援テーマ" not in body and f"/teams/{team_id}" not in body


def test_the_matching_page_is_marked_confidential_before_publication(app, client, clock):
    from banso.clock import jst

    clock.set(jst(2026, 3, 20, 10))
    with app.app_context():
        make_team()
        staff = make_user().email
        db.session.commit()
    login(client, staff)
    body = client.get("/matching/?phase=2").get_data(as_text=True)
    assert "公表前・取扱注意" in body and 'hx-history="false"' in body
    assert "公表前・取扱注意" in client.get("/teams/?phase=2").get_data(as_text=True)


def test_a_refused_replacement_is_422_and_changes_nothing(app, client):
    with app.app_context():
        team = make_team()
        leaving, staying = team.current_members[0].officer, team.current_members[1].officer
        clash = make_ready_officer(team.phase, staying.ministry.name)
        ids = (team.id, leaving.id, clash.id)
        staff = make_user().email
        db.session.commit()
    login(client, staff)
    response = client.post(f"/teams/{ids[0]}/replace", data={"leaving": ids[1], "joining": ids[2], "reason": "人事異動",
                                                             "effective": "2026-10-01", "confirm": "1"})
    assert response.status_code == 422
    assert "TEAM-1" in response.get_data(as_text=True) or "省庁混成" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(TeamMembership).where(TeamMembership.left_on.is_not(None))).all() == []


def test_with_no_free_selected_officer_the_replacement_page_shows_the_way_instead_of_a_dead_end(app, client):
    """Found: 「省庁混成を保てる候補がいません」 with 「交代を確定する」 still active, and no way on."""
    with app.app_context():
        team = make_team()
        team_id, leaving_id = team.id, team.current_members[0].officer.id
        staff = make_user().email
        db.session.commit()
    login(client, staff)
    page = client.get(f"/teams/{team_id}/replace?leaving={leaving_id}").get_data(as_text=True)
    assert "後任は次の手順で用意できます" in page and "/officers/?phase=2&amp;status=not_selected" in page
    assert "/appointments/?phase=2" in page
    assert re.search(r'<button[^>]*value="1"[^>]*disabled[^>]*>交代を確定する', page)


def test_staff_edit_a_proposal_by_hand_and_the_mix_rule_still_applies(app, client):
    from banso.models import Team
    from tests.factories import make_eligible_application

    with app.app_context():
        application = make_eligible_application()
        a, b, c = (make_ready_officer(application.phase, m) for m in ("総務省", "財務省", "観光庁"))
        same = make_ready_officer(application.phase, "国土交通省")
        ids = (application.id, a.id, b.id, c.id, same.id)
        staff = make_user().email
        db.session.commit()
    login(client, staff)
    page = client.get(f"/matching/edit/{ids[0]}?officers={ids[1]},{ids[2]}").get_data(as_text=True)
    assert f'id="member-{ids[1]}" value="{ids[1]}" checked' in page and f'id="member-{ids[3]}" value="{ids[3]}">' in page
    assert "財務省" in client.get(f"/matching/edit/{ids[0]}?q=財務").get_data(as_text=True).split('id="available-officers"')[1]
    assert "総務省" not in client.get(f"/matching/edit/{ids[0]}?q=財務").get_data(as_text=True).split('id="available-officers"')[1]
    refused = client.post("/matching/accept?phase=2", data={"application_id": ids[0], "member": [ids[3], ids[4]]}, follow_redirects=True)
    assert "省庁混成" in refused.get_data(as_text=True)  # 観光庁 and 国土交通省 are one ministry
    client.post("/matching/accept?phase=2", data={"application_id": ids[0], "member": [ids[1], ids[2], ids[3]]})
    with app.app_context():
        team = db.session.scalar(select(Team))
        assert {m.officer_id for m in team.current_members} == {ids[1], ids[2], ids[3]}
