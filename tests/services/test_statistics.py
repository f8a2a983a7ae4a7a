"""Seed 000's figures counted from the records."""
from banso.extensions import db
from banso.services import statistics
from tests.factories import make_application, make_municipality, make_officer, make_phase, make_team


def test_headline_counts_applicants_officers_teams_and_supported_municipalities(ctx):
    phase = make_phase()
    make_team(phase, municipality=make_municipality(prefecture="岩手県"))
    make_team(phase, municipality=make_municipality(prefecture="島根県"), members=2)
    make_application(phase, make_municipality(prefecture="島根県"))  # applied, not supported
    make_officer(phase, ministry="観光庁")  # an applicant from an agency, not selected
    db.session.flush()
    figures = statistics.headline(phase)
    assert (figures.officer_applicants, figures.officers, figures.teams) == (6, 5, 2)
    assert figures.ministries == 4  # 国土交通省, 経済産業省, 農林水産省 and 観光庁 (an agency counts on its own)
    assert (figures.municipal_applicants, figures.supported, figures.supported_prefectures) == (3, 2, 2)
    assert (figures.new, figures.continuing) == (2, 0)
    regions = dict((block, (applied, supported)) for block, applied, supported in statistics.by_region(phase))
    assert regions["東北"] == (1, 1) and regions["中国"] == (2, 1)
    assert dict(statistics.by_population(phase))["1～3万人"] == 2


def test_the_officers_serving_follow_the_effective_date_of_a_replacement_not_the_moment_it_is_recorded(ctx, clock):
    """Found: selecting a successor and scheduling their replacement for January moved 第2期's 「現員」 from 278 to 279
    at once; it changes on the day the replacement takes effect (and the total stays: one leaves as one joins)."""
    from datetime import date

    from banso.clock import jst
    from banso.services import teams
    from tests.factories import make_ready_officer

    clock.set(jst(2026, 12, 7, 10))
    phase = make_phase()
    team = make_team(phase)
    leaving = team.current_members[0].officer
    successor = make_ready_officer(phase, leaving.ministry.name)  # selected, with a 併任 for the phase
    assert statistics.headline(phase).officers == 3
    teams.replace_member(team, leaving, successor, effective=date(2027, 1, 15), reason="人事異動", actor=None)
    db.session.flush()
    assert statistics.headline(phase).officers == 3  # recorded in December, for January
    assert teams.apply_due_replacements(date(2027, 1, 15)) == 1
    db.session.flush()
    assert statistics.headline(phase).officers == 3
    assert {c.officer_id for c in phase_candidacies(phase) if c.status == "assigned"} == {
        m.officer_id for m in team.current_members}


def phase_candidacies(phase):
    from sqlalchemy import select

    from banso.models import OfficerCandidacy

    return list(db.session.scalars(select(OfficerCandidacy).where(OfficerCandidacy.phase_id == phase.id)))


def test_a_closed_phases_figures_are_stored_once_when_its_last_team_closes_and_read_from_then_on(ctx, clock):
    """Issue 30: figures of a phase whose support has ended are computed once, not again on every view of every year."""
    from datetime import date

    from sqlalchemy import select, text

    from banso.clock import jst
    from banso.models import PhaseFigures
    from banso.services import teams

    phase = make_phase()
    make_team(phase, municipality=make_municipality(prefecture="岩手県"))
    extended = make_team(phase, municipality=make_municipality(prefecture="島根県"))
    from tests.factories import make_user

    teams.extend_team(extended, new_end=date(2027, 6, 30), reason="延長", actor=make_user())
    live = (statistics.headline(phase), statistics.by_region(phase), statistics.by_population(phase), statistics.officer_breakdown(phase))
    clock.set(jst(2027, 5, 10, 9))  # support ended 3/31, but the extended team still works
    assert statistics.store_closed() == 0
    clock.set(jst(2027, 7, 14, 9))  # 6/30 + ten business days = 7/14: its last day for corrections
    assert statistics.store_closed() == 0
    clock.set(jst(2027, 7, 15, 9))
    assert statistics.store_closed() == 1 and statistics.store_closed() == 0  # once
    db.session.execute(text("UPDATE officer_candidacies SET status = 'ended' WHERE officer_id IN "
                            "(SELECT officer_id FROM team_memberships WHERE team_id = :id)"), {"id": extended.id})  # a change…
    db.session.expire_all()
    stored = (statistics.headline(phase), statistics.by_region(phase), statistics.by_population(phase), statistics.officer_breakdown(phase))
    assert stored == live  # …is not counted again: the stored figures are read (and equal what was computed live)
    assert db.session.scalar(select(PhaseFigures.phase_id)) == phase.id
    statistics.recompute(phase)  # the admin's command after a correction
    assert statistics.headline(phase).officers == live[0].officers - 3
