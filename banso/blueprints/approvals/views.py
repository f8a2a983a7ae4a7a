"""決裁: each person's inbox (what waits for them, and for those they deputise now), 後閲 to read, their absences and
代決者, and the routes an admin sets."""
from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from banso.blueprints.approvals import bp
from banso.blueprints.forms import on_refusal
from banso.extensions import db
from banso.formatting import parse_id
from banso.models import ApprovalAction, User
from banso.permissions import FORM_PAGE, allowed
from banso.policies import approvals as policy
from banso.services import InputError, approvals


def subject_url(case) -> str | None:
    """The page of the matter a case is about."""
    if case.kind in ("travel_order", "travel_order_change") and case.subject_id:
        return url_for("travel.detail", trip_id=case.subject_id)
    return None


@bp.get("/", endpoint="index")
@allowed(policy.may_use_inbox)
def index():
    from banso.models import Absence

    absences = db.session.scalars(select(Absence).where(Absence.user_id == current_user.id).order_by(Absence.starts_on.desc())
                                  .limit(20)).all()
    return render_template("approvals/index.html", waiting=approvals.waiting_for(current_user),
                           to_read=approvals.to_read(current_user), absences=absences, deputies=approvals.possible_deputies(current_user),
                           kinds=approvals.KINDS, subject_url=subject_url)


@bp.post("/read/<int:action_id>")
@allowed(policy.may_use_inbox, refused="approvals.index")
def read(action_id: int):
    action = db.get_or_404(ApprovalAction, action_id)
    approvals.mark_read(action, current_user)
    flash(f"「{action.case.title}」を閲了にしました。", "success")
    return redirect(url_for("approvals.index"))


@bp.post("/absences")
@allowed(policy.may_use_inbox, refused="approvals.index")
def absence():
    form = request.form
    try:
        starts_on, ends_on = date.fromisoformat(form.get("starts_on", "")), date.fromisoformat(form.get("ends_on", ""))
    except ValueError:
        raise InputError("不在の期間（開始日・終了日）を入力してください。") from None
    deputy = db.session.get(User, parse_id(form.get("deputy_id"))) if parse_id(form.get("deputy_id")) else None
    approvals.record_absence(current_user, starts_on, ends_on, deputy, kinds=form.getlist("kinds"), actor=current_user)
    flash(f"不在（{starts_on:%-m月%-d日}〜{ends_on:%-m月%-d日}）を登録しました。"
          + (f"その間の決裁は{deputy.name}さんが代決します。" if deputy else ""), "success")
    return redirect(url_for("approvals.index"))


@bp.route("/routes", methods=["GET", "POST"])
@allowed(policy.may_use_inbox, refused=FORM_PAGE)
def routes():
    kind = request.values.get("kind", "travel_order")
    current = {k: approvals.route_for(k) for k in approvals.KINDS}

    def page():
        return render_template("approvals/routes.html", routes=current, kinds=approvals.KINDS, chosen=kind,
                               texts={k: approvals.route_text(r.steps) for k, r in current.items()},
                               may_edit=policy.may_edit_routes(current_user))

    on_refusal(page)
    if request.method == "POST":
        route = approvals.set_route(kind, approvals.parse_route(request.form.get("steps", "")), actor=current_user)
        flash(f"{approvals.KINDS[kind]}の決裁ルートを第{route.version}版にしました。進行中の案件は元のルートのままです。", "success")
        return redirect(url_for("approvals.routes"))
    return page()
