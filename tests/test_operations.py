"""Issue 36, operations: /healthz says the process answers, /readyz that the database, Redis and a worker are there
(503 while one is missing); /metrics in Prometheus's format, summed across gunicorn's workers; one JSON log line per
request with its request id, user id, route and duration — and no personal data."""
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from banso import observability, queue
from banso.observability import JsonFormatter

ROOT = Path(__file__).resolve().parents[1]


def test_healthz_answers_while_readyz_wants_database_redis_and_a_worker(client, app):
    with app.app_context():
        queue.connection().delete(observability.HEARTBEAT)
    assert client.get("/healthz").get_json() == {"status": "ok"}
    waiting = client.get("/readyz")
    assert waiting.status_code == 503 and waiting.get_json()["worker"] == "error: no heartbeat"
    with app.app_context():
        observability.heartbeat(queue.connection())
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {"database": "ok", "redis": "ok", "worker": "ok", "status": "ok"}
    before = app.config["REDIS_URL"], app.config["EMBEDDED_REDIS"]
    app.config.update(REDIS_URL="redis://127.0.0.1:1/0", EMBEDDED_REDIS=False)
    app.extensions.pop("banso_redis", None)
    try:
        down = client.get("/readyz")
        assert down.status_code == 503 and down.get_json()["redis"].startswith("error")
        assert client.get("/healthz").status_code == 200  # the process still answers: not a restart
    finally:
        app.config.update(REDIS_URL=before[0], EMBEDDED_REDIS=before[1])
        app.extensions.pop("banso_redis", None)


def test_metrics_are_for_loopback_or_the_token_and_count_requests(client, app):
    client.get("/login")
    body = client.get("/metrics").get_data(as_text=True)
    assert re.search(r'banso_request_seconds_count\{method="GET",route="/login"\} [1-9]', body)
    assert 'banso_responses_total{route="/login",status="200"}' in body
    assert "banso_outbox_pending" in body and 'banso_rq_queue_depth{queue="notifications"}' in body
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code == 403
    app.config["METRICS_TOKEN"] = "scrape-secret-123"
    try:
        assert client.get("/metrics").status_code == 403
        assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"}).status_code == 200
    finally:
        app.config["METRICS_TOKEN"] = ""


def test_a_request_is_one_json_line_with_its_id_and_no_personal_data(client, app, caplog):
    caplog.set_level(logging.INFO, logger="banso.access")
    response = client.get("/login?next=/officers/?q=taro@example.jp", headers={"X-Request-Id": "req-12345678"})
    assert response.headers["X-Request-Id"] == "req-12345678"
    record = next(r for r in caplog.records if r.name == "banso.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/login" and line["status"] == 200 and line["request_id"] == "req-12345678"
    assert {"ts", "level", "msg", "route", "method", "status", "duration_ms"} <= set(line)
    assert "taro@example.jp" not in json.dumps(line, ensure_ascii=False)
    assert client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"}).headers["X-Request-Id"] != "bad id with spaces"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timing  # it starts gunicorn and waits for it
def test_metrics_are_summed_across_gunicorn_workers(app, database_url, redis_url, tmp_path):
    """Two workers behind one port: 40 requests, wherever each landed, are all in one scrape."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "x" * 40,
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-w", "2",
                               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        for _ in range(40):
            urllib.request.urlopen(base + "/healthz", timeout=5).read()
        for _ in range(20):
            urllib.request.urlopen(base + "/healthz", timeout=5).read()
        body = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
        counted = float(re.search(r'banso_request_seconds_count\{method="GET",route="/healthz"\} ([0-9.e+]+)', body).group(1))
        assert counted >= 60  # the first answer of the wait, 40 and 20: every worker's, summed
        assert len(list((tmp_path / "metrics").glob("*.db"))) >= 2  # both workers counted
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_the_request_line_names_the_signed_in_user_by_id_only(client, app, caplog):
    from tests.conftest import login
    from tests.factories import make_user

    with app.app_context():
        from banso.extensions import db

        user = make_user("secretariat", email="log-user@banso.example", name="記録 太郎")
        user_id = user.id
        db.session.commit()
    login(client, "log-user@banso.example")
    caplog.set_level(logging.INFO, logger="banso.access")
    client.get("/")
    line = json.loads(JsonFormatter().format([r for r in caplog.records if r.name == "banso.access"][-1]))
    assert line["user_id"] == str(user_id) and line["route"] == "/"
    assert "記録 太郎" not in json.dumps(line, ensure_ascii=False) and "log-user@banso.example" not in json.dumps(line)


def test_the_masters_handler_for_an_ended_worker_imports_nothing(tmp_path):
    """gunicorn calls child_exit inside its SIGCHLD handler: two workers ending together entered the same import twice
    and the master stopped on an ImportError (seen in a rolling upgrade). The settings import what it needs when read."""
    script = f"""
import runpy, sys
settings = runpy.run_path({str(ROOT / "gunicorn.conf.py")!r})
before = set(sys.modules)
class Worker: pid = 999999
settings["child_exit"](None, Worker())
print(sorted(set(sys.modules) - before))
"""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_a_worker_forked_from_the_settled_app_starts_warm_and_with_no_connection_of_the_masters(tmp_path):
    """gunicorn forks its workers from the master's loaded app (preload_app): the app is warm there (mappers, every page
    template compiled), and a connection the master opened is never used by a worker."""
    script = f"""
import os, sys
from sqlalchemy import text
from banso import create_app, settle
from banso.extensions import db
app = create_app({{"DATABASE_URL": "sqlite:///{tmp_path / 'fork.sqlite3'}", "SECRET_KEY": "k" * 40,
                  "REDIS_URL": "redis://127.0.0.1:1/0"}})
with app.app_context():
    db.session.execute(text("select 1"))
    db.session.remove()
    before = db.engine.pool.checkedin()
settle(app)
compiled = {{name for _, name in app.jinja_env.cache.keys()}}
pid = os.fork()
if pid == 0:
    with app.app_context():
        os._exit(10 + db.engine.pool.checkedin())
_, status = os.waitpid(pid, 0)
print(before, os.waitstatus_to_exitcode(status) - 10, "base.html" in compiled, "travel/detail.html" in compiled)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["1", "0", "True", "True"]
