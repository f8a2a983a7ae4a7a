"""旅費: the rate computation, TRV-1, TRV-2 (the cap as a hard stop, visits beyond the plan), TEAM-5's
planned visits, claims with receipts, and the budget figures always equal to the records."""
from datetime import date

import pytest
from sqlalchemy import func, select

from banso.extensions import db
from banso.models import Phase, Receipt, TravelClaim, TripRequest, TripStatus
from banso.services import RuleViolation, files, travel
from tests.conftest import race, racing_barrier, run_worker
from tests.factories import make_officer, make_rates, make_ready_officer, make_team, make_trip, make_user, trip_data

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.fixture
def finance(ctx):
    return make_user("finance")


@pytest.fixture
def staff(ctx):
    return make_user("secretariat")


@pytest.fixture
def team(ctx, clock):
    make_rates(2025)
    make_rates(2026)
    return make_team()


def _claim_all(trip, actor, uploads=(("receipt.pdf", PDF),), **amounts):
    lines = [travel.ClaimInput(line.officer_id, line.category, amounts.get(line.category, line.amount_yen))
             for line in trip.estimate_lines]
    return travel.file_claim(trip, lines, list(uploads), actor=actor)


# --- rates ---------------------------------------------------------------------------------

def test_rates_cap_lodging_and_pay_the_allowance_per_night(team):
    _, estimate = travel.check_request(team, trip_data(team, depart_on=date(2026, 6, 10), return_on=date(2026, 6, 12),
                                                        room_rate_yen=12_000, rail_yen=20_000))
    per_person = {(line.officer.id, line.category): line.amount for line in estimate.lines}
    officer = team.current_members[0].officer
    assert per_person[(officer.id, "lodging")] == 2 * 10_000        # 12,000 a night, capped at 10,000
    assert per_person[(officer.id, "night_allowance")] == 2 * 2_400  # two nights
    assert per_person[(officer.id, "rail")] == 20_000
    assert estimate.total == 3 * (20_000 + 20_000 + 4_800)


def test_rates_below_the_cap_pay_the_actual_room_and_meals_reduce_the_allowance(team):
    _, estimate = travel.check_request(team, trip_data(team, room_rate_yen=8_000, meals=2))
    lines = {line.category: line.amount for line in estimate.lines if line.officer is team.current_members[0].officer}
    assert lines["lodging"] == 8_000 and lines["night_allowance"] == 1_200


def test_rates_day_trip_has_no_lodging_or_allowance(team):
    _, estimate = travel.check_request(team, trip_data(team, return_on=date(2026, 6, 10), room_rate_yen=0))
    assert {line.category for line in estimate.lines} == {"rail"}


def test_rates_fiscal_year_changes_on_april_1(team):
    make_rates(2027, cap=13_000, allowance=3_000)
    team.end_date = date(2027, 4, 30)  # an extended team (TEAM-3) travelling across the fiscal year
    db.session.flush()
    _, estimate = travel.check_request(team, trip_data(team, depart_on=date(2027, 3, 30), return_on=date(2027, 4, 2),
                                                        room_rate_yen=15_000))
    officer = team.current_members[0].officer
    lines = {line.category: line.amount for line in estimate.lines if line.officer is officer}
    # Nights of 3/30 and 3/31 are FY2026 (10,000 / 2,400); the night of 4/1 is FY2027 (13,000 / 3,000).
    assert lines["lodging"] == 10_000 + 10_000 + 13_000
    assert lines["night_allowance"] == 2_400 + 2_400 + 3_000
    assert travel.fiscal_year(date(2027, 3, 31)) == 2026 and travel.fiscal_year(date(2027, 4, 1)) == 2027


def test_rates_grade_band_and_prefecture_decide_the_cap(ctx, clock):
    make_rates(2026, 10_000, 岩手県=8_000)
    team = make_team()
    team.current_members[0].officer.grade_band = "指定職"
    db.session.flush()
    _, estimate = travel.check_request(team, trip_data(team, room_rate_yen=20_000))
    lodging = {line.officer.grade_band: line.amount for line in estimate.lines if line.category == "lodging"}
    assert lodging == {"指定職": 12_000, "課長補佐級": 8_000}


