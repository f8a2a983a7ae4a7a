"""Each user's own iCal feed, read back by a real parser (icalendar): the Japan-time hour with its VTIMEZONE, a cancelled
trip sent as cancelled, a renewed address replacing the old one, and a held team staying held (PUB-2)."""
from datetime import date, datetime, timedelta

import pytest
from icalendar import Calendar

from banso.clock import JST, jst
from banso.extensions import db
from banso.models import Role
from banso.services import calendar_feed, travel
from tests.conftest import login
from tests.factories import make_phase, make_publication, make_rates, make_team, make_trip, make_user


def _events(client, token: str) -> dict[str, dict]:
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    events = [{"summary": str(e["SUMMARY"]), "start": e.decoded("DTSTART"), "end": e.decoded("DTEND"),
               "status": str(e["STATUS"]), "uid": str(e["UID"])} for e in calendar.walk("VEVENT")]
    assert len({e["uid"] for e in events}) == len(events)  # each item once, under a UID that stays the same
    return {e["summary"] if not e["uid"].startswith("trip-") else e["uid"]: e for e in events}


@pytest.fixture
def world(app, clock):
    clock.set(jst(2026, 6, 1, 10))
    with app.app_context():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        officer = make_user(Role.OFFICER, email="officer@banso.example")
        team.current_members[0].officer.user = officer
        staff = make_user(Role.SECRETARIAT, email="staff@banso.example")
        kept = make_trip(team, actor=staff, depart_on=date(2026, 6, 10), return_on=date(2026, 6, 11))
        dropped = make_trip(team, actor=staff, depart_on=date(2026, 7, 1), return_on=date(2026, 7, 2))
        travel.cancel_request(dropped, actor=staff)
        held_phase = make_phase(number=3, name="第3期", fiscal_year=2027, survey_opens_at=jst(2026, 5, 1, 10),
                                answer_deadline_at=jst(2026, 5, 20, 17), support_start=date(2027, 4, 1), support_end=date(2028, 3, 31))
        held = make_team(held_phase)  # confirmed for nobody yet: its officer has not been told
        held_officer = make_user(Role.OFFICER, email="held@banso.example")
        held.current_members[0].officer.user = held_officer
        tokens = {"officer": calendar_feed.renew(officer, actor=officer), "staff": calendar_feed.renew(staff, actor=staff),
                  "held": calendar_feed.renew(held_officer, actor=held_officer)}
        db.session.commit()
        return {"tokens": tokens, "kept": kept.number, "dropped": dropped.number, "team": team.name,
                "held_town": held.municipality.name}


def test_an_officers_feed_has_their_team_reports_and_trips_and_a_cancelled_trip_as_cancelled(client, world):
    events = _events(client, world["tokens"]["officer"])
    trips = {e["status"]: e for uid, e in events.items() if uid.startswith("trip-")}
    assert set(trips) == {"TENTATIVE", "CANCELLED"}  # filed and awaiting review; cancelled, not dropped
    assert trips["TENTATIVE"]["start"] == date(2026, 6, 10) and trips["TENTATIVE"]["end"] == date(2026, 6, 12)
    assert events["活動報告（上期）の提出期限"]["start"] == date(2026, 9, 30)
    assert events["第2期 伴走支援の開始"]["start"] == date(2026, 4, 1)
    assert not any("回答締切" in name for name in events)  # the secretariat's deadlines are not an officer's


def test_the_secretariats_feed_has_each_live_phases_deadlines_at_the_japanese_hour(client, world):
    events = _events(client, world["tokens"]["staff"])
    deadline = events["第3期 活用希望調査の回答締切"]["start"]
    assert isinstance(deadline, datetime) and deadline.astimezone(JST).hour == 17
    assert deadline.astimezone(JST) == jst(2026, 5, 20, 17) and deadline.utcoffset() == timedelta(hours=9)
    assert not any(uid.startswith("trip-") for uid in events)


def test_a_held_team_stays_held_in_its_officers_feed(client, world):
    body = client.get(f"/calendar/{world['tokens']['held']}.ics").get_data(as_text=True)
    assert world["held_town"] not in body and "活動報告" not in body and "第3期" not in body


def test_a_renewed_address_replaces_the_old_one_and_a_wrong_one_finds_nothing(app, client, world):
    login(client, "officer@banso.example")
    page = client.post("/account/calendar").get_data(as_text=True)
    assert "このアドレスは今回だけ表示されます" in page
    new = page.split("/calendar/", 1)[1].split(".ics", 1)[0]
    assert client.get(f"/calendar/{world['tokens']['officer']}.ics").status_code == 404
    assert client.get(f"/calendar/{new}.ics").status_code == 200
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    assert "発行済み" in client.get("/account/calendar").get_data(as_text=True)


def test_once_noticed_an_officer_sees_their_own_held_team_in_the_feed_and_no_other(app, client, world):
    from sqlalchemy import select

    from banso.models import Phase
    from banso.services import publication

    with app.app_context():
        held_phase = db.session.scalar(select(Phase).where(Phase.number == 3))
        staff = make_user(Role.SECRETARIAT)
        other = make_team(held_phase)
        publication.confirm(held_phase, actor=staff)
        publication.send_advance_notices(held_phase, actor=staff)
        other_town = other.municipality.name
        db.session.commit()
    body = client.get(f"/calendar/{world['tokens']['held']}.ics").get_data(as_text=True)
    assert "活動報告" in body and "第3期" in body  # their own team, told to them in advance (PUB-2)
    assert other_town not in body
    from banso.models import AuditEntry, User

    with app.app_context():  # found: the audit row had no actor, and its path was the feed's secret address
        rows = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "view_confidential")))
        owner = db.session.scalar(select(User).where(User.email == "held@banso.example"))
        assert rows and {row.actor_id for row in rows} == {owner.id}
        assert not any(world["tokens"]["held"] in row.summary + str(row.after) for row in rows)

