"""An admin takes a phase from matching to publication; the public page then shows the results."""
import pytest

from banso.extensions import db
from banso.models import Role
from tests.conftest import run_worker
from tests.e2e.test_signin import go, sign_in
from tests.factories import PASSWORD, make_municipality, make_team, make_user

pytestmark = pytest.mark.e2e


def test_admin_confirms_notifies_and_releases_and_the_public_page_shows_the_results(app, live_server, page, open_page, smtp):
    with app.app_context():
        team = make_team(municipality=make_municipality(name="遠野市"), contact_email="kikaku@example.lg.jp")
        member = team.current_members[0].officer.name
        make_user(Role.ADMIN, email="admin@banso.example", name="羽白 真理子")
        db.session.commit()

    public = open_page(expected_errors=["404 (NOT FOUND)"])  # the results are not found before their release
    assert public.goto(f"{live_server}/public/2/results").status == 404  # embargoed

    sign_in(page, live_server, "admin@banso.example", PASSWORD)
    go(page, "公表")
    for button, done in (("確定する", "確定しました"), ("事前通知を送る", "事前通知を送信しました"), ("公表する", "公表しました")):
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name=button).click()
        page.get_by_text(done).first.wait_for()
    assert page.locator("#publication-status").inner_text() == "公表済"
    assert "羽白 真理子" in page.locator("main").inner_text()  # who did each step

    run_worker(app)
    notices = [m for m in smtp.messages if m["Subject"].startswith("【取扱注意・公表前】")]
    assert len(notices) == 4  # three officers and the municipality, once each

    response = public.goto(f"{live_server}/public/2/results")
    assert response.status == 200
    text = public.locator("main").inner_text()
    assert "遠野市" in text and member in text and "岩手県" in text
    public.context.close()
