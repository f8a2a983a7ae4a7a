"""The shared spreadsheet import pages: preview, progress, exclusion, commit."""
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from banso.formatting import parse_id
from banso.blueprints.forms import already_sent, on_refusal
from banso.blueprints.imports import bp
from banso.extensions import db
from banso.models import ImportBatch
from banso.permissions import allowed
from banso.policies import admin as admin_policy
from banso.listing import send_workbook
from banso.services import import_templates, imports


def start_upload(kind: str, phase, form, page, *, options: dict | None = None):
    """Shared by every area's upload page: read and check the file, then show its preview. If the file is refused,
    ``page()`` shows the upload page again with the message on ``form``."""
    on_refusal(page, form)
    if (sent := already_sent(form)) is not None:
        return sent  # the same file sent twice: one preview
    upload = form.file.data
    batch = imports.start(kind, phase, upload.filename or "", upload.read(), options=options, actor=current_user)
    if batch.status == "validating":
        imports.enqueue_validation(batch)
    return redirect(url_for("imports.detail", batch_id=batch.id))


@bp.get("/template/<kind>")
@allowed(admin_policy.may_import)
def template(kind: str):
    """The blank workbook to fill for one import, from the columns its importer reads."""
    importer = imports.IMPORTERS.get(kind)
    if importer is None:
        abort(404)
    return send_workbook(import_templates.workbook(importer), f"{importer.title}_記入用")


def _batch(batch_id: int) -> ImportBatch:
    return db.get_or_404(ImportBatch, batch_id)


@bp.get("/<int:batch_id>")
@allowed(admin_policy.may_import)
def detail(batch_id: int):
    batch = _batch(batch_id)
    importer = imports.IMPORTERS[batch.kind]
    return render_template("imports/detail.html", batch=batch, importer=importer, done_url=importer.done_url(batch))


@bp.get("/<int:batch_id>/progress")
@allowed(admin_policy.may_import)
def progress(batch_id: int):
    """The self-polling progress partial; answers 286 (htmx: stop polling) once checking is done."""
    batch = _batch(batch_id)
    response = make_response(render_template("imports/_status.html", batch=batch))
    if batch.status != "validating":
        response.status_code = 286
    return response


@bp.post("/<int:batch_id>/exclude")
@allowed(admin_policy.may_import, refused="imports.detail")
def exclude(batch_id: int):
    batch = _batch(batch_id)
    back = redirect(url_for("imports.detail", batch_id=batch.id))
    imports.set_excluded(batch, [n for n in map(parse_id, request.form.getlist("exclude")) if n], actor=current_user)
    flash(f"{len(batch.excluded_rows)}行を取り込まない行にしました。", "info")
    return back


@bp.post("/<int:batch_id>/commit")
@allowed(admin_policy.may_import, refused="imports.detail")
def commit(batch_id: int):
    batch = _batch(batch_id)
    importer = imports.IMPORTERS[batch.kind]
    count = imports.commit(batch, actor=current_user)
    flash(f"{count}件の{importer.title}を取り込みました。", "success")
    return redirect(importer.done_url(batch))
