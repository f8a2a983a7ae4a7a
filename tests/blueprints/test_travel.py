"""旅費 over HTTP: who sees which trip, claim and receipt; the form's errors; the live estimate;
the budget's export."""
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from banso.extensions import db
from banso.models import Role, Team, TripRequest, User
from banso.services import travel
from tests.conftest import login
from tests.factories import make_publication, make_rates, make_team, make_trip, make_user

PDF = b"%PDF-1.4\nsecret receipt of the claimant\n%%EOF\n"


@pytest.fixture
def world(app, clock):
    """Two teams; an officer on each with a sign-in; one claimed trip with a receipt on the first."""
    with app.app_context():
        make_rates(2026)
        own_team, other_team = make_team(), make_team()
        make_publication(own_team.phase)  # released: officers and finance see the teams (PUB-2 has its own tests)
        owner, other = make_user(Role.OFFICER, email="owner@banso.example"), make_user(Role.OFFICER, email="other@banso.example")
        own_team.current_members[0].officer.user = owner
        other_team.current_members[0].officer.user = other
        make_user(Role.FINANCE, email="finance@banso.example")
        staff = make_user(Role.SECRETARIAT, email="staff@banso.example")
        trip = make_trip(own_team, actor=staff, itinerary="極秘の行程")
        travel.review_request(trip, "approve", actor=make_user(Role.FINANCE))
        lines = [travel.ClaimInput(line.officer_id, line.category, line.amount_yen) for line in trip.estimate_lines]
        claim = travel.file_claim(trip, lines, [("receipt.pdf", PDF)], actor=owner)
        ids = {"trip": trip.id, "receipt": claim.receipts[0].id, "own_team": own_team.id, "other_team": other_team.id}
        db.session.commit()
        return ids


def test_an_officer_sees_only_their_own_trips_claims_and_receipts(client, world):
    login(client, "other@banso.example")
    assert client.get(f"/travel/{world['trip']}").status_code == 403
    assert client.get(f"/travel/receipts/{world['receipt']}").status_code == 403
    assert client.get(f"/travel/{world['trip']}/claim").status_code == 403
    listing = client.get("/travel/").get_data(as_text=True)
    assert "極秘の行程" not in listing and f"出-{world['trip']:05d}" not in listing
    export = client.get("/travel/?format=csv").get_data(as_text=True)
    assert f"出-{world['trip']:05d}" not in export
    client.post("/logout")

    login(client, "owner@banso.example")
    assert client.get(f"/travel/{world['trip']}").status_code == 200
    assert f"出-{world['trip']:05d}" in client.get("/travel/").get_data(as_text=True)
    receipt = client.get(f"/travel/receipts/{world['receipt']}")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf" and receipt.data == PDF
    assert "no-store" in receipt.headers["Cache-Control"]


def test_finance_sees_the_receipt_and_reviews_but_files_nothing(client, world):
    login(client, "finance@banso.example")
    assert client.get(f"/travel/receipts/{world['receipt']}").data == PDF
    page = client.get(f"/travel/{world['trip']}").get_data(as_text=True)
    assert "認定額で精算する" in page and "領収書" in page
    assert client.get("/travel/new").status_code == 403


def test_the_form_keeps_what_was_typed_and_shows_japanese_errors(client, world, app):
    login(client, "owner@banso.example")
    form = {"team_id": world["own_team"], "purpose": "site_visit", "destination_prefecture": "岩手県",
            "depart_on": "2026-06-12", "return_on": "2026-06-10", "rail_yen": "abc", "room_rate_yen": "9000", "meals": "0"}
    response = client.post("/travel/new", data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "無効な整数です" in body
    response = client.post("/travel/new", data=dict(form, rail_yen="30000"))
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "帰着日は出発日以降にしてください" in body and 'value="30000"' in body
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRequest)) == 1  # only the fixture's