def test_a_missing_rate_is_a_clear_error(ctx, clock):
    team = make_team()
    with pytest.raises(RuleViolation, match="2026年度の宿泊費基準額（岩手県・課長級以下）が登録されていません"):
        travel.check_request(team, trip_data(team))


def test_rate_table_refuses_bad_values_and_keeps_the_old_ones(ctx, finance):
    make_rates(2026, 10_000)
    with pytest.raises(RuleViolation, match="東京都（課長級以下）の宿泊費基準額は1〜200,000円"):
        travel.save_rates(2026, {("課長級以下", "東京都"): "-5", ("課長級以下", "大阪府"): "12000"}, {}, actor=finance)
    assert travel.lodging_cap(2026, "課長級以下", "大阪府") == 10_000


# --- requests: TRV-1 ----------------------------------------------------------------------

def test_trv_1_a_request_is_borne_by_the_state_and_shows_whether_it_fits(team, staff):
    fit = travel.fit(team, trip_data(team))
    assert fit.bearer == "national" and fit.fits and fit.available_after == 97_000_000 - fit.estimate.total
    trip = travel.file_request(team, trip_data(team), actor=staff)
    assert trip.cost_bearer == "national" and trip.status == TripStatus.SUBMITTED
    assert trip.estimated_yen == fit.estimate.total == 3 * (30_000 + 9_000 + 2_400)


@pytest.mark.parametrize("overrides,message", [
    ({"rail_yen": -1}, "鉄道賃は1人あたり0〜1,000,000円"),
    ({"rail_yen": 50_000_000}, "鉄道賃は1人あたり0〜1,000,000円"),
    ({"room_rate_yen": 500_000}, "宿泊料金は1泊あたり0〜100,000円"),
    ({"depart_on": date(2026, 6, 12), "return_on": date(2026, 6, 10)}, "帰着日は出発日以降"),
    ({"depart_on": date(2026, 3, 20), "return_on": date(2026, 3, 21)}, "支援期間"),
    ({"destination_prefecture": "東京府"}, "都道府県「東京府」は選択肢にありません"),
    ({"travellers": []}, "1〜3名"),
    ({"room_rate_yen": 0}, "宿泊料金を入力してください"),
    ({"depart_on": date(2026, 6, 1), "return_on": date(2026, 6, 30)}, "14泊まで"),
])
def test_trv_1_bad_input_is_refused_and_nothing_is_stored(team, staff, overrides, message):
    with pytest.raises(RuleViolation, match=message):
        travel.file_request(team, trip_data(team, **overrides), actor=staff)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TripRequest)) == 0


def test_trv_1_a_traveller_must_be_on_the_team_over_the_dates(team, staff):
    outsider = make_ready_officer(team.phase, "防衛省", name="部外 次郎")
    with pytest.raises(RuleViolation, match="部外 次郎さんは出張期間中の.*メンバーではありません"):
        travel.file_request(team, trip_data(team, travellers=[str(outsider.id)]), actor=staff)


def test_trv_1_an_officer_files_only_for_their_own_team(team):
    user = make_user("officer")
    make_officer(team.phase, status="selected", user=user)
    with pytest.raises(RuleViolation, match="そのチームのメンバーと事務局"):
        travel.file_request(team, trip_data(team), actor=user)


# --- review: TRV-2 ------------------------------------------------------------------------

def test_trv_2_approval_commits_the_estimate_and_refuses_to_pass_the_cap(team, staff, finance):
    first = make_trip(team, actor=staff)
    second = make_trip(team, actor=staff, depart_on=date(2026, 7, 1), return_on=date(2026, 7, 2))
    team.phase.travel_budget_cap_yen = first.estimated_yen + second.estimated_yen - 1
    db.session.flush()
    travel.review_request(first, "approve", actor=finance)
    assert travel.budget(team.phase).committed == first.estimated_yen
    with pytest.raises(RuleViolation, match=r"予算上限を超えるため承認できません.*1円超過") as refused:
        travel.review_request(second, "approve", actor=finance)
    assert refused.value.rule_id == "TRV-2"
    assert second.status == TripStatus.SUBMITTED and travel.budget(team.phase).committed == first.estimated_yen


