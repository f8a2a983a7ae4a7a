"""An officer files a trip, finance approves it, the officer claims with a receipt, finance settles:
the budget page moves from available to committed to spent."""
import pytest

from banso.extensions import db
from banso.models import Role
from tests.e2e.test_signin import follow, go, sign_in
from tests.factories import PASSWORD, make_publication, make_rates, make_team, make_user

pytestmark = pytest.mark.e2e


def _figure(page, label: str) -> int:
    text = page.locator("#budget-figures dt", has_text=label).locator("xpath=following-sibling::dd").inner_text()
    return int(text.replace(",", "").replace("円", ""))


@pytest.mark.timing
def test_officer_files_finance_approves_officer_claims_finance_settles(app, live_server, page, open_page, tmp_path):
    with app.app_context():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        officer = team.current_members[0].officer
        officer.user = make_user(Role.OFFICER, email="ishida@banso.example", name=officer.name)
        make_user(Role.FINANCE, email="finance@banso.example", name="松岡 由紀")
        name = officer.name
        db.session.commit()

    # The officer files a one-night site visit; the estimate and the budget fit show while typing.
    sign_in(page, live_server, "ishida@banso.example", PASSWORD)
    go(page, "旅費")
    follow(page, page.get_by_role("link", name="出張を申請する"))
    assert page.get_by_label(f"{name}（国土交通省）").is_checked()
    page.get_by_label("出発日").fill("2026-06-10")
    page.get_by_label("帰着日").fill("2026-06-11")
    page.get_by_label("鉄道賃（1人あたり往復）").fill("30000")
    page.get_by_label("宿泊料金（1人1泊あたり、予約した額）").fill("12000")
    page.get_by_label("宿泊料金に含まれる食事").select_option(label="食事なし")
    page.locator("#estimate-total").wait_for()
    page.wait_for_function("document.querySelector('#estimate-total').textContent.includes('42,400')")
    assert "範囲内です" in page.locator("#estimate-fit").inner_text()
    page.get_by_role("button", name="申請する").click()
    page.get_by_text("を提出しました").wait_for()
    trip_url = page.url
    assert page.locator("#trip-status").inner_text() == "申請・審査待ち"

    # Finance approves it; the budget page shows it as committed.
    finance = open_page()
    sign_in(finance, live_server, "finance@banso.example", PASSWORD)
    finance.goto(f"{live_server}/travel/budget")
    assert _figure(finance, "執行予定") == 0 and _figure(finance, "残額") == 97_000_000
    finance.goto(trip_url)
    finance.once("dialog", lambda dialog: dialog.accept())
    finance.get_by_role("button", name="承認する").click()
    finance.get_by_text("を承認しました").wait_for()
    finance.goto(f"{live_server}/travel/budget")
    assert _figure(finance, "執行予定") == 42_400 and _figure(finance, "残額") == 97_000_000 - 42_400

    # The officer claims the actual cost with a receipt (a taxi fare more than estimated).
    receipt = tmp_path / "領収書.pdf"
    receipt.write_bytes(b"%PDF-1.4\n% receipt\n%%EOF\n")
    page.goto(trip_url)
    page.get_by_role("link", name="精算を申請する").click()
    page.locator("input[name$='-other_transport']").fill("1800")
    page.get_by_label("領収書（PDF・JPEG・PNG、1ファイル5MBまで）").set_input_files(str(receipt))
    page.get_by_role("button", name="精算を申請する").click()
    page.get_by_text("精算を申請しました").wait_for()
    assert "領収書.pdf" in page.locator("#receipt-list").inner_text()

    # Finance settles; the estimate leaves committed and the approved amount is spent.
    finance.goto(trip_url)
    assert "+1,800円" in finance.locator("#claim").inner_text()  # the difference from the estimate stands out
    finance.once("dialog", lambda dialog: dialog.accept())
    finance.get_by_role("button", name="認定額で精算する").click()
    finance.get_by_text("精算を完了しました").wait_for()
    assert finance.locator("#trip-status").inner_text() == "精算済"
    finance.goto(f"{live_server}/travel/budget")
    assert _figure(finance, "執行予定") == 0 and _figure(finance, "支出済") == 42_400 + 1_800
    finance.context.close()
