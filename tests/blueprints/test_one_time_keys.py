"""Every creating form carries a one-time key: the same form sent twice (a double click, a reload, a flaky network)
creates once, and the second arrival goes where the first went (issue: three identical POSTs made three records).
The trip form, activities, the public form, recorded inquiries and replies: their own modules; here the rest."""
import io
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from banso.extensions import db
from banso.models import (Application, FaqEntry, ImportBatch, Inquiry, InquiryMessage, Officer, PhaseEvent, Receipt, TravelClaim,
                          TripRequest, User)
from banso.services import inquiries, travel
from tests.conftest import login, race, racing_barrier
from tests.factories import (make_municipality, make_phase, make_publication, make_rates, make_team,
                             make_trip, make_user)

PDF = b"%PDF-1.4\nreceipt\n%%EOF\n"


def _in_db(app, fn):
    with app.app_context():
        result = fn()
        db.session.commit()
        return result


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _key(page: str) -> str:
    tag = re.search(r'<input[^>]*name="(?:[a-z]+-)?submission_key"[^>]*>', page).group(0)
    return re.search(r'value="([^"]*)"', tag).group(1)


def _twice(app, client, url, data, model, *, files=None):
    """Send the same form twice; one record is made and both arrivals go to the same page."""
    before = _count(app, model)

    def send():
        payload = dict(data)
        for name, (content, filename) in (files or {}).items():
            payload[name] = (io.BytesIO(content), filename)
        return client.post(url, data=payload, content_type="multipart/form-data" if files else None)

    first, second = send(), send()
    assert first.status_code == second.status_code == 302, (first.status_code, second.status_code)
    assert first.location == second.location
    assert _count(app, model) == before + 1
    assert "二重の送信を防ぎました" in client.get(second.location).get_data(as_text=True)


@pytest.fixture
def staff(app, client):
    login(client, _in_db(app, lambda: make_user("secretariat").email))
    return client


def test_an_application_entered_twice_is_one_application(app, staff):
    from tests.blueprints.test_applications import FORM

    _in_db(app, lambda: (make_phase(), make_municipality(name="大船渡市", code="032034")))
    page = staff.get("/applications/new?phase=2").get_data(as_text=True)
    _twice(app, staff, "/applications/new?phase=2", dict(FORM, municipality="032034", submission_key=_key(page)), Application)


def test_an_officer_registered_twice_is_one_officer(app, staff):
    from tests.factories import make_officer

    ministry_id = _in_db(app, lambda: str(make_officer().ministry_id))
    page = staff.get("/officers/new").get_data(as_text=True)
    _twice(app, staff, "/officers/new", {
        "submission_key": _key(page), "name": "二重 花子", "name_kana": "ニジュウ ハナコ", "ministry_id": ministry_id,
        "grade_band": "係長級", "job_type": "事務官", "sex": "女性", "birth_date": "1992-02-02", "workplace_type": "本省",
        "officer_type": "officer", "email": "nijuu@example.go.jp"}, Officer)


def test_a_user_and_a_phase_event_added_twice_are_added_once(app, client):
    login(client, _in_db(app, lambda: make_user("admin").email))
    page = client.get("/admin/users/new").get_data(as_text=True)
    _twice(app, client, "/admin/users", {"submission_key": _key(page), "email": "twice@banso.example", "name": "二重 登録",
                                         "role": "officer"}, User)
    phase_id = _in_db(app, lambda: make_phase().id)
    page = client.get(f"/admin/phases/{phase_id}").get_data(as_text=True)
    key = re.search(r'action="/admin/phases/\d+/events".*?name="submission_key"[^>]*value="([^"]*)"', page, re.S)
    key = key.group(1) if key else _key(page[page.index("/events"):])
    _twice(app, client, f"/admin/phases/{phase_id}/events", {"submission_key": key, "label": "説明会", "at": "2026-12-10T14:00"},
           PhaseEvent)


def test_a_note_and_a_faq_entry_sent_twice_are_recorded_once(app, staff):
    inquiry_id = _in_db(app, lambda: inquiries.receive({"org_type": "other", "category": "general", "name": "問合 太郎",
                                                         "email": "taro@example.jp", "subject": "件名", "body": "本文"},
                                                        channel="form", actor=None).id)
    _in_db(app, lambda: inquiries.reply(db.session.get(Inquiry, inquiry_id), "回答です。", actor=make_user()))
    page = staff.get(f"/inquiries/{inquiry_id}").get_data(as_text=True)
    note_key = re.search(r'name="note-submission_key"[^>]*value="([^"]*)"', page).group(1)
    _twice(app, staff, f"/inquiries/{inquiry_id}/note", {"note-submission_key": note_key, "note-body": "内部メモ"}, InquiryMessage)
    faq_page = page[page.index(f"/inquiries/{inquiry_id}/faq"):]
    _twice(app, staff, f"/inquiries/{inquiry_id}/faq", {"submission_key": _key(faq_page), "question": "問い", "answer": "答え"},
           FaqEntry)


