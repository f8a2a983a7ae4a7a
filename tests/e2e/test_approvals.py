"""Issue 34 end to end: an officer files a trip; on a route of the secretariat's 旅行命令権者 then 会計 (合議), the
first decides from their 決裁 inbox, finance second; the 旅行命令簿 names the order; the trip's page shows its
timeline; after the trip finance settles the claim from the inbox."""
import pytest

from banso.extensions import db
from banso.models import Role
from banso.services import approvals
from tests.e2e.test_signin import sign_in
from tests.factories import PASSWORD, make_publication, make_rates, make_team, make_user

pytestmark = pytest.mark.e2e


def test_a_trip_decided_from_the_inbox_along_its_route(app, live_server, page, open_page):
    with app.app_context():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        officer = team.current_members[0].officer
        officer.user = make_user(Role.OFFICER, email="ishida@banso.example", name=officer.name)
        commander = make_user(Role.SECRETARIAT, email="kacho@banso.example", name="旅行命令権者 課長")
        make_user(Role.FINANCE, email="finance@banso.example", name="松岡 由紀")
        approvals.set_route("travel_order", [
            {"label": "旅行命令権者", "who": [{"user": commander.id}], "need": "one"},
            {"label": "会計 合議", "who": [{"role": "finance"}], "need": "one"}], actor=make_user(Role.ADMIN))
        phase = team.phase.number
        db.session.commit()

    sign_in(page, live_server, "ishida@banso.example", PASSWORD)
    page.goto(f"{live_server}/travel/new?phase={phase}")
    page.get_by_label("出発日").fill("2026-06-10")
    page.get_by_label("帰着日").fill("2026-06-11")
    page.get_by_label("鉄道賃（1人あたり往復）").fill("30000")
    page.get_by_label("宿泊料金（1人1泊あたり、予約した額）").fill("12000")
    page.get_by_label("宿泊料金に含まれる食事").select_option(label="食事なし")
    page.get_by_role("button", name="申請する").click()
    page.get_by_text("を提出しました").wait_for()
    trip_url = page.url

    commander_page = open_page()
    sign_in(commander_page, live_server, "kacho@banso.example", PASSWORD)
    commander_page.goto(f"{live_server}/approvals/")
    assert "決裁待ち（1件）" in commander_page.locator("#waiting").inner_text()
    commander_page.locator("#waiting a").first.click()  # the case: its timeline, and where it is decided
    assert "起案" in commander_page.locator("#case-timeline").inner_text()
    commander_page.get_by_role("link", name="出張申請の画面").click()  # a trip is decided with its budget check
    commander_page.once("dialog", lambda dialog: dialog.accept())
    commander_page.get_by_role("button", name="承認する").click()
    commander_page.locator("#travel-order").wait_for()
    assert "会計 合議" in commander_page.locator("#travel-order").inner_text()  # waiting for finance now
    commander_page.context.close()

    finance = open_page()
    sign_in(finance, live_server, "finance@banso.example", PASSWORD)
    finance.goto(trip_url)
    finance.once("dialog", lambda dialog: dialog.accept())
    finance.get_by_role("button", name="承認する").click()
    finance.get_by_text("を承認しました").wait_for()
    finance.locator("#travel-order").wait_for()
    timeline = finance.locator("#travel-order").inner_text()
    assert "決裁済" in timeline and "旅行命令権者 課長" in timeline and "松岡 由紀" in timeline
    finance.goto(f"{live_server}/travel/orders?phase={phase}")
    assert "松岡 由紀" in finance.locator("#orders-table").inner_text()

    with app.app_context():  # the officer files the claim after the trip (its receipts are the claim page's own test)
        from sqlalchemy import select

        from banso.models import TripRequest, User
        from banso.services import travel

        trip = db.session.get(TripRequest, int(trip_url.rstrip("/").rsplit("/", 1)[1]))
        lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
        travel.file_claim(trip, lines, [("receipt.pdf", b"%PDF-1.4\n%%EOF\n")], actor=db.session.scalar(select(User).where(User.email == "ishida@banso.example")))
        db.session.commit()
    finance.goto(f"{live_server}/approvals/")
    waiting = finance.locator("#waiting")
    assert "精算" in waiting.inner_text()
    waiting.get_by_role("checkbox").first.check()
    finance.once("dialog", lambda dialog: dialog.accept())
    finance.get_by_role("button", name="選んだ案件をまとめて承認する").click()
    finance.get_by_text("1件を「承認」にしました").wait_for()
    finance.goto(trip_url)
    assert "精算済" in finance.locator("main").inner_text()
    finance.context.close()
