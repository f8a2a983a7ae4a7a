"""決裁: each person's inbox (what waits for them, for those they deputise now, and what they may 引上げ), a case's
page with its timeline and verbs, 後閲 to read, their absences and 代決者, and the routes an admin sets."""
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from banso.blueprints.approvals import bp
from banso.clock import today_jst
from banso.blueprints.forms import on_refusal, report_bulk
from banso.extensions import db
from banso.formatting import parse_id
from banso.models import Absence, ApprovalAction, ApprovalCase, User
from banso.models.approval import VERBS
from banso.permissions import FORM_PAGE, allowed
from banso.policies import approvals as policy
from banso.services import InputError, approvals

# Matters decided on their own area's page (a trip's review takes the cap, moves the trip): the case's page links there.
OWN_PAGES = {"travel_order": "travel.detail", "claim": "travel.detail"}


def subject_url(case) -> str | None:
    """The page of the matter a case is about."""
    if case.kind in ("travel_order", "travel_order_change", "claim") and case.subject_id:
        return url_for("travel.detail", trip_id=case.subject_id)
    if case.kind in ("matching_confirm", "early_release") and case.subject_id:
        from banso.models import Phase

        phase = db.session.get(Phase, case.subject_id)
        return url_for("publication.index", phase=phase.number) if phase else None
    return None


@bp.get("/", endpoint="index")
@allowed(policy.may_use_inbox)
def index():
    absences = db.session.scalars(select(Absence).where(Absence.user_id == current_user.id).order_by(Absence.starts_on.desc())
                                  .limit(20)).all()
    return render_template("approvals/index.html", waiting=approvals.waiting_for(current_user),
                           to_read=approvals.to_read(current_user), absences=absences, mine=approvals.mine(current_user),
                           deputies=approvals.possible_deputies(current_user), kinds=approvals.KINDS, subject_url=subject_url,
                           today=today_jst())


@bp.get("/summary")
@allowed(policy.may_use_inbox)
def summary():
    """The home page's 決裁 card (loaded after the page): how many wait, overdue among them, 後閲 to read."""
    return render_template("approvals/_summary.html", counts=approvals.counts(current_user))


def _case(case_id: int) -> ApprovalCase:
    case = db.session.scalar(select(ApprovalCase).where(ApprovalCase.id == case_id).options(*approvals.with_history()))
    if case is None:
        abort(404)  # a case about a held team is not found (PUB-2)
    if not policy.may_see_case(case, current_user):
        abort(403)
    return case


@bp.route("/<int:case_id>", methods=["GET", "POST"])
@allowed(policy.may_use_inbox, refused=FORM_PAGE)
def case(case_id: int):
    item = _case(case_id)

    def page():
        return render_template("approvals/case.html", case=item, kinds=approvals.KINDS, verbs=VERBS,
                               pull_up=policy.pull_up_to(item, current_user),
                               due_on=approvals.due_on(item) if item.status == "in_progress" else None,
                               ahead=approvals.route_text(item.steps[item.step:]) if item.status == "in_progress" else "",
                               own_page=OWN_PAGES.get(item.kind), subject_url=subject_url(item))

    on_refusal(page)
    if request.method == "POST":
        return _verb(item, request.form.get("action", ""), request.form.get("reason", ""))
    return page()


VERB_DONE = {"reroute": "のルートを変更しました", "approve": "承認しました", "return": "差し戻しました", "reject": "却下しました", "recall": "引き戻しました",
             "resubmit": "再提出しました", "withdraw": "取り下げました"}


def _verb(item: ApprovalCase, action: str, reason: str):
    if action not in VERB_DONE:
        raise InputError("操作を選んでください。")
    if action in ("approve", "return", "reject") and item.kind in OWN_PAGES:
        raise InputError("この案件は、出張申請の画面で審査してください（予算上限の確認とあわせて決裁されます）。")
    to_step = parse_id(request.form.get("to_step")) if request.form.get("to_step") not in (None, "", "drafter") else None
    verbs = {"approve": lambda: approvals.approve(item, current_user, reason),
             "return": lambda: approvals.send_back(item, current_user, reason, to_step=None if to_step is None else to_step - 1),
             "reject": lambda: approvals.reject(item, current_user, reason),
             "recall": lambda: approvals.recall(item, current_user),
             "resubmit": lambda: approvals.resubmit(item, current_user),
             "withdraw": lambda: approvals.withdraw(item, current_user, reason),
             "reroute": lambda: approvals.reroute(item, approvals.parse_route(request.form.get("steps", "")), reason,
                                                  actor=current_user)}
    if action in ("recall", "resubmit", "withdraw") and not _drafter_may(item, action):
        raise InputError("この操作は起案者が行います。")
    verbs[action]()  # refused: the case's page again with why (409 when someone acted first)
    flash(f"「{item.title}」{'' if action == 'reroute' else 'を'}{VERB_DONE[action]}。", "success")
    return redirect(url_for("approvals.case", case_id=item.id))


def _drafter_may(item: ApprovalCase, action: str) -> bool:
    if item.kind in OWN_PAGES:
        return False  # a trip's own page corrects, re-files or cancels it
    if action == "recall":  # whether it is too late is the engine's answer, under the case's lock (409)
        return item.drafter_id == current_user.id
    return {"resubmit": policy.may_resubmit, "withdraw": policy.may_withdraw}[action](item, current_user)


@bp.post("/bulk")
@allowed(policy.may_use_inbox, refused="approvals.index")
def bulk():
    """Routine matters chosen in the inbox, approved together; each refused one is said with its reason."""
    done, refused = approvals.decide_many([i for i in (parse_id(v) for v in request.form.getlist("case_ids")) if i], current_user)
    report_bulk(len(done), refused, "承認", "件", lambda case: case.title)
    return redirect(url_for("approvals.index"))


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
