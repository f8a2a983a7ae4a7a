from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from banso.blueprints.admin import bp
from banso.blueprints.admin.forms import (AuditFilterForm, PhaseEventForm, PhaseForm, UserCreateForm,
                                          UserEditForm, as_jst, fill_phase_form, phase_data)
from banso.blueprints.forms import act, already_sent, on_refusal
from banso.extensions import db
from banso.formatting import jst_datetime, parse_id
from banso.listing import export, log_page, page_or_fragment, paginate, sort_by
from banso.models import AuditEntry, Notification, Phase, PhaseEvent, SignInIdentity, User
from banso.models.user import ROLE_LABELS
from banso.permissions import FORM_PAGE, allowed
from banso.policies import admin as admin_policy
from banso.policies.roles import is_claimant
from banso.services import audit, notifications, phases, sso, two_factor, users



# --- users -----------------------------------------------------------------

USER_SORTS = {"name": User.name, "email": User.email, "role": User.role, "last_login": User.last_login_at}


@bp.get("/users", endpoint="users")
@allowed(admin_policy.may_administer)
def users_index():
    stmt = users.list_query(q=request.args.get("q"), role=request.args.get("role"), active=request.args.get("active"))
    stmt, sort = sort_by(stmt, USER_SORTS, "name")
    if request.args.get("format") in ("csv", "xlsx"):
        return export(db.session.scalars(stmt), [
            ("氏名", lambda u: u.name), ("メールアドレス", lambda u: u.email), ("役割", lambda u: u.role_label),
            ("状態", lambda u: "有効" if u.active else "無効"), ("最終サインイン", lambda u: jst_datetime(u.last_login_at)),
        ], "利用者一覧")
    return page_or_fragment("admin/users.html", "admin/_users_table.html", page=paginate(stmt), sort=sort,
                            roles=ROLE_LABELS, form=UserCreateForm())



@bp.post("/users")
@allowed(admin_policy.may_administer, refused=FORM_PAGE)
def users_create():
    form = UserCreateForm()
    on_refusal(lambda: render_template("admin/user_new.html", form=form), form)
    if form.validate_on_submit():
        if (sent := already_sent(form)) is not None:
            return sent
        user = users.create_user(email=form.email.data, name=form.name.data, role=form.role.data, actor=current_user)
        flash(f"利用者「{user.name}」を登録し、{user.email} にパスワード設定用のリンク（24時間有効）を送りました。", "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/user_new.html", form=form), 422


@bp.get("/users/new")
@allowed(admin_policy.may_administer)
def users_new():
    return render_template("admin/user_new.html", form=UserCreateForm())


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@allowed(admin_policy.may_administer, refused=FORM_PAGE)
def users_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserEditForm(obj=user)
    on_refusal(lambda: _user_page(form, user), form)
    if form.validate_on_submit():
        users.update_user(user, name=form.name.data, role=form.role.data, active=form.active.data, actor=current_user,
                          post=form.post.data or "")
        flash(f"利用者「{user.name}」を更新しました。", "success")
        return redirect(url_for("admin.users"))
    return _user_page(form, user), 422 if form.errors else 200


def _user_page(form, user: User):
    labels = {p.name: p.label for p in sso.providers()}
    return render_template("admin/user_edit.html", form=form, user=user, throttles=users.throttles_of(user),
                           identities=sso.identities_of(user), provider_labels=labels, roles=ROLE_LABELS,
                           claims_only_until=user.claims_until if is_claimant(user) else None)


@bp.post("/users/<int:user_id>/identities/<int:identity_id>/take-proposal")
@allowed(admin_policy.may_administer, refused="admin.users_edit")
def users_take_proposal(user_id: int, identity_id: int):
    identity = _identity_of(user_id, identity_id)
    return act(lambda: sso.take_proposal(identity, actor=current_user), "認証基盤の提案どおりに役割を変更しました。",
               redirect(url_for("admin.users_edit", user_id=user_id)))