def test_a_claim_and_its_receipts_sent_twice_are_filed_once(app, client):
    def build():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        staff = make_user("secretariat")
        trip = make_trip(team, actor=staff, depart_on=date(2026, 7, 1), return_on=date(2026, 7, 2))
        travel.review_request(trip, "approve", actor=make_user("finance"))
        return trip.id, staff.email
    trip_id, email = _in_db(app, build)
    login(client, email)
    page = client.get(f"/travel/{trip_id}/claim").get_data(as_text=True)
    amounts = dict(re.findall(r'name="(claimed-[^"]+)"[^>]*value="([^"]*)"', page))
    _twice(app, client, f"/travel/{trip_id}/claim", dict(amounts, submission_key=_key(page), version=_version(page)), TravelClaim,
           files={"receipts": (PDF, "receipt.pdf")})
    page = client.get(f"/travel/{trip_id}").get_data(as_text=True)
    receipts_page = page[page.index(f"/travel/{trip_id}/receipts"):]
    _twice(app, client, f"/travel/{trip_id}/receipts", {"submission_key": _key(receipts_page)}, Receipt,
           files={"receipts": (PDF + b"another", "second.pdf")})


def _version(page: str) -> str:
    tag = re.search(r'<input[^>]*name="version"[^>]*>', page).group(0)
    return re.search(r'value="([^"]*)"', tag).group(1)


def test_an_import_file_sent_twice_is_one_preview(app, staff):
    from tests.services.test_application_import import _csv, _row

    content = _in_db(app, lambda: (make_phase(), _csv([_row(make_municipality())]))[1])
    page = staff.get("/applications/imports/new?phase=2").get_data(as_text=True)
    _twice(app, staff, "/applications/imports/new?phase=2", {"submission_key": _key(page), "received_at": "2025-12-22T09:00"},
           ImportBatch, files={"file": (content, "kaitou.csv")})


@pytest.mark.timing
@pytest.mark.commits
def test_the_same_trip_form_arriving_twice_at_the_same_moment_files_one_request(app):
    """Two arrivals of one form, each on its own connection at once: the key's unique row lets one through."""
    def build():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        staff = make_user("secretariat", email="racer@banso.example")
        trip = make_trip(team, actor=staff, depart_on=date(2026, 6, 1), return_on=date(2026, 6, 2))
        return team.id, trip.travellers[0].officer_id
    team_id, officer_id = _in_db(app, build)
    clients = [app.test_client(), app.test_client()]
    for client in clients:
        login(client, "racer@banso.example")
    key = _key(clients[0].get(f"/travel/new?team_id={team_id}").get_data(as_text=True))
    form = {"team_id": team_id, "travellers": [str(officer_id)], "purpose": "site_visit", "submission_key": key,
            "destination_prefecture": "岩手県", "destination": "同時町", "depart_on": "2026-07-01", "return_on": "2026-07-02",
            "rail_yen": "30000", "room_rate_yen": "12000", "meals": "0"}
    before = _count(app, TripRequest)
    barrier, answers = racing_barrier(2), []

    def send(client):
        barrier.wait()
        answers.append(client.post("/travel/new", data=form).status_code)

    race(send, [(c,) for c in clients])
    assert _count(app, TripRequest) == before + 1
    assert sorted(answers)[0] == 302 and all(code in (302, 409) for code in answers)


@pytest.mark.commits
def test_a_form_refused_after_its_key_is_taken_can_be_sent_again_on_every_database(app):
    """Found in Chromium on the embedded SQLite: a reply refused (a colleague's reply crossed it) had spent its one-time
    key for good — pysqlite ran the key's SAVEPOINT outside the request's transaction — so sending it again, as the
    page asks, was turned away as a double submit and the reply was lost. Real commits here, as in a running server."""
    def build():
        make_user("secretariat", email="first@banso.example")
        make_user("secretariat", email="second@banso.example")
        return inquiries.receive({"org_type": "other", "category": "general", "name": "問合 太郎", "email": "q@example.jp",
                                  "subject": "件名", "body": "本文"}, channel="form", actor=None).id
    inquiry_id = _in_db(app, build)
    first, second = app.test_client(), app.test_client()
    login(first, "first@banso.example")
    login(second, "second@banso.example")
    pages = [c.get(f"/inquiries/{inquiry_id}").get_data(as_text=True) for c in (first, second)]

    def fields(page: str) -> dict:
        return {name: re.search(rf'name="{name}" (?:type="hidden" )?value="([^"]*)"', page).group(1)
                for name in ("version", "seen_message_id", "submission_key")}

    assert first.post(f"/inquiries/{inquiry_id}/reply", data={"body": "先の回答", **fields(pages[0])}).status_code == 302
    crossed = second.post(f"/inquiries/{inquiry_id}/reply", data={"body": "後の回答", **fields(pages[1])})
    assert crossed.status_code == 409
    again = second.post(f"/inquiries/{inquiry_id}/reply", data={"body": "後の回答", **fields(crossed.get_data(as_text=True))})
    assert again.status_code == 302 and "/inquiries/" in again.location
    assert _count(app, InquiryMessage) == 3  # the question and both replies
