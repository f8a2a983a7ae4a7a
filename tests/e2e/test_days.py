"""A secretariat's and an officer's day in Chromium with what was missing: answers moved in bulk, an activity entry
corrected, the home page saying what is waiting."""
from datetime import date

import pytest

from banso.extensions import db
from banso.models import Role
from banso.services import teams, travel
from tests.e2e.test_signin import go, sign_in
from tests.factories import (PASSWORD, make_application, make_municipality, make_phase, make_publication, make_rates,
                             make_team, make_trip, make_user)

pytestmark = pytest.mark.e2e


def test_a_staff_members_day_bulk_answers_and_a_corrected_activity(app, live_server, page):
    with app.app_context():
        phase = make_phase()
        for i in range(3):
            make_application(phase, make_municipality(name=f"一括町{i}"))
        team = make_team(phase)
        make_publication(phase)
        staff = make_user(Role.SECRETARIAT, email="staff@banso.example")
        teams.record_activity(team, {"kind": "online_meeting", "started_on": date(2026, 6, 1), "summary": "定例会議（誤記）"},
                              actor=staff)
        team_id = team.id
        db.session.commit()
    sign_in(page, live_server, "staff@banso.example", PASSWORD)
    go(page, "活用希望調査")
    page.get_by_label("このページの回答をすべて選択").check()  # ticks every answer on the page (banso.js)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="確認済にする").click()
    page.get_by_text("件を「確認済」にしました").wait_for()

    page.goto(f"{live_server}/teams/{team_id}")
    page.locator("#activities").get_by_role("link", name="修正").first.click()
    page.get_by_label("概要").fill("定例会議（第3回）")
    page.get_by_role("button", name="修正を保存する").click()
    page.get_by_text("の記録を修正しました").wait_for()
    assert "定例会議（第3回）" in page.locator("#activities").inner_text()


def test_an_officers_day_starts_with_what_is_due(app, live_server, page):
    with app.app_context():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        me = make_user(Role.OFFICER, email="me@banso.example")
        team.current_members[0].officer.user = me
        db.session.flush()
        trip = make_trip(team, depart_on=date(2026, 7, 1), return_on=date(2026, 7, 2))
        travel.review_request(trip, "approve", actor=make_user(Role.FINANCE))
        number = trip.number
        db.session.commit()
    sign_in(page, live_server, "me@banso.example", PASSWORD)
    mine = page.locator("#my-trips")
    assert "精算を申請してください" in mine.inner_text()
    mine.get_by_role("link", name=number, exact=False).click()
    page.get_by_role("link", name="精算を申請する").wait_for()


def test_an_admins_day_starts_with_the_early_release_waiting_for_them(app, live_server, page):
    from banso.clock import jst
    from banso.services import publication

    with app.app_context():
        team = make_team()
        phase = team.phase
        make_publication(phase, status="notified")
        requester = make_user(Role.ADMIN, name="依頼 管理者")
        make_user(Role.ADMIN, email="admin2@banso.example")
        phase.publication_at = jst(2027, 3, 24, 10)
        publication.request_early_release(phase, "知事の記者会見に合わせるため", actor=requester)
        phase_id = phase.id
        db.session.commit()
    sign_in(page, live_server, "admin2@banso.example", PASSWORD)
    waiting = page.locator("#waiting-for-me")
    assert "決裁（申請者とは独立した管理者の確認）を待っています" in waiting.inner_text() and "依頼 管理者" in waiting.inner_text()
    waiting.get_by_role("link").first.click()
    early = page.locator("#early-case")
    early.wait_for()
    assert "決裁中" in early.inner_text()
    early.get_by_role("link").click()  # the case: the second admin decides it there, and it is released
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="承認する").click()
    page.get_by_text("を承認しました").wait_for()
    assert "決裁済" in page.locator("#case-timeline").inner_text()
    with app.app_context():
        from banso.models import Phase

        assert publication.is_released(db.session.get(Phase, phase_id))


def test_a_finance_users_day_starts_with_the_claims_waiting(app, live_server, page):
    with app.app_context():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        staff = make_user(Role.SECRETARIAT)
        trip = make_trip(team, actor=staff, depart_on=date(2026, 7, 1), return_on=date(2026, 7, 2))
        travel.review_request(trip, "approve", actor=make_user(Role.FINANCE))
        lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
        travel.file_claim(trip, lines, [("receipt.pdf", b"%PDF-1.4\nreceipt\n%%EOF\n")], actor=staff)
        make_user(Role.FINANCE, email="kaikei@banso.example")
        number = trip.number
        db.session.commit()
    sign_in(page, live_server, "kaikei@banso.example", PASSWORD)
    budget = page.locator("#travel-budget")
    assert "うち精算 1件" in budget.inner_text()
    budget.get_by_role("link", name="審査待ちの申請・精算", exact=False).click()
    page.get_by_role("link", name=number, exact=False).first.wait_for()


def test_a_staff_members_week_on_a_narrow_screen_selecting_applicants_in_bulk(app, live_server, page):
    """Gaps 2 and 4: 300 applicants are chosen a page at a time with one refusal named; the menus are grouped by area
    and usable at 768 px, with breadcrumbs."""
    from tests.factories import make_officer

    with app.app_context():
        phase = make_phase()
        names = []
        for i in range(3):
            names.append(make_officer(phase, status="applied", name=f"応募 次郎{i}").name)
        make_officer(phase, status="applied", name="係員 三郎", grade_band="係員")  # OFF-2: not eligible
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        db.session.commit()
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in(page, live_server, "staff@banso.example", PASSWORD)
    nav = page.get_by_role("navigation", name="メインメニュー")
    assert nav.bounding_box()["width"] <= 768
    go(page, "支援官")  # inside the 「支援官・発令」 group
    assert "支援官" in page.locator("nav.breadcrumbs").inner_text()
    page.get_by_label("このページの応募者をすべて選択").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="選定する").click()
    page.get_by_text("名を「選定」にしました").wait_for()
    warning = page.locator(".flash--warning").inner_text()
    assert "係員 三郎" in warning and "状態は変わっていません" in warning
    assert page.locator("body").evaluate("b => b.scrollWidth") <= 768  # nothing pushes the page sideways


def test_an_officer_keeps_their_profile_with_checkboxes_and_sees_a_list_sized_for_one_team(app, live_server, page):
    """Gaps 4 and 5: the expertise picker is checkboxes (a click adds, never wipes earlier choices); an officer's
    team list has no filter panel for a list of one."""
    with app.app_context():
        team = make_team()
        make_publication(team.phase)
        me = make_user(Role.OFFICER, email="me@banso.example")
        team.current_members[0].officer.user = me
        db.session.commit()
    sign_in(page, live_server, "me@banso.example", PASSWORD)
    page.goto(f"{live_server}/teams/")
    assert page.get_by_label("都道府県").count() == 0 and page.locator("#teams-list, table").count() >= 1
    page.goto(f"{live_server}/officers/me")
    boxes = page.locator('input[type="checkbox"][name="expertise_fields"]')
    assert boxes.count() == 26
    before = {boxes.nth(i).get_attribute("value") for i in range(26) if boxes.nth(i).is_checked()}
    page.get_by_label("⑩移住・定住").check()
    page.get_by_label("⑯防災").check()
    after = {boxes.nth(i).get_attribute("value") for i in range(26) if boxes.nth(i).is_checked()}
    assert after == before | {"10", "16"}
