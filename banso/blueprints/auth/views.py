from flask import abort, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from redis.exceptions import RedisError

from banso.blueprints.auth import bp
from banso.blueprints.auth.forms import LoginForm, PasswordChangeForm, SecondFactorForm, SetPasswordForm
from banso.blueprints.forms import on_refusal, safe_next
from banso.clock import now
from banso.extensions import csrf, db
from banso.formatting import jst_datetime, parse_id
from banso.models import User
from banso.services import calendar_feed, saml, sso
from banso.services import two_factor as factors
from banso.services import users

SECOND_STEP_SECONDS = 300  # the time between the password and the code


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    on_refusal(lambda: render_template("auth/login.html", form=form, providers=sso.providers()), form, status=401)
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data, source=request.remote_addr or "")
        target = safe_next(request.args.get("next"), url_for("dashboard.index"))
        if user.has_two_factor:  # the password was right; the session knows only that, for five minutes
            session["second_step"] = {"user": user.get_id(), "at": now().timestamp(), "next": target}
            return redirect(url_for("auth.second_factor"))
        login_user(user)
        flash(f"{user.name}さん、ようこそ。", "success")
        return redirect(target)
    return render_template("auth/login.html", form=form, providers=sso.providers()), 422 if form.errors else 200


PROVIDER_UNREACHABLE = ("認証基盤に接続できませんでした。しばらくしてからもう一度お試しください。急ぎの場合は、"
                        "パスワードでサインインするか、事務局にご連絡ください。")


@bp.route("/login/sso/<name>", methods=["GET", "POST"])
def sso_start(name: str):
    """To the ministry's provider (PKCE, a nonce, a state in this session). From an invitation's page the link's token
    comes along (POST), so the first sign-in links the account (services/sso.py)."""
    p = sso.provider(name)
    if p is None:
        abort(404)
    state = {"provider": name, "link": (request.form.get("link") or "")[:100],
             "next": safe_next(request.args.get("next"), url_for("dashboard.index"))}
    try:
        if p.kind == "saml":
            return redirect(saml.start(p, state))
        session["sso"] = state
        return sso.client(current_app, name).authorize_redirect(
            current_app.config["BASE_URL"] + url_for("auth.sso_callback", name=name))
    except (OSError, ValueError, KeyError, RuntimeError, RedisError):  # the provider (or, for SAML, Redis) unreachable
        flash(PROVIDER_UNREACHABLE, "error")
        return redirect(url_for("auth.login"))


@bp.get("/login/sso/<name>/callback")
def sso_callback(name: str):
    """Back from the provider: Authlib checks the state, trades the code (with the PKCE verifier) and verifies the
    ID token; services/sso.py decides which account it is."""
    from authlib.integrations.base_client import OAuthError
    from joserfc.errors import JoseError

    p = sso.provider(name)
    if p is None:
        abort(404)
    pending = session.pop("sso", None)
    on_refusal(lambda: (render_template("auth/login.html", form=LoginForm(), providers=sso.providers()), 403))
    if not pending or pending.get("provider") != name:
        flash("サインインの途中で時間が経ったか、別の画面から戻りました。もう一度サインインしてください。", "info")
        return redirect(url_for("auth.login"))
    try:
        token = sso.client(current_app, name).authorize_access_token()
    except (OAuthError, JoseError, OSError, ValueError, KeyError, RuntimeError):
        current_app.logger.warning("sign-in through %s failed", name, exc_info=True)
        flash(PROVIDER_UNREACHABLE, "error")
        return redirect(url_for("auth.login"))
    return _signed_in_through(p, dict(token.get("userinfo") or {}), pending)


def _signed_in_through(p, claims: dict, pending: dict):
    """The account the provider named. A role that requires two factors is satisfied by the provider's own multi-factor
    sign-in (its ``amr``); otherwise Banso's second step follows, as after a password (or enrolment, if none yet)."""
    from banso.policies import admin as admin_policy

    link = users.link_for(pending["link"]) if pending.get("link") else None
    user = sso.sign_in(p, claims, link=link, source=request.remote_addr or "")
    target = pending.get("next") or url_for("dashboard.index")
    by_provider = sso.multi_factor(claims)
    if admin_policy.two_factor_required(user) and not by_provider and user.has_two_factor:
        session["second_step"] = {"user": user.get_id(), "at": now().timestamp(), "next": target}
        return redirect(url_for("auth.second_factor"))
    login_user(user)
    session["factors_by_provider"] = by_provider
    flash(f"{user.name}さん、ようこそ。", "success")
    return redirect(target)


@bp.post("/login/sso/<name>/acs")
@csrf.exempt
def saml_acs(name: str):
    """A SAML provider's answer (HTTP-POST binding, cross-site: no session comes with it; services/saml.py keeps the
    request in Redis and takes it once)."""
    p = sso.provider(name)
    if p is None or p.kind != "saml":
        abort(404)
    on_refusal(lambda: (render_template("auth/login.html", form=LoginForm(), providers=sso.providers()), 403))
    claims, pending = saml.finish(p, request.form.get("SAMLResponse", ""))
    return _signed_in_through(p, claims, pending)


