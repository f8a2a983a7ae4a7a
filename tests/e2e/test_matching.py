"""PUB-1 in Chromium, on the demo's 第2期 in its matching week: staff pin two pairs and forbid one, plan on the worker,
read why each team is what it is and how much better than the greedy plan it is, and accept it."""
import re

import pytest
from sqlalchemy import func, select

from banso.demo import DEMO_PASSWORD
from banso.extensions import db
from banso.models import MatchingConstraint, Team
from tests.conftest import run_worker
from tests.e2e.test_signin import go, sign_in

pytestmark = pytest.mark.e2e


def _members(page, application_id: int) -> list[int]:
    return [int(x) for x in page.locator(f"#proposal-{application_id} li.member").evaluate_all("els => els.map(e => e.dataset.officer)")]


def _planned(page, app):
    """The worker plans; the page's progress bar reloads the page once the plan is ready (no navigation of our own,
    which that reload would cut short). The badge says 最適解, or ほぼ最適 with the proved gap. The bar is waited for
    first: until the worker runs, the page can only show it, so the badge after it is the new plan's."""
    page.locator("#plan-status progress").wait_for()
    run_worker(app)
    page.locator("#plan-status .badge--ok").wait_for()


@pytest.mark.timing
def test_staff_pin_two_pairs_forbid_one_plan_read_why_compare_with_greedy_and_accept(matching_week_app, matching_week_server, page):
    server, app = matching_week_server, matching_week_app
    sign_in(page, server, "staff@banso.example", DEMO_PASSWORD)
    go(page, "マッチング")
    page.get_by_text("まだ計画していません").wait_for()
    page.get_by_role("button", name="計画する").click()
    _planned(page, app)

    rows = page.locator("#proposals tbody tr").evaluate_all("rows => rows.map(r => +r.id.split('-')[1])")
    a, b, c = rows[0], rows[1], rows[2]
    x, y = _members(page, b)[0], _members(page, a)[0]
    # Two pins: the first member of B's team to A, and A's to B (from each municipality's edit page).
    for application, officer in ((a, x), (b, y)):
        page.locator(f"#proposal-{application}").get_by_role("link", name="メンバーを変えて採用").click()
        page.locator(f'button[form="pin-{officer}"]').click()
        page.get_by_text("指定しました").wait_for()
        page.get_by_role("link", name="戻る").click()
    # One forbid: C's first member, with a reason.
    forbidden = _members(page, c)[0]
    member = page.locator(f'#proposal-{c} li.member[data-officer="{forbidden}"]')
    member.locator("summary", has_text="指定する").click()
    member.get_by_label("除外の理由").fill("前職で当該町の補助事業を審査したため")
    member.get_by_role("button", name="この組合せを除外").click()
    page.get_by_text("指定しました").wait_for()
    assert page.locator("#constraints tbody tr").count() == 3

    _planned(page, app)
    assert x in _members(page, a) and y in _members(page, b) and forbidden not in _members(page, c)
    assert "前職で当該町の補助事業を審査したため" in page.locator("#constraints").inner_text()
    # Why each team is what it is: each member's factors, and why better-scoring officers were not chosen.
    row = page.locator(f"#proposal-{a}").inner_text()
    assert "点" in row and ("第1優先分野" in row or "専門分野の一致" in row)
    reasons = page.locator("#proposals tbody td:last-child").all_inner_texts()
    assert any("チームに配置しました" in text or "同じ府省庁" in text for text in reasons)
    # How much better than the greedy plan.
    total = page.locator("#quality-total td").all_inner_texts()
    ours, greedy = (float(re.sub(r"[^\d.]", "", t)) for t in total[:2])
    assert ours >= greedy and page.locator("#quality-first_priority_share").is_visible()

    page.locator("#select-all").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="選んだ提案を採用").click()
    page.get_by_text("チームを編成しました").wait_for()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Team)) >= 60 + len(rows)  # 第1期's 60 and every proposal
        assert db.session.scalar(select(func.count()).select_from(MatchingConstraint)) == 3
