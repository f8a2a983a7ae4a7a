"""The app factory, its embedded defaults and its refusals in production."""
import pytest

from banso import create_app
from banso.config import ConfigError


def test_defaults_are_embedded(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER", "SECRET_KEY", "BANSO_ENV"):
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///") and app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/banso.sqlite3")
    assert app.config["REDIS_URL"].startswith("unix://") and app.config["EMBEDDED_REDIS"]
    assert app.config["MAIL_SERVER"] is None  # mail goes to the development mailbox
    assert len(app.config["SECRET_KEY"]) >= 32
    assert create_app().config["SECRET_KEY"] == app.config["SECRET_KEY"]  # generated once, kept
    assert "dev" in app.blueprints


# What production needs: a real secret, PostgreSQL, a Redis server and a mail server.
PRODUCTION = {"BANSO_ENV": "production", "SECRET_KEY": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
              "DATABASE_URL": "postgresql://db/banso", "REDIS_URL": "redis://127.0.0.1:6379/0", "MAIL_SERVER": "smtp.example.go.jp"}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_SERVER"])
def test_production_refuses_to_start_without_real_settings(missing):
    config = dict(PRODUCTION, **{missing: None})
    with pytest.raises(ConfigError) as refused:
        create_app(config)
    assert missing in str(refused.value)


@pytest.mark.parametrize("key", ["short", "s" * 40, "abcabcabcabcabcabcabcabcabcabcabcabc", "password" * 5])
def test_production_refuses_a_weak_secret_key(key):
    """Found: only the length was checked; 40 times the same letter passed."""
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(dict(PRODUCTION, SECRET_KEY=key))


@pytest.mark.parametrize("overrides, message", [
    ({"DATABASE_URL": "sqlite:////var/banso.sqlite3"}, "PostgreSQL"),
    ({"BANSO_ENV": "prod"}, "BANSO_ENV"),
    ({"BANSO_ENV": "Production"}, "BANSO_ENV"),
    ({"MFA_REQUIRED_ROLES": "admin"}, "MFA_REQUIRED_ROLES"),
    ({"MFA_REQUIRED_ROLES": ""}, "MFA_REQUIRED_ROLES"),
    ({"MFA_REQUIRED_ROLES": "admin,finance,auditor"}, "MFA_REQUIRED_ROLES"),
    ({"INQUIRY_IMAP_HOST": "imap.example.go.jp", "INQUIRY_IMAP_SECURITY": "tls"}, "INQUIRY_IMAP_SECURITY"),
    ({"INQUIRY_IMAP_HOST": "imap.example.go.jp"}, "INQUIRY_IMAP_USER"),
])
def test_production_refuses_sqlite_and_an_unknown_environment(overrides, message):
    with pytest.raises(ConfigError, match=message):
        create_app(dict(PRODUCTION, **overrides))


def test_production_requires_two_factors_for_admin_and_finance_by_default():
    assert set(create_app(dict(PRODUCTION)).config["MFA_REQUIRED_ROLES"]) == {"admin", "finance"}
    assert set(create_app(dict(PRODUCTION, MFA_REQUIRED_ROLES="admin, finance, secretariat")).config["MFA_REQUIRED_ROLES"]) == {
        "admin", "finance", "secretariat"}


def test_behind_trusted_proxies_the_client_address_is_the_forwarded_one():
    from flask import request

    app = create_app(dict(PRODUCTION, BANSO_TRUSTED_PROXIES="1"))
    seen = {}

    @app.get("/_address")
    def address():
        seen["address"] = request.remote_addr
        return "ok"

    app.test_client().get("/_address", environ_base={"REMOTE_ADDR": "10.0.0.1"}, headers={"X-Forwarded-For": "203.0.113.7"})
    assert seen["address"] == "203.0.113.7"
    direct = create_app(dict(PRODUCTION))  # no proxy configured: a forged header is not believed

    @direct.get("/_address")
    def direct_address():
        seen["direct"] = request.remote_addr
        return "ok"

    direct.test_client().get("/_address", environ_base={"REMOTE_ADDR": "10.0.0.1"}, headers={"X-Forwarded-For": "203.0.113.7"})
    assert seen["direct"] == "10.0.0.1"


def test_production_has_no_demo_data_no_dev_pages_and_secure_cookies():
    app = create_app(dict(PRODUCTION, DATABASE_URL="postgres://db/banso"))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db/banso"
    assert app.config["LOAD_DEMO_DATA"] is False
    assert "dev" not in app.blueprints
    assert app.config["SESSION_COOKIE_SECURE"] and not app.debug


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    body = response.get_data(as_text=True)
    assert "<script>" not in body and "http://" not in body.replace('http://127.0.0.1', '') and "https://" not in body


def test_errors_are_japanese_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "ページが見つかりません" in response.get_data(as_text=True)


def test_an_unexpected_error_is_a_japanese_500_without_a_stack_trace(database_url, redis_url):
    from tests.conftest import make_app

    app = make_app(database_url, redis_url, TESTING=False)

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("internal detail")

    response = app.test_client().get("/boom-for-test")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "システムエラーが発生しました" in body and "internal detail" not in body and "Traceback" not in body


def test_init_reference_loads_the_managed_lists(app):
    result = app.test_cli_runner().invoke(args=["banso", "init-reference"])
    assert result.exit_code == 0, result.output
    assert "市区町村 1741件" in result.output and "府省庁等" in result.output


@pytest.mark.commits  # its own app, so its own engine: it really commits, and the tables are emptied afterwards
def test_a_request_commits_once_at_its_end_and_a_refusal_keeps_nothing_it_wrote(database_url, redis_url):
    """One request path (banso/request_path.py): views hold no commit; a request that succeeds commits once, one
    that a service refuses rolls back what it wrote before the refusal and shows the message."""
    from sqlalchemy import func, select

    from banso.extensions import db
    from banso.models import PrefectureContact
    from banso.services import RuleViolation
    from tests.conftest import make_app

    app = make_app(database_url, redis_url)

    @app.post("/_probe/<outcome>")
    def probe(outcome: str):
        db.session.add(PrefectureContact(prefecture="岩手県", department="企画課", email=f"{outcome}@example.lg.jp"))
        db.session.flush()
        if outcome == "refused":
            raise RuleViolation("PUB-4", "共有先を保存できません。")
        if outcome == "failed":
            return "保存しません", 422
        return "保存しました"

    client = app.test_client()
    refused = client.post("/_probe/refused")
    assert refused.status_code == 422 and "共有先を保存できません。" in refused.get_data(as_text=True)
    assert client.post("/_probe/failed").status_code == 422
    assert client.post("/_probe/saved").status_code == 200
    with app.app_context():
        assert db.session.scalars(select(PrefectureContact.email)).all() == ["saved@example.lg.jp"]
        assert db.session.scalar(select(func.count()).select_from(PrefectureContact)) == 1


def test_no_page_for_a_signed_in_user_and_no_export_is_kept_by_a_cache(app, client):
    """Found: no Cache-Control on confidential pages and exports. Static files stay cacheable."""
    from banso.extensions import db
    from tests.conftest import login
    from tests.factories import make_user

    with app.app_context():
        make_user("finance", email="cache@banso.example")
        db.session.commit()
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")  # nothing personal yet
    login(client, "cache@banso.example")
    for url in ("/", "/officers/", "/officers/?format=csv", "/travel/rates"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    assert "no-store" not in (client.get("/static/css/banso.css").headers.get("Cache-Control") or "")