def test_trv_2_returned_requests_are_corrected_and_resubmitted(team, staff, finance):
    trip = make_trip(team, actor=staff)
    with pytest.raises(RuleViolation, match="差戻しの理由"):
        travel.review_request(trip, "return", "", actor=finance)
    travel.review_request(trip, "return", "宿泊料金の根拠を追記してください", actor=finance)
    assert trip.status == TripStatus.RETURNED and travel.budget(team.phase).committed == 0
    travel.update_request(trip, trip_data(team, room_rate_yen=8_000), actor=staff)
    assert trip.status == TripStatus.SUBMITTED and trip.estimated_yen == 3 * (30_000 + 8_000 + 2_400)
    travel.review_request(trip, "approve", actor=finance)
    with pytest.raises(RuleViolation, match="既に他の方が処理しました|審査できません"):
        travel.review_request(trip, "approve", actor=finance)  # a second click approves nothing twice


def test_trv_2_team_5_site_visits_beyond_the_plan_are_flagged_and_need_a_bearer(team, staff, finance):
    plan = travel.plan_for(team)
    assert plan.planned == 4  # TEAM-5: about one site visit a quarter over the year
    travel.set_plan(team, 1, 100_000, actor=finance)
    within = make_trip(team, actor=staff)
    beyond = make_trip(team, actor=staff, depart_on=date(2026, 9, 1), return_on=date(2026, 9, 2))
    company = make_trip(team, actor=staff, purpose="company_visit", depart_on=date(2026, 9, 10), return_on=date(2026, 9, 11))
    assert not within.over_plan and beyond.over_plan and not company.over_plan
    with pytest.raises(RuleViolation, match="費用負担者（国／市町村）を決定してから承認"):
        travel.review_request(beyond, "approve", actor=finance)
    with pytest.raises(RuleViolation, match="事務局が決定"):
        travel.decide_bearer(beyond, "municipality", "市の要望", actor=finance)
    with pytest.raises(RuleViolation, match="理由"):
        travel.decide_bearer(beyond, "municipality", "", actor=staff)
    travel.decide_bearer(beyond, "municipality", "市の要望による追加訪問", actor=staff)
    travel.review_request(beyond, "approve", actor=finance)
    figures = travel.budget(team.phase)
    assert figures.committed == 0 and figures.municipality_borne == beyond.estimated_yen  # outside the cap


def test_trv_2_nobody_approves_their_own(team, staff):
    reviewer = make_user("finance")
    officer = team.current_members[0].officer
    officer.user = reviewer  # a finance user who also travels on this trip
    db.session.flush()
    trip = make_trip(team, actor=staff)
    with pytest.raises(RuleViolation, match="ご自身が申請者・出張者"):
        travel.review_request(trip, "approve", actor=reviewer)


def test_trv_2_only_finance_reviews(team, staff):
    trip = make_trip(team, actor=staff)
    with pytest.raises(RuleViolation, match="会計担当"):
        travel.review_request(trip, "approve", actor=make_user("admin"))


def test_trv_2_cap_revision_needs_an_admin_and_a_reason_and_never_goes_below_use(team, staff, finance):
    admin = make_user("admin")
    trip = make_trip(team, actor=staff)
    travel.review_request(trip, "approve", actor=finance)
    with pytest.raises(RuleViolation, match="事務局管理者のみ"):
        travel.revise_cap(team.phase, 50_000_000, "補正予算", actor=finance)
    with pytest.raises(RuleViolation, match="理由"):
        travel.revise_cap(team.phase, 50_000_000, " ", actor=admin)
    with pytest.raises(RuleViolation, match="下回る額にはできません"):
        travel.revise_cap(team.phase, trip.estimated_yen - 1, "減額", actor=admin)
    travel.revise_cap(team.phase, 80_000_000, "補正予算の成立", actor=admin)
    travel.revise_cap(team.phase, trip.estimated_yen, "執行見込みに合わせて減額", actor=admin)
    history = travel.revisions(team.phase)
    assert [(r.previous_cap_yen, r.new_cap_yen) for r in history] == [(80_000_000, trip.estimated_yen), (97_000_000, 80_000_000)]
    assert travel.budget(team.phase).available == 0


# --- claims ---------------------------------------------------------------------------------

