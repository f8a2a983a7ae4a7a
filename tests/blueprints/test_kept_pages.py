"""Pages and values kept in Redis under the revisions of the tables they read (banso/revisions.py): served again
only while nothing they read has changed, whichever way it was changed; never for a page that audits, shows a
message once, shows held results, or belongs to someone else."""
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select, text, update

from banso import revisions
from banso.clock import now
from banso.extensions import db
from banso.models import AuditEntry, Municipality, Phase, Role, Team, User
from tests.conftest import login
from tests.factories import make_publication, make_team, make_user

PASSWORD = "correct-horse-battery"


def _released_team():
    team = make_team()
    make_publication(team.phase)
    return team


@pytest.fixture
def staff(app, client):
    """A team of a released phase and a member of the secretariat signed in on ``client``: ids, name and email."""
    with app.app_context():
        team = _released_team()
        user = make_user(Role.SECRETARIAT).email
        ids = {"team": team.id, "municipality": team.municipality_id, "name": team.municipality.name, "email": user}
        db.session.commit()
    login(client, user)
    return ids


def _kept(response) -> bool:
    return response.headers.get("X-Banso-Kept") == "hit"


def _opened(client, path: str):
    """The page as a user who has been working a while sees it: the sign-in's message shown and the session's form
    key made (neither is kept), then rendered once."""
    client.get(path)
    return client.get(path)


def test_a_list_is_served_kept_until_a_service_changes_what_it_read(app, client, staff):
    name, team_id = staff["name"], staff["team"]
    first = _opened(client, "/teams/")
    assert first.status_code == 200 and not _kept(first) and name in first.get_data(as_text=True)
    again = client.get("/teams/")
    assert _kept(again) and again.get_data() == first.get_data()

    with app.app_context():
        from banso.services import teams as team_service

        actor = db.session.scalar(select(User).where(User.email == staff["email"]))
        team_service.record_activity(db.session.get(Team, team_id),
                                     {"kind": "online_meeting", "started_on": now().date(), "summary": "定例会議"}, actor=actor)
        db.session.commit()
    after = client.get("/teams/")
    assert not _kept(after)


def test_a_write_in_plain_sql_makes_a_kept_page_stale(app, client, staff):
    """No service, no ORM object: an UPDATE in SQL text is counted all the same."""
    municipality_id = staff["municipality"]
    _opened(client, "/teams/")
    assert _kept(client.get("/teams/"))
    with app.app_context():
        db.session.execute(text("UPDATE municipalities SET name = '改名町' WHERE id = :id"), {"id": municipality_id})
        db.session.commit()
    page = client.get("/teams/")
    assert not _kept(page) and "改名町" in page.get_data(as_text=True)


def test_a_page_is_kept_for_its_own_viewer_only(app):
    with app.app_context():
        _released_team()
        first, second = make_user(Role.SECRETARIAT).email, make_user(Role.SECRETARIAT).email
        db.session.commit()
    one, other = app.test_client(), app.test_client()
    login(one, first)
    login(other, second)
    _opened(one, "/teams/")
    assert _kept(one.get("/teams/"))
    # The same address, another user: rendered for them, never the first one's page.
    assert not _kept(other.get("/teams/")) and not _kept(other.get("/teams/"))
    assert _kept(other.get("/teams/")) and _kept(one.get("/teams/"))


def test_a_page_showing_held_results_is_audited_on_every_view_and_never_kept(app, client):
    with app.app_context():
        make_team()  # its phase is not released: the secretariat's view of it is audited (PUB-2)
        user = make_user(Role.SECRETARIAT).email
        db.session.commit()
    login(client, user)

    def audited():
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(AuditEntry))

    before = audited()
    for _ in range(3):
        assert not _kept(client.get("/teams/"))
    assert audited() == before + 3


def test_a_page_that_writes_anything_is_never_kept(app, client, monkeypatch, staff):
    """Whatever a view writes (here an audit row of the view itself, added by whatever service it calls) happens again
    on every view: such a page is rendered each time."""
    from banso.blueprints.teams import views
    from banso.services import audit

    selected = views.phases.selected_phase

    def audited_selection(*args, **kwargs):
        audit.record("view", None, actor=None, object_type="TeamList")
        db.session.flush()
        return selected(*args, **kwargs)

    monkeypatch.setattr(views.phases, "selected_phase", audited_selection)

    def audited():
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.object_type == "TeamList"))

    for _ in range(4):
        assert not _kept(client.get("/teams/"))
    assert audited() == 4


