"""The demo data `make run` loads is the programme at its real scale: seed 000's headline figures."""
from banso import demo
from banso.extensions import db
from banso.models import InboundMail, Inquiry, InquiryAttachment, Phase, TripRequest
from banso.services import statistics, travel


def test_demo_reproduces_seed_000_and_looks_lived_in(demo_app):
    # demo_app is a copy of the demo that conftest loads once per session with demo.load()
    with demo_app.app_context():
        second = db.session.scalar(db.select(Phase).where(Phase.number == 2))
        figures = statistics.headline(second)
        assert (figures.officer_applicants, figures.ministries, figures.officers, figures.secondees, figures.teams) == (308, 24, 278, 8, 97)
        assert (figures.municipal_applicants, figures.supported, figures.supported_prefectures) == (115, 97, 38)
        assert (figures.new, figures.new_prefectures, figures.continuing, figures.continuing_prefectures) == (50, 30, 47, 33)
        budget = travel.budget(second)
        assert budget.spent > 0 and budget.committed > 0 and budget.awaiting > 0 and budget.available > 0
        assert db.session.scalar(db.select(db.func.count()).select_from(TripRequest)) > 500
        assert db.session.scalar(db.select(db.func.count()).select_from(Inquiry)) >= 300
        outcomes = dict(db.session.execute(db.select(InboundMail.outcome, db.func.count()).group_by(InboundMail.outcome)).all())
        assert outcomes == {"thread": 1, "unconfirmed": 1, "auto_reply": 1, "bounce": 1}  # the mailbox's week
        assert db.session.scalar(db.select(InquiryAttachment.filename)) == "課題の整理.xlsx"


def test_loading_the_demo_reports_each_part_as_it_finishes(demo_template):
    # make run prints these as a bar (banso/devserver.py)
    assert [(done, total) for done, total, _ in demo_template.progress] == [(n, demo.PARTS) for n in range(1, demo.PARTS + 1)]
    parts = [part for _, _, part in demo_template.progress]
    assert parts[0] == "利用者・期・市町村マスタ" and "旅費（出張・精算）" in parts and len(set(parts)) == demo.PARTS


def test_the_demos_continuing_answers_arrived_during_the_survey_not_when_the_demo_was_loaded(demo_app):
    """Found: the 47 continuing applications carried the moment the demo was loaded as their receipt time."""
    from banso.models import Application

    with demo_app.app_context():
        second = db.session.scalar(db.select(Phase).where(Phase.number == 2))
        times = list(db.session.scalars(db.select(Application.received_at).where(
            Application.phase_id == second.id, Application.is_continuing.is_(True))))
        assert len(times) == 47
        assert all(second.survey_opens_at < t < second.survey_opens_at + __import__("datetime").timedelta(days=22) for t in times)
        assert len(set(times)) > 40  # each at its own time


def test_every_chart_of_the_results_page_sums_to_its_headline(demo_app):
    """Found: 第2期's headline said 115 applicant municipalities while chart ⑤ summed to 162 (continuing ones
    counted there only), and the officer charts totalled 279 (a replaced officer counted) against 278."""
    with demo_app.app_context():
        second = db.session.scalar(db.select(Phase).where(Phase.number == 2))
        head = statistics.headline(second)
        regions = statistics.by_region(second)
        assert sum(r[1] for r in regions) == head.municipal_applicants == 115
        assert sum(r[2] for r in regions) == head.supported == 97
        assert sum(n for _, n in statistics.by_population(second)) == head.supported
        for title, rows in statistics.officer_breakdown(second).items():
            assert sum(r[1] for r in rows) == head.officer_applicants, title
            assert sum(r[2] for r in rows) == head.officers == 278, title


def test_the_demo_has_two_admins_so_an_early_release_can_be_tried(demo_app):
    from banso.models import Role, User

    with demo_app.app_context():
        admins = db.session.scalars(db.select(User.email).where(User.role == Role.ADMIN)).all()
        assert set(admins) == {"admin@banso.example", "admin2@banso.example"}


def test_the_demo_in_december_with_the_third_phases_survey_open_shows_each_role_its_live_work(demo_app):
    """`make run DEMO_AT=third-survey`: 第3期 drafted from 第2期, the clock at 12/07. Found on the demo: once 第3期 existed,
    every page opened on it, empty, and an officer of a 第2期 team could not file a trip from the menu."""
    from banso.clock import OffsetClock
    from banso.config import load as load_config
    from tests.conftest import login

    with demo_app.app_context():
        demo.finish_point("third-survey")
        db.session.commit()
        assert [p.name for p in db.session.scalars(db.select(Phase).order_by(Phase.number))] == ["第1期", "第2期", "第3期"]
    moment = demo.POINTS["third-survey"].at
    demo_app.config["CLOCK"] = lambda: moment
    client = demo_app.test_client()
    login(client, "staff@banso.example", demo.DEMO_PASSWORD)
    home = client.get("/").get_data(as_text=True)
    assert "第2期 活動の確認が必要なチーム（TEAM-5）" in home and "第3期（令和9年度）の日程" in home
    assert 'aria-current="page">第3期' in client.get("/applications/").get_data(as_text=True)
    client.post("/logout")
    login(client, "officer@banso.example", demo.DEMO_PASSWORD)
    assert "所属するチームがない" not in client.get("/travel/new").get_data(as_text=True)
    # The web and the worker run on the demo's moment: BANSO_CLOCK_OFFSET_SECONDS makes the clock.
    clock = load_config(demo_app.instance_path, {"BANSO_CLOCK_OFFSET_SECONDS": "-86400"})["CLOCK"]
    assert isinstance(clock, OffsetClock) and clock.offset.total_seconds() == -86400