@bp.post("/users/<int:user_id>/identities/<int:identity_id>/unlink")
@allowed(admin_policy.may_administer, refused="admin.users_edit")
def users_unlink_identity(user_id: int, identity_id: int):
    identity = _identity_of(user_id, identity_id)
    return act(lambda: sso.unlink(identity, actor=current_user),
               "認証基盤のアカウントとの結び付けを解除しました。本人は招待のリンクから結び付け直せます。",
               redirect(url_for("admin.users_edit", user_id=user_id)))


def _identity_of(user_id: int, identity_id: int):
    identity = db.get_or_404(SignInIdentity, identity_id)
    if identity.user_id != user_id:
        abort(404)
    return identity


@bp.post("/users/<int:user_id>/reset-password")
@allowed(admin_policy.may_administer, refused="admin.users_edit")
def users_reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    if user.last_login_at is None:
        users.send_link(user, actor=current_user)
    else:
        users.reset_password(user, actor=current_user)
    flash(f"「{user.name}」さん（{user.email}）にパスワード設定用のリンク（24時間有効・1回限り）を送りました。", "success")
    return redirect(url_for("admin.users_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/reset-two-factor")
@allowed(admin_policy.may_administer, refused="admin.users_edit")
def users_reset_two_factor(user_id: int):
    user = db.get_or_404(User, user_id)
    return act(lambda: two_factor.reset(user, actor=current_user),
               f"「{user.name}」さんの二要素認証をリセットしました。本人にお知らせのメールを送りました。",
               redirect(url_for("admin.users_edit", user_id=user.id)))


# --- phases ----------------------------------------------------------------

@bp.get("/phases", endpoint="phases")
@allowed(admin_policy.may_administer)
def phases_index():
    return render_template("admin/phases.html", phases=phases.all_phases())



@bp.route("/phases/new", methods=["GET", "POST"])
@allowed(admin_policy.may_administer, refused=FORM_PAGE)
def phases_create():
    """A new phase, typed in or (?from=<id>) drafted from the last one a year on, with its carried-over settings."""
    source = db.session.get(Phase, parse_id(request.args.get("from"))) if parse_id(request.args.get("from")) else None
    form = PhaseForm()

    def page():
        return render_template("admin/phase_form.html", form=form, phase=None, source=source)

    on_refusal(page, form)
    if request.method == "GET" and source is not None:
        fill_phase_form(form, phases.draft_after(source)[0])
    if form.validate_on_submit():
        phase = phases.create_phase(phase_data(form), actor=current_user, carried_from=source)
        flash(f"{phase.name}を登録しました。" + (f"{source.name}の行事・旅費の標準額・マッチングの設定を引き継ぎました。"
                                               if source is not None else ""), "success")
        return redirect(url_for("admin.phases_edit", phase_id=phase.id))
    return page(), 422 if form.errors else 200


@bp.route("/phases/<int:phase_id>", methods=["GET", "POST"])
@allowed(admin_policy.may_administer, refused=FORM_PAGE)
def phases_edit(phase_id: int):
    phase = db.get_or_404(Phase, phase_id)
    form = PhaseForm()
    form.travel_budget_cap_yen.render_kw = {"readonly": True}  # revised on the budget page, with a reason
    def page():
        return render_template("admin/phase_form.html", form=form, phase=phase, event_form=PhaseEventForm(),
                               milestones=phases.timeline(phase)), 422 if form.errors or form.form_errors else 200

    on_refusal(page, form)
    if request.method == "GET":
        fill_phase_form(form, phase)
    elif form.validate_on_submit():
        phases.update_phase(phase, phase_data(form), actor=current_user, expected_version=form.version.data)
        flash(f"{phase.name}を更新しました。", "success")
        return redirect(url_for("admin.phases_edit", phase_id=phase.id))
    return page()


@bp.post("/phases/<int:phase_id>/events")
@allowed(admin_policy.may_administer, refused="admin.phases_edit")
def phases_add_event(phase_id: int):
    phase = db.get_or_404(Phase, phase_id)
    form = PhaseEventForm()
    back = redirect(url_for("admin.phases_edit", phase_id=phase.id))
    if not form.validate_on_submit():
        flash("行事名と日時を入力してください。", "error")
        return back
    if (sent := already_sent(form)) is not None:
        return sent
    return act(lambda: phases.add_event(phase, form.label.data, as_jst(form.at.data), actor=current_user), "日程を追加しました。", back)


@bp.post("/phases/<int:phase_id>/events/<int:event_id>/delete")
@allowed(admin_policy.may_administer, refused="admin.phases_edit")
def phases_remove_event(phase_id: int, event_id: int):
    event = db.get_or_404(PhaseEvent, event_id)
    if event.phase_id != phase_id:
        abort(404)
    return act(lambda: phases.remove_event(event, actor=current_user), "日程を削除しました。",
               redirect(url_for("admin.phases_edit", phase_id=phase_id)))


# --- audit -----------------------------------------------------------------

@bp.get("/audit", endpoint="audit")
@allowed(admin_policy.may_administer)
def audit_index():
    form = AuditFilterForm(request.args)
    form.object_type.choices = [SelectChoice("", "すべて")] + [SelectChoice(t) for t in audit.object_types()]
    valid = form.validate()
    stmt = audit.list_query(
        actor_id=parse_id(request.args.get("actor_id")),  # a user's own page links here with their id
        actor_q=form.actor.data,
        object_type=form.object_type.data or None,
        date_from=form.date_from.data if valid else None,
        date_to=form.date_to.data if valid else None,
        q=form.q.data,
    )
    if request.args.get("format") in ("csv", "xlsx"):
        return export(db.session.scalars(stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())), [
            ("日時", lambda e: jst_datetime(e.at)), ("利用者", lambda e: e.actor.name if e.actor else "システム"),
            ("操作", lambda e: e.action), ("対象", lambda e: e.object_type), ("対象ID", lambda e: e.object_id),
            ("内容", lambda e: e.summary), ("変更前", lambda e: _json(e.before)), ("変更後", lambda e: _json(e.after)),
        ], "監査ログ")
    return page_or_fragment("admin/audit.html", "admin/_audit_table.html", page=log_page(stmt, AuditEntry.at, AuditEntry.id), form=form)