def test_a_waiting_message_is_shown_on_a_kept_page_and_never_kept(app, client, staff):
    """Found in review: a page kept before a refused action (which writes nothing) was served with the action's message
    still waiting in the session; the message showed up on some later page instead."""
    _opened(client, "/teams/")
    assert _kept(client.get("/teams/"))
    with client.session_transaction() as session:  # a refused action's message, nothing written
        session["_flashes"] = [("info", "保存しました。")]
    shown = client.get("/teams/")
    assert not _kept(shown) and "保存しました。" in shown.get_data(as_text=True)
    page = client.get("/teams/")
    assert _kept(page) and "保存しました。" not in page.get_data(as_text=True)


def test_the_next_minute_renders_again(app, client, staff):
    """Due times and the hold's release time move with the clock: a kept page is never more than a minute old."""
    moment = now()
    app.config["CLOCK"] = lambda: moment
    _opened(client, "/teams/")
    assert _kept(client.get("/teams/"))
    app.config["CLOCK"] = lambda: moment + timedelta(minutes=1)
    assert not _kept(client.get("/teams/"))


def test_without_redis_pages_are_rendered(app, client, monkeypatch, staff):

    def down(*_args, **_kwargs):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(redis.Redis, "execute_command", down)
    monkeypatch.setattr("redis.client.Pipeline.execute", down)
    for _ in range(2):
        page = client.get("/teams/")
        assert page.status_code == 200 and not _kept(page)


class MunicipalityNames:
    """A value to keep: the municipalities' names, counting how often it was computed."""

    def __init__(self):
        self.computed = 0

    def __call__(self):
        self.computed += 1
        return sorted(db.session.scalars(select(Municipality.name)))


def test_a_kept_value_is_computed_again_after_a_write_to_a_table_it_read(app):
    with app.app_context():
        make_team()
        db.session.commit()
        names = MunicipalityNames()
        first = revisions.kept("test:names", names)
        assert revisions.kept("test:names", names) == first and names.computed == 1
        db.session.execute(update(Municipality).values(name=Municipality.name + "（改）"))
        db.session.commit()
        assert revisions.kept("test:names", names) == [n + "（改）" for n in first] and names.computed == 2


def test_a_value_read_after_an_uncommitted_write_is_not_kept(app):
    """The transaction might roll back: what it read of its own write is not kept for others."""
    with app.app_context():
        make_team()
        db.session.commit()
        names = MunicipalityNames()
        db.session.execute(update(Municipality).values(name="書きかけ"))
        assert revisions.kept("test:names", names) == ["書きかけ"]
        db.session.rollback()
        assert "書きかけ" not in revisions.kept("test:names", names) and names.computed == 2


def test_forget_kept_after_the_database_was_changed_outside_banso(app):
    """A restore with pg_restore passes no hook of Banso's: `flask banso forget-kept` has every kept value computed again."""
    names = MunicipalityNames()
    with app.app_context():
        revisions.kept("test:names", names)
        revisions.kept("test:names", names)
        assert names.computed == 1
    result = app.test_cli_runner().invoke(args=["banso", "forget-kept"])
    assert result.exit_code == 0 and "破棄しました" in result.output
    with app.app_context():
        revisions.kept("test:names", names)
        assert names.computed == 2


def test_a_write_made_while_redis_did_not_answer_is_counted_when_it_answers(app, monkeypatch):
    with app.app_context():
        make_team()
        db.session.commit()
        count = MunicipalityNames()
        revisions.kept("test:names", count)
        working = redis.client.Pipeline.execute

        def down(*_args, **_kwargs):
            raise redis.ConnectionError("down")

        monkeypatch.setattr(redis.client.Pipeline, "execute", down)
        db.session.execute(update(Municipality).values(name="停止中に改名"))
        db.session.commit()  # not counted: Redis does not answer
        assert revisions.kept("test:names", count) == ["停止中に改名"]  # nothing kept is served meanwhile
        monkeypatch.setattr(redis.client.Pipeline, "execute", working)
        monkeypatch.setattr(revisions, "_retry_at", 0.0)
        assert revisions.kept("test:names", count) == ["停止中に改名"] and count.computed == 3
        assert revisions.kept("test:names", count) == ["停止中に改名"] and count.computed == 3  # kept again once counted


def test_a_release_shows_at_once_on_a_list_kept_before_it(app, client):
    """The released phases are read before the view (the hold's scope): a kept page depends on them all the same.
    Finance's trip list kept while the phase was held shows its trips as soon as it is released."""
    from tests.factories import make_rates, make_trip

    with app.app_context():
        make_rates(2026)
        team = make_team()  # not released: finance does not see its trips (PUB-2)
        number, phase_id = f"出-{make_trip(team).id:05d}", team.phase_id
        email = make_user(Role.FINANCE).email
        db.session.commit()
    login(client, email)
    _opened(client, "/travel/")
    held = client.get("/travel/")
    assert _kept(held) and number not in held.get_data(as_text=True)
    with app.app_context():
        make_publication(db.session.get(Phase, phase_id))
        db.session.commit()
    released = client.get("/travel/")
    assert not _kept(released) and number in released.get_data(as_text=True)
