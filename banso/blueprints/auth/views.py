from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from banso.blueprints.auth import bp
from banso.blueprints.auth.forms import LoginForm, PasswordChangeForm
from banso.blueprints.forms import on_refusal
from banso.services import users


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    on_refusal(lambda: render_template("auth/login.html", form=form), form, status=401)
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data, source=request.remote_addr or "")
        login_user(user)
        flash(f"{user.name}さん、ようこそ。", "success")
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


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


def _safe_next(target: str | None) -> str:
    """Only follow ``next`` within Banso."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("dashboard.index")
