"""End-to-end fixtures: the app served on loopback by a real HTTP server, driven by Debian's Chromium."""
from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("BANSO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    skip = pytest.mark.skip(reason=f"Chromium が見つからないため E2E テストを省略しました（{CHROMIUM}; apt-get install chromium）")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@contextmanager
def _serving(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def live_server(app):
    """The test database (emptied after the test: e2e tests commit) served on loopback."""
    with _serving(app) as url:
        yield url


@pytest.fixture
def demo_server(demo_app):
    """A fresh copy of the demo (tests/conftest.py: demo_app) served on loopback."""
    with _serving(demo_app) as url:
        yield url


@pytest.fixture
def matching_week_server(matching_week_app):
    """A fresh copy of the demo in 第2期's matching week (tests/conftest.py) served on loopback."""
    with _serving(matching_week_app) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


LATENCY_MS = 150  # every response this late, as on a slow intranet


@pytest.fixture
def open_page(browser):
    """Open a page as a user of the intranet would: a browser of their own (a new context), in Japanese, on Tokyo's time,
    over a slow network. With each response late, a page's HTML is read well before its deferred scripts (htmx) arrive,
    so a step that acts on a page before its scripts ran fails every time, not once in a hundred runs on a busy machine
    (a CI run failed so). Every page opened is checked for console errors when the test ends, but those the test says
    the page should meet (``expected_errors``: parts of the message, e.g. a 409 the page answers by design)."""
    contexts, errors = [], []

    def open_(expected_errors=(), **options):
        context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", **options)
        contexts.append(context)
        page = context.new_page()
        devtools = context.new_cdp_session(page)
        devtools.send("Network.enable")
        devtools.send("Network.emulateNetworkConditions",
                      {"offline": False, "latency": LATENCY_MS, "downloadThroughput": -1, "uploadThroughput": -1})
        page.on("console", lambda m: errors.append(m.text)
                if m.type == "error" and not any(part in m.text for part in expected_errors) else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    yield open_
    for context in contexts:
        context.close()
    # A CSP violation or a missing asset shows up as a console error.
    assert errors == [], errors


@pytest.fixture
def page(open_page):
    return open_page()