def test_settlement_moves_the_amount_from_committed_to_spent(team, staff, finance, smtp, app):
    trip = make_trip(team, actor=staff)
    travel.review_request(trip, "approve", actor=finance)
    claim = _claim_all(trip, staff, rail=31_000)
    assert trip.status == TripStatus.CLAIM_SUBMITTED and claim.claimed_yen == trip.estimated_yen + 3 * 1_000
    rail = [line for line in claim.lines if line.category == "rail"]
    with pytest.raises(RuleViolation, match="減額する理由"):
        travel.review_claim(trip, "settle", {rail[0].id: (30_000, "")}, actor=finance)
    travel.review_claim(trip, "settle", {rail[0].id: (30_000, "領収書の額が30,000円のため")}, actor=finance)
    figures = travel.budget(team.phase)
    assert trip.status == TripStatus.SETTLED and figures.committed == 0
    assert figures.spent == claim.approved_yen == trip.estimated_yen + 2 * 1_000
    db.session.commit()
    run_worker(app)
    decisions = [m for m in smtp.messages if "精算が完了しました" in m["Subject"]]
    assert len(decisions) == 3 and "領収書の額が30,000円のため" in decisions[0].get_content()  # each traveller once


def test_trv_2_a_settlement_that_would_pass_the_cap_is_refused(team, staff, finance):
    trip = make_trip(team, actor=staff)
    team.phase.travel_budget_cap_yen = trip.estimated_yen
    db.session.flush()
    travel.review_request(trip, "approve", actor=finance)
    _claim_all(trip, staff, rail=31_000)
    with pytest.raises(RuleViolation, match="予算上限を超えるため精算できません"):
        travel.review_claim(trip, "settle", {}, actor=finance)


def test_claim_lodging_above_the_cap_needs_an_exception_reason(team, staff, finance):
    trip = make_trip(team, actor=staff)
    travel.review_request(trip, "approve", actor=finance)
    officer = trip.travellers[0].officer_id
    lines = [travel.ClaimInput(line.officer_id, line.category, 14_000 if line.category == "lodging" and line.officer_id == officer
                               else line.amount_yen) for line in trip.estimate_lines]
    with pytest.raises(RuleViolation, match="宿泊費基準額の合計 10,000円を超えています"):
        travel.file_claim(trip, lines, [("r.pdf", PDF)], actor=staff)
    lines = [travel.ClaimInput(i.officer_id, i.category, i.claimed, "市内で開催の大会と重なり基準額内の宿がなかったため")
             for i in lines]
    claim = travel.file_claim(trip, lines, [("r.pdf", PDF)], actor=staff)
    lodging = next(line for line in claim.lines if line.category == "lodging" and line.officer_id == officer)
    assert lodging.claimed_yen == 14_000 and lodging.cap_yen == 10_000 and lodging.difference == 5_000
    assert "大会" in lodging.exception_reason


def test_claim_needs_a_receipt_and_checks_its_content(team, staff, finance, app):
    trip = make_trip(team, actor=staff)
    travel.review_request(trip, "approve", actor=finance)
    with pytest.raises(RuleViolation, match="領収書.*を1つ以上添付"):
        _claim_all(trip, staff, uploads=())
    with pytest.raises(RuleViolation, match="PDF・JPEG・PNGのいずれでもありません"):
        _claim_all(trip, staff, uploads=[("receipt.pdf", b"MZ\x90\x00 not a pdf")])
    with pytest.raises(RuleViolation, match="中身はPNGですが、拡張子が一致しません"):
        _claim_all(trip, staff, uploads=[("receipt.pdf", PNG)])
    with pytest.raises(RuleViolation, match="1ファイル5MBまで"):
        _claim_all(trip, staff, uploads=[("big.pdf", PDF + b"0" * app.config["RECEIPT_MAX_BYTES"])])
    assert trip.status == TripStatus.APPROVED
    assert db.session.scalar(select(func.count()).select_from(Receipt)) == 0
    assert db.session.scalar(select(func.count()).select_from(TravelClaim)) == 0
    claim = _claim_all(trip, staff, uploads=[("領収書.png", PNG)])
    stored = claim.receipts[0]
    assert stored.content_type == "image/png" and files.path(stored.sha256).read_bytes() == PNG


