"""Banso — the secretariat's intranet for the 地方創生伴走支援制度."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from banso import config as banso_config
from banso.extensions import csrf, db, htmx, login_manager, migrate

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class _Values(ImmutableMultiDict):
    """Query and form values whose ``get`` of an absent name is cheap: Werkzeug's builds an HTTP exception for each
    one, and a filter drawn as a thousand options asks a thousand times per page."""

    def get(self, key, default=None, type=None):
        if key not in self:
            return default
        return super().get(key, default, type)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = _IdConverter  # before any route: an id beyond 32 bits is a 404, not a 500
    app.config.update(banso_config.load(app.instance_path, config))
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"], x_proto=app.config["TRUSTED_PROXIES"])

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    app.request_class = type("BansoRequest", (app.request_class,), {"parameter_storage_class": _Values})  # after htmx's
    _register_sign_in(app)

    from banso import hooks, models  # noqa: F401  (register tables)
    from banso.services import (application_import, continuation_import, officer_import,  # noqa: F401  (register the importers)
                                population_import)
    from banso.models import User
    from banso.policies import hold

    hooks.install()  # what runs around every query and commit: one list, banso/hooks.py

    # PUB-2 on every query of a request (see banso/policies/hold.py); a sign-in or out changes the viewer.
    from flask_login import user_logged_in, user_logged_out
    user_logged_in.connect(lambda *_a, **_k: hold.forget(), app, weak=False)
    user_logged_out.connect(lambda *_a, **_k: hold.forget(), app, weak=False)

    @login_manager.user_loader
    def load_user(session_id: str):
        """The session holds "<id>.<session_version>": a cookie from before a sign-out, a password change or reset,
        a deactivation or a role change names an older version and signs no one in."""
        from banso.formatting import parse_id

        user_id, _, version = str(session_id).partition(".")
        user = db.session.get(User, parse_id(user_id)) if parse_id(user_id) else None
        if user is None or not user.active or str(user.session_version) != version:
            return None
        return user

    _register_session_limits(app)

    from banso import observability
    observability.install(app)  # before the other hooks: its timing and request id wrap the whole request

    _register_blueprints(app)
    _register_templates(app)
    _register_errors(app)
    _register_security_headers(app)
    _register_input_guard(app)

    from banso.cli import banso_cli
    app.cli.add_command(banso_cli)

    if app.config["BANSO_ENV"] == "production":
        app.debug = False
    logging.getLogger("banso").setLevel(logging.INFO)
    return app


def _register_sign_in(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "この画面を見るにはサインインしてください。"
    login_manager.login_message_category = "info"


def settle(app: Flask | None = None) -> None:
    """Once a serving process has built its app: what exists now (models, mappers, templates, configuration) lives as
    long as the process, so the cyclic garbage collector is told to leave it aside. Walking it on every full collection
    took a quarter of a list page's time (the loading of its records).

    Given the web app, it is first made warm: the mappers configured and every page template compiled. gunicorn loads
    the app once in its master (``preload_app``, gunicorn.conf.py) and forks the workers from it, so each worker starts
    warm and shares these pages of memory (a cold worker's first pages took two to four times as long, and each worker
    importing the app for itself doubled the processor time an upgrade takes from the users). A forked worker starts
    with an empty database pool: a connection is never used by two processes."""
    import gc
    import os

    if app is not None:
        from sqlalchemy.orm import configure_mappers

        configure_mappers()
        for name in app.jinja_env.list_templates(extensions=["html"]):
            app.jinja_env.get_template(name)
        with app.app_context():
            engines = list(db.engines.values())
        os.register_at_fork(after_in_child=lambda: [engine.dispose(close=False) for engine in engines])
    gc.collect()
    gc.freeze()


class _IdConverter(IntegerConverter):
    """``<int:…>`` in every route: 1 … 2³¹−1, the ids PostgreSQL holds (formatting.MAX_ID)."""

    def __init__(self, url_map, *args, **kwargs):
        from banso.formatting import MAX_ID

        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


# What a signed-in user may open before their password is their own and their two factors are set up.
_ACCOUNT_ENDPOINTS = {"static", "auth.logout", "auth.password", "auth.two_factor", "auth.two_factor_start",
                      "auth.two_factor_confirm", "auth.setup", "health.healthz", "health.readyz",
                      "health.metrics"}


def _register_session_limits(app: Flask) -> None:
    """Idle timeout and absolute lifetime of a signed-in session (SESSION_IDLE_MINUTES, SESSION_MAX_HOURS)."""
    from flask import flash, redirect, session, url_for
    from flask_login import current_user, logout_user, user_logged_in

    from banso.clock import now

    @user_logged_in.connect_via(app)
    def _started(_app, user, **_extra):
        stamp = now().timestamp()
        session["signed_in_at"] = session["seen_at"] = stamp

    @app.before_request
    def _expire():
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        stamp = now().timestamp()
        idle = stamp - session.get("seen_at", 0) > app.config["SESSION_IDLE_MINUTES"] * 60
        old = stamp - session.get("signed_in_at", 0) > app.config["SESSION_MAX_HOURS"] * 3600
        if idle or old:
            logout_user()
            session.pop("signed_in_at", None)
            flash("一定時間操作がなかったため、サインアウトしました。もう一度サインインしてください。" if idle else
                  f"サインインから{app.config['SESSION_MAX_HOURS']}時間が経過したため、サインアウトしました。もう一度サインインしてください。", "info")
            return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
        if stamp - session.get("seen_at", 0) >= 60:
            # At most once a minute: a response that rewrites the session cookie can overwrite what a concurrent one
            # just put there (the live estimate's htmx answer arriving after a form's redirect lost its message).
            session["seen_at"] = stamp
        return _account_first()

    @app.after_request
    def _bounded_messages(response):
        """Messages a client never came back to read (a script posting in a loop) must not grow the session cookie
        past what browsers keep (4 KB): the latest five are kept."""
        flashes = session.get("_flashes")
        if flashes and len(flashes) > 5:
            session["_flashes"] = flashes[-5:]
        return response

    def _account_first():
        """Before any other page: a password someone else typed is replaced, and a role that requires two factors
        enrols them (banso/services/two_factor.py)."""
        from banso.policies import admin as policy

        if request.endpoint in _ACCOUNT_ENDPOINTS:
            return None
        if current_user.password_must_change:
            flash("初めてのサインインのため、ご自身でパスワードを設定してください。", "info")
            return redirect(url_for("auth.password"))
        if (not current_user.has_two_factor and policy.two_factor_required(current_user)
                and not session.get("factors_by_provider")):  # the ministry's provider signed them in with two
            flash(f"{current_user.role_label}は二要素認証が必須です。認証アプリで設定してから、ご利用ください。", "info")
            return redirect(url_for("auth.two_factor"))
        return None


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")


def _register_blueprints(app: Flask) -> None:
    from banso.blueprints.admin import bp as admin_bp
    from banso.blueprints.applications import bp as applications_bp
    from banso.blueprints.approvals import bp as approvals_bp
    from banso.blueprints.documents import bp as documents_bp
    from banso.blueprints.records import bp as records_bp
    from banso.blueprints.imports import bp as imports_bp
    from banso.blueprints.officers import appointments_bp
    from banso.blueprints.officers import bp as officers_bp
    from banso.blueprints.teams import bp as teams_bp
    from banso.blueprints.teams import matching_bp
    from banso.blueprints.travel import bp as travel_bp
    from banso.blueprints.inquiries import bp as inquiries_bp
    from banso.blueprints.inquiries import public_bp as contact_bp
    from banso.blueprints.stats import bp as stats_bp
    from banso.blueprints.publication import bp as publication_bp
    from banso.blueprints.publication import public_bp
    from banso.blueprints.municipalities import bp as municipalities_bp
    from banso.blueprints.auth import bp as auth_bp
    from banso.blueprints.dashboard import bp as dashboard_bp
    from banso.blueprints.dev import bp as dev_bp
    from banso.blueprints.health import bp as health_bp
    from banso.blueprints.scim import bp as scim_bp

    for blueprint in (auth_bp, dashboard_bp, admin_bp, health_bp, applications_bp, municipalities_bp, imports_bp,
                      officers_bp, appointments_bp, teams_bp, matching_bp, travel_bp, inquiries_bp, contact_bp, stats_bp, publication_bp, public_bp,
                      documents_bp, approvals_bp, records_bp, scim_bp):
        app.register_blueprint(blueprint)
    if app.config["BANSO_ENV"] != "production":
        app.register_blueprint(dev_bp)


def _register_templates(app: Flask) -> None:
    from banso import policies
    from banso.formatting import FILTERS
    from banso import request_path
    from banso.permissions import breadcrumbs_for, nav_groups_for

    app.jinja_env.filters.update(FILTERS)

    @app.context_processor
    def inject_navigation():
        from flask_login import current_user

        from banso.services.phases import before_publication, remembered_phase
        from banso.services.publication import watermark

        return {"nav_items": nav_groups_for(current_user), "breadcrumbs": breadcrumbs_for(current_user, request.endpoint),
                "banso_env": app.config["BANSO_ENV"],
                "before_publication": before_publication, "watermark": watermark, "may": policies.MAY,
                "page_watermark": request_path.watermark_text, "remembered_phase": remembered_phase}


def _register_input_guard(app: Flask) -> None:
    """Control characters in any typed value are refused with a clear message before a view sees them."""
    from flask import abort

    from banso.formatting import CONTROL_CHARS

    @app.before_request
    def refuse_control_characters():
        values = [*request.args.values(), *(request.form.values() if request.method == "POST" else [])]
        if any(CONTROL_CHARS.search(v) for v in values):
            abort(400, "入力に使用できない文字（制御文字）が含まれています。入力内容をご確認ください。")


def _register_errors(app: Flask) -> None:
    messages = {
        400: ("リクエストを処理できませんでした", "入力内容をご確認のうえ、もう一度お試しください。"),
        403: ("この画面を表示する権限がありません", "必要な場合は事務局管理者にご相談ください。"),
        404: ("ページが見つかりません", "URLをご確認ください。移動または削除された可能性があります。"),
        405: ("この操作はできません", "画面を再読み込みしてから操作してください。"),
        413: ("ファイルが大きすぎます", "ファイルの大きさをご確認ください。"),
        409: ("他の方の変更と重なりました", "同じ内容が同時に変更されたため、保存しませんでした。画面を再読み込みして内容を確認し、もう一度操作してください。"),
        422: ("入力内容に誤りがあります", "入力内容をご確認ください。"),
        429: ("操作が集中しています", "しばらく時間をおいてから、もう一度お試しください。"),
        500: ("システムエラーが発生しました", "ご不便をおかけしています。時間をおいて再度お試しください。解決しない場合は事務局管理者にご連絡ください。"),
        503: ("ただいま一時的に利用できません", "データベース等に接続できません。しばらく時間をおいて再度お試しください。"),
    }

    def render_error(code: int, detail: str | None = None):
        title, text = messages.get(code, messages[500])
        if request.path in ("/healthz", "/readyz", "/metrics") or request.accept_mimetypes.best == "application/json":
            return jsonify(error=title), code
        template = "errors/_message.html" if getattr(request, "htmx", False) else "errors/error.html"
        return render_template(template, code=code, title=title, text=detail or text), code

    from banso import request_path

    request_path.register(app, render_error)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, "画面の有効期限が切れました。再読み込みしてから、もう一度操作してください。")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        own = exc.description if exc.description != type(exc).description else None  # a message of ours, in Japanese
        return render_error(exc.code or 500, own)

    @app.errorhandler(OperationalError)
    def database_unavailable(exc):
        from flask import g

        db.session.rollback()
        app.logger.error("データベースに接続できません: %s", exc)
        g._login_user = login_manager.anonymous_user()  # the page must not ask the database who is signed in
        return render_error(503)

    @app.errorhandler(Exception)
    def unexpected_error(exc):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        db.session.rollback()
        app.logger.exception("処理中に予期しないエラーが発生しました")
        return render_error(500)


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        from flask_login import current_user

        signed_in = request.endpoint != "static" and getattr(current_user, "is_authenticated", False)
        if signed_in or "attachment" in response.headers.get("Content-Disposition", ""):
            response.headers["Cache-Control"] = "no-store"  # personal data, held results, exports: never kept by a cache
            response.headers["Pragma"] = "no-cache"
        if app.config["BANSO_ENV"] == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
