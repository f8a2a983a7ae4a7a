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
