"""PUB-1 over HTTP: the matching page reads a stored plan (never plans on GET), staff ask for a plan and see its
progress, pin and forbid pairs, and re-score a hand-picked team live."""
from sqlalchemy import func, select

from banso.extensions import db
from banso.models import MatchingConstraint, MatchingPlan
from tests.conftest import login, run_worker
from tests.factories import make_eligible_application, make_ready_officer, make_user


def _phase_ready(app):
    with app.app_context():
        farm = make_eligible_application(priority_fields=[5])
        town = make_eligible_application(priority_fields=[3])
        officers = [make_ready_officer(farm.phase, m, expertise_fields=f)
                    for m, f in (("農林水産省", [5]), ("総務省", [9]), ("財務省", [9]), ("観光庁", [3]), ("環境省", [9]))]
        staff = make_user().email
        db.session.commit()
        return staff, farm.id, town.id, [o.id for o in officers]


def test_pub_1_the_page_never_plans_on_get_and_shows_the_workers_plan_with_greedy_beside_it(app, client):
    staff, farm, town, officers = _phase_ready(app)
    login(client, staff)
    page = client.get("/matching/?phase=2").get_data(as_text=True)
    assert "まだ計画していません" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MatchingPlan)) == 0  # a GET computes nothing

    client.post("/matching/plan?phase=2")
    page = client.get("/matching/?phase=2").get_data(as_text=True)
    assert "<progress" in page and "順番を待っています" in page and "/status?was=busy" in page
    run_worker(app)
    with app.app_context():
        plan_id = db.session.scalar(select(MatchingPlan.id))
    status = client.get(f"/matching/plan/{plan_id}/status?was=busy")
    assert status.headers.get("HX-Refresh") == "true"  # the bar reloads the page once the plan is ready
    page = client.get("/matching/?phase=2").get_data(as_text=True)
    assert ("最適解" in page or "ほぼ最適" in page) and "従来の方式" in page and 'id="quality-total"' in page
    assert 'id="proposal-%d"' % farm in page and 'id="proposal-%d"' % town in page
    assert "第1優先分野 +" in page  # each member's factors are shown


def test_pub_1_pinning_and_forbidding_from_the_page_replans_with_the_decisions(app, client):
    staff, farm, town, officers = _phase_ready(app)
    login(client, staff)
    client.post("/matching/constraints", data={"application_id": town, "officer_id": officers[0], "kind": "pin"})
    refused = client.post("/matching/constraints", data={"application_id": farm, "officer_id": officers[1], "kind": "forbid"},
                          follow_redirects=True)
    assert "除外する理由を入力してください" in refused.get_data(as_text=True)
    client.post("/matching/constraints", data={"application_id": farm, "officer_id": officers[1], "kind": "forbid",
                                               "reason": "前職で同町の補助金を審査"})
    run_worker(app)
    page = client.get("/matching/?phase=2").get_data(as_text=True)
    assert "前職で同町の補助金を審査" in page and "固定" in page
    with app.app_context():
        plan = db.session.scalar(select(MatchingPlan).order_by(MatchingPlan.id.desc()))
        teams = {row["application_id"]: row["officer_ids"] for row in plan.result["teams"]}
        assert officers[0] in teams[town] and officers[1] not in teams.get(farm, [])
        pinned = db.session.scalar(select(MatchingConstraint.id).where(MatchingConstraint.kind == "pin"))
    client.post(f"/matching/constraints/{pinned}/delete")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MatchingConstraint)) == 1


def test_pub_1_a_hand_picked_team_is_rescored_as_the_boxes_change(app, client):
    staff, farm, town, officers = _phase_ready(app)
    login(client, staff)
    page = client.get(f"/matching/edit/{farm}?officers={officers[0]},{officers[1]}").get_data(as_text=True)
    assert 'id="team-score"' in page and "選んだチームの評価" in page and 'hx-get="/matching/score/' in page
    fragment = client.get(f"/matching/score/{farm}?member={officers[0]}&member={officers[1]}&member={officers[2]}").get_data(as_text=True)
    assert "選んだチームの評価" in fragment and "第1優先分野" in fragment
    pair = client.get(f"/matching/score/{farm}?member={officers[0]}&member={officers[1]}").get_data(as_text=True)
    assert "メンバー1人の加点 +2" in pair and "3人目" not in pair  # found: 「3人目の加入 +2」 on each member of a pair
    crowded = client.get(f"/matching/score/{farm}?member={officers[1]}").get_data(as_text=True)
    assert "チームは2〜3名で編成します（今は1名）" in crowded
