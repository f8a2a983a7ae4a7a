"""Issue 33: the printed pages — the 発令一覧 and a team's A4 summary — as Chromium prints them: the expected number of
pages, and no cell whose text is cut off in print."""
import io

import pytest
from pypdf import PdfReader

from banso.extensions import db
from banso.models import Role
from tests.e2e.test_signin import sign_in
from tests.factories import PASSWORD, make_team, make_user

pytestmark = pytest.mark.e2e

CLIPPED = """() => [...document.querySelectorAll('td, th, dd, dt')]
  .filter(c => c.offsetParent !== null && (c.scrollWidth > c.clientWidth + 1 || c.scrollHeight > c.clientHeight + 1)
          && getComputedStyle(c).overflow !== 'visible')
  .map(c => c.innerText.slice(0, 40))"""


def _printed(page, url: str) -> tuple[int, str, list[str]]:
    page.goto(url)
    page.emulate_media(media="print")
    clipped = page.evaluate(CLIPPED)
    pdf = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True, print_background=True)))
    page.emulate_media(media="screen")
    return len(pdf.pages), "".join(p.extract_text() for p in pdf.pages).replace(" ", "").replace("\n", ""), clipped


def test_the_order_list_and_a_teams_summary_print_whole(app, live_server, page):
    with app.app_context():
        team = make_team()
        make_user(Role.SECRETARIAT, email="print@banso.example")
        names = [m.officer.name for m in team.current_members]
        orders = [a.order_number for m in team.current_members for a in m.officer.appointments]
        phase, team_id, town = team.phase.number, team.id, team.municipality.name
        db.session.commit()
    sign_in(page, live_server, "print@banso.example", PASSWORD)

    pages, text, clipped = _printed(page, f"{live_server}/appointments/?phase={phase}&print=1")
    assert pages == 1 and clipped == []
    assert all(name.replace(" ", "") in text for name in names) and all(order in text for order in orders)

    pages, text, clipped = _printed(page, f"{live_server}/teams/{team_id}/summary")
    assert pages == 1 and clipped == []  # seed 001's case page: one A4 sheet
    assert town in text and all(name.replace(" ", "") in text for name in names)