def test_an_officer_files_for_their_team_and_the_estimate_answers_as_a_fragment(client, world, app):
    login(client, "owner@banso.example")
    with app.app_context():
        officer_id = db.session.scalar(select(TripRequest).where(TripRequest.id == world["trip"])).travellers[0].officer_id
    form = {"team_id": world["own_team"], "travellers": [str(officer_id)], "purpose": "site_visit",
            "destination_prefecture": "岩手県", "destination": "テスト町", "depart_on": "2026-07-01", "return_on": "2026-07-02",
            "rail_yen": "30000", "room_rate_yen": "12000", "meals": "0"}
    fragment = client.post(f"/travel/estimate?team_id={world['own_team']}", data=form, headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert "42,400円" in body and "範囲内です" in body  # 30,000 + lodging capped at 10,000 + 2,400
    assert client.post(f"/travel/estimate?team_id={world['other_team']}", data=form).status_code == 403
    response = client.post("/travel/new", data=form)
    assert response.status_code == 302
    with app.app_context():
        trip = db.session.scalar(select(TripRequest).order_by(TripRequest.id.desc()))
        assert trip.estimated_yen == 42_400 and trip.cost_bearer == "national" and trip.filed_by.email == "owner@banso.example"


def test_a_request_over_the_available_budget_is_shown_before_filing(client, world, app):
    with app.app_context():
        trip = db.session.get(TripRequest, world["trip"])
        trip.phase.travel_budget_cap_yen = trip.estimated_yen + 1_000
        officer_id = trip.travellers[0].officer_id
        db.session.commit()
    login(client, "owner@banso.example")
    form = {"team_id": world["own_team"], "travellers": [str(officer_id)], "purpose": "site_visit",
            "destination_prefecture": "岩手県", "depart_on": "2026-07-01", "return_on": "2026-07-02",
            "rail_yen": "30000", "room_rate_yen": "9000", "meals": "0"}
    body = client.post(f"/travel/estimate?team_id={world['own_team']}", data=form).get_data(as_text=True)
    assert "このままでは承認できません" in body


def test_budget_page_and_workbook_for_the_accounting_books(client, world):
    login(client, "finance@banso.example")
    page = client.get("/travel/budget").get_data(as_text=True)
    assert "予算上限" in page and "97,000,000円" in page and "<svg" in page
    workbook = load_workbook(io.BytesIO(client.get("/travel/budget?format=xlsx").data))
    assert workbook.sheetnames == ["集計", "月別", "チーム別", "都道府県別", "精算明細", "上限改定履歴"]
    summary = {row[0]: row[1] for row in workbook["集計"].iter_rows(min_row=2, values_only=True)}
    assert summary["予算上限"] == 97_000_000 and summary["残額"] == 97_000_000 - summary["執行予定（承認済・未精算）"]
    assert workbook["精算明細"].max_row == 1 + 9  # three travellers × rail, lodging, allowance


def test_only_an_admin_revises_the_cap_and_only_finance_edits_rates(client, world, app):
    login(client, "staff@banso.example")
    assert client.post("/travel/budget/cap", data={"new_cap": "1", "reason": "x"}).status_code == 403
    assert client.post("/travel/rates", data={"year": "2026"}).status_code == 403
    client.post("/logout")
    login(client, "finance@banso.example")
    form = {"year": "2026", **{f"lodging-課長級以下-{p}": "10000" for p in ["北海道"]}, "allowance-0": "2500"}
    response = client.post("/travel/rates", data=form)
    assert response.status_code == 422 and "宿泊費基準額は1〜200,000円" in response.get_data(as_text=True)
    with app.app_context():
        assert travel.night_allowance(2026, 0) == 2_400  # nothing saved from a rejected table


def test_finance_approves_over_http_and_the_list_filters(client, world, app):
    with app.app_context():
        team = db.session.get(Team, world["own_team"])
        pending = make_trip(team, depart_on=date(2026, 8, 3), return_on=date(2026, 8, 4)).id
        db.session.commit()
    login(client, "finance@banso.example")
    awaiting = client.get("/travel/?stage=awaiting", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in awaiting and f"出-{pending:05d}" in awaiting
    assert client.post(f"/travel/{pending}/review", data={"decision": "approve"}).status_code == 302
    with app.app_context():
        assert db.session.get(TripRequest, pending).status == "approved"
    approved = client.get("/travel/?stage=approved&month=2026-08").get_data(as_text=True)
    assert f"出-{pending:05d}" in approved and f"出-{world['trip']:05d}" not in approved


def test_the_team_filter_is_a_select_for_a_few_teams_and_the_search_box_for_many(client, world, app, monkeypatch):
    """Found by `make bench`: a phase of a thousand teams drew a thousand options on every view of the trip list.
    Beyond TEAM_SELECT_LIMIT the search box finds a team by its municipality; a team chosen from its own page's link
    is shown with a way to clear it, and the list is still filtered by it."""
    from banso.blueprints.travel import views

    with app.app_context():
        own_name = db.session.get(Team, world["own_team"]).name
    login(client, "finance@banso.example")
    assert 'name="team_id"' in client.get("/travel/").get_data(as_text=True).split("<select", 1)[1]
    monkeypatch.setattr(views, "TEAM_SELECT_LIMIT", 1)
    page = client.get("/travel/").get_data(as_text=True)
    assert '<select name="team_id"' not in page and "解除" not in page
    chosen = client.get(f"/travel/?team_id={world['own_team']}").get_data(as_text=True)
    assert '<select name="team_id"' not in chosen and f"チーム: {own_name}" in chosen and "解除" in chosen
    assert f'type="hidden" name="team_id" value="{world["own_team"]}"' in chosen
    assert f"出-{world['trip']:05d}" in chosen
    other = client.get(f"/travel/?team_id={world['other_team']}").get_data(as_text=True)
    assert f"出-{world['trip']:05d}" not in other


def test_trv_2_the_review_buttons_show_only_to_finance_who_may_review(app, client, world):
    """Found: a finance user saw 承認する on a trip they were on themselves, which the service then refused.
    The page and the service ask the same policy."""
    with app.app_context():
        team = db.session.get(Team, world["own_team"])
        staff = db.session.scalar(select(User).where(User.email == "staff@banso.example"))
        trip = make_trip(team, actor=staff, depart_on=date(2026, 7, 1), return_on=date(2026, 7, 2))
        finance_traveller = make_user(Role.FINANCE, email="finance-traveller@banso.example")
        trip.travellers[0].officer.user = finance_traveller  # a finance user who also travels on this trip
        db.session.commit()
        trip_id = trip.id
    login(client, "finance-traveller@banso.example")
    page = client.get(f"/travel/{trip_id}").get_data(as_text=True)
    assert 'value="approve"' not in page
    assert client.post(f"/travel/{trip_id}/review", data={"decision": "approve"}).status_code == 302
    with app.app_context():
        assert db.session.get(TripRequest, trip_id).status == "submitted"  # and the service refused it too
    client.post("/logout")
    login(client, "finance@banso.example")
    assert 'value="approve"' in client.get(f"/travel/{trip_id}").get_data(as_text=True)


def test_the_same_trip_form_sent_three_times_files_one_request(client, world, app):
    """Found: three identical POSTs of the trip form made three trip requests, each committing budget."""
    login(client, "owner@banso.example")
    with app.app_context():
        officer_id = db.session.get(TripRequest, world["trip"]).travellers[0].officer_id
        before = db.session.scalar(select(func.count()).select_from(TripRequest))
    page = client.get(f"/travel/new?team_id={world['own_team']}").get_data(as_text=True)
    key = page.split('name="submission_key" type="hidden" value="')[1].split('"')[0]
    form = {"team_id": world["own_team"], "travellers": [str(officer_id)], "purpose": "site_visit", "submission_key": key,
            "destination_prefecture": "岩手県", "destination": "テスト町", "depart_on": "2026-07-01", "return_on": "2026-07-02",
            "rail_yen": "30000", "room_rate_yen": "12000", "meals": "0"}
    first, second, third = (client.post("/travel/new", data=form) for _ in range(3))
    assert first.status_code == second.status_code == third.status_code == 302
    assert first.location == second.location == third.location  # all three see the one request
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRequest)) == before + 1
    assert "二重の送信を防ぎました" in client.get(third.location).get_data(as_text=True)
    refused = client.post("/travel/new", data=dict(form, submission_key="another-key", return_on="2026-06-30"))
    assert refused.status_code == 422  # a refused form keeps its key free: corrected, it goes through
    assert client.post("/travel/new", data=dict(form, submission_key="another-key")).status_code == 302


