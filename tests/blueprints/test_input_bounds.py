"""Issue 31, items 11 and 12: a number of any length is bounded before it is converted (Python refuses more than
4,300 digits: every list's ?page= was a 500), and every ``next`` is read by one safe_next(), which refuses the usual
open-redirect bypasses (tabs, newlines and backslashes that browsers drop or read as ``/``)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from banso.blueprints.forms import safe_next
from banso.extensions import db
from banso.models import OfficerCandidacy
from tests.conftest import login
from tests.factories import make_officer, make_phase, make_user

HUGE = "9" * 5000

LISTS = ["/teams/", "/officers/", "/applications/", "/municipalities/", "/inquiries/", "/travel/", "/admin/users",
         "/admin/audit", "/appointments/", "/teams/reports", "/officers/changes", "/travel/closing"]


@pytest.mark.parametrize("path", LISTS)
def test_a_page_number_of_5000_digits_is_the_first_page_not_an_error(app, client, path):
    with app.app_context():
        make_phase()
        admin = make_user("admin").email
        db.session.commit()
    login(client, admin)
    for query in (f"page={HUGE}", f"page=-{HUGE}", f"theme={HUGE}&ministry={HUGE}&field={HUGE}&officer={HUGE}",
                  f"month={HUGE[:4]}-{HUGE[:2]}", f"before=2026-01-01T00:00:00_{HUGE}"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 200, (path, query[:40], response.status_code)


def test_an_id_of_5000_digits_in_a_path_is_not_found(app, client):
    with app.app_context():
        admin = make_user("admin").email
        db.session.commit()
    login(client, admin)
    assert client.get(f"/teams/{HUGE}").status_code == 404
    assert client.get(f"/officers/{HUGE}").status_code == 404


def test_matching_weights_of_any_length_or_digit_kind_are_refused_with_a_message(app, client):
    with app.app_context():
        make_phase()
        admin = make_user("admin").email
        db.session.commit()
    login(client, admin)
    from banso.services.matching import FACTORS

    for bad in (HUGE, "²", "-1"):
        data = {name: str(default) for name, (_, default, _, _) in FACTORS.items()} | {"team": bad}
        response = client.post("/matching/settings", data=data, follow_redirects=True)
        assert response.status_code == 200 and "入力内容に1件の誤りがあります" in response.get_data(as_text=True), bad[:10]


BYPASSES = ["//evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example", "/\n/evil.example",
            "/\r\n/evil.example", " //evil.example", "https://evil.example/", "http:/evil.example", "HTTPS://evil.example",
            "javascript:alert(1)", "/\\/evil.example", "/%09/evil.example\x00", "//\x7fevil.example", "\x00//evil.example",
            "evil.example", ""]


@pytest.mark.parametrize("target", BYPASSES)
def test_safe_next_refuses_each_usual_bypass(app, target):
    with app.test_request_context():
        assert safe_next(target, "/") == "/"


def test_safe_next_keeps_a_path_within_banso_and_within_its_area(app):
    with app.test_request_context():
        assert safe_next("/officers/?q=%E5%B1%B1%E7%94%B0&page=2", "/") == "/officers/?q=%E5%B1%B1%E7%94%B0&page=2"
        assert safe_next("/teams/", "/officers/", under="/officers") == "/officers/"


def test_the_candidacy_form_next_with_a_tab_goes_back_to_the_officer_not_away(app, client):
    """The finding: ``/\\t/evil.example`` was answered with ``Location: //evil.example``."""
    with app.app_context():
        phase = make_phase()
        officer = make_officer(phase)
        staff = make_user("secretariat").email
        candidacy = db.session.scalar(select(OfficerCandidacy).where(OfficerCandidacy.officer_id == officer.id))
        db.session.commit()
        ids = officer.id, candidacy.id
    login(client, staff)
    response = client.post(f"/officers/{ids[0]}/candidacies/{ids[1]}", data={"status": "selected", "next": "/\t/evil.example"})
    assert response.status_code == 302 and response.location == f"/officers/{ids[0]}"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30) | st.from_regex(r"\A[0-9]{1,6000}\Z") | st.integers().map(str))
def test_parse_id_reads_any_text_as_an_id_in_range_or_none_and_never_raises(text):
    from banso.formatting import MAX_ID, parse_id

    value = parse_id(text)
    assert value is None or (isinstance(value, int) and 1 <= value <= MAX_ID and str(value) == text.strip().lstrip("0"))
