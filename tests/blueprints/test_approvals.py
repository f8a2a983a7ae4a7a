"""Issue 34, the pages: the inbox shows what waits for a person (and for whom they deputise), 後閲 is read there, an
absence and its 代決者 are recorded there, an admin sets a route as lines, and the 旅行命令簿 names who issued each
order — 「A（代決 B）」 when a deputy decided."""
import io
from datetime import datetime

from openpyxl import load_workbook

from banso.clock import JST
from banso.extensions import db
from sqlalchemy import select

from banso.models import ApprovalCase, Role, TripRequest, User
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


def test_a_case_about_a_held_team_is_held_like_the_team(app, client):
    """PUB-2 over 決裁: a route may name someone outside the secretariat (here a finance officer for 支援延長); before
    the release they neither see the case in their inbox nor open it — after it, they decide it."""
    from banso.services import teams

    with app.app_context():
        team = make_team()
        record = make_publication(team.phase, status="notified")
        reader = make_user(Role.FINANCE, email="reader@banso.example")
        admin = make_user(Role.ADMIN)
        approvals.set_route("extension", [{"label": "会計", "who": [{"user": reader.id}], "need": "one"}], actor=admin)
        case = teams.request_extension(team, new_end=team.end_date.replace(year=team.end_date.year + 1), reason="延長",
                                       actor=make_user(Role.SECRETARIAT))
        ids = {"case": case.id, "record": record.id, "name": team.municipality.name}
        db.session.commit()
    login(client, "reader@banso.example")
    inbox = client.get("/approvals/").get_data(as_text=True)
    assert "決裁待ち（0件）" in inbox and ids["name"] not in inbox
    assert client.get(f"/approvals/{ids['case']}").status_code == 404
    assert ids["name"] not in client.get("/approvals/summary").get_data(as_text=True)
    with app.app_context():
        from banso.models import Publication

        released = db.session.get(Publication, ids["record"])
        released.status, released.released_at = "released", datetime.now(JST)
        db.session.commit()
    inbox = client.get("/approvals/").get_data(as_text=True)
    assert "決裁待ち（1件）" in inbox
    page = client.get(f"/approvals/{ids['case']}")
    assert page.status_code == 200 and "承認する" in page.get_data(as_text=True)
    assert client.post(f"/approvals/{ids['case']}", data={"action": "approve"}).status_code == 302
    with app.app_context():
        assert approvals.latest_case("extension", db.session.get(ApprovalCase, ids["case"]).subject_id).status == "approved"


def test_the_case_page_recalls_resubmits_and_says_409_when_someone_acted_first(app, client):
    """A 起案者 recalls and re-submits from the case's page; a 差戻し needs a reason; a recall after an approval is
    refused with 409 and the page says why."""
    with app.app_context():
        team = make_team()
        make_publication(team.phase)
        make_user(Role.SECRETARIAT, email="drafter@banso.example")
        make_user(Role.ADMIN, email="boss@banso.example")
        make_user(Role.ADMIN, email="boss2@banso.example")
        approvals.set_route("cap_revision", [{"label": "管理者", "who": [{"role": "admin"}], "need": "one"},
                                             {"label": "別の管理者", "who": [{"role": "admin"}], "need": "one"}],
                            actor=make_user(Role.ADMIN))
        db.session.commit()
        phase = team.phase.number
    login(client, "boss2@banso.example")
    drafted = client.post(f"/travel/budget/cap?phase={phase}", data={"new_cap": "90000000", "reason": "補正予算"},
                          follow_redirects=True)
    assert "起案しました" in drafted.get_data(as_text=True)
    with app.app_context():
        case_id = db.session.scalar(select(ApprovalCase.id).where(ApprovalCase.kind == "cap_revision"))
    client.post("/logout")
    login(client, "boss2@banso.example")
    assert client.post(f"/approvals/{case_id}", data={"action": "recall"}).status_code == 302
    assert "差戻し" in client.get(f"/approvals/{case_id}").get_data(as_text=True)
    assert client.post(f"/approvals/{case_id}", data={"action": "resubmit"}).status_code == 302
    client.post("/logout")
    login(client, "boss@banso.example")
    page = client.get(f"/approvals/{case_id}").get_data(as_text=True)
    assert "この案件のルートを変更する" in page and page.count('id="case-reroute"') == 1  # an admin's, once, in the page
    assert "<section" not in page.split("<title>")[1].split("</title>")[0]
    empty = client.post(f"/approvals/{case_id}", data={"action": "return", "reason": " "})
    assert "理由を入力してください" in empty.get_data(as_text=True)
    assert client.post(f"/approvals/{case_id}", data={"action": "approve"}).status_code == 302
    client.post("/logout")
    login(client, "boss2@banso.example")
    late = client.post(f"/approvals/{case_id}", data={"action": "recall"})
    assert late.status_code == 409 and "引き戻せません" in late.get_data(as_text=True)
    with app.app_context():
        versions = [a.revision for a in db.session.get(ApprovalCase, case_id).actions if a.verb == "submit"]
        assert versions == [1, 2]  # v1 and v2 kept


