"""Issue 34, the pages: the inbox shows what waits for a person (and for whom they deputise), 後閲 is read there, an
absence and its 代決者 are recorded there, an admin sets a route as lines, and the 旅行命令簿 names who issued each
order — 「A（代決 B）」 when a deputy decided."""
import io
from datetime import datetime

from openpyxl import load_workbook

from banso.clock import JST
from banso.extensions import db
from banso.models import Role, TripRequest, User
from banso.services import approvals
from tests.conftest import login
from tests.factories import make_publication, make_rates, make_team, make_trip, make_user


def _world(app):
    with app.app_context():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        a = make_user(Role.FINANCE, email="a@banso.example", name="会計課長 A")
        b = make_user(Role.FINANCE, email="b@banso.example", name="会計 B")
        make_user(Role.ADMIN, email="admin@banso.example")
        staff = make_user(Role.SECRETARIAT, email="staff@banso.example")
        approvals.set_route("travel_order", [{"label": "会計課長", "who": [{"user": a.id}], "need": "one"}],
                            actor=make_user(Role.ADMIN))
        trip = make_trip(team, actor=staff)
        ids = {"trip": trip.id, "phase": team.phase.number, "a": a.id, "b": b.id}
        db.session.commit()
        return ids


def test_a_deputy_decides_from_the_inbox_and_the_order_book_names_both(app, client, clock):
    ids = _world(app)
    clock.set(datetime(2026, 8, 11, 10, tzinfo=JST))
    login(client, "a@banso.example")
    page = client.get("/approvals/").get_data(as_text=True)
    assert "決裁待ち（1件）" in page
    recorded = client.post("/approvals/absences", data={"starts_on": "2026-08-10", "ends_on": "2026-08-14", "deputy_id": ids["b"]})
    assert recorded.status_code == 302
    client.post("/logout")
    login(client, "b@banso.example")
    inbox = client.get("/approvals/").get_data(as_text=True)
    assert "決裁待ち（1件）" in inbox and "代決" in inbox
    with app.app_context():
        version = db.session.get(TripRequest, ids["trip"]).version
    decided = client.post(f"/travel/{ids['trip']}/review", data={"decision": "approve", "version": version})
    assert decided.status_code == 302
    timeline = client.get(f"/travel/{ids['trip']}/order").get_data(as_text=True)
    assert "決裁済" in timeline and "承認 会計 B（代決: 会計課長 A）" in timeline
    book = client.get(f"/travel/orders?phase={ids['phase']}").get_data(as_text=True)
    assert "会計課長 A（代決 会計 B）" in book
    sheet = load_workbook(io.BytesIO(client.get(f"/travel/orders?phase={ids['phase']}&format=xlsx").data)).active
    assert [c.value for c in sheet[1]][:3] == ["旅行命令番号", "命令日", "旅行命令権者"]
    assert sheet["C2"].value == "会計課長 A（代決 会計 B）"
    clock.set(datetime(2026, 8, 17, 10, tzinfo=JST))
    client.post("/logout")
    login(client, "a@banso.example")
    back = client.get("/approvals/").get_data(as_text=True)
    assert "後閲（1件）" in back
    with app.app_context():
        action_id = approvals.to_read(db.session.get(User, ids["a"]))[0].id
    assert client.post(f"/approvals/read/{action_id}").status_code == 302
    assert "後閲（0件）" in client.get("/approvals/").get_data(as_text=True)


def test_an_admin_sets_a_route_as_lines_and_nobody_else_can(app, client):
    _world(app)
    login(client, "staff@banso.example")
    refused = client.post("/approvals/routes?kind=claim", data={"steps": "会計 | role:finance | 1人"})
    assert refused.status_code == 200 and "事務局管理者だけ" in refused.get_data(as_text=True)
    client.post("/logout")
    login(client, "admin@banso.example")
    bad = client.post("/approvals/routes?kind=claim", data={"steps": "会計 | group:finance | 1人"})
    assert "role:admin" in bad.get_data(as_text=True)
    ok = client.post("/approvals/routes?kind=claim",
                     data={"steps": "会計 | role:finance | 1人\n合議 | role:secretariat, user:staff@banso.example | 各 | 代決不可"})
    assert ok.status_code == 302
    with app.app_context():
        route = approvals.route_for("claim")
        assert route.version == 2 and route.steps[1]["need"] == "each" and route.steps[1]["no_proxy"] is True
        assert approvals.parse_route(approvals.route_text(route.steps)) == route.steps  # the form reads back as set
    assert "第2版" in client.get("/approvals/routes").get_data(as_text=True)