def test_trv_2_the_visit_plans_have_a_page_of_their_own_a_page_at_a_time(app, client, world):
    """Found: /travel/budget rendered every team's plan form (1 MB at N = 10); the plans are now paged on their own
    page, and a saved plan returns to the page it was saved from."""
    app.config["PER_PAGE"] = 1
    login(client, "finance@banso.example")
    budget = client.get("/travel/budget?phase=2").get_data(as_text=True)
    assert 'id="plan-' not in budget and "/travel/budget/plans?phase=2" in budget
    first = client.get("/travel/budget/plans?phase=2").get_data(as_text=True)
    second = client.get("/travel/budget/plans?phase=2&page=2").get_data(as_text=True)
    assert f'id="plan-{world["own_team"]}"' in first and f'id="plan-{world["other_team"]}"' in second
    assert f'id="plan-{world["other_team"]}"' not in first and "全2件中" in first
    with app.app_context():
        version = travel.plan_for(db.session.get(Team, world["other_team"])).version
    saved = client.post(f"/travel/budget/plans/{world['other_team']}?page=2",
                        data={"planned_site_visits": "2", "standard_visit_cost_yen": "120000", "version": version or 0})
    assert saved.status_code == 302 and "/travel/budget/plans" in saved.location and "page=2" in saved.location


