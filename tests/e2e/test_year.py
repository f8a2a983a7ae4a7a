"""The programme's year in Chromium, each role's main step: on 12/07, with 第3期's survey open beside 第2期's support,
the 第2期 officer files a trip from the 旅費 menu with its live estimate, finance finds it waiting on its home page, the
admin sees 第2期's follow-ups and cannot plainly confirm 第3期 while its intake is open; on 4/15 the admin finds 第2期's
team closed and reopens it with a reason."""
from datetime import date

import pytest

from banso.clock import jst
from banso.extensions import db
from banso.models import Role
from tests.e2e.test_signin import follow, go, sign_in
from tests.factories import PASSWORD, make_phase, make_publication, make_rates, make_team, make_user

pytestmark = pytest.mark.e2e


def test_each_roles_main_step_with_two_live_phases_and_after_the_end(app, live_server, page, open_page, clock):
    clock.set(jst(2026, 12, 7, 10))
    with app.app_context():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        officer = team.current_members[0].officer
        officer.user = make_user(Role.OFFICER, email="ishida@banso.example", name=officer.name)
        third = make_phase(number=3, name="第3期", fiscal_year=2027, survey_opens_at=jst(2026, 12, 1, 10),
                           answer_deadline_at=jst(2026, 12, 24, 17), recruitment_opens_at=jst(2027, 1, 13, 10),
                           recruitment_closes_at=jst(2027, 2, 12, 17), matching_deadline_at=jst(2027, 3, 12, 17),
                           publication_at=jst(2027, 3, 23, 10), support_start=date(2027, 4, 1), support_end=date(2028, 3, 31))
        make_team(third)  # formed early, in December
        make_user(Role.FINANCE, email="finance@banso.example")
        make_user(Role.ADMIN, email="admin@banso.example")
        team_id, town = team.id, team.municipality.name
        db.session.commit()

    # The 第2期 officer: the 旅費 menu opens on their team's phase, the form on their team, the estimate answers.
    sign_in(page, live_server, "ishida@banso.example", PASSWORD)
    assert town in page.locator("main").inner_text()
    go(page, "旅費")
    assert "第2期" in page.locator("h1").inner_text()
    follow(page, page.get_by_role("link", name="出張を申請する"))
    page.get_by_label("出発日").fill("2026-12-15")
    page.get_by_label("帰着日").fill("2026-12-16")
    page.get_by_label("鉄道賃（1人あたり往復）").fill("30000")
    page.get_by_label("宿泊料金（1人1泊あたり、予約した額）").fill("9000")
    page.get_by_label("宿泊料金に含まれる食事").select_option(label="食事なし")
    page.locator("#estimate-total").wait_for()
    assert "範囲内です" in page.locator("#estimate-fit").inner_text()
    page.get_by_role("button", name="申請する").click()
    page.get_by_text("を提出しました").wait_for()

    # Finance: the home page names 第2期's waiting request; the trip list opens on 第2期.
    finance = open_page()
    sign_in(finance, live_server, "finance@banso.example", PASSWORD)
    assert "第2期: 審査待ちの申請・精算 1件" in finance.locator("#awaiting-review").inner_text()
    go(finance, "旅費")
    assert "第2期" in finance.locator("h1").inner_text()

    # The admin: 第2期's follow-ups beside 第3期's schedule; 第3期 cannot be plainly confirmed while its survey is open.
    admin = open_page()
    sign_in(admin, live_server, "admin@banso.example", PASSWORD)
    assert "第2期 活動の確認が必要なチーム" in admin.locator("#team-flags").inner_text()
    assert "第3期" in admin.locator("#phase-timeline").inner_text()
    admin.goto(f"{live_server}/publication/?phase=3")
    assert "活用希望調査の回答を受付中です" in admin.locator("#confirm-blockers").inner_text()
    assert admin.get_by_role("button", name="確定する", exact=True).count() == 0

    # 4/15: 第2期's team is closed; the admin reopens it with a reason.
    clock.set(jst(2027, 4, 15, 10))
    sign_in(admin, live_server, "admin@banso.example", PASSWORD)  # four months on, the idle session has ended
    admin.goto(f"{live_server}/teams/{team_id}")
    assert "記録は締め切られています" in admin.locator("#closing").inner_text()
    admin.get_by_text("記録を再開する（事務局管理者）").click()
    admin.get_by_label("再開の理由（記録されます）").fill("活動記録の日付の誤りを訂正するため")
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="再開する").click()
    admin.get_by_text("まで再開しました").wait_for()
    assert "令和9年4月22日まで記録を再開しています" in admin.locator("#closing").inner_text()
