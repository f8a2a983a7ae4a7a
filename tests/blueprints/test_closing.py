"""The end of support in the pages: a closed team's page says so and refuses changes (also when the refusal comes at
the request's commit), an admin reopens it with a reason, finance's home and list show what is still to settle."""
from sqlalchemy import func, select

from banso.clock import jst
from banso.extensions import db
from banso.models import Activity, User
from tests.conftest import login
from tests.factories import make_user
from tests.services.test_closing import world  # noqa: F401  (the fixture)


def _email(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).email


def test_team_3_a_closed_teams_page_refuses_a_new_record_with_the_way_forward_and_an_admin_reopens_it(app, client, clock, world):  # noqa: F811
    clock.set(jst(2027, 4, 15, 9))
    login(client, _email(app, world["officer"]))
    page = client.get(f"/teams/{world['ending']}").get_data(as_text=True)
    assert "令和9年4月14日" in page and "記録は締め切られています" in page and "活動を記録する" not in page
    assert "提出する</summary>" not in page  # nor a half-year report: the policy is asked with the records closed
    refused = client.post(f"/teams/{world['ending']}/activities",
                          data={"kind": "online_meeting", "started_on": "2027-03-31", "summary": "追記"}, follow_redirects=True)
    assert refused.status_code == 200 and "事務局管理者にチームの画面で理由を記録して再開" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
    client.post("/logout")
    login(client, _email(app, world["staff"]))
    assert client.post(f"/teams/{world['ending']}/reopen", data={"reason": "訂正"}).status_code == 403
    client.post("/logout")
    with app.app_context():
        admin = make_user("admin").email
        db.session.commit()
    login(client, admin)
    assert "記録を再開する（事務局管理者）" in client.get(f"/teams/{world['ending']}").get_data(as_text=True)
    empty = client.post(f"/teams/{world['ending']}/reopen", data={"reason": ""}, follow_redirects=True).get_data(as_text=True)
    assert "再開の理由を入力してください" in empty
    done = client.post(f"/teams/{world['ending']}/reopen", data={"reason": "日付の誤りの訂正"}, follow_redirects=True).get_data(as_text=True)
    assert "令和9年4月22日まで再開しました" in done and "令和9年4月22日まで記録を再開しています" in done
    client.post("/logout")
    login(client, _email(app, world["officer"]))
    assert client.post(f"/teams/{world['ending']}/activities",
                       data={"kind": "online_meeting", "started_on": "2027-03-31", "summary": "追記"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Activity)) == 1


def test_team_3_finance_home_and_list_show_open_trips_of_ending_teams_with_their_closing_day(app, client, clock, world):  # noqa: F811
    clock.set(jst(2027, 3, 20, 10))
    login(client, _email(app, world["finance"]))
    home = client.get("/").get_data(as_text=True)
    assert "支援終了に伴う未精算の出張: 1件" in home and "令和9年4月14日" in home
    listing = client.get("/travel/closing").get_data(as_text=True)
    assert f"出-{world['trips'][world['ending']]:05d}" in listing and f"出-{world['trips'][world['extended']]:05d}" not in listing
    assert "支援官（精算の申請）" in listing and "あと25日" in listing
    assert "未精算の出張はありません" in client.get("/travel/closing?acts=finance").get_data(as_text=True)
    assert "未精算の出張はありません" in client.get("/travel/closing?q=存在しない町").get_data(as_text=True)
    exported = client.get("/travel/closing?format=csv").get_data(as_text=True)
    assert "精算・修正の期限" in exported and "2027-04-14" in exported
    clock.set(jst(2027, 2, 1, 10))
    assert "支援終了に伴う未精算" not in client.get("/").get_data(as_text=True)