@bp.get("/login/sso/<name>/metadata")
def saml_metadata(name: str):
    """Banso's SAML metadata for this provider, for the ministry to register."""
    p = sso.provider(name)
    if p is None or p.kind != "saml":
        abort(404)
    return current_app.response_class(saml.metadata(p), mimetype="application/samlmetadata+xml")


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    user = _half_signed_in()
    if user is None:
        flash("確認コードの入力時間（5分）を過ぎたか、サインインが始まっていません。もう一度サインインしてください。", "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    on_refusal(lambda: render_template("auth/second_factor.html", form=form), form, status=401)
    if form.validate_on_submit():
        users.verify_second_factor(user, form.code.data, source=request.remote_addr or "")
        target = session.pop("second_step")["next"]
        login_user(user)
        flash(f"{user.name}さん、ようこそ。", "success")
        if factors.unused_recovery_codes(user) <= 3:
            flash(f"未使用の回復コードが残り{factors.unused_recovery_codes(user)}件です。二要素認証の画面で再発行してください。", "warning")
        return redirect(target)
    return render_template("auth/second_factor.html", form=form), 422 if form.errors else 200


def _half_signed_in() -> User | None:
    """The user whose password was right a moment ago in this browser, if still the same account state."""
    pending = session.get("second_step")
    if not pending or now().timestamp() - pending.get("at", 0) > SECOND_STEP_SECONDS:
        session.pop("second_step", None)
        return None
    user_id, _, version = str(pending.get("user", "")).partition(".")
    user = db.session.get(User, parse_id(user_id)) if parse_id(user_id) else None
    if user is None or not user.active or str(user.session_version) != version or not user.has_two_factor:
        session.pop("second_step", None)
        return None
    return user


@bp.post("/logout")
@login_required
def logout():
    users.record_sign_out(current_user, source=request.remote_addr or "")
    logout_user()
    flash("サインアウトしました。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordChangeForm()
    on_refusal(lambda: render_template("auth/password.html", form=form), form)
    if form.validate_on_submit():
        users.change_password(current_user, current=form.current.data, new=form.password.data)
        login_user(current_user._get_current_object(), fresh=True)  # this session goes on; every other one ended
        flash("パスワードを変更しました。", "success")
        return redirect(url_for("dashboard.index"))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200


@bp.route("/account/setup/<token>", methods=["GET", "POST"])
def setup(token: str):
    """An invitation or reset link from the e-mail: the user sets their own password, then signs in."""
    link = users.link_for(token)
    if link is None:
        return render_template("auth/link_used.html", message=users.LINK_USED), 410
    if current_user.is_authenticated:
        logout_user()  # the link is for its own account, whoever was signed in here
    form = SetPasswordForm()
    user = db.session.get(User, link.user_id)
    on_refusal(lambda: render_template("auth/setup.html", form=form, user=user, link=link, token=token,
                                       providers=sso.providers()), form)
    if form.validate_on_submit():
        users.set_password_by_link(link, form.password.data)
        flash("パスワードを設定しました。新しいパスワードでサインインしてください。", "success")
        return redirect(url_for("auth.login"))
    return (render_template("auth/setup.html", form=form, user=user, link=link, token=token, providers=sso.providers()),
            422 if form.errors else 200)


@bp.route("/account/calendar", methods=["GET", "POST"])
@login_required
def calendar():
    """The user's own calendar feed: its address is shown once, when issued or renewed (only its hash is kept)."""
    address = None
    if request.method == "POST":
        token = calendar_feed.renew(current_user, actor=current_user)
        address = current_app.config["BASE_URL"].rstrip("/") + url_for("auth.calendar_file", token=token)
    return render_template("auth/calendar.html", address=address, issued=calendar_feed.issued_at(current_user))


@bp.get("/calendar/<token>.ics")
def calendar_file(token: str):
    """The feed itself, for a calendar program (no session: the secret address signs it)."""
    user = calendar_feed.owner(token)
    if user is None:
        abort(404)
    response = make_response(calendar_feed.feed(user))
    response.mimetype = "text/calendar"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = 'inline; filename="banso.ics"'
    return response


@bp.get("/account/two-factor")
@login_required
def two_factor():
    return _two_factor_page(SecondFactorForm(), 200)


@bp.post("/account/two-factor/start")
@login_required
def two_factor_start():
    on_refusal(lambda: redirect(url_for("auth.two_factor")))
    factors.start(current_user)
    return redirect(url_for("auth.two_factor"))


@bp.post("/account/two-factor/confirm")
@login_required
def two_factor_confirm():
    return _with_code(lambda user, code: factors.confirm(user, code), "二要素認証を設定しました。")


@bp.post("/account/two-factor/recovery-codes")
@login_required
def two_factor_recovery_codes():
    return _with_code(factors.renew_recovery_codes, "回復コードを再発行しました。以前の回復コードは使えません。")


@bp.post("/account/two-factor/disable")
@login_required
def two_factor_disable():
    form = SecondFactorForm()
    on_refusal(lambda: _two_factor_page(form, 422), form)
    if not form.validate_on_submit():
        return _two_factor_page(form, 422)
    factors.disable(current_user, form.code.data)
    flash("二要素認証を解除しました。", "success")
    return redirect(url_for("auth.two_factor"))


def _with_code(action, success: str):
    """Enrol or renew on a code: the recovery codes are shown on this response only, never stored readable."""
    form = SecondFactorForm()
    on_refusal(lambda: _two_factor_page(form, 422), form)
    if not form.validate_on_submit():
        return _two_factor_page(form, 422)
    codes = action(current_user, form.code.data)
    flash(success, "success")
    issued_at = now()
    text = "\r\n".join([f"Banso 回復コード（{current_user.name} / {current_user.email}、{jst_datetime(issued_at)} 発行）",
                          "各コードは1回限り使えます。認証アプリとは別の安全な場所に保管してください。", ""] + codes) + "\r\n"
    return render_template("auth/recovery_codes.html", codes=codes, issued_at=issued_at, download_text=text)


def _two_factor_page(form, status: int):
    user = current_user._get_current_object()
    return render_template("auth/two_factor.html", user=user, form=form,
                           qr=factors.enrolment_qr_svg(user) if user.totp_pending_secret else None,
                           secret=factors.grouped(user.totp_pending_secret or ""),
                           unused=factors.unused_recovery_codes(user) if user.has_two_factor else 0), status
