"""Staff replace a member mid-term: the notification reaches the SMTP sink, the history shows both."""

import pytest

from banso.extensions import db
from tests.conftest import run_worker
from tests.e2e.test_signin import sign_in
from tests.factories import PASSWORD, make_publication, make_ready_officer, make_team, make_user

pytestmark = pytest.mark.e2e


def test_staff_replace_a_member_and_everyone_is_told(app, live_server, page, smtp):
    with app.app_context():
        team = make_team(contact_email="kikaku@example.lg.jp")
        make_publication(team.phase)  # mid-term, after release: the notices go at once (before it they wait, PUB-2)
        leaving = team.current_members[0].officer
        make_ready_officer(team.phase, "防衛省", name="新任 一郎", expertise_fields=[4],
                           introduction="防衛施設周辺の地域振興を担当しています。")
        make_user(email="staff@banso.example", name="坂本 翔太")
        team_id, leaving_name = team.id, leaving.name
        db.session.commit()

    sign_in(page, live_server, "staff@banso.example", PASSWORD)
    page.goto(f"{live_server}/teams/{team_id}")
    page.get_by_role("link", name="メンバー交代").click()
    page.get_by_label("交代するメンバー").select_option(label=f"{leaving_name}（国土交通省）")
    assert "新任 一郎" in page.locator("#candidates").inner_text()
    page.get_by_label("候補を探す（氏名・府省庁・出身地・ゆかり）").fill("防衛")  # narrowed by ministry, as typed
    page.get_by_role("button", name="探す").click()
    page.wait_for_load_state()
    assert "新任 一郎" in page.locator("#candidates").inner_text() and "防衛省" in page.locator("#candidates").inner_text()
    page.get_by_label("新任 一郎").check()  # a row with ministry, grade, home town, ties and fit beside the choice
    page.get_by_label("理由").select_option("人事異動")
    page.get_by_label("交代日").fill("2026-10-01")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="交代を確定する").click()
    page.get_by_text("市町村とチームに通知しました").wait_for()
    history = page.locator("#member-history").inner_text()
    assert leaving_name in history and "新任 一郎" in history and "人事異動" in history

    run_worker(app)
    notices = [m for m in smtp.messages if "メンバー交代" in m["Subject"]]
    to = [m["To"].addresses[0].addr_spec for m in notices]
    assert "kikaku@example.lg.jp" in to and len(to) == len(set(to)) == 5  # municipality, two staying, joining, leaving: once each
    to_town = next(m for m in notices if m["To"].addresses[0].addr_spec == "kikaku@example.lg.jp").get_content()
    # complete as plain text (LGWAN mail may strip links): the date, who joins with their introduction, the line-up
    # after it with each member's contact, the support period and the secretariat's contact
    assert "新任 一郎" in to_town and "防衛施設周辺の地域振興を担当しています。" in to_town and "令和8年10月1日" in to_town
    assert "からのメンバー:" in to_town and "※チームの連絡窓口" in to_town and "支援期間:" in to_town and "事務局" in to_town
    assert "http" not in to_town
