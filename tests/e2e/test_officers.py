"""An officer keeps their profile and files a change after a transfer; staff approve it."""
import pytest

from banso.extensions import db
from banso.models import Role
from tests.e2e.test_signin import go, sign_in
from tests.factories import PASSWORD, make_officer, make_phase, make_user

pytestmark = pytest.mark.e2e


def test_officer_edits_introduction_files_a_change_and_staff_approve(app, live_server, page):
    with app.app_context():
        user = make_user(Role.OFFICER, email="officer@banso.example", name="石田 健一")
        make_officer(make_phase(), status="selected", user=user, name="石田 健一", post_title="課長補佐")
        make_user(Role.SECRETARIAT, email="staff@banso.example", name="坂本 翔太")
        db.session.commit()

    sign_in(page, live_server, "officer@banso.example", PASSWORD)
    go(page, "マイプロフィール")
    page.get_by_label("自己紹介").fill("港湾行政の経験を地域の産業振興に活かしたいと考えています。")
    page.get_by_role("button", name="保存する").click()
    page.get_by_text("プロフィールを更新しました。").wait_for()
    assert page.get_by_label("自己紹介").input_value().startswith("港湾行政")
    page.get_by_label("役職").fill("企画官")
    page.get_by_label("変更の理由（人事異動など）").fill("令和8年10月1日付の人事異動のため")
    page.get_by_role("button", name="変更を申請する").click()
    page.get_by_text("変更を申請しました。").wait_for()
    page.get_by_role("button", name="サインアウト").click()

    sign_in(page, live_server, "staff@banso.example", PASSWORD)
    go(page, "変更申請")
    card = page.locator("article", has_text="石田 健一")
    assert "企画官" in card.inner_text()
    card.get_by_role("button", name="承認して反映").click()
    page.get_by_text("石田 健一さんの申請を承認しました。").wait_for()
    go(page, "支援官")
    page.get_by_role("link", name="石田 健一").click()
    assert page.get_by_text("企画官").first.is_visible()


def test_the_printed_order_list_is_landscape_with_fitted_columns(demo_server, page):
    """Found: the printed 発令一覧 was 16 portrait pages with every cell wrapped."""
    import re

    from banso import demo
    from tests.e2e.test_signin import sign_in

    sign_in(page, demo_server, "staff@banso.example", demo.DEMO_PASSWORD)
    page.goto(f"{demo_server}/appointments/?print=1")
    rows = page.locator("tbody tr").count()
    assert rows > 200
    pdf = page.pdf(prefer_css_page_size=True, print_background=False)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    width, height = (float(v) for v in re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf).groups())
    assert width > height  # A4 landscape
    assert pages <= rows // 30 + 1, pages  # about 35 one-line rows a page, not wrapped cells
    heights = page.locator("tbody tr").evaluate_all("rows => rows.slice(0, 50).map(r => r.getBoundingClientRect().height)")
    assert max(heights) < 2.2 * min(heights)  # no row wraps into a tall block