def _json(value) -> str:
    import json

    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


# --- notifications ---------------------------------------------------------



@bp.get("/notifications", endpoint="notifications")
@allowed(admin_policy.may_watch_notifications)
def notifications_index():
    """The outbox as a log, newest first, paged by where the last page ended (no count, no OFFSET over ~80,000 rows);
    filtered by status and searched by recipient or subject."""
    stmt = notifications.list_query(status=request.args.get("status"), q=request.args.get("q"))
    if request.args.get("format") in ("csv", "xlsx"):
        return export(db.session.scalars(stmt.order_by(Notification.created_at.desc(), Notification.id.desc())), [
            ("作成日時", lambda n: jst_datetime(n.created_at)), ("宛先", lambda n: n.recipient_email),
            ("件名", lambda n: n.subject), ("状態", lambda n: n.status_label), ("試行回数", lambda n: n.attempts),
            ("送信日時", lambda n: jst_datetime(n.sent_at)), ("エラー", lambda n: n.last_error),
        ], "通知一覧")
    return page_or_fragment("admin/notifications.html", "admin/_notifications_table.html",
                            page=log_page(stmt, Notification.created_at, Notification.id))



@bp.post("/notifications/<int:notification_id>/resend")
@allowed(admin_policy.may_watch_notifications, refused="admin.notifications")
def notifications_resend(notification_id: int):
    notification = db.get_or_404(Notification, notification_id)
    return act(lambda: notifications.resend(notification, actor=current_user), f"「{notification.subject}」を再送キューに入れました。",
               redirect(url_for("admin.notifications", status=request.args.get("status", ""))))
