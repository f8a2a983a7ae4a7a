"""Each role's home page lists what is waiting for them (issue: everyday work, gap 1)."""
from datetime import date

from banso.clock import jst
from banso.extensions import db
from banso.models import Role
from banso.services import publication, teams, travel
from tests.conftest import login
from tests.factories import make_phase, make_publication, make_rates, make_team, make_trip, make_user


def test_each_role_sees_what_waits_for_them_on_the_home_page(app, client, clock):
    clock.set(jst(2026, 12, 7, 10))
    with app.app_context():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        officer_user = make_user(Role.OFFICER, email="me@banso.example")
        team.current_members[0].officer.user = officer_user
        db.session.flush()
        trip = make_trip(team, depart_on=date(2026, 11, 10), return_on=date(2026, 11, 11))
        travel.review_request(trip, "approve", actor=make_user(Role.FINANCE))
        assert make_trip(team, depart_on=date(2026, 12, 14), return_on=date(2026, 12, 15)).status == "submitted"  # for finance
        teams.record_activity(team, {"kind": "online_meeting", "started_on": date(2026, 11, 2), "summary": "定例"},
                              actor=officer_user)
        third = make_phase(number=3, name="第3期", fiscal_year=2027, survey_opens_at=jst(2026, 12, 1, 10),
                           answer_deadline_at=jst(2026, 12, 24, 17), support_start=date(2027, 4, 1), support_end=date(2028, 3, 31))
        make_publication(third, status="confirmed")
        admin, other_admin = make_user(Role.ADMIN), make_user(Role.ADMIN)
        publication.request_early_release(third, "知事の記者会見に合わせるため", actor=admin)
        number = trip.number
        emails = {"admin": other_admin.email, "staff": make_user(Role.SECRETARIAT).email, "finance": make_user(Role.FINANCE).email}
        db.session.commit()

    login(client, "me@banso.example")
    home = client.get("/").get_data(as_text=True)
    assert "精算を申請してください" in home and number in home  # the trip came back: its claim is due
    assert "次の活動報告" in home and "最後のオンライン会議から5週間" in home
    client.post("/logout")

    login(client, emails["admin"])
    home = client.get("/").get_data(as_text=True)
    assert "第3期の公表の前倒し" in home and "決裁（申請者とは独立した管理者の確認）を待っています" in home
    assert "第2期（支援期間中）の日程" in home  # December: last phase's teams beside this phase's survey
    client.post("/logout")

    login(client, emails["finance"])
    home = client.get("/").get_data(as_text=True)
    # Found: with 第3期 created, finance's home showed 第3期's empty budget and 「審査待ち 0件」 while 第2期's items waited.
    assert "第2期 旅費予算" in home and "第3期 旅費予算" not in home
    assert "第2期: 審査待ちの申請・精算 1件" in home


def test_an_officer_gets_officer_sized_lists_without_47_prefecture_filters(app, client):
    """Found: an officer's list of one team came with the secretariat's filter panel (47 prefectures)."""
    with app.app_context():
        team = make_team()
        make_publication(team.phase)
        officer_user = make_user(Role.OFFICER)
        team.current_members[0].officer.user = officer_user
        email = officer_user.email
        db.session.commit()
    login(client, email)
    for path in ("/teams/", "/travel/"):
        page = client.get(path).get_data(as_text=True)
        assert "北海道</option>" not in page and "沖縄県</option>" not in page, path


def test_breadcrumbs_say_where_a_page_sits(app, client):
    import re

    with app.app_context():
        team = make_team()
        staff = make_user(Role.SECRETARIAT).email
        team_id = team.id
        db.session.commit()
    login(client, staff)

    def crumbs(path):
        html = client.get(path).get_data(as_text=True)
        nav = re.search(r'<nav class="breadcrumbs" aria-label="現在の位置"><ol>(.*?)</ol></nav>', html, re.S).group(1)
        return [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li[^>]*>(.*?)</li>", nav, re.S)]

    assert crumbs("/admin/notifications")[:2] == ["ホーム", "管理"]
    trail = crumbs(f"/teams/{team_id}")
    assert trail[:3] == ["ホーム", "チーム", "チーム"] and trail[-1].endswith("チーム") and len(trail) == 4
    assert '<nav class="breadcrumbs"' not in client.get("/").get_data(as_text=True)