def test_routine_claims_are_approved_together_from_the_inbox(app, client):
    from tests.services.test_approvals_flow import PDF

    from banso.services import travel

    with app.app_context():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        finance = make_user(Role.FINANCE, email="fin@banso.example")
        staff = make_user(Role.SECRETARIAT)
        trips = []
        for day in (1, 8):
            trip = make_trip(team, actor=staff, depart_on=datetime(2026, 7, day).date(), return_on=datetime(2026, 7, day + 1).date())
            travel.review_request(trip, "approve", actor=finance)
            lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
            travel.file_claim(trip, lines, [("receipt.pdf", PDF)], actor=staff)
            trips.append(trip.id)
        app.config["APPROVAL_BULK_CLAIM_LIMIT_YEN"] = 10**7
        cases = [approvals.open_case("claim", t).id for t in trips]
        db.session.commit()
    login(client, "fin@banso.example")
    inbox = client.get("/approvals/").get_data(as_text=True)
    assert inbox.count('name="case_ids"') == 2 and "まとめて承認する" in inbox
    done = client.post("/approvals/bulk", data={"case_ids": [str(c) for c in cases]}, follow_redirects=True)
    assert "2件を「承認」にしました" in done.get_data(as_text=True)
    with app.app_context():
        assert {db.session.get(TripRequest, t).status for t in trips} == {"settled"}


def test_an_issued_order_is_changed_through_its_case_and_the_book_shows_it(app, client, clock):
    """旅費法第4条・第5条 on the pages: the secretariat asks for a change of an issued order on the trip's form with a
    reason; finance decides it on the case's page; the 旅行命令簿 (and its Excel) shows the change, and a departure
    from the order recorded on the trip's page."""
    from banso.services import travel

    with app.app_context():
        make_rates(2026)
        team = make_team()
        make_publication(team.phase)
        staff = make_user(Role.SECRETARIAT, email="staff@banso.example")
        make_user(Role.FINANCE, email="fin@banso.example")
        trip = make_trip(team, actor=staff)
        travel.review_request(trip, "approve", actor=make_user(Role.FINANCE))
        form = travel.request_form_data(trip)
        ids = {"trip": trip.id, "phase": team.phase.number}
        db.session.commit()
    login(client, "staff@banso.example")
    assert "旅行命令の変更を申請する" in client.get(f"/travel/{ids['trip']}").get_data(as_text=True)
    assert "変更の理由" in client.get(f"/travel/{ids['trip']}/change").get_data(as_text=True)
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in form.items()} | {"depart_on": "2026-06-12",
                                                                                          "return_on": "2026-06-13"}
    missing = client.post(f"/travel/{ids['trip']}/change", data=data)
    assert missing.status_code == 422 and "変更の理由を入力してください" in missing.get_data(as_text=True)
    asked = client.post(f"/travel/{ids['trip']}/change", data=data | {"reason": "先方の日程変更"}, follow_redirects=True)
    assert "旅行命令の変更を起案しました" in asked.get_data(as_text=True)
    with app.app_context():
        case_id = approvals.open_case("travel_order_change", ids["trip"]).id
    client.post("/logout")
    login(client, "fin@banso.example")
    assert client.post(f"/approvals/{case_id}", data={"action": "approve"}).status_code == 302
    clock.set(datetime(2026, 6, 13, 18, tzinfo=JST))
    client.post("/logout")
    login(client, "staff@banso.example")
    assert client.post(f"/travel/{ids['trip']}/departure", data={"departure_note": "大雨のため帰着を翌日に変更"}).status_code == 302
    client.post("/logout")
    login(client, "fin@banso.example")
    book = client.get(f"/travel/orders?phase={ids['phase']}").get_data(as_text=True)
    assert "日程：6月10日〜6月11日 → 6月12日〜6月13日" in book and "大雨のため帰着を翌日に変更" in book
    sheet = load_workbook(io.BytesIO(client.get(f"/travel/orders?phase={ids['phase']}&format=xlsx").data)).active
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]]))
    assert "先方の日程変更" in row["旅行命令の変更（第4条）"] and row["命令と異なる旅行（第5条）"].startswith("大雨")
