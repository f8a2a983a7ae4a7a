"""The shared spreadsheet import pages: preview, progress, exclusion, commit."""
from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from banso.blueprints.forms import add_violation
from banso.blueprints.imports import bp
from banso.extensions import db
from banso.models import ImportBatch
from banso.permissions import SECRETARIAT_ROLES, roles_required
from banso.services import RuleViolation, imports


def start_upload(kind: str, phase, form, *, options: dict | None = None):
    """Shared by every area's upload page: read and check the file, then show its preview.
    Returns the redirect to the preview, or None with the file-level error put on ``form``."""
    upload = form.file.data
    try:
        batch = imports.start(kind, phase, upload.filename or "", upload.read(), options=options, actor=current_user)
    except RuleViolation as violation:
        db.session.rollback()
        add_violation(form, violation)
        return None
    db.session.commit()
    if batch.status == "validating":
        imports.enqueue_validation(batch)
    return redirect(url_for("imports.detail", batch_id=batch.id))


def _batch(batch_id: int) -> ImportBatch:
    return db.get_or_404(ImportBatch, batch_id)


@bp.get("/<int:batch_id>")
@roles_required(*SECRETARIAT_ROLES)
def detail(batch_id: int):
    batch = _batch(batch_id)
    importer = imports.IMPORTERS[batch.kind]
    return render_template("imports/detail.html", batch=batch, importer=importer, done_url=importer.done_url(batch))


@bp.get("/<int:batch_id>/progress")
@roles_required(*SECRETARIAT_ROLES)
def progress(batch_id: int):
    """The self-polling progress partial; answers 286 (htmx: stop polling) once checking is done."""
    batch = _batch(batch_id)
    response = make_response(render_template("imports/_status.html", batch=batch))
    if batch.status != "validating":
        response.status_code = 286
    return response


@bp.post("/<int:batch_id>/exclude")
@roles_required(*SECRETARIAT_ROLES)
def exclude(batch_id: int):
    batch = _batch(batch_id)
    try:
        imports.set_excluded(batch, [int(r) for r in request.form.getlist("exclude") if r.isdigit()], actor=current_user)
    except RuleViolation as violation:
        flash(violation.message, "error")
    else:
        db.session.commit()
        flash(f"{len(batch.excluded_rows)}行を取り込まない行にしました。", "info")
    return redirect(url_for("imports.detail", batch_id=batch.id))


@bp.post("/<int:batch_id>/commit")
@roles_required(*SECRETARIAT_ROLES)
def commit(batch_id: int):
    batch = _batch(batch_id)
    importer = imports.IMPORTERS[batch.kind]
    try:
        count = imports.commit(batch, actor=current_user)
    except RuleViolation as violation:
        db.session.rollback()
        flash(violation.message, "error")
        return redirect(url_for("imports.detail", batch_id=batch_id))
    db.session.commit()
    flash(f"{count}件の{importer.title}を取り込みました。", "success")
    return redirect(importer.done_url(batch))