def test_a_claim_overlapping_another_for_the_same_traveller_is_flagged(team, staff, finance):
    first = make_trip(team, actor=staff)
    second = make_trip(team, actor=staff, travellers=[str(team.current_members[0].officer.id)],
                       depart_on=date(2026, 6, 11), return_on=date(2026, 6, 12))
    for trip in (first, second):
        travel.review_request(trip, "approve", actor=finance)
        _claim_all(trip, staff)
    assert travel.duplicate_claims(second) == [first] and travel.duplicate_claims(first) == [second]


def test_cancelling_an_approved_request_releases_its_commitment(team, staff, finance):
    trip = make_trip(team, actor=staff)
    travel.review_request(trip, "approve", actor=finance)
    travel.cancel_request(trip, actor=staff)
    assert trip.status == TripStatus.CANCELLED and travel.budget(team.phase).committed == 0


# --- the cap under concurrency -------------------------------------------------------------

@pytest.mark.timing
@pytest.mark.commits  # threads on their own connections
def test_trv_2_concurrent_approvals_never_exceed_the_cap(app, clock):
    """Ten finance users approving at the same moment (as many as the connection pool serves at once): the cap holds
    (the budget row's lock on PostgreSQL), and the money the database keeps equals a fresh sum."""
    with app.app_context():
        make_rates(2026)
        team = make_team()
        staff = make_user("secretariat")
        trips = [make_trip(team, actor=staff, depart_on=date(2026, 5, 1 + i), return_on=date(2026, 5, 2 + i)) for i in range(10)]
        each = trips[0].estimated_yen
        team.phase.travel_budget_cap_yen = each * 4 + each // 2  # room for four of ten
        reviewers = [make_user("finance").id for _ in trips]
        ids, phase_id = [t.id for t in trips], team.phase_id
        db.session.commit()
        db.session.remove()
    barrier = racing_barrier(len(ids))
    outcomes = []

    def approve(trip_id, reviewer_id):
        with app.app_context():
            from banso.models import User

            trip, reviewer = db.session.get(TripRequest, trip_id), db.session.get(User, reviewer_id)
            _ = trip.estimated_yen, trip.travellers, trip.phase
            barrier.wait()
            try:
                travel.review_request(trip, "approve", actor=reviewer)
                db.session.commit()
                outcomes.append("approved")
            except RuleViolation as violation:
                db.session.rollback()
                outcomes.append(violation.rule_id)
            finally:
                db.session.remove()

    race(approve, list(zip(ids, reviewers)))
    with app.app_context():
        phase = db.session.get(Phase, phase_id)
        figures = travel.budget(phase)
        approved = db.session.scalar(select(func.count()).where(TripRequest.status == TripStatus.APPROVED))
        assert sorted(outcomes) == ["TRV-2"] * 6 + ["approved"] * 4
        assert approved == 4 and figures.committed == 4 * each <= figures.cap
        assert travel.check_kept(phase) == []



def test_trv_2_the_forecast_summed_in_sql_equals_each_teams_plan_added_up(team, staff, finance):
    """The budget's forecast is one aggregate statement (no team loaded); it must equal the sum of every team's
    remaining planned visits × their cost, for custom plans, default plans and shorter support periods alike."""
    travel.set_plan(team, 2, 90_000, actor=finance)
    make_trip(team, actor=staff)  # one of the two planned visits requested
    short = make_team(team.phase)
    short.start_date = date(2026, 10, 1)  # half a year: two visits by default
    make_team(team.phase)  # a full year on the default plan: four
    over = make_team(team.phase)
    travel.set_plan(over, 1, 80_000, actor=finance)
    for i in range(2):  # more requested than planned: nothing left, never negative
        make_trip(over, actor=staff, depart_on=date(2026, 6 + i, 1), return_on=date(2026, 6 + i, 2))
    db.session.flush()
    expected = sum(p.remaining_cost for p in travel.team_plans(team.phase))
    assert expected == 90_000 + (2 + 4) * team.phase.travel_standard_visit_yen
    assert travel.budget(team.phase).forecast == expected


