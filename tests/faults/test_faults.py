"""Faults on real parts (`make test-slow`): Redis gone for 30 s, an SMTP server refusing then accepting,
PostgreSQL restarted under load, a worker killed in the middle of a delivery."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from banso import queue
from banso.extensions import db
from banso.models import Notification, Role
from banso.services import notifications
from tests.conftest import TEST_SECRET, login, make_app, run_worker
from tests.factories import make_user
from tests.waiting import wait_until
from worker import jobs

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _statuses(app) -> Counter:
    with app.app_context():
        return Counter(db.session.scalars(select(Notification.status)))


@pytest.mark.timing
def test_redis_stopped_for_30_seconds_loses_no_notification_and_sends_none_twice(app, database_url, smtp, tmp_path):
    """Requests keep working while Redis is down; after it returns, the sweep delivers each notice exactly once.
    `make test-stress` shortens the outage (BANSO_REDIS_OUTAGE_SECONDS) to run it twenty times."""
    instance = tmp_path / "redis"
    instance.mkdir()
    url = queue.start_embedded_redis(str(instance))
    own = make_app(database_url, url, MAIL_SERVER=app.config["MAIL_SERVER"], MAIL_PORT=app.config["MAIL_PORT"])
    with own.app_context():
        admin = make_user(Role.ADMIN).email
        db.session.commit()
    client = own.test_client()
    login(client, admin)

    queue.stop_embedded_redis(str(instance))
    statuses, created = [], []
    outage_ends = time.monotonic() + float(os.environ.get("BANSO_REDIS_OUTAGE_SECONDS", "30"))
    while time.monotonic() < outage_ends:
        email = f"during-outage-{len(created)}@banso.example"
        response = client.post("/admin/users", data={"email": email, "name": "障害中 登録", "role": "officer"})
        statuses.append(response.status_code)
        created.append(email)
    assert set(statuses) == {302}, Counter(statuses)
    assert _statuses(own) == {"pending": len(created)}

    queue.start_embedded_redis(str(instance))
    try:
        own.extensions.pop("banso_redis", None)
        swept = []
        for _ in range(20):  # the worker's timer: a sweep (up to 500 at a time), then the worker sends them
            with own.app_context():
                count = jobs.sweep_outbox()
            if not count:
                break  # a last sweep finds nothing more to send
            swept.append(count)
            run_worker(own)
        assert sum(swept) == len(created) and max(swept) <= 500, swept
        delivered = Counter(m["To"].addresses[0].addr_spec for m in smtp.messages)
        assert sorted(delivered) == sorted(created) and set(delivered.values()) == {1}
        assert _statuses(own) == {"sent": len(created)}
    finally:
        queue.stop_embedded_redis(str(instance))


def test_an_smtp_server_refusing_then_accepting_gets_everything_once_and_the_failures_show(app, client, smtp):
    app.config["NOTIFY_MAX_ATTEMPTS"] = 5
    with app.app_context():
        staff = make_user(Role.SECRETARIAT).email
        for n in range(6):
            notifications.notify(key=f"refused-{n}", recipient_email=f"r{n}@example.lg.jp", kind="test",
                                 subject="件名", body="本文")
        db.session.commit()
    refusals = {"left": 8}  # every first try and two retries are refused, then the server recovers
    original = smtp.handle_DATA

    async def refusing_then_accepting(server, session, envelope):
        if refusals["left"] > 0:
            refusals["left"] -= 1
            return "451 4.3.0 mailbox busy, try later"
        return await original(server, session, envelope)

    smtp.handle_DATA = refusing_then_accepting
    # The first run: each try is refused once and the failure is on record while the retries wait.
    with app.app_context():
        queued = queue.queue("notifications")
        ids = list(db.session.scalars(select(Notification.id)))
    with app.app_context():
        jobs.deliver_notifications(ids)
        waiting = list(db.session.scalars(select(Notification)))
        assert {n.status for n in waiting} == {"pending"}
        assert all("451" in n.last_error for n in waiting)
    login(client, staff)
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert "451" in page
    assert queued.count == 1 + 6  # the commit's own run, still queued, and one retry job each

    run_worker(app)
    delivered = Counter(m["To"].addresses[0].addr_spec for m in smtp.messages)
    assert delivered == Counter({f"r{n}@example.lg.jp": 1 for n in range(6)})
    assert _statuses(app) == {"sent": 6}


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                    reason="PostgreSQL を再起動する試験です（DATABASE_URL が PostgreSQL のときに実行）")
@pytest.mark.timing
def test_postgresql_restarted_under_load_gives_a_japanese_503_then_recovers_without_a_restart(app, client):
    cluster = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout.split()
    if not shutil.which("pg_ctlcluster") or len(cluster) < 2:
        pytest.skip("pg_ctlcluster がないため PostgreSQL を再起動できません")
    version, name = cluster[0], cluster[1]
    with app.app_context():
        staff = make_user(Role.SECRETARIAT).email
        db.session.commit()
    login(client, staff)
    assert client.get("/admin/notifications").status_code == 200

    seen: list[tuple[int, str]] = []
    stop = threading.Event()

    def load() -> None:
        local = app.test_client()
        login(local, staff)
        while not stop.is_set():
            response = local.get("/admin/notifications")
            seen.append((response.status_code, response.get_data(as_text=True)))
            time.sleep(0.05)

    def pg_ctlcluster(action: str, *options: str) -> None:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action, *options], check=True)

    thread = threading.Thread(target=load)
    thread.start()
    try:
        wait_until(lambda: seen, what="the load's first answer")
        stopped_at = len(seen)
        pg_ctlcluster("stop", "-m", "fast")
        try:
            wait_until(lambda: any(code != 200 for code, _ in seen[stopped_at:]),
                       what="an answer given while PostgreSQL is stopped")
        finally:
            pg_ctlcluster("start")
        wait_until(lambda: subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0,
                   what="PostgreSQL to accept connections again", interval=0.5)
        started_at = len(seen)
        wait_until(lambda: any(code == 200 for code, _ in seen[started_at:]),
                   what="the load to be served again after PostgreSQL started")
    finally:
        stop.set()
        thread.join(timeout=60)

    codes = Counter(code for code, _ in seen)
    assert set(codes) <= {200, 503} and codes[503] >= 1, codes  # the outage was seen, and only as a 503
    for code, body in seen:
        if code == 503:
            assert "ただいま一時的に利用できません" in body and "Traceback" not in body
    # The same app, never restarted, serves again.
    assert client.get("/admin/notifications").status_code == 200
    served_again = next(i for i, (code, _) in enumerate(seen) if i >= started_at and code == 200)
    assert {code for code, _ in seen[served_again:]} == {200}


@pytest.mark.timing
def test_a_worker_killed_in_the_middle_of_a_delivery_is_swept_and_the_notice_sent_once(app, database_url, redis_url, smtp,
                                                                                       clock):
    """A real `python -m worker` is killed (SIGKILL) while the SMTP server is still answering its RCPT."""
    from datetime import datetime, timezone

    clock.set(datetime.now(timezone.utc))  # the worker process keeps the real time
    with app.app_context():
        notifications.notify(key="killed-worker", recipient_email="slow@example.lg.jp", kind="test", subject="件名",
                             body="本文")
        db.session.commit()
        notification_id = db.session.scalar(select(Notification.id))
    entered = threading.Event()

    async def slow_rcpt(server, session, envelope, address, rcpt_options):
        entered.set()
        import asyncio

        await asyncio.sleep(30)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp.handle_RCPT = slow_rcpt
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": TEST_SECRET,
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(app.config["MAIL_PORT"])}
    # Its own process group: RQ's scheduler runs in a child process, which must die with it (an orphan would
    # keep the scheduler's locks in Redis and take later runs' jobs).
    worker = subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(entered.is_set, what="the worker to reach the SMTP server's RCPT")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    del smtp.handle_RCPT
    with app.app_context():
        assert db.session.get(Notification, notification_id).status == "sending"
        assert jobs.sweep_outbox() == 0  # a fresh claim is not taken from a worker that may still be sending
    clock.advance(minutes=11)  # past the claim's time limit
    with app.app_context():
        assert jobs.sweep_outbox() == 1
    run_worker(app)
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == ["slow@example.lg.jp"]
    assert _statuses(app) == {"sent": 1}
