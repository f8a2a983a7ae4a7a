from datetime import date

import pytest

from sqlalchemy import select

from banso.clock import jst
from banso.services import RuleViolation, phases
from tests.factories import make_phase, make_user


def test_timeline_marks_past_milestones_and_the_next_one(ctx, clock):
    phase = make_phase()
    clock.set(jst(2025, 12, 24, 16, 59))
    milestones = phases.timeline(phase)
    nxt = [m for m in milestones if m.is_next]
    assert len(nxt) == 1 and nxt[0].label == "活用希望調査の回答締切"
    assert all(m.is_past for m in milestones[: milestones.index(nxt[0])])
    clock.set(jst(2025, 12, 24, 17, 0, 1))
    assert [m for m in phases.timeline(phase) if m.is_next][0].label == "国の職員等の公募開始"


def test_timeline_includes_briefings_in_order(ctx, clock):
    admin = make_user("admin")
    phase = make_phase()
    phases.add_event(phase, "説明会②", jst(2025, 12, 8, 14), actor=admin)
    phases.add_event(phase, "説明会①", jst(2025, 12, 3, 14), actor=admin)
    labels = [m.label for m in phases.timeline(phase)]
    assert labels[:3] == ["市町村活用希望調査の開始", "説明会①", "説明会②"]


def test_current_phase_is_the_newest_whose_survey_has_opened(ctx, clock):
    make_phase(number=1, name="第1期", fiscal_year=2025, survey_opens_at=jst(2024, 12, 2), answer_deadline_at=jst(2024, 12, 25, 17),
               support_start=date(2025, 4, 15), support_end=date(2026, 3, 31))
    second = make_phase()
    third = make_phase(number=3, name="第3期", fiscal_year=2027, survey_opens_at=jst(2026, 12, 1, 10),
                       answer_deadline_at=jst(2026, 12, 24, 17), support_start=date(2027, 4, 1), support_end=date(2028, 3, 31))
    clock.set(jst(2026, 11, 23, 10))
    assert phases.current_phase() is second
    clock.set(jst(2026, 12, 1, 10))
    assert phases.current_phase() is third


def _data(**overrides):
    data = {
        "number": 3, "name": "第3期", "fiscal_year": 2027, "population_reference_date": date(2026, 1, 1),
        "survey_opens_at": jst(2026, 12, 1, 10), "answer_deadline_at": jst(2026, 12, 24, 17),
        "recruitment_opens_at": None, "recruitment_closes_at": None, "matching_deadline_at": None,
        "publication_at": None, "support_start": date(2027, 4, 1), "support_end": date(2028, 3, 31),
        "travel_budget_cap_yen": 100_000_000,
    }
    data.update(overrides)
    return data


def test_create_phase_checks_the_schedule_and_uniqueness(ctx):
    admin = make_user("admin")
    make_phase()
    with pytest.raises(RuleViolation) as early:
        phases.create_phase(_data(answer_deadline_at=jst(2026, 11, 30)), actor=admin)
    assert early.value.field == "answer_deadline_at"
    with pytest.raises(RuleViolation) as clash:
        phases.create_phase(_data(fiscal_year=2026), actor=admin)
    assert clash.value.field == "fiscal_year"
    with pytest.raises(RuleViolation):
        phases.create_phase(_data(travel_budget_cap_yen=-1), actor=admin)
    assert phases.create_phase(_data(), actor=admin).name == "第3期"


def test_deadline_is_stored_as_the_exact_jst_moment(ctx):
    admin = make_user("admin")
    phase = phases.create_phase(_data(), actor=admin)
    from banso.extensions import db

    db.session.commit()
    db.session.expire_all()
    assert phase.answer_deadline_at == jst(2026, 12, 24, 17)
    assert phase.answer_deadline_at.utcoffset().total_seconds() == 0  # stored and returned in UTC
    assert phase.answer_deadline_at.hour == 8


def test_a_new_phase_drafted_from_the_last_a_year_on_in_business_days_with_its_settings_carried(ctx, clock):
    """Found: a new phase was typed from scratch (13 fields) every December."""
    from banso.extensions import db
    from banso.models import MatchingSettings

    from banso.services import travel
    from tests.factories import make_rates

    admin = make_user("admin")
    last = make_phase(travel_standard_visit_yen=180_000)
    make_rates(2026, cap=11_000)
    phases.add_event(last, "自治体向け説明会", jst(2025, 11, 3, 14), actor=admin)  # 文化の日 falls on a Tuesday in 2026
    db.session.add(MatchingSettings(phase=last, weights={"first_priority": 5}, exclude_home_prefecture=True))
    data, events = phases.draft_after(last)
    assert (data["number"], data["name"], data["fiscal_year"]) == (3, "第3期", 2027)
    assert data["survey_opens_at"] == jst(2026, 12, 1, 10) and data["answer_deadline_at"] == jst(2026, 12, 24, 17)
    assert data["recruitment_closes_at"] == jst(2027, 2, 15, 17)  # 2/13 is a Saturday: the next business day
    assert data["matching_deadline_at"] == jst(2027, 3, 15, 17)
    assert (data["support_start"], data["support_end"]) == (date(2027, 4, 1), date(2028, 3, 31))  # the fiscal year
    assert data["population_reference_date"] == date(2026, 1, 1) and data["travel_budget_cap_yen"] == 97_000_000
    assert events == [("自治体向け説明会", jst(2026, 11, 4, 14))]

    third = phases.create_phase(data, actor=admin, carried_from=last)
    db.session.flush()
    assert [(e.label, e.at) for e in third.events] == events and third.travel_standard_visit_yen == 180_000
    carried = db.session.scalar(select(MatchingSettings).where(MatchingSettings.phase_id == third.id))
    assert carried.weights == {"first_priority": 5} and carried.exclude_home_prefecture and carried.exclude_secondment
    assert travel.rate_table(2027) == travel.rate_table(2026) and travel.rate_table(2027)[0][("課長級以下", "岩手県")] == 11_000