def test_trv_2_the_money_kept_by_the_database_follows_every_writer_banso_raw_sql_and_a_deletion(team, staff, finance):
    """The budget's totals and breakdown are kept by triggers in the transaction of each change, so a change made outside
    Banso's services (psql, a script: a raw UPDATE of a trip or a line, a deletion) moves them as surely as an approval.
    Found: a kept figure was served stale after a change the cache did not see (the standard visit cost, a raw write)."""
    from sqlalchemy import text

    def shown():
        figures = travel.budget(team.phase)
        assert travel.check_kept(team.phase) == []  # the totals and every breakdown row equal a fresh sum
        return figures.committed, figures.spent, dict((label, s + c) for label, s, c, _ in travel.by_month(team.phase))["7月"]

    trip = make_trip(team, actor=staff, depart_on=date(2026, 7, 1), return_on=date(2026, 7, 2))
    assert shown() == (0, 0, 0)  # filed only: nothing committed yet
    travel.review_request(trip, "approve", actor=finance)
    assert shown() == (trip.estimated_yen, 0, trip.estimated_yen)
    db.session.execute(text("UPDATE trip_estimate_lines SET amount_yen = amount_yen + 1000 WHERE id = :id"),
                       {"id": trip.estimate_lines[0].id})  # raw SQL, as from psql
    assert shown() == (trip.estimated_yen + 1000, 0, trip.estimated_yen + 1000)
    db.session.execute(text("UPDATE trip_requests SET depart_on = '2026-08-03', return_on = '2026-08-04' WHERE id = :id"),
                       {"id": trip.id})  # moved to August: the month's figure moves with it
    assert shown()[2] == 0 and dict((label, s + c) for label, s, c, _ in travel.by_month(team.phase))["8月"] == trip.estimated_yen + 1000
    db.session.execute(text("UPDATE trip_requests SET cost_bearer = 'municipality' WHERE id = :id"), {"id": trip.id})
    assert shown()[:2] == (0, 0) and travel.budget(team.phase).municipality_borne == trip.estimated_yen + 1000
    db.session.execute(text("UPDATE trip_requests SET cost_bearer = 'national' WHERE id = :id"), {"id": trip.id})
    db.session.expire_all()
    trip = db.session.get(TripRequest, trip.id)
    db.session.delete(trip)  # a deletion of the trip and its lines (the ORM's cascade)
    db.session.flush()
    assert shown() == (0, 0, 0)


def test_trv_2_settling_and_cancelling_move_the_kept_money_between_committed_and_spent(team, staff, finance):
    def figures():
        assert travel.check_kept(team.phase) == []
        budget = travel.budget(team.phase)
        return budget.committed, budget.spent

    kept = make_trip(team, actor=staff, depart_on=date(2026, 6, 1), return_on=date(2026, 6, 2))
    dropped = make_trip(team, actor=staff, depart_on=date(2026, 6, 8), return_on=date(2026, 6, 9))
    for trip in (kept, dropped):
        travel.review_request(trip, "approve", actor=finance)
    assert figures() == (kept.estimated_yen + dropped.estimated_yen, 0)
    travel.cancel_request(dropped, actor=staff)
    assert figures() == (kept.estimated_yen, 0)
    claim = _claim_all(kept, staff)
    approvals = {line.id: (line.claimed_yen - 500 if line.category == "rail" else line.claimed_yen, "往復割引の適用")
                 for line in claim.lines}
    travel.review_claim(kept, "settle", approvals, actor=finance)
    assert figures() == (0, claim.approved_yen)


def test_a_trips_limits_take_each_nights_fiscal_year_and_name_a_missing_rate(ctx, clock):
    """The claim limits read every rate the trip needs at once: a trip over 31 March takes each night's year."""
    from datetime import date

    make_rates(2025, 9_000)
    make_rates(2026, 10_000)
    from banso.models import TripTraveller

    band = "課長級以下"
    trip = TripRequest(depart_on=date(2026, 3, 30), return_on=date(2026, 4, 2), destination_prefecture="岩手県",
                       travellers=[TripTraveller(officer_id=7, band=band)])  # nights: 3/30, 3/31 (FY2025), 4/1 (FY2026)
    limits = travel.claim_limits(trip)
    assert limits[(7, "lodging")] == 9_000 * 2 + 10_000
    assert travel.rates_for({2025, 2026}, {band}, "岩手県", 0)[0] == {(2025, band): 9_000, (2026, band): 10_000}
    with pytest.raises(RuleViolation, match="2027年度の宿泊費基準額（岩手県・"):
        travel.rates_for({2026, 2027}, {band}, "岩手県", 0)
