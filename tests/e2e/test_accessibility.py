"""Accessibility in a real Chromium: axe-core (from npm) on every main page of every role over the demo data,
and keyboard-only flows for signing in, the public inquiry form and a travel claim."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from banso.extensions import db

pytestmark = pytest.mark.e2e
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "banso-demo"
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, help: v.help, where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


@pytest.fixture
def demo(demo_app):
    with demo_app.app_context():
        return _ids()


def _ids() -> dict:
    from banso.models import Inquiry, Officer, Phase, Team, TeamMembership, User
    from banso.models.travel import TripRequest

    phase = db.session.scalar(select(Phase).order_by(Phase.number.desc()))
    team = db.session.scalar(select(Team).where(Team.phase_id == phase.id).order_by(Team.id))
    me = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id).where(User.email == "officer@banso.example"))
    own_trip = db.session.scalar(select(TripRequest.id).join(TeamMembership, TeamMembership.team_id == TripRequest.team_id)
                                 .where(TeamMembership.officer_id == me.id).order_by(TripRequest.id.desc()))
    return {"phase": phase.number, "team": team.id, "application": team.application_id,
            "municipality": team.municipality_id, "officer": team.memberships[0].officer_id,
            "inquiry": db.session.scalar(select(Inquiry.id).order_by(Inquiry.id)),
            "trip": db.session.scalar(select(TripRequest.id).order_by(TripRequest.id)), "own_trip": own_trip}


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_no_serious_or_critical_axe_violations_on_any_main_page_of_any_role(open_page, demo_server, demo):
    from bench.pages import PAGES, ROLES

    assert AXE.exists(), "axe-core is installed by `make setup` (npm ci)"
    source = AXE.read_text()
    found = {}
    for role, email in ROLES.items():
        page = open_page()
        if email:
            _sign_in(page, demo_server, email)
        for who, template in PAGES:
            if who != role:
                continue
            path = template.format(**demo)
            response = page.goto(demo_server + path)
            assert response.status == 200, (role, path, response.status)
            page.evaluate(source)  # through DevTools, so the page's CSP is untouched
            violations = page.evaluate(RUN_AXE)
            if violations:
                found[f"{role} {path}"] = violations
        page.context.close()
    assert found == {}, found


def _tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until ``selector`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def _sign_in_by_keyboard(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    _tab_to(page, "input[name=email]")
    page.keyboard.type(email)
    _tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")


def _signing_in(page, live_server):
    _sign_in_by_keyboard(page, live_server, "staff@banso.example")
    assert "坂本 翔太" in page.content()


def _public_inquiry(page, live_server):
    page.goto(f"{live_server}/contact")
    _tab_to(page, "select[name=org_type]")
    page.keyboard.press("End")  # the last choice: その他
    _tab_to(page, "select[name=category]")
    page.keyboard.press("ArrowDown")
    for name, text in (("name", "鍵盤 操作"), ("email", "keyboard@example.jp"), ("subject", "キーボードだけで送信"),
                       ("body", "マウスを使わずに問い合わせを送ります。")):
        _tab_to(page, f"[name={name}]")
        page.keyboard.type(text)
    _tab_to(page, "form:not(.inline) button[type=submit]")
    assert page.evaluate("document.activeElement.textContent") == "送信する"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/contact/done")
    assert "問-" in page.content()


def _travel_claim(page, live_server, app):
    from banso.models.travel import TripRequest, TripStatus
    from banso.models import Officer, TeamMembership, User
    from banso.services import travel
    from tests.factories import make_trip

    with app.app_context():
        me = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id).where(User.email == "officer@banso.example"))
        membership = db.session.scalar(select(TeamMembership).where(TeamMembership.officer_id == me.id,
                                                                    TeamMembership.left_on.is_(None))
                                       .order_by(TeamMembership.phase_id.desc()))
        staff = db.session.scalar(select(User).where(User.email == "staff@banso.example"))
        trip = make_trip(membership.team, actor=staff)  # filed for the team, awaiting finance
        travel.review_request(trip, "approve", actor=db.session.scalar(select(User).where(User.email == "finance@banso.example")))
        db.session.commit()
        trip_id = trip.id
    _sign_in_by_keyboard(page, live_server, "officer@banso.example")
    page.goto(f"{live_server}/travel/{trip_id}/claim")
    _tab_to(page, "input[name=receipts]", limit=200)
    # The receipt input has the focus; Space would open the system's file dialog, which a headless browser has
    # not got, so the file is handed to the focused input as that dialog would.
    page.set_input_files("input[name=receipts]", files=[{"name": "領収書.pdf", "mimeType": "application/pdf",
                                                          "buffer": b"%PDF-1.4\n% receipt\n"}])
    _tab_to(page, "form:not(.inline) button[type=submit]", limit=200)
    assert page.evaluate("document.activeElement.textContent") == "精算を申請する"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    with app.app_context():
        assert db.session.get(TripRequest, trip_id).status == TripStatus.CLAIM_SUBMITTED, page.content()[:3000]


def test_keyboard_only_flows_sign_in_the_inquiry_form_and_a_travel_claim(open_page, demo_server, demo_app):
    for flow in (_signing_in, _public_inquiry, lambda page, base: _travel_claim(page, base, demo_app)):
        page = open_page()  # a browser of its own for each flow; its errors are checked when the test ends
        flow(page, demo_server)
        page.context.close()
