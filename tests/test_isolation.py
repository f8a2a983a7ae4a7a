"""The suite's isolation (tests/conftest.py): what a test commits, begin_nested() included, is rolled back."""
from sqlalchemy import func, select

from banso.extensions import db
from banso.models import User
from tests.conftest import Rollback, rolled_back
from tests.factories import make_user


def _users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_commits_and_savepoints_inside_a_layer_are_undone_when_it_ends(app, client):
    assert Rollback.stack, "an ordinary test runs inside a rolled-back transaction"
    with rolled_back(app):
        with app.app_context():
            make_user(email="committed@banso.example")
            db.session.commit()
            with db.session.begin_nested():
                make_user(email="nested@banso.example")
            db.session.commit()
            make_user(email="refused@banso.example")
            db.session.rollback()  # as a view does after a refused action: the committed rows stay
        with app.app_context():  # another session (a request, a worker job) sees them
            assert _users() == 2
        assert client.get("/login").status_code == 200
    with app.app_context():
        assert _users() == 0
