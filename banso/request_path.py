"""One request path: load → ask the area's policy → call one service → respond, in one transaction.

Services change the session and flush; they never commit. The request commits once, at its end, when it
answers with a success or a redirect (status < 400), and rolls back otherwise. A service that refuses raises
RuleViolation; the one handler here rolls the request back and answers as the route declared
(``permissions.allowed(..., refused=...)``: back to a page with the message flashed, or ``FORM_PAGE``: the form
page the view names with ``forms.on_refusal``, the message on its field, 422), or with the 422 page. Views hold no commit, rollback or try/except of their own.

The exceptions, named: a refused sign-in is counted and committed by the user service before it refuses (the
count must survive the refusal); worker jobs and CLI commands are not requests and commit themselves.
"""
from __future__ import annotations

from flask import Flask, g, make_response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from banso.extensions import db
from banso.policies import hold
from banso.services import EditedMeanwhile, RuleViolation


def _remember_where_a_submission_went(response) -> None:
    """A creating form's key (forms.already_sent) records the page its request went to, for a second arrival of it."""
    key = g.get("banso_submission")
    if key and response.status_code in (301, 302, 303):
        from sqlalchemy import update

        from banso.models import Submission

        db.session.execute(update(Submission).where(Submission.key == key)
                           .values(result_url=(response.location or "")[:500]).execution_options(synchronize_session=False))


def _audit_overwrites() -> None:
    """Fields sent again from a 409 page with 「自分の入力で上書きする」 chosen (forms.BansoForm): the audit names them."""
    names = g.get("banso_overwritten")
    if names:
        from flask import request
        from flask_login import current_user

        from banso.services import audit

        actor = current_user if getattr(current_user, "is_authenticated", False) else None
        audit.record("overwrite_after_conflict", None, object_type="Form", actor=actor,
                     summary=f"他の方の保存と重なった項目を自分の入力で上書き（{request.path}: {'、'.join(names)}）"[:500],
                     after={"path": request.path, "fields": names})


# --- PUB-2 at the seam: what a request showed of held results is watermarked and audited ---------------

def watermark_text() -> str | None:
    """The line every page and export showing held results carries: who is looking, and when (PUB-2)."""
    if not hold.confidential_seen():
        return None
    from flask_login import current_user

    from banso.services import publication

    return publication.watermark(current_user)


def audit_confidential_views() -> None:
    """At the end of a request: one audit row per held phase whose teams or trips it showed (who, what, which)."""
    held = hold.confidential_seen()
    if not held:
        return
    from flask import request
    from flask_login import current_user

    from sqlalchemy import select

    from banso.models import Municipality, Phase, Team
    from banso.services import audit

    viewer = g.get("banso_hold_viewer")
    actor = current_user if getattr(current_user, "is_authenticated", False) else viewer
    # A page read by its secret address (a calendar feed) is named by its route: the address itself is a credential.
    where = request.url_rule.rule if viewer is not None and request.url_rule else request.full_path.rstrip("?")
    with hold.lifted("naming the held teams in the audit row"):
        for phase_id, team_ids in sorted(held.items()):
            names = list(db.session.scalars(select(Municipality.name).join(Team, Team.municipality_id == Municipality.id)
                                            .where(Team.id.in_(team_ids)).order_by(Municipality.code).limit(10)))
            more = f"ほか{len(team_ids) - len(names)}件" if len(team_ids) > len(names) else ""
            which = f"（{'、'.join(names)}{more}）" if names else "（集計・回答の状況）"
            audit.record("view_confidential", db.session.get(Phase, phase_id), actor=actor,
                         summary=f"公表前のマッチング結果を閲覧: {where}{which}",
                         after={"path": where, "teams": sorted(team_ids)})
    hold.forget_seen()


def register(app: Flask, render_error) -> None:
    @app.errorhandler(RuleViolation)
    def refused(violation: RuleViolation):
        from flask import flash

        from banso.blueprints.forms import add_violation

        db.session.rollback()
        respond, form, status = g.get("banso_on_refusal", (None, None, 422))
        if respond is None:
            return render_error(422, violation.message)
        if form is None:
            flash(violation.message, "error")
            response = make_response(respond())
            if isinstance(violation, EditedMeanwhile) and response.status_code < 300:
                response.status_code = 409  # a page shown again because someone acted first (a 決裁 raced)
            return response
        add_violation(form, violation)
        response = make_response(respond())
        if isinstance(violation, EditedMeanwhile):
            response.status_code = 409  # the page shows the saved values beside what was typed
        elif status is not None:  # None: the page sets its own status
            response.status_code = status
        return response

    @app.errorhandler(StaleDataError)
    def saved_at_the_same_moment(_exc):
        db.session.rollback()  # two saves of one record at once: the second keeps nothing
        return render_error(409)

    @app.after_request
    def commit_once(response):
        if response.status_code >= 400:
            db.session.rollback()
            return response
        try:
            audit_confidential_views()  # the loader audits: held results shown by this request (PUB-2)
            _remember_where_a_submission_went(response)
            _audit_overwrites()
            db.session.commit()
        except RuleViolation as violation:  # refused at the flush itself (a closed team's records: services/closing.py)
            return refused(violation)
        except (IntegrityError, StaleDataError):  # a concurrent change won (a unique constraint, a record's version)
            db.session.rollback()
            app.logger.warning("同時に行われた変更と競合したため、変更を保存しませんでした", exc_info=True)
            return render_error(409)
        return response
