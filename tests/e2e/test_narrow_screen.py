"""At 768 px (a tablet, a half-width window on a ministry desktop): a status pill stays on one line, an inbox subject
reads as a line of words, not three characters a line. Found: pills broke mid-word and subjects wrapped every 3–4
characters."""
import pytest

from banso.extensions import db
from banso.models import Role
from banso.services import inquiries
from tests.e2e.test_signin import sign_in
from tests.factories import PASSWORD, inquiry_data, make_application, make_user

pytestmark = pytest.mark.e2e


def test_at_768_px_pills_keep_to_one_line_and_inbox_subjects_read_as_lines(app, live_server, open_page, clock):
    with app.app_context():
        make_user(Role.SECRETARIAT, email="staff@banso.example")
        for n in range(3):
            make_application()
            inquiries.receive(inquiry_data(email=f"a{n}@example.lg.jp", organisation="岩手県下閉伊郡岩泉町 政策推進課",
                                           subject="伴走支援チームの現地訪問の日程調整と、来年度の継続意向調査の回答方法について"),
                              channel="form", actor=None)
        db.session.commit()
    page = open_page(viewport={"width": 768, "height": 1024})
    sign_in(page, live_server, "staff@banso.example", PASSWORD)
    for path in ("/inquiries/", "/applications/?phase=2"):
        page.goto(f"{live_server}{path}")
        pills = page.locator("main table .badge")
        assert pills.count() > 0, path
        for box in (pills.nth(i).bounding_box() for i in range(pills.count())):
            line = page.evaluate("parseFloat(getComputedStyle(document.querySelector('main table .badge')).lineHeight) || 24")
            assert box["height"] < 1.6 * line, (path, box)  # one line, not two
    page.goto(f"{live_server}/inquiries/")
    subject = page.locator("main table td.subject").first.bounding_box()
    font = page.evaluate("parseFloat(getComputedStyle(document.querySelector('main table td.subject')).fontSize)")
    assert subject["width"] >= 10 * font  # at least ten characters a line
    page.context.close()