def test_a_claim_before_the_trip_starts_is_refused_before_anything_is_typed(client, world, app):
    """Found: the claim form was offered for a trip not yet started; everything was typed, then refused (the message
    shown twice) and the chosen receipt lost."""
    with app.app_context():
        team = db.session.get(Team, world["own_team"])
        later = make_trip(team, actor=db.session.scalar(select(User).where(User.email == "staff@banso.example")),
                          depart_on=date(2026, 12, 21), return_on=date(2026, 12, 22))
        travel.review_request(later, "approve", actor=db.session.scalar(select(User).where(User.role == "finance")))
        trip_id = later.id
        db.session.commit()
    login(client, "owner@banso.example")
    detail = client.get(f"/travel/{trip_id}").get_data(as_text=True)
    assert "以降に申請できます" in detail and f"/travel/{trip_id}/claim" not in detail
    refused = client.get(f"/travel/{trip_id}/claim")
    assert refused.status_code == 302 and refused.location.endswith(f"/travel/{trip_id}")
    shown = client.get(refused.location).get_data(as_text=True)
    assert shown.count("精算は出張の開始日（令和8年12月21日）以降に申請できます") == 2  # the message, and the note in place of the link


def test_the_accounting_workbook_is_laid_out_for_the_books(client, world, app):
    """Issue 33: amounts as #,##0, the header frozen with a filter, fitted widths, and the 精算明細 columns the books
    need (年度, 精算日（支出日）, 支払先, 負担者, 予算科目); the settlement's comment is shown on the trip."""
    with app.app_context():
        trip = db.session.get(TripRequest, world["trip"])
        travel.review_claim(trip, "settle", {}, "領収書を確認しました。", actor=make_user(Role.FINANCE))
        db.session.commit()
    login(client, "finance@banso.example")
    workbook = load_workbook(io.BytesIO(client.get("/travel/budget?format=xlsx").data))
    ledger = workbook["精算明細"]
    header = [cell.value for cell in ledger[1]]
    for column in ("年度", "精算日（支出日）", "支払先（出張者）", "負担者", "予算科目", "認定（円）"):
        assert column in header, column
    first = {label: cell for label, cell in zip(header, ledger[2])}
    assert first["年度"].value == 2026 and first["予算科目"].value == app.config["TRAVEL_BUDGET_ITEM"]
    assert first["認定（円）"].number_format == "#,##0" and first["認定（円）"].value > 0
    assert first["精算日（支出日）"].is_date and first["精算日（支出日）"].number_format == "yyyy/mm/dd"
    assert ledger.freeze_panes == "A2" and ledger.auto_filter.ref.startswith("A1:")
    widths = {column: ledger.column_dimensions[column].width for column in ("A", "G")}
    assert widths["G"] > widths["A"]  # a traveller's name is wider than a year
    summary = workbook["集計"]
    assert summary["B2"].number_format == "#,##0"
    page = client.get(f"/travel/{world['trip']}").get_data(as_text=True)
    assert "精算の審査（会計担当）のコメント: 領収書を確認しました。" in page
